"""Understands when something should happen from what a resident typed, in Dutch (and English).

`parse_when("zaterdag om half drie", now, zone)` gives a `When`: the moment in UTC and whether a time of
day was given. `parse_time_on` adds a time of day to a day already known. `describe` reads a moment back
for the resident to confirm.

Calendar dates and relative days ("21 juni", "21-6", "over 3 dagen", "tomorrow", "gisteren") are left to
`dateparser`; this module only prepares the text for it and keeps what dateparser gets wrong in Dutch:
times of day ("om 10 uur", "half drie", "kwart over drie", "14u"), parts of the day ("morgenochtend",
"'s middags", "vanavond"), weekdays ("za", "volgende week dinsdag"), number words ("over drie dagen") and
typos ("zaterdg", "morgn"), corrected with rapidfuzz against the words below.

What a resident means, as decided here:

- A time without "am/pm", "'s ochtends" or a leading zero is read on the clock face a neighbour uses
  during the day: hours 1–6 are in the afternoon ("om 2 uur" and "half drie" are 14:00 and 14:30), 7–12
  as said, 13–23 as written; "06:30" with its leading zero is early morning. "half drie" is 2:30,
  "vijf voor half drie" 2:25, "kwart voor zeven" 6:45.
- A part of the day without a time stands for its usual hour: ochtend 09:00, middag 14:00, avond 19:00;
  it counts as a time of day (`has_time` is True) so the read-back shows the hour, which the resident can
  correct. Night is not understood: "'s nachts" is too often yesterday's night.
- Without any time the moment is `default_hour` on that day (`has_time` False). If that hour has passed
  today ("vandaag" at three in the afternoon), the moment is now rounded up to the next quarter hour: the
  resident meant today, and the read-back names the day only. The same holds for a part of the day that
  is still going on ("vanavond" at 20:05 is 20:15); one that is over ("vanochtend" at 15:00) is past.
- A weekday is the next such day, today included unless the time given has passed ("zaterdag" on a
  Saturday is today; "zaterdag 08:00" on a Saturday at 10:00 is a week later). "volgende", "komende",
  "aanstaande" and "next" skip today; "volgende week dinsdag" is the Tuesday of next calendar week.
- A bare time or part of the day is today, or tomorrow once it has passed ("8:00" at ten is tomorrow).
- "over 2 uur", "over een kwartier" and "in 20 minutes" count from now, to the minute.
- A date without a year is the next such date, today included; on that date a time that has passed is
  past, not next year. "vandaag 08:00" at ten is past too: the resident is told, nothing is guessed.
- Holidays are worked out for each year, Easter by the computus: "eerste kerstdag", "1e paasdag",
  "pinksteren", "Koningsdag", "oudejaarsavond", "Boxing Day" (see `HOLIDAY_NAMES`). Without a year it is
  the coming one, today included unless the time given has passed ("eerste kerstdag 08:00" at ten on
  Christmas morning is next year's); with a year ("eerste kerstdag 2027") it is that year's.
- A weekday and a date that disagree ("zaterdag 21 juni" when 21 June is a Monday) are refused with
  `WeekdayDoesNotMatch`, which carries both moments the resident may have meant: the named weekday
  nearest the date ("za 13 dec" when the 13th is a Sunday: Saturday 12 December) and the date as written.
  Either could be the slip, so the resident is asked which.
- `parse_time_on` reads the answer to "hoe laat?" on a day already agreed: "15u", "half 4", "3 uur
  's middags", or a bare hour ("15").
- Refused as not understood: anything vague ("volgende week", "juni", "ooit", "binnenkort"), "nu" and
  "asap" (urgency is not a moment: a request that is urgent should say so, not be due this minute),
  more than one time or weekday, a day without its month ("vrijdag de 4e"), impossible dates and times
  ("32 januari", "25:00"), and any text longer than `WHEN_TEXT_MAX`.
- A time that does not exist on the day the clocks go forward (02:30 on 28 March 2027) is taken an hour
  later, 03:30; one that happens twice when they go back (02:30 on 25 October 2026) is the first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.application.settings import LANGUAGES

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

WHEN_TEXT_MAX = 120  # characters; "volgende week dinsdag om kwart voor drie 's middags" is 51

# How a moment is read back for confirmation, per language: with a time of day, and the day alone.
READ_BACK: dict[str, dict[bool, str]] = {
    "nl": {True: "EEEE d MMMM 'om' HH:mm", False: "EEEE d MMMM"},
    "en": {True: "EEEE d MMMM 'at' HH:mm", False: "EEEE d MMMM"},
}


class WhenNotUnderstood(ValueError):
    """The text names no moment that can be worked out."""


class WeekdayDoesNotMatch(WhenNotUnderstood):
    """The text names a date and a weekday that date is not on: the two moments it may mean."""

    def __init__(self, day: date, weekday: int, *, named: When, written: When) -> None:
        super().__init__(f"{day.isoformat()} is not on weekday {weekday}")
        self.day = day
        self.weekday = weekday  # 0 is Monday, as in `date.weekday()`
        self.named = named  # on the named weekday nearest the date (the next one if that has passed)
        self.written = written  # on the date as written


class WhenInPast(ValueError):
    """The text names a moment before now."""


@dataclass(frozen=True)
class When:
    """A moment a resident named: `at` is aware UTC; `has_time` tells whether they gave a time of day."""

    at: datetime
    has_time: bool


@dataclass(frozen=True)
class DayPart:
    usual: time  # the moment meant when only the part of the day is given
    ends: time | None  # after this it is over for today; None runs to midnight
    after_noon: bool  # "7 uur 's avonds" is 19:00


MORNING = DayPart(usual=time(9), ends=time(12), after_noon=False)
AFTERNOON = DayPart(usual=time(14), ends=time(18), after_noon=True)
EVENING = DayPart(usual=time(19), ends=None, after_noon=True)

DAY_PARTS: dict[str, DayPart] = {
    "ochtend": MORNING,
    "ochtends": MORNING,
    "morgens": MORNING,
    "morning": MORNING,
    "middag": AFTERNOON,
    "middags": AFTERNOON,
    "afternoon": AFTERNOON,
    "avond": EVENING,
    "avonds": EVENING,
    "evening": EVENING,
}

WEEKDAYS: dict[str, int] = {
    **dict.fromkeys(("maandag", "ma", "monday", "mon"), 0),
    **dict.fromkeys(("dinsdag", "di", "tuesday", "tue", "tues"), 1),
    **dict.fromkeys(("woensdag", "wo", "wednesday", "wed"), 2),
    **dict.fromkeys(("donderdag", "do", "thursday", "thu", "thur", "thurs"), 3),
    **dict.fromkeys(("vrijdag", "vr", "friday", "fri"), 4),
    **dict.fromkeys(("zaterdag", "za", "zat", "saturday", "sat"), 5),
    **dict.fromkeys(("zondag", "zo", "zon", "sunday", "sun"), 6),
}


# --- the holiday calendar: worked out per year, never a list of dates -------------------------------------


def easter_sunday(year: int) -> date:
    """Easter Sunday of `year` in the Gregorian calendar: the anonymous computus (Meeus, Jones, Butcher)."""
    golden, century, of_century = year % 19, year // 100, year % 100
    leap_centuries, century_rest = divmod(century, 4)
    correction = (century - (century + 8) // 25 + 1) // 3
    epact = (19 * golden + century - leap_centuries - correction + 15) % 30
    leap_years, year_rest = divmod(of_century, 4)
    weekday = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest) % 7
    shift = (golden + 11 * epact + 22 * weekday) // 451
    month, day = divmod(epact + weekday - 7 * shift + 114, 31)
    return date(year, month, day + 1)


def kings_day(year: int) -> date:
    """27 April, the King's birthday; on a Sunday it is kept the day before."""
    birthday = date(year, 4, 27)
    return birthday - timedelta(days=1) if birthday.weekday() == 6 else birthday


def _on(month: int, day: int) -> Callable[[int], date]:
    return lambda year: date(year, month, day)


def _after_easter(days: int) -> Callable[[int], date]:
    return lambda year: easter_sunday(year) + timedelta(days=days)


# The holidays residents name, each worked out for a given year.
HOLIDAYS: dict[str, Callable[[int], date]] = {
    "nieuwjaarsdag": _on(1, 1),
    "goede vrijdag": _after_easter(-2),
    "eerste paasdag": _after_easter(0),
    "tweede paasdag": _after_easter(1),
    "koningsdag": kings_day,
    "hemelvaartsdag": _after_easter(39),
    "eerste pinksterdag": _after_easter(49),
    "tweede pinksterdag": _after_easter(50),
    "sinterklaasavond": _on(12, 5),
    "kerstavond": _on(12, 24),
    "eerste kerstdag": _on(12, 25),
    "tweede kerstdag": _on(12, 26),
    "oudejaarsdag": _on(12, 31),
}

# What residents type for each, as `_normalise` leaves it ("1e kerstdag" is "1 kerstdag" by then).
HOLIDAY_NAMES: dict[str, str] = {
    **dict.fromkeys(("nieuwjaarsdag", "nieuwjaar", "new year's day", "new years day"), "nieuwjaarsdag"),
    **dict.fromkeys(("goede vrijdag", "good friday"), "goede vrijdag"),
    **dict.fromkeys(
        ("eerste paasdag", "1 paasdag", "paaszondag", "pasen", "easter", "easter sunday", "easter day"),
        "eerste paasdag",
    ),
    **dict.fromkeys(("tweede paasdag", "2 paasdag", "paasmaandag", "easter monday"), "tweede paasdag"),
    **dict.fromkeys(("koningsdag", "king's day", "kings day"), "koningsdag"),
    **dict.fromkeys(("hemelvaartsdag", "hemelvaart", "ascension day"), "hemelvaartsdag"),
    **dict.fromkeys(
        ("eerste pinksterdag", "1 pinksterdag", "pinksterzondag", "pinksteren", "whit sunday", "whitsunday"),
        "eerste pinksterdag",
    ),
    **dict.fromkeys(
        ("tweede pinksterdag", "2 pinksterdag", "pinkstermaandag", "whit monday", "whitmonday"), "tweede pinksterdag"
    ),
    **dict.fromkeys(("sinterklaasavond", "pakjesavond"), "sinterklaasavond"),
    **dict.fromkeys(("kerstavond", "christmas eve"), "kerstavond"),
    **dict.fromkeys(
        ("eerste kerstdag", "1 kerstdag", "kerstdag", "kerst", "kerstmis", "christmas", "christmas day"),
        "eerste kerstdag",
    ),
    **dict.fromkeys(("tweede kerstdag", "2 kerstdag", "boxing day"), "tweede kerstdag"),
    **dict.fromkeys(
        ("oudejaarsdag", "oudejaarsavond", "oudjaarsdag", "oudjaarsavond", "new year's eve", "new years eve"),
        "oudejaarsdag",
    ),
}

NUMBER_WORDS: dict[str, int] = {
    "een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8, "negen": 9,
    "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14, "vijftien": 15, "twintig": 20,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
}  # fmt: skip

# Joined words: "vanavond" is today in the evening. "morgen" after a weekday is a morning, not tomorrow.
COMPOUNDS: dict[str, tuple[str, str]] = {
    "vanochtend": ("vandaag", "ochtend"),
    "vanmorgen": ("vandaag", "ochtend"),
    "vanmiddag": ("vandaag", "middag"),
    "vanavond": ("vandaag", "avond"),
    "tonight": ("today", "evening"),
    **{
        day + part: (day, "ochtend" if part in ("morgen", "vroeg") else part)
        for day in (*(name for name in WEEKDAYS if len(name) > 5), "morgen", "overmorgen")
        for part in ("ochtend", "morgen", "vroeg", "middag", "avond")
        if not (day == "morgen" and part == "morgen")
    },
}

FILLERS = frozenset({"om", "at", "op", "on", "rond", "around", "tegen", "de", "the", "deze", "this"})
NOT_A_MOMENT = frozenset({"nu", "now", "asap", "zsm", "meteen"})  # urgency, which dateparser would make "today"

# Words a typo is corrected to (those of four letters or more), besides the ones above.
WORDS = (
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
    "november", "december", "january", "february", "march", "may", "june", "july", "august", "october",
    "vandaag", "morgen", "overmorgen", "gisteren", "eergisteren", "today", "tomorrow", "yesterday",
    "volgende", "komende", "aanstaande", "vorige", "afgelopen", "next", "last",
    "dag", "dagen", "week", "weken", "maand", "maanden", "jaar", "day", "days", "weeks", "month", "months",
    "year", "years", "over", "voor", "half", "kwart", "uur", "kwartier", "minuut", "minuten", "hour", "hours",
    "minute", "minutes",
)  # fmt: skip
HOLIDAY_WORDS = frozenset(word for name in HOLIDAY_NAMES for word in name.split() if word.isalpha())
KNOWN_WORDS = frozenset(
    (*WEEKDAYS, *NUMBER_WORDS, *COMPOUNDS, *DAY_PARTS, *FILLERS, *NOT_A_MOMENT, *WORDS, *HOLIDAY_WORDS)
)
_CORRECTABLE = tuple(sorted(KNOWN_WORDS))  # sorted: the same correction on every run
VAGUE_PERIODS = frozenset(("week", "month", "year"))  # fine as "over 2 weken", vague as "volgende week"

_UNIT_AHEAD = r"(?! ?(?:dag|dagen|week|weken|maand|maanden|jaar|days?|weeks?|months?|years?)\b)"
_HOUR = r"(?<![\d:./-])(?P<hour>\d{1,2})"
_END = r"(?![\d:./-]?\d)"

# Ways to say a time of day, most specific first; "minutes" are added to the named hour.
CLOCK_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        r"\b(?P<minutes>\d{1,2}) (?P<way>over|voor) (?P<half>half) " + _HOUR + r"\b",  # vijf voor half drie
        r"\bkwart (?P<way>over|voor) " + _HOUR + r"\b" + _UNIT_AHEAD,  # kwart over drie
        r"\b(?P<minutes>\d{1,2}) (?P<way>over|voor) " + _HOUR + r"\b" + _UNIT_AHEAD,  # tien over drie
        r"\b(?P<half>half) " + _HOUR + r"\b",  # half drie
        _HOUR + r"[:.](?P<minute>\d{2})" + _END + r" ?(?P<meridiem>am|pm|uur|u|h)?\b",  # 14:00, 10.30u, 9:15am
        _HOUR + r" ?(?P<meridiem>am|pm)\b",  # 3pm
        _HOUR + r" ?(?:uur|u|h)(?: ?(?P<minute>\d{2}))?\b",  # 14u, 10 uur, 14u30
        r"\b(?:om|at|rond|around|tegen) " + _HOUR + r"\b" + _END + r"(?! ?[a-z]{3,})",  # om 3
    )
)
DAY_PART_PATTERN = re.compile(
    r"(?:(?<!\S)(?:'?s|des)[ -]?|\bin (?:de|the) )?\b(?P<part>" + "|".join(DAY_PARTS) + r")\b"
)
IN_A_WHILE_PATTERN = re.compile(
    r"(?:over|in) (?:(?P<count>\d{1,3}) (?P<unit>uur|hours?|minuten|minuut|minutes?|min)|1 (?P<quarter>kwartier))"
)
WEEKDAY_PATTERN = re.compile(r"\b(?P<day>" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")\b")
HOLIDAY_PATTERN = re.compile(
    r"(?:\b(?:met|with) )?(?<![\w'])(?P<holiday>"
    + "|".join(re.escape(name) for name in sorted(HOLIDAY_NAMES, key=len, reverse=True))
    + r")(?![\w'])"
)
YEAR_PATTERN = re.compile(r"20\d\d")  # a year a holiday is named with: "eerste kerstdag 2027"
LAST_PATTERN = re.compile(r"\b(?:vorige|afgelopen|last)\b")


class WeekdayMode(Enum):
    COMING = "coming"  # today, unless the time has passed
    AFTER_TODAY = "after today"  # volgende zaterdag
    NEXT_WEEK = "next week"  # volgende week zaterdag


# What the words around a weekday make of it, strongest first.
WEEKDAY_MODIFIERS: tuple[tuple[re.Pattern[str], WeekdayMode], ...] = (
    (re.compile(r"\b(?:volgende|komende|next) week\b"), WeekdayMode.NEXT_WEEK),
    (re.compile(r"\b(?:volgende|komende|aanstaande|next)\b"), WeekdayMode.AFTER_TODAY),
)


def parse_when(text: str, now: datetime, zone: ZoneInfo, *, default_hour: int = 10) -> When:
    """The moment `text` names, seen from `now` (aware) by a resident living in `zone`."""
    if now.tzinfo is None:
        raise ValueError("parse_when needs an aware now")
    now = now.astimezone(UTC)
    local_now = now.astimezone(zone)
    phrase = _normalise(text)
    if NOT_A_MOMENT.intersection(phrase.split()):
        raise WhenNotUnderstood(f"{text!r} is urgent, not a moment")
    if (a_while := _in_a_while(phrase)) is not None:
        return When(at=now + a_while, has_time=True)
    phrase, part = _take_day_part(phrase)
    phrase, clock = _take_clock(phrase, part)
    phrase, holiday = _take_holiday(phrase)  # before the weekday: "goede vrijdag" is no Friday of choice
    phrase, weekday = _take_weekday(phrase)
    rest = " ".join(word for word in phrase.split() if word not in FILLERS)

    today = local_now.date()
    later: date | None = None  # the day meant instead if the moment on `day` has passed
    if holiday is not None:
        day, later = _holiday(holiday, rest, today)
    elif rest:
        day = _calendar_day(rest, today)
    elif weekday is not None:
        day, roll = _weekday(weekday[0], weekday[1], today)
        later = day + roll if roll else None
    elif clock is not None or part is not None:
        day, later = today, today + timedelta(days=1)
    else:
        raise WhenNotUnderstood(f"no moment in {text!r}")

    when = _moment(day, clock, part, local_now, default_hour)
    if when.at < now and later is not None:
        day, when = later, _moment(later, clock, part, local_now, default_hour)
    if when.at < now:
        raise WhenInPast(f"{text!r} is before now")
    if weekday is not None and day.weekday() != weekday[0]:
        named = _nearest_weekday(day, weekday[0], clock, part, local_now, default_hour)
        raise WeekdayDoesNotMatch(day, weekday[0], named=named, written=when)
    return when


def parse_time_on(day: date, text: str, now: datetime, zone: ZoneInfo) -> When:
    """The moment on `day` (in `zone`) at the time of day `text` names: the answer to "hoe laat?" once the
    day is agreed. "15u", "15.00", "half 4", "kwart over drie", "3 uur 's middags", "'s avonds" and a bare
    hour ("15", "3") are read as in `parse_when`; a day or anything else in the text is not understood."""
    if now.tzinfo is None:
        raise ValueError("parse_time_on needs an aware now")
    local_now = now.astimezone(zone)
    phrase = _normalise(text)
    if re.fullmatch(r"\d{1,2}", phrase):
        phrase = f"om {phrase}"  # asked for a time, "15" and "3" are hours
    phrase, part = _take_day_part(phrase)
    phrase, clock = _take_clock(phrase, part)
    if (clock is None and part is None) or any(word not in FILLERS for word in phrase.split()):
        raise WhenNotUnderstood(f"no time of day alone in {text!r}")
    when = _moment(day, clock, part, local_now, default_hour=0)  # a clock or a part: no default used
    if when.at < now:
        raise WhenInPast(f"{text!r} on {day.isoformat()} is before now")
    return when


@lru_cache(maxsize=1024)
def describe(at: datetime, zone: ZoneInfo, language: str, has_time: bool) -> str:
    """The moment as a resident reads it back: "zaterdag 5 december om 14:00". Kept for the
    activities people are answering: babel's formatting was a twentieth of an RSVP tap."""
    if language not in READ_BACK:
        language = LANGUAGES[0]
    return format_datetime(at, READ_BACK[language][has_time], tzinfo=zone, locale=language)


def _normalise(text: str) -> str:
    """Lower case, single spaces, no accents or ordinals, number words as digits, typos corrected."""
    if len(text) > WHEN_TEXT_MAX:
        raise WhenNotUnderstood(f"{len(text)} characters is too long for a moment")
    text = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    text = text.lower().replace("’", "'").replace("‘", "'").replace("`", "'")
    text = re.sub(r"\b([ap])\.m\b\.?", r"\1m", text)
    text = re.sub(r",(?!\d)", " ", text)
    text = re.sub(r"\b(\d{1,2})(?:ste|de|st|nd|rd|th|e)\b", r"\1", text)  # 5de december, 21st
    text = re.sub(r"\b(in|over) an? \b", r"\1 1 ", text)  # in a week, in an hour
    words: list[str] = []
    for typed in text.split():
        for word in _known(typed.rstrip(".!?")):
            if word == "morgen" and words and words[-1] in WEEKDAYS:
                word = "ochtend"  # "zaterdag morgen" is zaterdagmorgen
            words.append(str(NUMBER_WORDS.get(word, word)))
    return " ".join(words)


def _known(word: str) -> tuple[str, ...]:
    """The word as typed, corrected if it is one typo away from one known word, compounds split."""
    if word.isalpha() and len(word) >= 4 and word not in KNOWN_WORDS:
        # Imported on first use, like dateparser below: a bot that is not asked a date keeps ~6 MB.
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        most = 1 if len(word) < 8 else 2
        closest = process.extract(word, _CORRECTABLE, scorer=OSA.distance, score_cutoff=most, limit=2)
        if len(closest) == 1 or (closest and closest[0][1] < closest[1][1]):
            word = closest[0][0]
    return COMPOUNDS.get(word, (word,))


def _in_a_while(phrase: str) -> timedelta | None:
    """A while from now, to the minute: "over 2 uur", "in 20 minutes", "over een kwartier"."""
    match = IN_A_WHILE_PATTERN.fullmatch(phrase)
    if match is None:
        return None
    if match["quarter"]:
        return timedelta(minutes=15)
    count = int(match["count"])
    return timedelta(hours=count) if match["unit"] in ("uur", "hour", "hours") else timedelta(minutes=count)


def _take_day_part(phrase: str) -> tuple[str, DayPart | None]:
    phrase, match = _take_one(DAY_PART_PATTERN, phrase, "part of the day")
    return phrase, None if match is None else DAY_PARTS[match["part"]]


def _take_clock(phrase: str, part: DayPart | None) -> tuple[str, time | None]:
    for pattern in CLOCK_PATTERNS:
        match = pattern.search(phrase)
        if match is None:
            continue
        phrase = _without(phrase, match)
        if any(other.search(phrase) for other in CLOCK_PATTERNS):
            raise WhenNotUnderstood(f"more than one time in {phrase!r}")
        return phrase, _clock(match, part)
    return phrase, None


def _clock(match: re.Match[str], part: DayPart | None) -> time:
    """The time of day a clock pattern matched, read the way a neighbour means it (see the module doc)."""
    groups = match.groupdict()
    written, meridiem, way = groups["hour"], groups.get("meridiem"), groups.get("way")
    hour, minute = int(written), int(groups.get("minute") or 0)
    offset = -30 if groups.get("half") else 0  # "half drie" is half an hour before three
    if way is not None:
        offset += int(groups.get("minutes") or 15) * (1 if way == "over" else -1)
    on_the_dial = offset != 0 or meridiem in ("am", "pm")  # said on a clock face of twelve hours
    if hour > 23 or minute > 59 or abs(offset) >= 60 or (on_the_dial and not 1 <= hour <= 12):
        raise WhenNotUnderstood(f"no such time: {match[0]!r}")
    if meridiem in ("am", "pm"):
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif not written.startswith("0") and 1 <= hour <= 11:
        if part is not None:
            hour += 12 if part.after_noon else 0
        elif hour <= 6:
            hour += 12
    return (datetime.combine(date.min, time(hour, minute)) + timedelta(minutes=offset)).time()


def _take_weekday(phrase: str) -> tuple[str, tuple[int, WeekdayMode] | None]:
    phrase, match = _take_one(WEEKDAY_PATTERN, phrase, "weekday")
    if match is None:
        return phrase, None
    if LAST_PATTERN.search(phrase):
        raise WhenInPast(f"{phrase!r} points back")
    mode = WeekdayMode.COMING
    for pattern, meaning in WEEKDAY_MODIFIERS:
        if found := pattern.search(phrase):
            phrase, mode = _without(phrase, found), meaning
            break
    return phrase, (WEEKDAYS[match["day"]], mode)


def _weekday(weekday: int, mode: WeekdayMode, today: date) -> tuple[date, timedelta]:
    """The day a weekday names, and how far it moves on if the moment has passed today."""
    if mode is WeekdayMode.NEXT_WEEK:
        return today + timedelta(days=7 - today.weekday() + weekday), timedelta(0)
    ahead = (weekday - today.weekday()) % 7
    if mode is WeekdayMode.AFTER_TODAY:
        return today + timedelta(days=ahead or 7), timedelta(0)
    return today + timedelta(days=ahead), timedelta(days=7)


def _nearest_weekday(
    day: date, weekday: int, clock: time | None, part: DayPart | None, local_now: datetime, default_hour: int
) -> When:
    """The moment on `weekday` nearest `day` (at most three days away), or the one after `day` if that
    nearest one has passed: what a resident meant if the weekday was right and the date the slip."""
    ahead = (weekday - day.weekday()) % 7
    nearest = day + timedelta(days=ahead if ahead <= 3 else ahead - 7)
    when = _moment(nearest, clock, part, local_now, default_hour)
    if when.at < local_now:
        when = _moment(day + timedelta(days=ahead), clock, part, local_now, default_hour)
    return when


def _take_holiday(phrase: str) -> tuple[str, str | None]:
    phrase, match = _take_one(HOLIDAY_PATTERN, phrase, "holiday")
    return phrase, None if match is None else HOLIDAY_NAMES[match["holiday"]]


def _holiday(holiday: str, rest: str, today: date) -> tuple[date, date | None]:
    """This year's `holiday`, and next year's for when the moment on it has passed; a year in `rest`
    ("eerste kerstdag 2027") is honoured and never moves on."""
    on = HOLIDAYS[holiday]
    if not rest:
        return on(today.year), on(today.year + 1)
    if (year := YEAR_PATTERN.fullmatch(rest)) is None:
        raise WhenNotUnderstood(f"{rest!r} besides {holiday!r}")
    day = on(int(year[0]))
    if day < today:
        raise WhenInPast(f"{holiday} {rest} is before today")
    return day, None


def _calendar_day(rest: str, today: date) -> date:
    """The day dateparser finds in what is left once times, parts of the day and weekdays are taken out."""
    found = _dateparser_day(rest, today)
    if found is None:
        raise WhenNotUnderstood(f"no day in {rest!r}")
    day, period = found
    if day == _a_year_after(today):
        # dateparser's preference for the future skips today's own date: "28 november" on 28 November
        # is then next year. Seen from yesterday, a date without a year is today; "over 365 dagen" is not.
        again = _dateparser_day(rest, today - timedelta(days=1))
        if again is not None and again[0] == today:
            day = today
    if day < today:
        raise WhenInPast(f"{rest!r} is before today")
    if period in VAGUE_PERIODS and not any(char.isdigit() for char in rest):
        raise WhenNotUnderstood(f"{rest!r} is not one day")
    return day


def _dateparser_day(rest: str, today: date) -> tuple[date, str] | None:
    data = _dateparser(today).get_date_data(rest)
    if data.date_obj is None or data.period is None or data.period == "time" or data.date_obj.time() != time(0):
        return None  # no day, or dateparser read a time of day the clock patterns did not: not trusted
    return data.date_obj.date(), data.period


@lru_cache(maxsize=4)
def _dateparser(today: date) -> DateDataParser:
    """A parser counting from midnight today, wall time; the zone arithmetic stays in zoneinfo."""
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["nl", "en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": datetime.combine(today, time(0)),
            "DATE_ORDER": "DMY",
            "PREFER_LOCALE_DATE_ORDER": False,
            "REQUIRE_PARTS": ["day", "month"],
        },
    )


def _a_year_after(day: date) -> date | None:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return None


def _moment(day: date, clock: time | None, part: DayPart | None, local_now: datetime, default_hour: int) -> When:
    now = local_now.astimezone(UTC)
    if clock is not None:
        return When(at=_utc(day, clock, local_now), has_time=True)
    at = _utc(day, part.usual if part else time(default_hour), local_now)
    still_going_on = part is None or part.ends is None or local_now.time() < part.ends
    if day == local_now.date() and at < now and still_going_on:
        at = _soon(local_now)
    return When(at=at, has_time=part is not None)


def _utc(day: date, clock: time, local_now: datetime) -> datetime:
    return datetime.combine(day, clock, tzinfo=local_now.tzinfo).astimezone(UTC)


def _soon(local_now: datetime) -> datetime:
    """Now rounded up to the next quarter hour, unless that is tomorrow."""
    now = local_now.astimezone(UTC)
    seconds = now.minute * 60 + now.second + now.microsecond / 1_000_000
    soon = now + timedelta(seconds=-seconds % (15 * 60))
    return soon if soon.astimezone(local_now.tzinfo).date() == local_now.date() else now


def _take_one(pattern: re.Pattern[str], phrase: str, what: str) -> tuple[str, re.Match[str] | None]:
    """The phrase without what `pattern` found in it, and what it found; more than one is not understood."""
    matches = list(pattern.finditer(phrase))
    if not matches:
        return phrase, None
    if len(matches) > 1:
        raise WhenNotUnderstood(f"more than one {what} in {phrase!r}")
    return _without(phrase, matches[0]), matches[0]


def _without(phrase: str, match: re.Match[str]) -> str:
    return " ".join(f"{phrase[: match.start()]} {phrase[match.end() :]}".split())

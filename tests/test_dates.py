"""Residents say when, in their own words: every way of saying it, read to the exact UTC moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.application.settings import LANGUAGES
from bot.language.dates import (
    READ_BACK,
    WHEN_TEXT_MAX,
    WeekdayDoesNotMatch,
    When,
    WhenInPast,
    WhenNotUnderstood,
    describe,
    parse_when,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# Anna asks for help on Saturday 28 November 2026 at ten in the morning (winter time, UTC+1).
SATURDAY_MORNING = datetime(2026, 11, 28, 10, 0, tzinfo=AMSTERDAM)
# The same Saturday, seven minutes past three in the afternoon.
SATURDAY_AFTERNOON = datetime(2026, 11, 28, 15, 7, tzinfo=AMSTERDAM)
# Monday 30 November 2026, nine in the morning: "dinsdag" is tomorrow, "volgende week dinsdag" is not.
MONDAY_MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=AMSTERDAM)
# Saturday before the clocks go forward in the night to Sunday 28 March 2027 (02:00 becomes 03:00).
BEFORE_SPRING_FORWARD = datetime(2027, 3, 27, 10, 0, tzinfo=AMSTERDAM)
# Saturday before the clocks go back in the night to Sunday 25 October 2026 (03:00 becomes 02:00).
BEFORE_FALL_BACK = datetime(2026, 10, 24, 10, 0, tzinfo=AMSTERDAM)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def case(text: str, at: datetime, has_time: bool) -> pytest.ParameterSet:
    return pytest.param(text, When(at=at, has_time=has_time), id=text.strip() or repr(text))


def assert_parses(text: str, now: datetime, expected: When) -> None:
    when = parse_when(text, now, AMSTERDAM)
    assert when == expected
    assert when.at.tzinfo is UTC


# In November Amsterdam is UTC+1: ten o'clock there is 09:00 UTC.
ON_SATURDAY_MORNING = [
    # days, with the default hour of ten when no time is given
    case("vandaag", utc(2026, 11, 28, 9), False),
    case("morgen", utc(2026, 11, 29, 9), False),
    case("overmorgen", utc(2026, 11, 30, 9), False),
    case("zaterdag", utc(2026, 11, 28, 9), False),  # said on a Saturday: today
    case("ZATERDAG", utc(2026, 11, 28, 9), False),
    case("maandag", utc(2026, 11, 30, 9), False),
    case("volgende week dinsdag", utc(2026, 12, 1, 9), False),
    case("volgende zaterdag", utc(2026, 12, 5, 9), False),
    case("komende woensdag", utc(2026, 12, 2, 9), False),
    case("over drie dagen", utc(2026, 12, 1, 9), False),
    case("over 3 dagen", utc(2026, 12, 1, 9), False),
    case("over een week", utc(2026, 12, 5, 9), False),
    case("over twee weken", utc(2026, 12, 12, 9), False),
    case("over 1 maand", utc(2026, 12, 28, 9), False),
    case("28 november", utc(2026, 11, 28, 9), False),  # today's date without a year is today
    case("21-6", utc(2027, 6, 21, 8), False),  # summer time
    case("12/1", utc(2027, 1, 12, 9), False),  # day first, as the Dutch write it
    case("5 dec", utc(2026, 12, 5, 9), False),
    case("5de december", utc(2026, 12, 5, 9), False),
    case("1 januari", utc(2027, 1, 1, 9), False),
    case("29 februari", utc(2028, 2, 29, 9), False),
    case("Zaterdag, 5 December", utc(2026, 12, 5, 9), False),
    # times of day
    case("zaterdag 14:00", utc(2026, 11, 28, 13), True),
    case("za 14u", utc(2026, 11, 28, 13), True),
    case("za. 14.00u", utc(2026, 11, 28, 13), True),
    case("zaterdag om 2 uur 's middags", utc(2026, 11, 28, 13), True),
    case("zaterdag 08:00", utc(2026, 12, 5, 7), True),  # eight has passed today: next Saturday
    case("dinsdag 10.30", utc(2026, 12, 1, 9, 30), True),
    case("dinsdag  10:30 ", utc(2026, 12, 1, 9, 30), True),
    case("morgen om 10 uur", utc(2026, 11, 29, 9), True),
    case("morgen 14u30", utc(2026, 11, 29, 13, 30), True),
    case("morgen 0:30", utc(2026, 11, 28, 23, 30), True),
    case("21 juni 15:00", utc(2027, 6, 21, 13), True),
    case("21 juni om 15.00 uur", utc(2027, 6, 21, 13), True),
    case("maandag 21 juni 15:00", utc(2027, 6, 21, 13), True),  # weekday and date agree
    case("21/06/2027 9:00", utc(2027, 6, 21, 7), True),
    case("31-12-2026 23:59", utc(2026, 12, 31, 22, 59), True),
    case("za 5 dec 14u", utc(2026, 12, 5, 13), True),
    case("5 december om half drie", utc(2026, 12, 5, 13, 30), True),  # half drie is 14:30 by day
    case("kwart over drie", utc(2026, 11, 28, 14, 15), True),
    case("tien over drie", utc(2026, 11, 28, 14, 10), True),
    case("vijf voor half drie", utc(2026, 11, 28, 13, 25), True),
    case("half 12", utc(2026, 11, 28, 10, 30), True),
    case("half een", utc(2026, 11, 28, 11, 30), True),
    case("één uur", utc(2026, 11, 28, 12), True),
    case("om 3", utc(2026, 11, 28, 14), True),
    case("om 6 uur", utc(2026, 11, 28, 17), True),  # hours 1-6 are in the afternoon
    case("om 7 uur", utc(2026, 11, 29, 6), True),  # from 7 as said; seven has passed, so tomorrow
    case("06:30", utc(2026, 11, 29, 5, 30), True),  # a leading zero is the early morning
    case("14:00", utc(2026, 11, 28, 13), True),
    case("8:00", utc(2026, 11, 29, 7), True),  # a bare time that has passed is tomorrow
    case("kwart voor zeven 's avonds", utc(2026, 11, 28, 17, 45), True),
    case("om 7 uur 's avonds", utc(2026, 11, 28, 18), True),
    case("12 uur 's middags", utc(2026, 11, 28, 11), True),
    case("smiddags om 3", utc(2026, 11, 28, 14), True),
    # parts of the day: their usual hour, or soon if that has passed but the part has not
    case("morgenochtend", utc(2026, 11, 29, 8), True),
    case("morgenmiddag", utc(2026, 11, 29, 13), True),
    case("morgenvroeg", utc(2026, 11, 29, 8), True),
    case("vanavond", utc(2026, 11, 28, 18), True),
    case("vanavond 8 uur", utc(2026, 11, 28, 19), True),
    case("morgenochtend 10 uur", utc(2026, 11, 29, 9), True),
    case("zaterdagavond", utc(2026, 11, 28, 18), True),
    case("zaterdagochtend", utc(2026, 11, 28, 9), True),  # still morning: now
    case("zondag morgen", utc(2026, 11, 29, 8), True),  # after a weekday "morgen" is the morning
    case("'s avonds", utc(2026, 11, 28, 18), True),
    # a while from now
    case("over 2 uur", utc(2026, 11, 28, 11), True),
    case("over een kwartier", utc(2026, 11, 28, 9, 15), True),
    # typos
    case("zaterdg", utc(2026, 11, 28, 9), False),
    case("morgn", utc(2026, 11, 29, 9), False),
    case("dinsdga", utc(2026, 12, 1, 9), False),
    case("5 decmber", utc(2026, 12, 5, 9), False),
    case("zaterdagmidag", utc(2026, 11, 28, 13), True),
    case("morgenochtnd", utc(2026, 11, 29, 8), True),
    # English
    case("tomorrow 10am", utc(2026, 11, 29, 9), True),
    case("saturday 3pm", utc(2026, 11, 28, 14), True),
    case("in 3 days", utc(2026, 12, 1, 9), False),
    case("in a week", utc(2026, 12, 5, 9), False),
    case("next tuesday", utc(2026, 12, 1, 9), False),
    case("on saturday at 3pm", utc(2026, 11, 28, 14), True),
    case("tomorrow at 10:30", utc(2026, 11, 29, 9, 30), True),
    case("tomorrow morning", utc(2026, 11, 29, 8), True),
    case("this afternoon", utc(2026, 11, 28, 13), True),
    case("december 5th 2pm", utc(2026, 12, 5, 13), True),
    case("do 9:15am", utc(2026, 12, 3, 8, 15), True),
    case("12pm", utc(2026, 11, 28, 11), True),
]


@pytest.mark.parametrize(("text", "expected"), ON_SATURDAY_MORNING)
def test_anna_says_when_on_saturday_morning(text: str, expected: When) -> None:
    assert_parses(text, SATURDAY_MORNING, expected)


ON_SATURDAY_AFTERNOON = [
    case("vandaag", utc(2026, 11, 28, 14, 15), False),  # ten has passed: the next quarter hour
    case("zaterdag", utc(2026, 11, 28, 14, 15), False),
    case("vanmiddag", utc(2026, 11, 28, 14, 15), True),  # the afternoon is still going on
    case("vanavond", utc(2026, 11, 28, 18), True),
    case("zaterdagochtend", utc(2026, 12, 5, 8), True),  # this morning is over: next Saturday
    case("'s ochtends", utc(2026, 11, 29, 8), True),
    case("14:00", utc(2026, 11, 29, 13), True),
]


@pytest.mark.parametrize(("text", "expected"), ON_SATURDAY_AFTERNOON)
def test_later_that_saturday_today_means_soon(text: str, expected: When) -> None:
    assert_parses(text, SATURDAY_AFTERNOON, expected)


def test_just_before_midnight_today_is_now_not_tomorrow() -> None:
    now = datetime(2026, 11, 28, 23, 55, tzinfo=AMSTERDAM)
    assert parse_when("vandaag", now, AMSTERDAM) == When(at=utc(2026, 11, 28, 22, 55), has_time=False)


ON_MONDAY_MORNING = [
    case("dinsdag", utc(2026, 12, 1, 9), False),
    case("volgende dinsdag", utc(2026, 12, 1, 9), False),
    case("volgende week dinsdag", utc(2026, 12, 8, 9), False),
    case("dinsdag volgende week", utc(2026, 12, 8, 9), False),
    case("maandag", utc(2026, 11, 30, 9), False),
    case("maandag 8:00", utc(2026, 12, 7, 7), True),
    case("volgende maandag", utc(2026, 12, 7, 9), False),
    case("zondag", utc(2026, 12, 6, 9), False),
    case("volgende week zondag", utc(2026, 12, 13, 9), False),
]


@pytest.mark.parametrize(("text", "expected"), ON_MONDAY_MORNING)
def test_piet_names_a_weekday_on_monday(text: str, expected: When) -> None:
    assert_parses(text, MONDAY_MORNING, expected)


# Sunday 28 March 2027 is in summer time (UTC+2); the Saturday before is not.
BEFORE_SPRING = [
    case("vandaag", utc(2027, 3, 27, 9), False),
    case("morgen", utc(2027, 3, 28, 8), False),
    case("morgen 10:00", utc(2027, 3, 28, 8), True),
    case("zondag 01:30", utc(2027, 3, 28, 0, 30), True),
    case("zondag 02:30", utc(2027, 3, 28, 1, 30), True),  # does not exist: an hour later, 03:30
    case("zondag 03:30", utc(2027, 3, 28, 1, 30), True),
    case("28 maart 9:00", utc(2027, 3, 28, 7), True),
    case("over 3 dagen", utc(2027, 3, 30, 8), False),
    case("overmorgen om half drie", utc(2027, 3, 29, 12, 30), True),
    case("over 2 uur", utc(2027, 3, 27, 11), True),
]


@pytest.mark.parametrize(("text", "expected"), BEFORE_SPRING)
def test_the_clocks_go_forward_in_between(text: str, expected: When) -> None:
    assert_parses(text, BEFORE_SPRING_FORWARD, expected)


# Sunday 25 October 2026 is in winter time (UTC+1); the Saturday before is in summer time.
BEFORE_AUTUMN = [
    case("vandaag", utc(2026, 10, 24, 8), False),
    case("morgen", utc(2026, 10, 25, 9), False),
    case("morgen 10:00", utc(2026, 10, 25, 9), True),
    case("zondag 01:30", utc(2026, 10, 24, 23, 30), True),
    case("zondag 02:30", utc(2026, 10, 25, 0, 30), True),  # happens twice: the first time
    case("zondag 03:30", utc(2026, 10, 25, 2, 30), True),
    case("over een week", utc(2026, 10, 31, 9), False),
    case("zaterdag 21:00", utc(2026, 10, 24, 19), True),
]


@pytest.mark.parametrize(("text", "expected"), BEFORE_AUTUMN)
def test_the_clocks_go_back_in_between(text: str, expected: When) -> None:
    assert_parses(text, BEFORE_FALL_BACK, expected)


def test_a_default_hour_is_used_when_no_time_is_given() -> None:
    when = parse_when("morgen", SATURDAY_MORNING, AMSTERDAM, default_hour=18)
    assert when == When(at=utc(2026, 11, 29, 17), has_time=False)


NOT_UNDERSTOOD = [
    "",
    "   ",
    "blabla",
    "ooit",
    "binnenkort",
    "asap",  # urgency, not a moment
    "nu",
    "32 januari",
    "31 april",
    "25:00",
    "kwart over 13",
    "13pm",
    "x" * 5000,
    "volgende week",  # which day?
    "juni",
    "14:00 15:00",
    "zaterdag zondag",
    "2 uur 's nachts",  # night is yesterday's as often as tomorrow's
    "morgen blabla",
    "vrijdag de 4e",  # a day without its month
]


@pytest.mark.parametrize("text", NOT_UNDERSTOOD, ids=lambda text: text[:20] or "empty")
def test_what_is_not_a_moment_is_not_understood(text: str) -> None:
    with pytest.raises(WhenNotUnderstood):
        parse_when(text, SATURDAY_MORNING, AMSTERDAM)


def test_a_text_longer_than_the_limit_is_refused_before_it_is_read() -> None:
    parse_when("morgen" + " " * (WHEN_TEXT_MAX - len("morgen")), SATURDAY_MORNING, AMSTERDAM)
    with pytest.raises(WhenNotUnderstood, match="too long"):
        parse_when("morgen" + " " * (WHEN_TEXT_MAX - len("morgen") + 1), SATURDAY_MORNING, AMSTERDAM)


IN_THE_PAST = [
    "gisteren",
    "eergisteren",
    "yesterday",
    "vorige week",
    "vorige week dinsdag",
    "last friday",
    "1 januari 2020",
    "vandaag 08:00",
    "28 november 08:00",  # today's date: eight has passed, and that is not next year
    "27 november 2026",
]


@pytest.mark.parametrize("text", IN_THE_PAST)
def test_a_moment_before_now_is_in_the_past(text: str) -> None:
    with pytest.raises(WhenInPast):
        parse_when(text, SATURDAY_MORNING, AMSTERDAM)


def test_this_morning_is_past_in_the_afternoon() -> None:
    with pytest.raises(WhenInPast):
        parse_when("vanochtend", SATURDAY_AFTERNOON, AMSTERDAM)


def test_a_weekday_that_does_not_fit_the_date_is_asked_about() -> None:
    with pytest.raises(WeekdayDoesNotMatch) as refused:
        parse_when("zaterdag 21 juni 15:00", SATURDAY_MORNING, AMSTERDAM)
    assert (refused.value.day, refused.value.weekday) == (date(2027, 6, 21), 5)
    assert isinstance(refused.value, WhenNotUnderstood)


def test_tomorrow_saturday_said_on_a_saturday_does_not_fit() -> None:
    with pytest.raises(WeekdayDoesNotMatch):
        parse_when("morgen zaterdag", SATURDAY_MORNING, AMSTERDAM)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("morgen", SATURDAY_MORNING.replace(tzinfo=None), AMSTERDAM)


def test_now_may_be_given_in_utc() -> None:
    now = SATURDAY_MORNING.astimezone(UTC)
    assert parse_when("morgen 10:00", now, AMSTERDAM) == When(at=utc(2026, 11, 29, 9), has_time=True)


READ_BACKS = [
    (utc(2026, 12, 5, 13), "nl", True, "zaterdag 5 december om 14:00"),
    (utc(2026, 12, 5, 13), "en", True, "Saturday 5 December at 14:00"),
    (utc(2026, 12, 5, 13), "nl", False, "zaterdag 5 december"),
    (utc(2026, 12, 5, 13), "en", False, "Saturday 5 December"),
    (utc(2027, 3, 28, 8), "nl", True, "zondag 28 maart om 10:00"),  # summer time
    (utc(2026, 11, 28, 23, 30), "en", True, "Sunday 29 November at 00:30"),  # the day in Amsterdam
    (utc(2026, 12, 5, 13), "de", True, "zaterdag 5 december om 14:00"),  # unknown language: Dutch
]


@pytest.mark.parametrize(("at", "language", "has_time", "expected"), READ_BACKS)
def test_the_moment_is_read_back(at: datetime, language: str, has_time: bool, expected: str) -> None:
    assert describe(at, AMSTERDAM, language, has_time) == expected


def test_anna_reads_back_what_she_typed() -> None:
    when = parse_when("5 december om half drie", SATURDAY_MORNING, AMSTERDAM)
    assert describe(when.at, AMSTERDAM, "nl", when.has_time) == "zaterdag 5 december om 14:30"
    when = parse_when("over twee weken", SATURDAY_MORNING, AMSTERDAM)
    assert describe(when.at, AMSTERDAM, "en", when.has_time) == "Saturday 12 December"


def test_every_language_has_a_read_back() -> None:
    assert set(READ_BACK) == set(LANGUAGES)


def test_a_moment_is_never_before_now_when_it_is_soon() -> None:
    """Whatever minute Anna types "vandaag", the moment is now or within the quarter hour."""
    for minute in range(0, 60, 7):
        now = SATURDAY_AFTERNOON.replace(minute=minute, second=30)
        when = parse_when("vandaag", now, AMSTERDAM)
        assert now <= when.at < now + timedelta(minutes=15)

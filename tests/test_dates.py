"""Residents say when, in their own words: every way of saying it, read to the exact UTC moment."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.application.settings import LANGUAGES
from bot.language.dates import (
    HOLIDAY_NAMES,
    HOLIDAYS,
    READ_BACK,
    WHEN_TEXT_MAX,
    WeekdayDoesNotMatch,
    When,
    WhenInPast,
    WhenNotUnderstood,
    describe,
    easter_sunday,
    parse_time_on,
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


# Said on Saturday 28 November 2026 at ten: the Saturday nearest the date, and the date as written.
WEEKDAY_MISMATCHES = [
    # 13 December 2026 is a Sunday: Saturday the 12th or Sunday the 13th
    ("za 13 dec 14u", When(utc(2026, 12, 12, 13), True), When(utc(2026, 12, 13, 13), True)),
    ("zaterdag 13 december", When(utc(2026, 12, 12, 9), False), When(utc(2026, 12, 13, 9), False)),
    # 21 June 2027 is a Monday: the Saturday two days before is nearer than the one five days after
    ("zaterdag 21 juni 15:00", When(utc(2027, 6, 19, 13), True), When(utc(2027, 6, 21, 13), True)),
    # 3 December 2026 is a Thursday: the Friday after
    ("vrijdag 3 december om half drie", When(utc(2026, 12, 4, 13, 30), True), When(utc(2026, 12, 3, 13, 30), True)),
    # 29 November is a Sunday: the nearest Friday (the 27th) has passed, so the Friday after
    ("vrijdag 29 november 20:00", When(utc(2026, 12, 4, 19), True), When(utc(2026, 11, 29, 19), True)),
    ("morgen zaterdag", When(utc(2026, 11, 28, 9), False), When(utc(2026, 11, 29, 9), False)),
    # Christmas Day 2026 is a Friday
    ("zaterdag eerste kerstdag", When(utc(2026, 12, 26, 9), False), When(utc(2026, 12, 25, 9), False)),
    ("saturday 13 december 3pm", When(utc(2026, 12, 12, 14), True), When(utc(2026, 12, 13, 14), True)),
]


@pytest.mark.parametrize(("text", "named", "written"), WEEKDAY_MISMATCHES, ids=[m[0] for m in WEEKDAY_MISMATCHES])
def test_a_weekday_that_does_not_fit_offers_both_days(text: str, named: When, written: When) -> None:
    with pytest.raises(WeekdayDoesNotMatch) as refused:
        parse_when(text, SATURDAY_MORNING, AMSTERDAM)
    assert (refused.value.named, refused.value.written) == (named, written)
    assert refused.value.named.at.astimezone(AMSTERDAM).weekday() == refused.value.weekday


def test_a_weekday_that_fits_is_no_question() -> None:
    assert parse_when("zo 13 dec 14u", SATURDAY_MORNING, AMSTERDAM) == When(utc(2026, 12, 13, 13), True)
    assert parse_when("vrijdag eerste kerstdag", SATURDAY_MORNING, AMSTERDAM) == When(utc(2026, 12, 25, 9), False)


def test_a_date_that_has_passed_is_past_whatever_weekday_is_named() -> None:
    with pytest.raises(WhenInPast):
        parse_when("zondag 28 november 08:00", SATURDAY_MORNING, AMSTERDAM)  # today, eight has passed


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


# --- holidays ---------------------------------------------------------------------------------------------

# Easter as the Dutch calendars print it; the earliest (22 March) and latest (25 April) it can be.
EASTER = {
    2024: date(2024, 3, 31),
    2025: date(2025, 4, 20),
    2026: date(2026, 4, 5),
    2027: date(2027, 3, 28),
    2028: date(2028, 4, 16),
    2029: date(2029, 4, 1),
    2030: date(2030, 4, 21),
    2031: date(2031, 4, 13),
    2038: date(2038, 4, 25),
    1943: date(1943, 4, 25),
    1818: date(1818, 3, 22),
    2285: date(2285, 3, 22),
}


@pytest.mark.parametrize("year", sorted(EASTER))
def test_easter_is_worked_out_by_the_computus(year: int) -> None:
    assert easter_sunday(year) == EASTER[year]


def test_easter_is_always_a_sunday_between_22_march_and_25_april() -> None:
    for year in range(1900, 2400):
        easter = easter_sunday(year)
        assert easter.weekday() == 6 and date(year, 3, 22) <= easter <= date(year, 4, 25), year


# Each holiday in five years, as the calendar has them (not worked out here the way the code does).
HOLIDAY_DATES: dict[str, tuple[date, ...]] = {
    "nieuwjaarsdag": tuple(date(year, 1, 1) for year in range(2026, 2031)),
    "goede vrijdag": (date(2026, 4, 3), date(2027, 3, 26), date(2028, 4, 14), date(2029, 3, 30), date(2030, 4, 19)),
    "eerste paasdag": (date(2026, 4, 5), date(2027, 3, 28), date(2028, 4, 16), date(2029, 4, 1), date(2030, 4, 21)),
    "tweede paasdag": (date(2026, 4, 6), date(2027, 3, 29), date(2028, 4, 17), date(2029, 4, 2), date(2030, 4, 22)),
    "koningsdag": tuple(date(year, 4, 27) for year in range(2026, 2031)),  # none of them on a Sunday
    "hemelvaartsdag": (date(2026, 5, 14), date(2027, 5, 6), date(2028, 5, 25), date(2029, 5, 10), date(2030, 5, 30)),
    "eerste pinksterdag": (date(2026, 5, 24), date(2027, 5, 16), date(2028, 6, 4), date(2029, 5, 20), date(2030, 6, 9)),
    "tweede pinksterdag": (
        date(2026, 5, 25),
        date(2027, 5, 17),
        date(2028, 6, 5),
        date(2029, 5, 21),
        date(2030, 6, 10),
    ),
    "sinterklaasavond": tuple(date(year, 12, 5) for year in range(2026, 2031)),
    "kerstavond": tuple(date(year, 12, 24) for year in range(2026, 2031)),
    "eerste kerstdag": tuple(date(year, 12, 25) for year in range(2026, 2031)),
    "tweede kerstdag": tuple(date(year, 12, 26) for year in range(2026, 2031)),
    "oudejaarsdag": tuple(date(year, 12, 31) for year in range(2026, 2031)),
}
HOLIDAY_CASES = [
    pytest.param(name, day, id=f"{name} {day.year}") for name, days in HOLIDAY_DATES.items() for day in days
]
# Just after midnight on New Year's Day 2026: every holiday of 2026 is still to come.
NEW_YEARS_NIGHT = datetime(2026, 1, 1, 0, 5, tzinfo=AMSTERDAM)


def test_every_holiday_has_its_dates() -> None:
    assert set(HOLIDAY_DATES) == set(HOLIDAYS) == set(HOLIDAY_NAMES.values())


@pytest.mark.parametrize(("name", "day"), HOLIDAY_CASES)
def test_a_holiday_with_its_year_is_that_years_day(name: str, day: date) -> None:
    when = parse_when(f"{name} {day.year} 15:00", NEW_YEARS_NIGHT, AMSTERDAM)
    assert when.at.astimezone(AMSTERDAM) == datetime.combine(day, time(15), tzinfo=AMSTERDAM)
    assert when.has_time


@pytest.mark.parametrize("name", sorted(HOLIDAY_DATES))
def test_a_holiday_without_a_year_is_the_coming_one_today_included(name: str) -> None:
    for this_year, next_year in itertools.pairwise(HOLIDAY_DATES[name]):
        for now in (this_year + timedelta(days=1), next_year):  # the day after one, and the day itself
            when = parse_when(name, datetime.combine(now, time(0, 5), tzinfo=AMSTERDAM), AMSTERDAM)
            assert when.at.astimezone(AMSTERDAM).date() == next_year and not when.has_time, now


@pytest.mark.parametrize("alias", sorted(HOLIDAY_NAMES))
def test_every_name_for_a_holiday_is_understood(alias: str) -> None:
    holiday = HOLIDAY_NAMES[alias]
    day = HOLIDAY_DATES[holiday][2]  # 2028
    assert parse_when(f"{alias} 2028", NEW_YEARS_NIGHT, AMSTERDAM).at.astimezone(AMSTERDAM).date() == day


# Koningsdag moves to the Saturday when 27 April is a Sunday.
KINGS_DAYS = [date(2025, 4, 26), date(2026, 4, 27), date(2030, 4, 27), date(2031, 4, 26), date(2036, 4, 26)]


@pytest.mark.parametrize("day", KINGS_DAYS, ids=str)
def test_kings_day_is_the_26th_when_the_27th_is_a_sunday(day: date) -> None:
    now = datetime(day.year, 1, 10, 12, 0, tzinfo=AMSTERDAM)
    assert parse_when("Koningsdag", now, AMSTERDAM).at.astimezone(AMSTERDAM).date() == day


# As residents type them, on Saturday 28 November 2026 at ten (Christmas 2026 is on a Friday).
HOLIDAYS_TYPED = [
    case("1e kerstdag 15:00", utc(2026, 12, 25, 14), True),
    case("eerste kerstdag", utc(2026, 12, 25, 9), False),
    case("Eerste Kerstdag om 3 uur", utc(2026, 12, 25, 14), True),
    case("1ste kerstdag", utc(2026, 12, 25, 9), False),
    case("2e kerstdag 14u", utc(2026, 12, 26, 13), True),
    case("tweede kerstdag 's avonds", utc(2026, 12, 26, 18), True),
    case("kerst", utc(2026, 12, 25, 9), False),
    case("met kerstmis", utc(2026, 12, 25, 9), False),
    case("kerstdg", utc(2026, 12, 25, 9), False),  # a typo
    case("eerste kerstdag 2027", utc(2027, 12, 25, 9), False),
    case("eerste kerstdag 2027 15u", utc(2027, 12, 25, 14), True),
    case("oudjaarsavond 20:00", utc(2026, 12, 31, 19), True),  # misspelt, as residents do
    case("oudejaarsavond", utc(2026, 12, 31, 9), False),
    case("nieuwjaarsdag", utc(2027, 1, 1, 9), False),
    case("pakjesavond 19:00", utc(2026, 12, 5, 18), True),
    case("Sinterklaasavond", utc(2026, 12, 5, 9), False),
    case("pasen", utc(2027, 3, 28, 8), False),  # summer time from that very night
    case("2e paasdag 14:00", utc(2027, 3, 29, 12), True),
    case("goede vrijdag", utc(2027, 3, 26, 9), False),
    case("Hemelvaartsdag", utc(2027, 5, 6, 8), False),
    case("pinksteren", utc(2027, 5, 16, 8), False),
    case("2e pinksterdag", utc(2027, 5, 17, 8), False),
    case("op koningsdag om 11 uur", utc(2027, 4, 27, 9), True),
    case("Christmas Day 3pm", utc(2026, 12, 25, 14), True),
    case("Boxing Day", utc(2026, 12, 26, 9), False),
    case("New Year's Eve 8pm", utc(2026, 12, 31, 19), True),
    case("new years day", utc(2027, 1, 1, 9), False),
    case("King's Day", utc(2027, 4, 27, 8), False),
    case("Good Friday", utc(2027, 3, 26, 9), False),
    case("Easter Sunday", utc(2027, 3, 28, 8), False),
    case("easter monday 3pm", utc(2027, 3, 29, 13), True),
    case("Ascension Day", utc(2027, 5, 6, 8), False),
    case("Whit Sunday", utc(2027, 5, 16, 8), False),
    case("whit monday", utc(2027, 5, 17, 8), False),
]


@pytest.mark.parametrize(("text", "expected"), HOLIDAYS_TYPED)
def test_holidays_as_residents_type_them(text: str, expected: When) -> None:
    assert_parses(text, SATURDAY_MORNING, expected)


CHRISTMAS_MORNING = datetime(2026, 12, 25, 10, 0, tzinfo=AMSTERDAM)
ON_CHRISTMAS_MORNING = [
    case("eerste kerstdag 15:00", utc(2026, 12, 25, 14), True),  # still ahead: today
    case("eerste kerstdag 08:00", utc(2027, 12, 25, 7), True),  # passed: next year's
    case("eerste kerstdag", utc(2026, 12, 25, 9), False),  # the day is still going on
    case("tweede kerstdag", utc(2026, 12, 26, 9), False),
    case("kerstavond 19:00", utc(2027, 12, 24, 18), True),  # yesterday's: next year's
    case("oudejaarsavond", utc(2026, 12, 31, 9), False),
]


@pytest.mark.parametrize(("text", "expected"), ON_CHRISTMAS_MORNING)
def test_on_christmas_morning_christmas_is_today_while_the_time_is_ahead(text: str, expected: When) -> None:
    assert_parses(text, CHRISTMAS_MORNING, expected)


def test_on_easter_afternoon_easter_at_three_is_next_years() -> None:
    afternoon = datetime(2027, 3, 28, 16, 0, tzinfo=AMSTERDAM)
    assert parse_when("pasen 15:00", afternoon, AMSTERDAM) == When(utc(2028, 4, 16, 13), True)


HOLIDAYS_REFUSED = [
    ("kerst 2025", SATURDAY_MORNING, WhenInPast),  # an explicit year is honoured, even when it has passed
    ("eerste kerstdag 2026 08:00", CHRISTMAS_MORNING, WhenInPast),  # ...and never moves on a year
    ("eerste kerstdag 5 januari", SATURDAY_MORNING, WhenNotUnderstood),  # two days
    ("kerst pasen", SATURDAY_MORNING, WhenNotUnderstood),
    ("eerste kerstdag volgende week", SATURDAY_MORNING, WhenNotUnderstood),
]


@pytest.mark.parametrize(("text", "now", "refusal"), HOLIDAYS_REFUSED, ids=[r[0] for r in HOLIDAYS_REFUSED])
def test_a_holiday_with_something_that_does_not_fit_is_refused(
    text: str, now: datetime, refusal: type[Exception]
) -> None:
    with pytest.raises(refusal):
        parse_when(text, now, AMSTERDAM)


def test_a_holiday_reads_back_with_its_weekday() -> None:
    when = parse_when("1e kerstdag 15:00", SATURDAY_MORNING, AMSTERDAM)
    assert describe(when.at, AMSTERDAM, "nl", when.has_time) == "vrijdag 25 december om 15:00"


# --- the answer to "hoe laat?" ----------------------------------------------------------------------------

CHRISTMAS = date(2026, 12, 25)
TIMES_OF_DAY = [
    case("15:00", utc(2026, 12, 25, 14), True),
    case("15.00", utc(2026, 12, 25, 14), True),
    case("15u", utc(2026, 12, 25, 14), True),
    case("15 uur", utc(2026, 12, 25, 14), True),
    case("om 15.00 uur", utc(2026, 12, 25, 14), True),
    case("15", utc(2026, 12, 25, 14), True),  # asked for a time, a bare hour is one
    case("3", utc(2026, 12, 25, 14), True),  # by day, three is in the afternoon
    case("om 3", utc(2026, 12, 25, 14), True),
    case("3 uur 's middags", utc(2026, 12, 25, 14), True),
    case("half 4", utc(2026, 12, 25, 14, 30), True),
    case("half vier", utc(2026, 12, 25, 14, 30), True),
    case("kwart over drie", utc(2026, 12, 25, 14, 15), True),
    case("kwart voor 8 's avonds", utc(2026, 12, 25, 18, 45), True),
    case("10:30", utc(2026, 12, 25, 9, 30), True),
    case("'s avonds", utc(2026, 12, 25, 18), True),
    case("3pm", utc(2026, 12, 25, 14), True),
    case("  15:00 ", utc(2026, 12, 25, 14), True),
]


@pytest.mark.parametrize(("text", "expected"), TIMES_OF_DAY)
def test_the_time_asked_for_is_read_on_the_day_agreed(text: str, expected: When) -> None:
    assert parse_time_on(CHRISTMAS, text, SATURDAY_MORNING, AMSTERDAM) == expected


def test_the_time_asked_for_is_read_in_summer_time_and_across_the_clocks_going_forward() -> None:
    assert parse_time_on(date(2027, 6, 21), "15u", SATURDAY_MORNING, AMSTERDAM) == When(utc(2027, 6, 21, 13), True)
    assert parse_time_on(date(2027, 3, 28), "02:30", SATURDAY_MORNING, AMSTERDAM) == When(utc(2027, 3, 28, 1, 30), True)


NOT_A_TIME_OF_DAY = ["", "blabla", "morgen 15:00", "25 december", "zaterdag", "25:00", "15:00 16:00", "over 2 uur"]


@pytest.mark.parametrize("text", NOT_A_TIME_OF_DAY, ids=lambda text: text or "empty")
def test_what_is_not_a_time_of_day_alone_is_not_understood(text: str) -> None:
    with pytest.raises(WhenNotUnderstood):
        parse_time_on(CHRISTMAS, text, SATURDAY_MORNING, AMSTERDAM)


def test_a_time_that_has_passed_today_is_past() -> None:
    with pytest.raises(WhenInPast):
        parse_time_on(date(2026, 11, 28), "08:00", SATURDAY_MORNING, AMSTERDAM)
    assert parse_time_on(date(2026, 11, 28), "15u", SATURDAY_MORNING, AMSTERDAM) == When(utc(2026, 11, 28, 14), True)

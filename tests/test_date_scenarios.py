"""Saying when, as residents type it: holidays, a day without a time, a weekday that does not fit its
date, and typing again. Told from each person's side, on Saturday 28 November 2026 (Christmas is a
Friday, 13 December a Sunday)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.kernel.buttons import Tap, encode
from bot.transports.memory import SimulatedPerson
from storage.models import Event, HelpRequest
from tests.conftest import Village
from tests.test_help_scenarios import member

CHRISTMAS_AT_THREE = datetime(2026, 12, 25, 14, 0, tzinfo=UTC)  # 15:00 in Son en Breugel
SATURDAY_12_AT_TWO = datetime(2026, 12, 12, 13, 0, tzinfo=UTC)


async def starts_an_activity(jan: SimulatedPerson, title: str = "Kerstborrel") -> None:
    await jan.says("/activiteit")
    await jan.says(title)
    assert "Wanneer?" in jan.last_text


async def finishes_the_activity(jan: SimulatedPerson) -> None:
    await jan.taps("Ja, dat klopt")
    await jan.says("Buurthuis")
    await jan.taps("Overslaan")
    await jan.taps("Geen maximum")


async def events_in(village: Village) -> list[Event]:
    async with village.bot.village.stores.network("breugel-noord") as store, store.transaction() as session:
        return list((await session.exec(select(Event))).all())


async def requests_in(village: Village) -> list[HelpRequest]:
    async with village.bot.village.stores.network("breugel-noord") as store, store.transaction() as session:
        return list((await session.exec(select(HelpRequest))).all())


def as_utc(moment: datetime) -> datetime:
    """SQLite keeps no zone: a stored moment is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- activities -------------------------------------------------------------------------------------------


async def test_jan_plans_on_christmas_day_is_asked_the_time_and_the_party_is_at_three(village: Village) -> None:
    jan = village.jan
    await starts_an_activity(jan)
    await jan.says("eerste kerstdag")
    assert "Hoe laat begint het op vrijdag 25 december?" in jan.last_text
    assert jan.last.labels == ["Andere dag", "Stoppen"]
    await jan.says("15u")
    assert "Bedoelt u vrijdag 25 december om 15:00?" in jan.last_text
    assert jan.last.labels == ["Ja, dat klopt", "Opnieuw typen"]
    await finishes_the_activity(jan)
    assert "Zo ziet de activiteit eruit" in jan.last_text
    assert "vrijdag 25 december om 15:00" in jan.last_text
    await jan.taps("Publiceren")
    [party] = await events_in(village)
    assert as_utc(party.starts_at) == CHRISTMAS_AT_THREE


async def test_a_day_without_a_time_never_becomes_two_oclock(village: Village) -> None:
    jan = village.jan
    await starts_an_activity(jan)
    await jan.says("zaterdag 12 december")
    assert "Hoe laat begint het" in jan.last_text
    assert not any("14:00" in message.text for message in jan.inbox)
    await jan.says("half 4")
    assert "Bedoelt u zaterdag 12 december om 15:30?" in jan.last_text


async def test_the_time_is_understood_however_jan_types_it(village: Village) -> None:
    jan = village.jan
    for typed, read_back in (
        ("15:00", "15:00"),
        ("15.00", "15:00"),
        ("3 uur 's middags", "15:00"),
        ("half 4", "15:30"),
    ):
        await starts_an_activity(jan)
        await jan.says("1e kerstdag")
        await jan.says(typed)
        assert f"Bedoelt u vrijdag 25 december om {read_back}?" in jan.last_text, typed
        await jan.says("/stop")


async def test_a_time_not_understood_is_asked_again_and_a_day_and_time_still_work(village: Village) -> None:
    jan = village.jan
    await starts_an_activity(jan)
    await jan.says("eerste kerstdag")
    await jan.says("na het eten")
    assert "Dat begrijp ik niet als tijd" in jan.last_text
    assert jan.last.labels == ["Andere dag", "Stoppen"]
    await jan.says("tweede kerstdag 14:00")  # changed his mind about the day: fine as well
    assert "Bedoelt u zaterdag 26 december om 14:00?" in jan.last_text


async def test_another_day_goes_back_to_the_question(village: Village) -> None:
    jan = village.jan
    await starts_an_activity(jan)
    await jan.says("eerste kerstdag")
    await jan.taps("Andere dag")
    assert "Wanneer?" in jan.last_text
    await jan.says("15:00")  # a bare time at the day question is today, not Christmas
    assert "Bedoelt u zaterdag 28 november om 15:00?" in jan.last_text


async def test_a_weekday_that_does_not_fit_is_asked_about_and_the_saturday_is_chosen(village: Village) -> None:
    jan = village.jan
    await starts_an_activity(jan)
    await jan.says("za 13 dec 14u")
    assert "De dag en de datum die u typte passen niet bij elkaar" in jan.last_text
    assert "De datum is zondag 13 december." in jan.last_text
    assert jan.last.labels == ["zaterdag 12 december", "zondag 13 december", "Opnieuw typen"]
    await jan.taps("zaterdag 12 december")
    assert "Bedoelt u zaterdag 12 december om 14:00?" in jan.last_text
    assert jan.last.labels == ["Ja, dat klopt", "Opnieuw typen"]
    await finishes_the_activity(jan)
    await jan.taps("Publiceren")
    [party] = await events_in(village)
    assert as_utc(party.starts_at) == SATURDAY_12_AT_TWO


async def test_the_date_as_written_may_be_chosen_and_without_a_time_the_time_is_asked(village: Village) -> None:
    jan = village.jan
    await starts_an_activity(jan)
    await jan.says("zaterdag 13 december")
    await jan.taps("zondag 13 december")
    assert "Hoe laat begint het op zondag 13 december?" in jan.last_text
    await jan.says("15")
    assert "Bedoelt u zondag 13 december om 15:00?" in jan.last_text


async def test_a_day_tapped_twice_or_forged_changes_nothing(village: Village) -> None:
    jan = village.jan
    await starts_an_activity(jan)
    await jan.says("za 13 dec 14u")
    choice = jan.last
    await jan.press(choice, encode(Tap.EVENT_WHEN_OK, "pick", 7))  # no seventh day was offered
    assert jan.answers[-1].startswith("Deze knop werkt niet meer")
    await jan.taps("zondag 13 december")
    assert "Bedoelt u zondag 13 december om 14:00?" in jan.last_text
    stale = len(jan.answers)
    await jan.taps("zaterdag 12 december", in_message=choice)  # the choice is made: that button is stale
    assert len(jan.answers) == stale + 1 and jan.answers[-1].startswith("Deze knop werkt niet meer")
    await finishes_the_activity(jan)
    await jan.taps("Publiceren")
    [party] = await events_in(village)
    assert as_utc(party.starts_at) == datetime(2026, 12, 13, 13, 0, tzinfo=UTC)


async def test_type_again_goes_back_to_the_date_step(village: Village) -> None:
    jan = village.jan
    await starts_an_activity(jan)
    await jan.says("morgen 15:00")
    assert "Bedoelt u zondag 29 november om 15:00?" in jan.last_text
    await jan.taps("Opnieuw typen")
    assert "Wanneer?" in jan.last_text
    await jan.says("zondag 6 december 16:00")
    assert "Bedoelt u zondag 6 december om 16:00?" in jan.last_text
    await finishes_the_activity(jan)
    assert "zondag 6 december om 16:00" in jan.last_text


async def test_moving_the_party_to_boxing_day_asks_the_time_and_offers_type_again(village: Village) -> None:
    jan = village.jan
    await starts_an_activity(jan)
    await jan.says("eerste kerstdag 15:00")
    await finishes_the_activity(jan)
    await jan.taps("Publiceren")
    await jan.taps("Andere tijd")
    await jan.says("tweede kerstdag")
    assert "Hoe laat begint het op zaterdag 26 december?" in jan.last_text
    await jan.says("16u")
    assert "Bedoelt u zaterdag 26 december om 16:00?" in jan.last_text
    assert jan.last.labels == ["Ja, dat klopt", "Opnieuw typen"]
    await jan.taps("Opnieuw typen")
    assert "Wat is de nieuwe dag en tijd voor Kerstborrel?" in jan.last_text
    await jan.says("2e kerstdag 17:00")
    await jan.taps("Ja, dat klopt")
    [party] = await events_in(village)
    assert as_utc(party.starts_at) == datetime(2026, 12, 26, 16, 0, tzinfo=UTC)


async def test_an_english_speaker_gets_the_days_in_english(village: Village) -> None:
    jan = village.jan
    await jan.says("/taal")
    await jan.taps("English")
    await jan.says("/newevent")
    await jan.says("Christmas drinks")
    assert "When?" in jan.last_text
    await jan.says("saturday 13 december 2pm")
    assert "The date is Sunday 13 December." in jan.last_text
    assert jan.last.labels == ["Saturday 12 December", "Sunday 13 December", "Type again"]
    await jan.taps("Saturday 12 December")
    assert "Do you mean Saturday 12 December at 14:00?" in jan.last_text
    await jan.taps("Type again")
    await jan.says("Christmas Day")
    assert "What time does it start on Friday 25 December?" in jan.last_text
    assert jan.last.labels == ["Another day", "Stop"]


# --- help requests ----------------------------------------------------------------------------------------


async def anna_asks_for_groceries(anna: SimulatedPerson) -> None:
    await anna.says("/vraag")
    await anna.taps("Boodschappen")
    await anna.says("Boodschappen halen voor de kerst")
    assert "Wanneer?" in anna.last_text


async def test_anna_needs_help_on_the_saturday_she_meant(village: Village) -> None:
    anna = await member(village, "Anna")
    await anna_asks_for_groceries(anna)
    await anna.says("za 13 dec 14u")
    assert "De datum is zondag 13 december." in anna.last_text
    assert anna.last.labels == ["zaterdag 12 december", "zondag 13 december", "Opnieuw typen"]
    await anna.taps("zaterdag 12 december")
    assert "Bedoelt u zaterdag 12 december om 14:00?" in anna.last_text
    assert anna.last.labels == ["Ja, dat klopt", "Opnieuw typen"]
    await anna.taps("Ja, dat klopt")
    await anna.taps("Iedereen")
    assert "zaterdag 12 december om 14:00" in anna.last_text
    await anna.taps("Plaatsen")
    [request] = await requests_in(village)
    assert as_utc(request.needed_at) == SATURDAY_12_AT_TWO and request.needed_has_time


async def test_help_on_christmas_day_needs_no_time(village: Village) -> None:
    anna = await member(village, "Anna")
    await anna_asks_for_groceries(anna)
    await anna.says("eerste kerstdag")
    assert "Bedoelt u vrijdag 25 december?" in anna.last_text  # a day is enough for help: no time made up
    assert anna.last.labels == ["Ja, dat klopt", "Opnieuw typen"]
    await anna.taps("Ja, dat klopt")
    await anna.taps("Iedereen")
    await anna.taps("Plaatsen")
    [request] = await requests_in(village)
    assert not request.needed_has_time


async def test_anna_types_the_help_time_again(village: Village) -> None:
    anna = await member(village, "Anna")
    await anna_asks_for_groceries(anna)
    await anna.says("1e kerstdag 15:00")
    assert "Bedoelt u vrijdag 25 december om 15:00?" in anna.last_text
    await anna.taps("Opnieuw typen")
    assert "Wanneer?" in anna.last_text
    assert anna.last.labels[:3] == ["Vandaag", "Morgen", "Deze week"]
    await anna.says("oudjaarsavond 19:00")
    assert "Bedoelt u donderdag 31 december om 19:00?" in anna.last_text
    await anna.taps("Ja, dat klopt")
    await anna.taps("Iedereen")
    await anna.taps("Plaatsen")
    [request] = await requests_in(village)
    assert as_utc(request.needed_at) == datetime(2026, 12, 31, 18, 0, tzinfo=UTC)

"""Activities: the street party from invitation to reminders, moves, cancellation and the calendar file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
from sqlmodel import select

from bot.application.settings import Settings
from bot.delivery.scheduler import JobKind
from bot.kernel.clock import ManualClock
from bot.transports.memory import SimulatedPerson
from storage.models import Event, JobStatus, OutboxKind, OutboxMessage
from tests.conftest import Village, start_village
from tests.test_help_scenarios import member

PARTY = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)  # Saturday 5 December, 15:00 in Son en Breugel


async def jan_plans_the_street_party(jan: SimulatedPerson, *, capacity: str | None = None) -> None:
    await jan.says("/menu")
    await jan.taps("➕ Nieuwe activiteit")  # a buurtverbinder has it in the menu
    await jan.says("Straatfeest")
    await jan.says("zaterdag 5 december 15:00")
    assert "Bedoelt u zaterdag 5 december om 15:00?" in jan.last_text
    await jan.taps("Ja, dat klopt")
    await jan.says("Speeltuin Kerkstraat")
    await jan.taps("Overslaan")
    if capacity:
        await jan.says(capacity)
    else:
        await jan.taps("Geen maximum")
    assert "Zo ziet de activiteit eruit" in jan.last_text
    await jan.taps("Publiceren")
    assert "Gepubliceerd!" in jan.last_text
    await jan.simulator.bot.village.sender.flush()  # the invitations go through the outbox


def reminders(person: SimulatedPerson) -> int:
    return sum("Herinnering" in message.text for message in person.inbox)


async def test_the_street_party_answers_counts_and_reminders_across_a_restart(
    settings: Settings, clock: ManualClock
) -> None:
    first = await start_village(settings, clock)
    anna, piet, els = await member(first, "Anna"), await member(first, "Piet"), await member(first, "Els")
    await jan_plans_the_street_party(first.jan)
    for person in (anna, piet, els):
        assert "Uitnodiging" in person.last_text and "Straatfeest" in person.last_text
        assert person.last.labels[:3] == ["Ik kom", "Misschien", "Kan niet"]

    await anna.taps("Ik kom")
    assert "👍 1 komen" in first.jan.last_text  # the organiser's copy follows, edited in place
    await piet.taps("Misschien")
    await els.taps("Kan niet")
    assert "✅ U komt." in anna.last_text and "✅ Ik kom" in anna.last.labels
    jan_copy = first.jan.last_text
    assert "👍 1 komen · 🤔 1 misschien · 👎 1 kan niet" in jan_copy  # every answer counts, "Kan niet" too
    assert len([m for m in first.jan.inbox if "👍" in m.text]) == 1  # no new message per tap

    clock.advance(PARTY - timedelta(hours=24) - clock.now())  # Friday 15:00
    await first.bot.village.scheduler.run_due()
    await first.bot.village.sender.flush()  # reminders go through the outbox, like every message to many
    assert (reminders(anna), reminders(piet), reminders(els)) == (1, 1, 0)
    assert "(u zei misschien)" in piet.last_text
    await first.bot.stop()

    second = await start_village(settings, clock, seed=False, first_update_id=9000)
    scheduler, sender = second.bot.village.scheduler, second.bot.village.sender
    await scheduler.run_due()  # the restart sends nothing twice
    await sender.flush()
    clock.advance(timedelta(hours=22))  # Saturday 13:00
    await scheduler.run_due()
    await scheduler.run_due()
    await sender.flush()
    anna2, piet2, els2 = (second.person(name) for name in ("Anna", "Piet", "Els"))
    assert (reminders(anna2), reminders(piet2), reminders(els2)) == (1, 1, 0)  # this door's share: the second
    async with second.bot.village.stores.network("breugel-noord") as store:
        jobs = [job for job in await store.jobs() if job.kind == JobKind.EVENT_REMIND]
    assert sorted(job.status for job in jobs) == [JobStatus.DONE, JobStatus.DONE]
    await second.bot.stop()


async def test_jan_moves_the_party_and_the_reminders_move_then_cancels_and_everyone_is_told(
    village: Village, clock: ManualClock
) -> None:
    anna, piet, els = await member(village, "Anna"), await member(village, "Piet"), await member(village, "Els")
    await jan_plans_the_street_party(village.jan)
    await anna.taps("Ik kom")
    await piet.taps("Misschien")
    await els.taps("Kan niet")

    await village.jan.taps("Andere tijd")
    await village.jan.says("zaterdag 5 december 16:00")
    await village.jan.taps("Ja, dat klopt")
    assert "3 mensen krijgen bericht" in village.jan.last_text
    await village.bot.village.sender.flush()  # notices go through the outbox, like every message to many
    for person in (anna, piet, els):
        assert "Gewijzigd" in person.last_text and "16:00" in person.last_text
    async with village.bot.village.stores.network("breugel-noord") as store:
        due = sorted(job.due_at for job in await store.jobs() if job.kind == JobKind.EVENT_REMIND)
    moved = PARTY + timedelta(hours=1)
    assert due == [moved - timedelta(hours=24), moved - timedelta(hours=2)]

    clock.advance(PARTY - timedelta(hours=24) - clock.now())  # the old reminder time: nothing yet
    await village.bot.village.scheduler.run_due()
    await village.bot.village.sender.flush()
    assert reminders(anna) == 0
    clock.advance(timedelta(hours=1))
    await village.bot.village.scheduler.run_due()
    await village.bot.village.sender.flush()
    assert reminders(anna) == 1

    await village.jan.says("/agenda")
    await village.jan.taps("Afzeggen")
    await village.jan.taps("Ja, afzeggen")
    assert "3 mensen krijgen bericht" in village.jan.last_text
    await village.bot.village.sender.flush()
    for person in (anna, piet, els):
        assert "Afgezegd" in person.last_text
    clock.advance(timedelta(hours=22))
    await village.bot.village.scheduler.run_due()
    await village.bot.village.sender.flush()
    assert reminders(anna) == 1  # no reminder for a cancelled party


async def test_a_full_party_has_a_waiting_list_and_a_freed_place_goes_to_the_first_waiting(village: Village) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await jan_plans_the_street_party(village.jan, capacity="1")
    await anna.taps("Ik kom")
    await piet.taps("Ik kom")
    assert "is vol" in piet.last_text
    await piet.taps("Op de wachtlijst")
    assert "U staat op de wachtlijst" in piet.last_text
    invitation = next(m for m in anna.inbox if "Uitnodiging" in m.versions[0].plain_text)
    await anna.taps("Kan niet", in_message=invitation)
    assert "Er is een plaats vrijgekomen" in piet.last_text


async def test_the_calendar_file_parses_back_with_the_start_in_utc(village: Village) -> None:
    anna = await member(village, "Anna")
    await jan_plans_the_street_party(village.jan)
    await anna.taps("In mijn agenda")
    [sent] = anna.files
    assert sent.filename.endswith(".ics")
    calendar = icalendar.Calendar.from_ical(sent.content)
    [party] = calendar.walk("VEVENT")
    assert party.decoded("dtstart") == PARTY
    assert str(party.get("summary")) == "Straatfeest" and str(party.get("location")) == "Speeltuin Kerkstraat"


async def test_a_resident_proposes_where_the_network_allows_and_jan_publishes(village: Village) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await anna.says("/activiteit")
    assert "Dat kunt u hier niet doen" in anna.last_text
    await anna.says("/agenda")
    assert "➕ Nieuwe activiteit" not in anna.last.labels  # no button to a refusal
    async with village.bot.village.stores.network("breugel-noord") as store:
        await store.set_setting("residents_propose_events", "1")
    await anna.says("/agenda")
    await anna.taps("➕ Nieuwe activiteit")  # by button, where her network lets residents propose
    await anna.says("Koffieochtend")
    await anna.says("morgen om 10 uur")
    await anna.taps("Ja, dat klopt")
    await anna.says("Bij Anna, Kerkstraat 3")
    await anna.says("Iedereen welkom, ik zet koffie")
    await anna.says("8")
    await anna.taps("Voorstellen")
    assert "ligt bij de buurtverbinder" in anna.last_text
    assert "Anna stelt een activiteit voor" in village.jan.last_text
    assert not any("Koffieochtend" in m.text for m in piet.inbox)
    await village.jan.taps("Publiceren")
    assert any("is gepubliceerd. 3 leden krijgen een uitnodiging" in m.text for m in village.jan.inbox)
    assert not any("Koffieochtend" in m.text for m in piet.inbox)  # queued in the outbox, not yet sent
    await village.bot.village.sender.flush()
    assert "Koffieochtend" in piet.last_text and "8 plaatsen" in piet.last_text
    anna_copy = anna.last
    assert "Koffieochtend" in anna_copy.text  # Anna, who proposed it, is invited too...
    await piet.taps("Ik kom")
    assert "👍 1 komen" in anna_copy.text  # ...and her copy, sent by the outbox, follows the answers in place
    assert "🕑 Andere tijd" in anna_copy.labels  # the organiser may move or cancel it from there


async def test_bad_event_input_gets_clear_replies(village: Village) -> None:
    jan = village.jan
    await jan.says("/activiteit")
    await jan.says("S" * 200)
    assert "Dat is te lang" in jan.last_text
    await jan.says("Straatfeest")
    await jan.says("gisteren 15:00")
    assert "al voorbij" in jan.last_text
    await jan.says("ergens volgend jaar misschien")
    assert "begrijp ik niet als datum" in jan.last_text
    await jan.says("morgen 15:00")
    await jan.taps("Ja, dat klopt")
    await jan.says("Plein")
    await jan.taps("Overslaan")
    await jan.says("heel veel")
    assert "Typ een aantal in cijfers" in jan.last_text
    await jan.says("/stop")
    assert (
        await village.bot.village.activities.upcoming(
            await village.bot.village.people.standing(await _person(village, jan)), village.bot.village.clock.now()
        )
        == []
    )


async def _person(village: Village, who: SimulatedPerson):  # type: ignore[no-untyped-def]
    return await village.bot.village.stores.directory.get_person(who.id)


async def test_no_more_than_three_activities_a_day(village: Village) -> None:
    village.bot.flood = None  # thirty taps in one instant of the test's clock
    for _ in range(3):
        await jan_plans_the_street_party(village.jan)
    await village.jan.says("/activiteit")
    await village.jan.says("Nog een feest")
    await village.jan.says("zaterdag 5 december 18:00")
    await village.jan.taps("Ja, dat klopt")
    await village.jan.says("Plein")
    await village.jan.taps("Overslaan")
    await village.jan.taps("Geen maximum")
    await village.jan.taps("Publiceren")
    assert "al 3 activiteiten aangemaakt" in village.jan.answers[-1]


async def test_reminders_wait_in_the_outbox_in_one_go_and_keep_their_answer_buttons(
    village: Village, clock: ManualClock
) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await jan_plans_the_street_party(village.jan)
    await anna.taps("Ik kom")
    await piet.taps("Ik kom")
    clock.advance(PARTY - timedelta(hours=24) - clock.now())
    await village.bot.village.scheduler.run_due()
    assert (reminders(anna), reminders(piet)) == (0, 0)  # queued for the sender, not sent from the job
    async with village.bot.village.stores.network("breugel-noord") as store, store.transaction() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.EVENT_REMINDER)
        queued = (await session.exec(query)).all()
    assert sorted(row.chat_id for row in queued) == sorted([anna.id, piet.id])
    assert {row.ref for row in queued} == {"1:24"} and {row.status for row in queued} == {"pending"}

    await village.bot.village.sender.flush()
    reminder = anna.last
    assert "Herinnering" in reminder.text and reminder.labels[:3] == ["Ik kom", "Misschien", "Kan niet"]
    await anna.taps("Kan niet", in_message=reminder)  # the buttons came back from the store intact
    assert "U kunt niet." in anna.last_text and "👍 1 komen" in anna.last_text  # Piet still comes


async def test_three_parties_remind_at_once_each_its_own_yes_and_maybe_and_a_vanished_one_fails_alone(
    village: Village, clock: ManualClock
) -> None:
    """The reminder jobs due in one pass run together; what each resident gets is as if they ran alone."""
    app = village.bot.village
    village.bot.flood = None  # many taps in one instant of the test's clock
    anna, piet, els, kees = [await member(village, name) for name in ("Anna", "Piet", "Els", "Kees")]
    for _ in range(3):
        await jan_plans_the_street_party(village.jan)
    invitations = [m for m in anna.inbox if "Uitnodiging" in m.versions[0].plain_text]
    assert len(invitations) == 3
    first, second, third = (
        [m for m in p.inbox if "Uitnodiging" in m.versions[0].plain_text] for p in (piet, els, kees)
    )
    await anna.taps("Ik kom", in_message=invitations[0])
    await anna.taps("Misschien", in_message=invitations[1])
    await piet.taps("Ik kom", in_message=first[1])
    await els.taps("Ik kom", in_message=second[0])
    await kees.taps("Ik kom", in_message=third[2])
    await els.says("/agenda")
    await els.taps("🔕 Geen herinneringen meer")  # Els would rather not be reminded
    await kees.says("/afmelden")
    await kees.taps("Ja, afmelden")  # Kees moved away
    async with app.stores.network("breugel-noord") as store, store.transaction() as session:
        party = await session.get(Event, 3)
        assert party is not None
        await session.delete(party)  # the third party vanished from the store: its reminder cannot run

    clock.advance(PARTY - timedelta(hours=24) - clock.now())
    ran = await app.scheduler.run_due()
    await app.sender.flush()

    assert ran.failed == 1  # the vanished party's reminder, alone (the night's clean-up ran too)
    assert reminders(anna) == 2 and "(u zei misschien)" in anna.last_text
    assert (reminders(piet), reminders(els), reminders(kees)) == (1, 0, 0)
    async with app.stores.network("breugel-noord") as store:
        jobs = {job.ref: job.status for job in await store.jobs() if job.kind == JobKind.EVENT_REMIND}
    assert {ref: jobs[ref] for ref in ("1:24", "2:24", "3:24")} == {
        "1:24": JobStatus.DONE,
        "2:24": JobStatus.DONE,
        "3:24": JobStatus.FAILED,
    }
    assert (await app.scheduler.run_due()).done == 0  # never twice
    await app.sender.flush()
    assert (reminders(anna), reminders(piet)) == (2, 1)

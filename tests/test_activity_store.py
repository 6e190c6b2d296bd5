"""The activities' rows on real SQLite files: answers and the waiting list in one turn, the organiser's
copies, decisions, and what a batch of reminders reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.activities import ActivityRows, RsvpRow, invitation_ref
from storage.models import Answer, DeliveryStatus, Event, EventStatus, JoinPolicy, MembershipStatus, OutboxKind
from storage.outbox import NewMessage, OutboxRows, Result
from storage.stores import Stores

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
SLUG = "breugel-noord"
STEP = "rsvp_promoted"
JAN, ANNA, PIET, ELS, KEES = 101, 102, 103, 104, 105


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    opened = Stores(tmp_path, max_open=3)
    await opened.open()
    await opened.create_network(SLUG)
    yield opened
    await opened.close()


@pytest.fixture
def rows(stores: Stores) -> ActivityRows:
    return ActivityRows(stores)


async def street_party(
    rows: ActivityRows, *, status: str = EventStatus.PUBLISHED, in_days: int = 7, capacity: int | None = 1
) -> int:
    event = Event(
        title="Straatfeest",
        starts_at=NOW + timedelta(days=in_days),
        place="Plein",
        capacity=capacity,
        status=status,
        created_by=JAN,
        created_at=NOW,
        updated_at=NOW,
    )
    await rows.add(SLUG, event)
    assert event.id is not None
    return event.id


async def answers_to(rows: ActivityRows, event_id: int) -> dict[int, tuple[str, bool]]:
    async with rows.rsvp_turn(SLUG) as turn:
        found = await turn.event_and_answers(event_id)
    assert found is not None
    return {row.person_id: (row.answer, row.waiting) for row in found[1]}


async def anna_comes_and_piet_waits(rows: ActivityRows, event_id: int) -> None:
    async with rows.rsvp_turn(SLUG) as turn:
        await turn.add(event_id, RsvpRow(ANNA, Answer.YES, False, NOW))
        await turn.add(event_id, RsvpRow(PIET, Answer.YES, True, NOW + timedelta(minutes=1)))


async def test_anna_cannot_come_after_all_and_piet_gets_her_place_with_the_step_kept(rows: ActivityRows) -> None:
    party = await street_party(rows)
    await anna_comes_and_piet_waits(rows, party)

    async with rows.rsvp_turn(SLUG) as turn:
        found = await turn.event_and_answers(party)
        assert found is not None
        event, answers = found
        assert (event.title, event.capacity, event.created_by) == ("Straatfeest", 1, JAN)
        anna = next(row for row in answers if row.person_id == ANNA)
        anna.answer, anna.answered_at = Answer.NO, NOW + timedelta(hours=1)
        await turn.change(party, anna)
        await turn.give_place(party, PIET, key="tg:7", step_kind=STEP, now=NOW)

    assert await answers_to(rows, party) == {ANNA: ("no", False), PIET: ("yes", False)}
    async with rows.rsvp_turn(SLUG) as turn:
        step = await turn.applied("tg:7")
    assert step is not None and (step.kind, step.ref, step.told) == (STEP, str(PIET), False)

    await rows.told(SLUG, "tg:7", NOW)
    async with rows.rsvp_turn(SLUG) as turn:
        step = await turn.applied("tg:7")
    assert step is not None and step.told


async def test_a_turn_cut_short_keeps_neither_the_place_nor_its_step(rows: ActivityRows) -> None:
    party = await street_party(rows)
    await anna_comes_and_piet_waits(rows, party)

    with pytest.raises(RuntimeError):
        async with rows.rsvp_turn(SLUG) as turn:
            await turn.change(party, RsvpRow(ANNA, Answer.NO, False, NOW))
            await turn.give_place(party, PIET, key="tg:8", step_kind=STEP, now=NOW)
            raise RuntimeError("the process dies before the commit")

    assert await answers_to(rows, party) == {ANNA: ("yes", False), PIET: ("yes", True)}
    async with rows.rsvp_turn(SLUG) as turn:
        assert await turn.applied("tg:8") is None


async def test_a_tap_on_an_activity_that_is_gone_finds_nothing(rows: ActivityRows) -> None:
    async with rows.rsvp_turn(SLUG) as turn:
        assert await turn.event_and_answers(404) is None


async def test_the_organisers_copies_are_the_posting_and_the_invitations_sent_to_their_chat(
    rows: ActivityRows, stores: Stores
) -> None:
    party, other = await street_party(rows), await street_party(rows)
    await rows.record_posting(SLUG, party, JAN, 77)
    await rows.record_posting(SLUG, other, JAN, 78)  # another activity
    await rows.record_posting(SLUG, party, ANNA, 79)  # another chat
    outbox = OutboxRows(stores)
    ref = invitation_ref(party)
    await outbox.queue(SLUG, [NewMessage(JAN, "uitnodiging")], kind=OutboxKind.EVENT_INVITATION, ref=ref, now=NOW)
    await outbox.queue(SLUG, [NewMessage(ANNA, "uitnodiging")], kind=OutboxKind.EVENT_INVITATION, ref=ref, now=NOW)
    await outbox.queue(SLUG, [NewMessage(JAN, "herinnering")], kind=OutboxKind.EVENT_REMINDER, ref=ref, now=NOW)
    claimed, _ = await outbox.claim(SLUG, now=NOW, limit=10)
    sent = [Result(row.id, DeliveryStatus.SENT, 1, NOW, message_id=880 + row.id) for row in claimed]
    await outbox.settle(SLUG, sent, now=NOW)
    jans_invitation = next(row for row in claimed if row.chat_id == JAN and row.kind == OutboxKind.EVENT_INVITATION)
    await outbox.queue(SLUG, [NewMessage(JAN, "nog niet")], kind=OutboxKind.EVENT_INVITATION, ref=ref, now=NOW)

    async with rows.rsvp_turn(SLUG) as turn:
        copies = await turn.copies(party, JAN)
    assert sorted(copies) == [77, 880 + jans_invitation.id]


async def test_of_two_buurtverbinders_deciding_a_proposal_the_second_finds_it_decided(rows: ActivityRows) -> None:
    proposal = await street_party(rows, status=EventStatus.PROPOSED)
    assert await rows.decide(SLUG, proposal, EventStatus.PUBLISHED, NOW)
    assert not await rows.decide(SLUG, proposal, EventStatus.DECLINED, NOW)
    async with rows.rsvp_turn(SLUG) as turn:
        found = await turn.event_and_answers(proposal)
    assert found is not None and found[0].status == EventStatus.PUBLISHED


async def test_the_agenda_lists_published_activities_ahead_soonest_first(rows: ActivityRows) -> None:
    later, sooner = await street_party(rows, in_days=9), await street_party(rows, in_days=2)
    await street_party(rows, status=EventStatus.PROPOSED, in_days=1)
    cancelled = await street_party(rows, in_days=3)
    await rows.set_status(SLUG, cancelled, EventStatus.CANCELLED, NOW)
    moved = await street_party(rows, in_days=5)
    await rows.move(SLUG, moved, NOW - timedelta(days=1), NOW)  # into the past, as the store allows

    assert await rows.upcoming(SLUG, NOW, status=EventStatus.PUBLISHED) == [sooner, later]
    assert await rows.created_since(SLUG, JAN, NOW - timedelta(days=1)) == 5
    assert await rows.created_since(SLUG, ANNA, NOW - timedelta(days=1)) == 0


async def test_responders_and_a_reminder_batch_read_the_answers_and_who_turned_reminders_off(
    rows: ActivityRows,
) -> None:
    party, coffee = await street_party(rows), await street_party(rows, capacity=None)
    await anna_comes_and_piet_waits(rows, party)
    async with rows.rsvp_turn(SLUG) as turn:
        await turn.add(coffee, RsvpRow(ELS, Answer.MAYBE, False, NOW))
    assert await rows.reminders_wanted(SLUG, ELS) is None
    await rows.set_reminders(SLUG, ELS, False)
    await rows.set_reminders(SLUG, PIET, False)
    await rows.set_reminders(SLUG, PIET, True)
    assert (await rows.reminders_wanted(SLUG, ELS), await rows.reminders_wanted(SLUG, PIET)) == (False, True)

    assert sorted(await rows.responders(SLUG, party, [Answer.YES])) == [ANNA, PIET]
    assert await rows.responders(SLUG, party, [Answer.NO]) == []
    found = await rows.to_remind(SLUG, [party, coffee, 404])
    assert set(found.activities) == {party, coffee}
    assert sorted(row.person_id for row in found.activities[party][1]) == [ANNA, PIET]
    assert [row.person_id for row in found.activities[coffee][1]] == [ELS]
    assert found.quiet == {ELS}
    assert await rows.without_event_news(SLUG) == set()


async def test_reminders_go_to_active_members_who_can_be_reached(rows: ActivityRows, stores: Stores) -> None:
    directory = stores.directory
    noord = await directory.add_network(
        slug=SLUG, name="Breugel-Noord", streets=["Nieuwstraat"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )
    centrum = await directory.add_network(
        slug="son-centrum", name="Son-Centrum", streets=["Markt"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )
    assert noord.id is not None and centrum.id is not None
    for person_id, network_id, status in [
        (ANNA, noord.id, MembershipStatus.ACTIVE),
        (PIET, noord.id, MembershipStatus.PENDING),
        (ELS, noord.id, MembershipStatus.ACTIVE),
        (KEES, centrum.id, MembershipStatus.ACTIVE),
    ]:
        await directory.upsert_person(person_id=person_id, name=str(person_id), username=None, language="nl", now=NOW)
        await directory.request_membership(
            person_id=person_id, network_id=network_id, street_id=None, status=status, now=NOW
        )
    await directory.mark_unreachable(ELS, NOW)

    found = await rows.active_members(noord.id, [ANNA, PIET, ELS, KEES, 999])
    assert {person_id: person.name for person_id, person in found.items()} == {ANNA: str(ANNA)}
    assert await rows.active_members(noord.id, []) == {}

"""Help's rows on a real network store: the list, the conditional moves, offers, relayed messages, the purge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from storage import outbox, steps
from storage.help import HelpRows, help_ref
from storage.models import (
    AuditEntry,
    DeliveryStatus,
    HelpPosting,
    HelpRequest,
    HelpStatus,
    OutboxKind,
    OutboxMessage,
    RelayMessage,
)
from storage.stores import Stores

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
NOORD = "breugel-noord"
ANNA, PIET, ELS, JAN = 101, 102, 103, 104


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    opened = Stores(tmp_path)
    await opened.open()
    await opened.create_network(NOORD)
    yield opened
    await opened.close()


@pytest.fixture
def rows(stores: Stores) -> HelpRows:
    return HelpRows(stores)


async def anna_asks(rows: HelpRows, *, in_days: int = 1, key: str | None = None, at: datetime = NOW) -> HelpRequest:
    request = HelpRequest(
        requester_id=ANNA,
        category="boodschappen",
        description="Boodschappen bij de Jumbo",
        needed_at=NOW + timedelta(days=in_days),
        created_at=at,
    )
    await rows.add(NOORD, request, key=key, step_kind="help_ask", now=at)
    assert request.id is not None
    return request


async def test_a_request_asked_is_kept_with_its_step(rows: HelpRows) -> None:
    request = await anna_asks(rows, key="u1")
    kept = await rows.get(NOORD, request.id or 0)
    assert kept is not None and kept.description == "Boodschappen bij de Jumbo"
    assert await rows.applied(NOORD, "u1") == steps.Applied("help_ask", str(request.id), told=False)
    await rows.told(NOORD, "u1", NOW)
    assert await rows.applied(NOORD, "u1") == steps.Applied("help_ask", str(request.id), told=True)


async def test_only_the_first_of_piet_and_els_claims_annas_request_and_only_its_step_is_kept(rows: HelpRows) -> None:
    request = await anna_asks(rows)
    claim = {"expected": HelpStatus.OPEN, "status": HelpStatus.CLAIMED, "step_kind": "help_claim", "now": NOW}
    assert await rows.move(NOORD, request.id or 0, key="piet", helper_id=PIET, **claim)  # type: ignore[arg-type]
    assert not await rows.move(NOORD, request.id or 0, key="els", helper_id=ELS, **claim)  # type: ignore[arg-type]
    kept = await rows.get(NOORD, request.id or 0)
    assert kept is not None and kept.status == HelpStatus.CLAIMED and kept.helper_id == PIET
    assert await rows.applied(NOORD, "piet") is not None
    assert await rows.applied(NOORD, "els") is None  # a move not made keeps no step


async def test_a_request_followed_up_once_is_not_followed_up_by_a_second_buurtverbinder(rows: HelpRows) -> None:
    request = await anna_asks(rows)
    follow = {"expected": HelpStatus.OPEN, "status": HelpStatus.OPEN, "unfollowed": True, "now": NOW}
    assert await rows.move(NOORD, request.id or 0, followed_up_by=JAN, **follow)  # type: ignore[arg-type]
    assert not await rows.move(NOORD, request.id or 0, followed_up_by=ELS, **follow)  # type: ignore[arg-type]
    kept = await rows.get(NOORD, request.id or 0)
    assert kept is not None and kept.followed_up_by == JAN


async def test_the_list_shows_open_requests_soonest_first_and_a_buurtverbinder_also_claimed_ones(
    rows: HelpRows,
) -> None:
    later, sooner, claimed = await anna_asks(rows, in_days=3), await anna_asks(rows, in_days=1), await anna_asks(rows)
    await rows.move(NOORD, claimed.id or 0, expected=HelpStatus.OPEN, status=HelpStatus.CLAIMED, now=NOW)
    assert [r.id for r in await rows.listed(NOORD, claimed_too=False)] == [sooner.id, later.id]
    listed = await rows.listed(NOORD, claimed_too=True)
    assert {r.id for r in listed} == {sooner.id, later.id, claimed.id}
    assert [r.needed_at for r in listed] == sorted(r.needed_at for r in listed)
    assert await rows.under_way_of(NOORD, ANNA) == 3
    await rows.move(NOORD, later.id or 0, expected=HelpStatus.OPEN, status=HelpStatus.DONE, now=NOW)
    assert await rows.under_way_of(NOORD, ANNA) == 2


async def test_offers_are_kept_per_person_and_found_by_category(rows: HelpRows) -> None:
    assert await rows.offer(NOORD, PIET) is None
    await rows.set_offer(NOORD, PIET, {"vervoer", "boodschappen"}, notify=True, now=NOW)
    await rows.set_offer(NOORD, ELS, {"boodschappen"}, notify=False, now=NOW)
    await rows.set_offer(NOORD, ANNA, {"boodschappen"}, notify=True, now=NOW)
    offer = await rows.offer(NOORD, PIET)
    assert offer is not None and offer.categories == {"boodschappen", "vervoer"} and offer.notify
    assert await rows.offering(NOORD, "boodschappen", besides=ANNA) == [PIET]  # Els wants no news
    await rows.set_offer(NOORD, PIET, set(), notify=True, now=NOW)  # Piet changes his mind
    offer = await rows.offer(NOORD, PIET)
    assert offer is not None and offer.categories == frozenset()
    assert await rows.offering(NOORD, "boodschappen", besides=ANNA) == []


async def test_a_relayed_message_handled_again_is_kept_once(rows: HelpRows, stores: Stores) -> None:
    request = await anna_asks(rows)
    message = {"from_id": ANNA, "to_id": PIET, "text": "De sleutel ligt onder de mat", "step_kind": "help_relay"}
    assert await rows.relay(NOORD, request.id or 0, key="u7", now=NOW, **message) is None  # type: ignore[arg-type]
    again = await rows.relay(NOORD, request.id or 0, key="u7", now=NOW, **message)  # type: ignore[arg-type]
    assert again == steps.Applied("help_relay", str(request.id), told=False)
    async with stores.network(NOORD) as store, store.transaction() as session:
        assert len((await session.exec(select(RelayMessage))).all()) == 1


async def posted_to(stores: Stores, request: HelpRequest, chat_id: int, message_id: int | None) -> None:
    """A copy of the request the outbox queued for a helper (sent, when it has a message id)."""
    async with stores.network(NOORD) as store, store.connection() as connection:
        await outbox.insert(
            connection,
            [outbox.NewMessage(chat_id, "Een buur vraagt om hulp")],
            kind=OutboxKind.HELP_REQUEST,
            ref=help_ref(request.id or 0),
            announcement_id=None,
            now=NOW,
        )
        if message_id is not None:
            await connection.execute(
                outbox.OUTBOX.update()
                .where(outbox.OUTBOX.c.chat_id == chat_id)
                .values(status=DeliveryStatus.SENT, message_id=message_id)
            )


async def test_postings_are_the_kept_ones_and_the_outboxs_sent_copies(rows: HelpRows, stores: Stores) -> None:
    request, other = await anna_asks(rows), await anna_asks(rows)
    async with stores.network(NOORD) as store, store.transaction() as session:
        session.add(HelpPosting(request_id=request.id or 0, chat_id=PIET, message_id=7))
    await posted_to(stores, request, ELS, 8)
    await posted_to(stores, request, JAN, None)  # not sent yet: nowhere to show it is taken
    await posted_to(stores, other, 999, 9)
    assert sorted(await rows.postings(NOORD, request.id or 0)) == [(PIET, 7), (ELS, 8)]
    assert await rows.reached(NOORD, request.id or 0) == 2


async def test_the_purge_takes_old_closed_requests_with_what_hangs_on_them_and_keeps_the_rest(
    rows: HelpRows, stores: Stores
) -> None:
    old = await anna_asks(rows, key="old", at=NOW - timedelta(days=401))
    recent, open_ = await anna_asks(rows, key="recent"), await anna_asks(rows)
    for request, closed_at in ((old, NOW - timedelta(days=400)), (recent, NOW - timedelta(days=10))):
        moved = await rows.move(
            NOORD, request.id or 0, expected=HelpStatus.OPEN, status=HelpStatus.DONE, now=NOW, closed_at=closed_at
        )
        assert moved
    await rows.relay(
        NOORD, old.id or 0, from_id=ANNA, to_id=PIET, text="Dank!", key=None, step_kind="help_relay", now=NOW
    )
    await posted_to(stores, old, PIET, 5)

    purged = await rows.purge(
        NOORD,
        closed_before=NOW - timedelta(days=180),
        steps_before=NOW - timedelta(days=30),
        audit_action="help_purged",
        now=NOW,
    )
    assert purged == 1
    assert await rows.get(NOORD, old.id or 0) is None
    assert await rows.get(NOORD, recent.id or 0) is not None and await rows.get(NOORD, open_.id or 0) is not None
    assert await rows.applied(NOORD, "old") is None  # steps from before `steps_before` go too
    assert await rows.applied(NOORD, "recent") is not None
    async with stores.network(NOORD) as store, store.transaction() as session:
        assert (await session.exec(select(RelayMessage))).all() == []
        assert (await session.exec(select(OutboxMessage))).all() == []
        [audit] = (await session.exec(select(AuditEntry))).all()
    assert (audit.action, audit.detail) == ("help_purged", "1")

    nothing = await rows.purge(
        NOORD,
        closed_before=NOW - timedelta(days=180),
        steps_before=NOW - timedelta(days=30),
        audit_action="help_purged",
        now=NOW,
    )
    assert nothing == 0
    async with stores.network(NOORD) as store:
        assert len(await store.audit_log()) == 1  # a night with nothing to purge says nothing

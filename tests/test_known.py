"""The directory keeps a person's standing and flows between their updates (storage/known.py):
every write through the directory is seen at once; another process's write within a minute."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import known
from storage.directory import Arrival, Arriving, DirectoryStore
from storage.models import JoinPolicy, MemberRole, MembershipStatus

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ANNA, CHAT = 501, 501


@pytest.fixture
async def directory(tmp_path: Path) -> AsyncIterator[DirectoryStore]:
    store = DirectoryStore.at(tmp_path / "directory.db")
    await store.open()
    yield store
    await store.close()


async def arrive(directory: DirectoryStore, *, name: str = "Anna", username: str | None = None) -> Arrival:
    return await directory.arrive(person_id=ANNA, name=name, username=username, language="nl", chat_id=CHAT, now=NOW)


def roles(arrival: Arrival) -> list[tuple[str, str, str]]:
    return [(v.network.name, v.membership.status, v.membership.role) for v in arrival.memberships]


async def test_every_change_made_through_the_directory_is_seen_by_the_next_update(
    directory: DirectoryStore,
) -> None:
    network = await directory.add_network(
        slug="noord", name="Breugel-Noord", streets=["Kerkstraat"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )
    assert network.id is not None
    assert roles(await arrive(directory)) == []

    membership = await directory.request_membership(
        person_id=ANNA, network_id=network.id, street_id=None, status=MembershipStatus.PENDING, now=NOW
    )
    assert roles(await arrive(directory)) == [("Breugel-Noord", "pending", "member")]

    assert membership.id is not None
    await directory.decide_membership(
        membership_id=membership.id, expected=MembershipStatus.PENDING, status=MembershipStatus.ACTIVE, by=None, now=NOW
    )
    assert roles(await arrive(directory)) == [("Breugel-Noord", "active", "member")]

    await directory.set_role(membership_id=membership.id, role=MemberRole.BUURTVERBINDER)
    assert roles(await arrive(directory)) == [("Breugel-Noord", "active", "buurtverbinder")]

    await directory.set_language(ANNA, "en")
    assert (await arrive(directory)).person.language == "en"

    await directory.mark_unreachable(ANNA, NOW)
    assert (await arrive(directory)).person.unreachable_at is None  # writing again: reachable
    assert (await directory.get_person(ANNA)).unreachable_at is None  # type: ignore[union-attr]

    renamed = await arrive(directory, name="Anna de Vries", username="annadv")
    assert (renamed.person.name, renamed.person.username) == ("Anna de Vries", "annadv")
    assert (await directory.get_person(ANNA)).name == "Anna de Vries"  # type: ignore[union-attr]


async def test_a_flow_is_seen_as_saved_and_gone_once_cleared(directory: DirectoryStore) -> None:
    assert (await arrive(directory)).flow is None
    await directory.save_flow(person_id=ANNA, chat_id=CHAT, flow="ask", step="describe", data={"n": 1}, now=NOW)
    first = (await arrive(directory)).flow
    assert first is not None and (first.flow, first.step, first.data) == ("ask", "describe", {"n": 1})

    first.data["n"] = 99  # a handler changing the data without saving it changes nothing kept
    again = (await arrive(directory)).flow
    assert again is not None and again.data == {"n": 1}

    await directory.save_flow(person_id=ANNA, chat_id=CHAT, flow="ask", step="when", data={"n": 2}, now=NOW)
    moved = (await arrive(directory)).flow
    assert moved is not None and (moved.step, moved.data) == ("when", {"n": 2})

    assert await directory.clear_flow(ANNA, CHAT)
    assert (await arrive(directory)).flow is None


async def test_another_processs_change_is_seen_once_the_minute_has_passed(
    directory: DirectoryStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])  # the clock storage/known.py reads
    network = await directory.add_network(
        slug="noord", name="Breugel-Noord", streets=["Kerkstraat"], join_policy=JoinPolicy.OPEN, now=NOW
    )
    assert network.id is not None
    assert roles(await arrive(directory)) == []

    other = DirectoryStore.at(tmp_path / "directory.db")  # a CLI command, say
    await other.open()
    try:
        await other.request_membership(
            person_id=ANNA, network_id=network.id, street_id=None, status=MembershipStatus.ACTIVE, now=NOW
        )
    finally:
        await other.close()

    clock[0] += known.KEPT_FOR_S - 1
    assert roles(await arrive(directory)) == []  # still the standing read a moment ago
    clock[0] += 2
    assert roles(await arrive(directory)) == [("Breugel-Noord", "active", "member")]


async def test_updates_fetched_together_find_their_senders_read_ahead(directory: DirectoryStore) -> None:
    """Anna and Piet wrote in the same poll, and Kees and Els, who are new, too: one read ahead
    for all that records the newcomers; then everyone arrives without a statement."""
    from sqlalchemy import event

    network = await directory.add_network(
        slug="noord", name="Breugel-Noord", streets=["Kerkstraat"], join_policy=JoinPolicy.OPEN, now=NOW
    )
    assert network.id is not None
    piet, kees, els = 502, 503, 504
    for person_id, name in ((ANNA, "Anna"), (piet, "Piet")):
        await directory.upsert_person(person_id=person_id, name=name, username=None, language="nl", now=NOW)
    await directory.request_membership(
        person_id=ANNA, network_id=network.id, street_id=None, status=MembershipStatus.ACTIVE, now=NOW
    )
    await directory.save_flow(person_id=piet, chat_id=piet, flow="ask", step="describe", data={"n": 1}, now=NOW)

    statements: list[str] = []
    engine = directory.engine.sync_engine
    event.listen(engine, "before_cursor_execute", lambda _c, _cu, sql, *_: statements.append(sql))
    await directory.recall(
        [
            Arriving(ANNA, CHAT, "Anna", None, "nl"),
            Arriving(piet, piet, "Piet", None, "nl"),
            Arriving(kees, kees, "Kees", "kees_b", "nl"),
            Arriving(els, els, "Els", None, "en"),
        ],
        NOW,
    )
    read_ahead = len(statements)
    # people, memberships, flows, and one INSERT for both newcomers: one transaction for the poll
    assert read_ahead == 4
    assert sum(sql.startswith("INSERT INTO person") for sql in statements) == 1

    anna = await arrive(directory)
    piets = await directory.arrive(person_id=piet, name="Piet", username=None, language="nl", chat_id=piet, now=NOW)
    kees_arrival = await directory.arrive(
        person_id=kees, name="Kees", username="kees_b", language="nl", chat_id=kees, now=NOW
    )
    assert len(statements) == read_ahead  # nothing read or written again
    assert roles(anna) == [("Breugel-Noord", "active", "member")] and anna.flow is None
    assert roles(piets) == [] and piets.flow is not None and piets.flow.step == "describe"
    assert roles(kees_arrival) == [] and kees_arrival.flow is None
    recorded = await directory.get_person(els)
    assert recorded is not None and (recorded.name, recorded.language, recorded.created_at) == ("Els", "en", NOW)
    assert (await directory.get_person(kees)).username == "kees_b"  # type: ignore[union-attr]

    renamed = await arrive(directory, name="Anna de Vries")  # read ahead, but her name changed: written
    assert (await directory.get_person(ANNA)).name == "Anna de Vries"  # type: ignore[union-attr]
    assert renamed.person.name == "Anna de Vries"

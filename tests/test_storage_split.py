"""The directory and network stores made of parts, one module per kind of record: each part on a real
store (linked groups, the scheduler's claims and outcomes), and the parts never hiding one another."""

from __future__ import annotations

import ast
import inspect
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.base import Store
from storage.directory import DirectoryStore
from storage.jobs import Outcome
from storage.models import JobStatus, JoinPolicy, Network, ScheduledJob
from storage.network import NetworkStore
from storage.stores import Stores

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
JAN, ANNA, PIET = 1001, 2002, 3003
KERKSTRAAT_GROUP, MARKT_GROUP = -100_111, -100_222


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    opened = Stores(tmp_path)
    await opened.open()
    yield opened
    await opened.close()


async def network(stores: Stores, slug: str, name: str) -> Network:
    made = await stores.directory.add_network(
        slug=slug, name=name, streets=["Kerkstraat"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )
    await stores.create_network(slug)
    return made


@pytest.mark.parametrize("store", [DirectoryStore, NetworkStore])
def test_no_part_of_a_store_hides_a_method_of_another(store: type[Store]) -> None:
    """A name defined in two parts would silently mean only one of them."""
    parts = [part for part in store.__mro__ if issubclass(part, Store) and part is not Store]
    defined: dict[str, list[str]] = {}
    for part in parts:
        for name in vars(part):
            if not name.startswith("__"):
                defined.setdefault(name, []).append(part.__name__)
    assert {name: where for name, where in defined.items() if len(where) > 1} == {}


@pytest.mark.parametrize("path", ["bot/groups/service.py", "bot/delivery/scheduler.py"])
def test_the_groups_service_and_the_scheduler_build_no_sql(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert {name for name in imported if name.split(".")[0] in ("sqlalchemy", "sqlmodel")} == set()
    assert "__table__" not in (ROOT / path).read_text()


# --- linked groups ----------------------------------------------------------------------------


async def test_jan_links_the_kerkstraat_group_and_linking_it_again_moves_it(stores: Stores) -> None:
    directory = stores.directory
    noord = await network(stores, "noord", "Breugel-Noord")
    centrum = await network(stores, "centrum", "Son-Centrum")
    assert await directory.linked_network(KERKSTRAAT_GROUP) is None

    await directory.link_group(
        chat_id=KERKSTRAAT_GROUP, network_id=noord.id or 0, title="Kerkstraat", linked_by=JAN, now=NOW
    )
    await directory.link_group(chat_id=MARKT_GROUP, network_id=noord.id or 0, title="Markt", linked_by=JAN, now=NOW)
    linked = await directory.linked_network(KERKSTRAAT_GROUP)
    assert linked is not None and linked.name == "Breugel-Noord"
    assert sorted(await directory.linked_groups(noord.id)) == [MARKT_GROUP, KERKSTRAAT_GROUP]

    later = NOW + timedelta(days=1)
    await directory.link_group(
        chat_id=KERKSTRAAT_GROUP, network_id=centrum.id or 0, title="Kerkstraat", linked_by=JAN, now=later
    )
    linked = await directory.linked_network(KERKSTRAAT_GROUP)
    assert linked is not None and linked.name == "Son-Centrum"
    assert await directory.linked_groups(noord.id) == [MARKT_GROUP]
    assert await directory.linked_groups(centrum.id) == [KERKSTRAAT_GROUP]

    await directory.unlink_group(KERKSTRAAT_GROUP)
    assert await directory.linked_network(KERKSTRAAT_GROUP) is None
    assert await directory.linked_groups(centrum.id) == []


async def test_annas_requests_to_join_wait_once_per_group_until_dropped(stores: Stores) -> None:
    directory = stores.directory
    noord = await network(stores, "noord", "Breugel-Noord")
    for chat_id in (KERKSTRAAT_GROUP, MARKT_GROUP):
        await directory.link_group(chat_id=chat_id, network_id=noord.id or 0, title="", linked_by=JAN, now=NOW)

    await directory.remember_join_request(chat_id=KERKSTRAAT_GROUP, person_id=ANNA, now=NOW)
    await directory.remember_join_request(chat_id=KERKSTRAAT_GROUP, person_id=ANNA, now=NOW)  # asked twice
    await directory.remember_join_request(chat_id=MARKT_GROUP, person_id=ANNA, now=NOW)
    await directory.remember_join_request(chat_id=MARKT_GROUP, person_id=PIET, now=NOW)

    assert sorted(await directory.waiting_join_requests(ANNA, [KERKSTRAAT_GROUP, MARKT_GROUP])) == [
        MARKT_GROUP,
        KERKSTRAAT_GROUP,
    ]
    assert await directory.waiting_join_requests(ANNA, [MARKT_GROUP]) == [MARKT_GROUP]  # only the groups asked about

    await directory.drop_join_request(chat_id=MARKT_GROUP, person_id=ANNA)
    assert await directory.waiting_join_requests(ANNA, [KERKSTRAAT_GROUP, MARKT_GROUP]) == [KERKSTRAAT_GROUP]
    assert await directory.waiting_join_requests(PIET, [MARKT_GROUP]) == [MARKT_GROUP]  # Piet's still waits


# --- the scheduler's claims and outcomes ---------------------------------------------------------


async def plan(store: NetworkStore, *jobs: tuple[str, str, timedelta]) -> None:
    for kind, ref, due_in in jobs:
        await store.schedule(kind=kind, ref=ref, due_at=NOW + due_in, now=NOW)


def statuses(jobs: Sequence[ScheduledJob]) -> dict[str, str]:
    return {job.ref: job.status for job in jobs}


async def test_a_claim_runs_what_it_is_told_and_settles_the_rest_in_the_same_transaction(stores: Stores) -> None:
    await network(stores, "noord", "Breugel-Noord")
    async with stores.network("noord") as store:
        await plan(
            store,
            ("event_remind", "buurtborrel", timedelta(minutes=-5)),
            ("event_remind", "oud-nieuw", timedelta(days=-2)),  # too late to remind anyone
            ("help_escalate", "boodschappen", timedelta(minutes=-1)),
            ("event_remind", "kerstmarkt", timedelta(hours=1)),  # not due yet
        )

        def sort_out(jobs: Sequence[ScheduledJob]) -> tuple[list[ScheduledJob], list[Outcome]]:
            assert [job.ref for job in jobs] == ["oud-nieuw", "buurtborrel"]  # due first, within the limit
            late = next(job for job in jobs if job.ref == "oud-nieuw")
            return [job for job in jobs if job is not late], [Outcome(late.id or 0, JobStatus.SKIPPED, NOW)]

        claim = await store.claim_due_jobs(NOW, 2, sort_out)

        assert (claim.found, [job.ref for job in claim.claimed]) == (2, ["buurtborrel"])
        assert [outcome.status for outcome in claim.settled] == [JobStatus.SKIPPED]
        assert statuses(await store.jobs()) == {
            "buurtborrel": JobStatus.RUNNING,
            "oud-nieuw": JobStatus.SKIPPED,
            "boodschappen": JobStatus.PENDING,  # beyond the limit: the next claim's
            "kerstmarkt": JobStatus.PENDING,
        }


async def test_outcomes_are_written_for_running_jobs_only_and_jobs_not_begun_wait_again(stores: Stores) -> None:
    await network(stores, "noord", "Breugel-Noord")
    async with stores.network("noord") as store:
        await plan(
            store,
            ("event_remind", "buurtborrel", timedelta(minutes=-3)),
            ("help_follow_up", "boodschappen", timedelta(minutes=-2)),
            ("help_escalate", "klusje", timedelta(minutes=-1)),
        )
        claim = await store.claim_due_jobs(NOW, 10, lambda jobs: (list(jobs), []))
        borrel, boodschappen, klusje = claim.claimed
        # The follow-up's runner planned it anew while it ran: pending again, its outcome is not written.
        await plan(store, ("help_follow_up", "boodschappen", timedelta(days=1)))
        done_at = NOW + timedelta(seconds=3)

        await store.settle_jobs(
            [Outcome(borrel.id or 0, JobStatus.DONE, done_at), Outcome(boodschappen.id or 0, JobStatus.DONE, done_at)],
            not_begun=[klusje.id or 0],
        )

        jobs = {job.ref: job for job in await store.jobs()}
        assert statuses(list(jobs.values())) == {
            "buurtborrel": JobStatus.DONE,
            "boodschappen": JobStatus.PENDING,
            "klusje": JobStatus.PENDING,
        }
        assert jobs["buurtborrel"].finished_at == done_at
        assert jobs["boodschappen"].due_at == NOW + timedelta(days=1)


async def test_the_directory_notes_each_networks_next_job_and_an_earlier_one_only_moves_it_forward(
    stores: Stores,
) -> None:
    directory = stores.directory
    noord = await network(stores, "noord", "Breugel-Noord")
    centrum = await network(stores, "centrum", "Son-Centrum")
    assert await directory.next_job_at() is None

    await directory.set_next_job(noord.id or 0, NOW + timedelta(hours=2), only_if_earlier=True)
    await directory.set_next_job(noord.id or 0, NOW + timedelta(hours=3), only_if_earlier=True)  # later: kept
    await directory.set_next_job(centrum.id or 0, NOW - timedelta(minutes=1), only_if_earlier=True)
    assert await directory.next_job_at() == NOW - timedelta(minutes=1)
    assert [n.slug for n in await directory.networks_with_jobs_due(NOW)] == ["centrum"]
    assert [n.slug for n in await directory.networks_with_jobs_due(NOW + timedelta(hours=2))] == ["centrum", "noord"]

    await directory.set_next_job(centrum.id or 0, None, only_if_earlier=False)  # nothing waits there now
    assert await directory.next_job_at() == NOW + timedelta(hours=2)


def test_every_part_of_the_directory_says_what_it_keeps() -> None:
    """The module map in storage/directory.py names every part's module."""
    parts = {inspect.getfile(part) for part in DirectoryStore.__mro__[1:] if issubclass(part, Store)}
    parts.discard(inspect.getfile(Store))
    told = (ROOT / "storage" / "directory.py").read_text()
    assert sorted(p for p in parts if f"storage/{Path(p).name}" not in told) == []

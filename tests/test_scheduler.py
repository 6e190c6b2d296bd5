"""The scheduler on real SQLite stores: batches run once each, misses are skipped, stops lose nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.delivery.scheduler as scheduling
from bot.delivery.scheduler import JobKind, JobPlan, Ran, Scheduler
from bot.kernel.clock import ManualClock
from storage.models import JobStatus, JoinPolicy, Network
from storage.stores import Stores

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
SETTLE = 200  # loop turns given to every task that can run before a test looks; no clock involved


async def settle() -> None:
    for _ in range(SETTLE):
        await asyncio.sleep(0)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    opened = Stores(tmp_path)
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
async def breugel(stores: Stores) -> Network:
    await stores.create_network("breugel-noord")
    return await stores.directory.add_network(
        slug="breugel-noord", name="Breugel-Noord", streets=["Eikenlaan"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )


class Reminders:
    """A runner that notes which activities it reminded people of, in order."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, _network: Network, ref: str) -> None:
        self.sent.append(ref)


async def statuses(stores: Stores, network: Network) -> dict[str, str]:
    async with stores.network(network.slug) as store:
        return {job.ref: job.status for job in await store.jobs()}


async def test_a_busy_evening_every_reminder_runs_once_and_its_moment_is_kept(stores: Stores, breugel: Network) -> None:
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    reminders = Reminders()
    scheduler = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: reminders})
    passes: list[Ran] = []
    scheduler.listeners.append(passes.append)
    count = scheduling.CLAIM_BATCH * 2 + 7  # more than one batch
    for n in range(count):
        await plan.schedule(breugel, JobKind.EVENT_REMIND, f"{n}:24", NOW + timedelta(seconds=n % 30))
    clock.advance(timedelta(minutes=1))

    ran = await scheduler.run_due()

    assert (ran.done, ran.skipped, ran.failed) == (count, 0, 0)
    assert sorted(reminders.sent) == sorted(f"{n}:24" for n in range(count))
    assert passes == [ran]
    async with stores.network(breugel.slug) as store:
        jobs = await store.jobs()
    assert {job.status for job in jobs} == {JobStatus.DONE}
    assert {job.finished_at for job in jobs} == {clock.now()}
    assert (await scheduler.run_due()).done == 0  # never twice
    assert len(reminders.sent) == count


async def test_reminders_missed_too_long_ago_are_skipped_and_unknown_jobs_fail(
    stores: Stores, breugel: Network
) -> None:
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    reminders = Reminders()
    scheduler = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: reminders})
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "koffie:24", NOW)
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "borrel:24", NOW + timedelta(minutes=50))
    await plan.schedule(breugel, JobKind.HELP_ESCALATE, "7", NOW)  # nobody runs escalations here
    clock.advance(timedelta(hours=1))  # the bot was down

    ran = await scheduler.run_due()

    assert (ran.done, ran.skipped, ran.failed) == (1, 1, 1)
    assert reminders.sent == ["borrel:24"]
    assert await statuses(stores, breugel) == {
        "koffie:24": JobStatus.SKIPPED,
        "borrel:24": JobStatus.DONE,
        "7": JobStatus.FAILED,
    }


async def test_a_runner_that_fails_fails_alone_and_one_that_plans_again_stays_planned(
    stores: Stores, breugel: Network
) -> None:
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    tomorrow = NOW + timedelta(days=1)

    async def escalate(network: Network, ref: str) -> None:
        if ref == "broken":
            raise RuntimeError("the template is missing")

    async def clean_up(network: Network, ref: str) -> None:
        await plan.schedule(network, JobKind.HELP_RETENTION, ref, tomorrow)  # the next night

    scheduler = Scheduler(
        stores, clock, plan, runners={JobKind.HELP_ESCALATE: escalate, JobKind.HELP_RETENTION: clean_up}
    )
    await plan.schedule(breugel, JobKind.HELP_ESCALATE, "broken", NOW)
    await plan.schedule(breugel, JobKind.HELP_ESCALATE, "fine", NOW)
    await plan.schedule(breugel, JobKind.HELP_RETENTION, "nightly", NOW)

    ran = await scheduler.run_due()

    assert (ran.done, ran.failed) == (2, 1)
    assert await statuses(stores, breugel) == {
        "broken": JobStatus.FAILED,
        "fine": JobStatus.DONE,
        "nightly": JobStatus.PENDING,
    }
    assert await stores.directory.next_job_at() == tomorrow


async def test_one_busy_network_does_not_keep_the_others_waiting(
    stores: Stores, breugel: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduling, "CLAIM_BATCH", 3)
    monkeypatch.setattr(scheduling, "MOST_PER_PASS", 5)
    await stores.create_network("son-centrum")
    son = await stores.directory.add_network(
        slug="son-centrum", name="Son-Centrum", streets=["Markt"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    reminders = Reminders()
    scheduler = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: reminders})
    for n in range(8):
        await plan.schedule(breugel, JobKind.EVENT_REMIND, f"breugel-{n}", NOW)
    await plan.schedule(son, JobKind.EVENT_REMIND, "son-0", NOW + timedelta(seconds=1))
    clock.advance(timedelta(seconds=5))

    first = await scheduler.run_due()

    assert first.done == 6  # five of Breugel-Noord's, then Son-Centrum's one
    assert "son-0" in reminders.sent
    assert await stores.directory.next_job_at() == NOW  # the rest is due at once
    assert (await scheduler.run_due()).done == 3
    assert len(reminders.sent) == len(set(reminders.sent)) == 9


async def test_a_stop_lets_the_reminder_in_hand_finish_and_puts_the_rest_back(stores: Stores, breugel: Network) -> None:
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    started, release = asyncio.Event(), asyncio.Event()
    sent: list[str] = []

    async def slow_reminder(_network: Network, ref: str) -> None:
        started.set()
        await release.wait()
        sent.append(ref)

    first = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: slow_reminder})
    for n in range(5):
        await plan.schedule(breugel, JobKind.EVENT_REMIND, f"{n}:24", NOW)
    first.start()
    await asyncio.wait_for(started.wait(), 5)

    stopping = asyncio.create_task(first.stop())
    await settle()
    assert not stopping.done()  # the stop has begun, and waits for the reminder in hand
    release.set()
    await asyncio.wait_for(stopping, 5)

    assert sent == ["0:24"]
    assert list((await statuses(stores, breugel)).values()).count(JobStatus.PENDING) == 4

    plan = JobPlan(stores, clock)  # the restart
    reminders = Reminders()
    second = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: reminders})
    assert (await second.run_due()).done == 4
    assert sorted([*sent, *reminders.sent]) == [f"{n}:24" for n in range(5)]


async def test_a_reminder_cut_off_is_marked_interrupted_and_the_one_not_begun_runs_later(
    stores: Stores, breugel: Network
) -> None:
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    started = asyncio.Event()

    async def hangs(_network: Network, _ref: str) -> None:
        started.set()
        await asyncio.Event().wait()

    first = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: hangs})
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "koffie:24", NOW)
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "borrel:24", NOW)
    passing = asyncio.create_task(first.run_due())
    await asyncio.wait_for(started.wait(), 5)
    assert set((await statuses(stores, breugel)).values()) == {JobStatus.RUNNING}  # both claimed

    passing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await passing

    assert await statuses(stores, breugel) == {"koffie:24": JobStatus.INTERRUPTED, "borrel:24": JobStatus.PENDING}
    plan = JobPlan(stores, clock)
    reminders = Reminders()
    second = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: reminders})
    assert (await second.run_due()).done == 1
    assert reminders.sent == ["borrel:24"]


async def test_after_a_crash_the_claimed_reminders_are_marked_interrupted_not_sent(
    stores: Stores, breugel: Network
) -> None:
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    reminders = Reminders()
    scheduler = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: reminders})
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "koffie:24", NOW)
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "borrel:24", NOW)
    async with stores.network(breugel.slug) as store:  # claimed by a process that then died
        for job in await store.jobs():
            if job.ref == "koffie:24":
                assert job.id is not None
                await store.move_job(job.id, expected=JobStatus.PENDING, status=JobStatus.RUNNING, now=NOW)

    ran = await scheduler.run_due()

    assert ran.done == 1
    assert reminders.sent == ["borrel:24"]
    assert await statuses(stores, breugel) == {"koffie:24": JobStatus.INTERRUPTED, "borrel:24": JobStatus.DONE}


async def test_a_reminder_planned_while_a_pass_notes_the_next_job_is_not_lost_from_the_index(
    stores: Stores, breugel: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    scheduler = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: Reminders()})
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "koffie:24", NOW)
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "markt:24", NOW + timedelta(days=7))
    soon = NOW + timedelta(hours=1)
    planning: list[asyncio.Task[None]] = []
    async with stores.network(breugel.slug) as store:
        read_next_due = store.next_due

        async def next_due_while_jan_plans() -> datetime | None:
            found = await read_next_due()  # next week's market
            # Jan publishes a borrel in an hour just now, between the read and the index write.
            planning.append(asyncio.create_task(plan.schedule(breugel, JobKind.EVENT_REMIND, "borrel:24", soon)))
            await settle()  # Jan's planning goes as far as it may: to the index, were it not held there
            return found

        monkeypatch.setattr(store, "next_due", next_due_while_jan_plans)
        await scheduler.run_due()
    await planning[0]

    assert await stores.directory.next_job_at() == soon


class RemindersTogether:
    """A batch runner: notes the refs of each call; the refs in `broken` fail (or, with `all_broken`, the call)."""

    def __init__(self, *, broken: tuple[str, ...] = (), all_broken: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.broken, self.all_broken = broken, all_broken
        self.started, self.release = asyncio.Event(), asyncio.Event()
        self.release.set()

    async def __call__(self, _network: Network, refs: Sequence[str]) -> dict[str, Exception]:
        self.started.set()
        await self.release.wait()
        self.calls.append(list(refs))
        if self.all_broken:
            raise RuntimeError("the store is gone")
        return {ref: RuntimeError("the template is missing") for ref in refs if ref in self.broken}


async def test_a_batch_runner_gets_the_due_reminders_together_and_one_that_fails_fails_alone(
    stores: Stores, breugel: Network
) -> None:
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    together = RemindersTogether(broken=("2:24",))
    escalated: list[str] = []

    async def escalate(_network: Network, ref: str) -> None:
        escalated.append(ref)

    scheduler = Scheduler(  # escalations one at a time, as before
        stores, clock, plan, runners={JobKind.HELP_ESCALATE: escalate}, batch_runners={JobKind.EVENT_REMIND: together}
    )
    for n in range(5):
        await plan.schedule(breugel, JobKind.EVENT_REMIND, f"{n}:24", NOW + timedelta(seconds=n))
    await plan.schedule(breugel, JobKind.HELP_ESCALATE, "7", NOW)
    clock.advance(timedelta(minutes=1))

    ran = await scheduler.run_due()

    assert (ran.done, ran.failed) == (5, 1)
    assert together.calls == [[f"{n}:24" for n in range(5)]]  # one call, in due order
    assert escalated == ["7"]
    assert await statuses(stores, breugel) == {
        "0:24": JobStatus.DONE,
        "1:24": JobStatus.DONE,
        "2:24": JobStatus.FAILED,
        "3:24": JobStatus.DONE,
        "4:24": JobStatus.DONE,
        "7": JobStatus.DONE,
    }
    assert (await scheduler.run_due()).done == 0  # never twice
    assert len(together.calls) == 1


async def test_a_batch_runner_gets_one_claim_at_a_time_and_a_call_that_fails_fails_its_jobs_only(
    stores: Stores, breugel: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduling, "CLAIM_BATCH", 3)
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    together = RemindersTogether()
    scheduler = Scheduler(stores, clock, plan, batch_runners={JobKind.EVENT_REMIND: together})
    for n in range(7):
        await plan.schedule(breugel, JobKind.EVENT_REMIND, f"{n}:24", NOW + timedelta(seconds=n))
    clock.advance(timedelta(minutes=1))
    assert (await scheduler.run_due()).done == 7
    assert [len(call) for call in together.calls] == [3, 3, 1]

    broken = RemindersTogether(all_broken=True)
    scheduler = Scheduler(stores, clock, plan, batch_runners={JobKind.EVENT_REMIND: broken})
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "markt:24", clock.now())
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "borrel:24", clock.now())
    ran = await scheduler.run_due()
    assert (ran.done, ran.failed) == (0, 2)
    after = await statuses(stores, breugel)
    assert (after["markt:24"], after["borrel:24"]) == (JobStatus.FAILED, JobStatus.FAILED)
    assert [after[f"{n}:24"] for n in range(7)] == [JobStatus.DONE] * 7  # the earlier calls' jobs keep their outcome

    one_at_a_time = Reminders()
    scheduler = Scheduler(stores, clock, plan, runners={JobKind.EVENT_REMIND: one_at_a_time})
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "koffie:24", clock.now())
    assert (await scheduler.run_due()).done == 1
    assert one_at_a_time.sent == ["koffie:24"] and len(broken.calls) == 1


async def test_reminders_cut_off_together_are_all_marked_interrupted(stores: Stores, breugel: Network) -> None:
    clock = ManualClock(NOW)
    plan = JobPlan(stores, clock)
    hangs = RemindersTogether()
    hangs.release.clear()
    first = Scheduler(stores, clock, plan, batch_runners={JobKind.EVENT_REMIND: hangs})
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "koffie:24", NOW)
    await plan.schedule(breugel, JobKind.EVENT_REMIND, "borrel:24", NOW)
    passing = asyncio.create_task(first.run_due())
    await asyncio.wait_for(hangs.started.wait(), 5)

    passing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await passing

    assert await statuses(stores, breugel) == {"koffie:24": JobStatus.INTERRUPTED, "borrel:24": JobStatus.INTERRUPTED}
    plan = JobPlan(stores, clock)
    again = RemindersTogether()
    second = Scheduler(stores, clock, plan, batch_runners={JobKind.EVENT_REMIND: again})
    assert (await second.run_due()).done == 0
    assert again.calls == []  # never run twice

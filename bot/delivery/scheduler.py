"""The durable scheduler: jobs live in each network's store; one task sleeps until the next is due.

A job runs at most once: it is claimed (marked running) before it runs. Due jobs are claimed a
batch at a time and their outcomes written a batch at a time, so the scheduler's own cost is two
short transactions per batch rather than two per job. A job missed while the bot was down runs
late if it is still within its kind's grace window, and is marked skipped otherwise; a job that
was running when the bot stopped is marked interrupted. On a stop the job in hand finishes and the
claimed jobs not yet begun go back to waiting. Nothing is silently lost.

A kind may have a batch runner instead: the claimed jobs of that kind in one network are handed to
it together (a reminder runner then reads every activity, answer and person once for all of them),
and it says which of them failed; each job's outcome is still written on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.kernel.clock import Clock
from storage.jobs import Outcome
from storage.models import JobStatus, Network, ScheduledJob
from storage.network import NetworkStore
from storage.stores import Stores

log = logging.getLogger(__name__)

LONGEST_SLEEP_S = 60.0  # wake up at least this often, in case the clock jumped
# Jobs claimed in one transaction. After a crash (not a stop) the claimed jobs not yet begun are
# among those marked interrupted at the restart, so this bounds what a crash can cost.
CLAIM_BATCH = 50
MOST_PER_PASS = 500  # jobs of one network in one pass; the rest waits for the next pass, other networks first
STOP_WAIT_S = 10.0  # on a stop, how long the job in hand may take to finish before it is cut off


class JobKind(StrEnum):
    HELP_ESCALATE = "help_escalate"
    HELP_FOLLOW_UP = "help_follow_up"
    HELP_EXPIRE = "help_expire"
    EVENT_REMIND = "event_remind"
    HELP_RETENTION = "help_retention"  # one per network, every night


# How late a job may still run after the bot was down; later than this it is skipped.
GRACE: dict[JobKind, timedelta] = {
    JobKind.HELP_ESCALATE: timedelta(days=2),
    JobKind.HELP_FOLLOW_UP: timedelta(days=3),
    JobKind.HELP_EXPIRE: timedelta.max,  # an expiry is never too late
    JobKind.EVENT_REMIND: timedelta(minutes=30),  # a reminder after the fact is no use
    JobKind.HELP_RETENTION: timedelta.max,  # a clean-up is never too late (and it plans the next)
}

JobRunner = Callable[[Network, str], Awaitable[None]]
# Runs many jobs of one kind in one network (their refs, in due order) and returns the ones that
# failed, each with its error; a ref not in the answer is done. Raising fails them all.
BatchRunner = Callable[[Network, Sequence[str]], Awaitable[Mapping[str, Exception]]]


@dataclass(frozen=True)
class Ran:
    """What one pass did: counts by final status, and how long it took."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0

    def __add__(self, other: Ran) -> Ran:
        return Ran(self.done + other.done, self.skipped + other.skipped, self.failed + other.failed)


@dataclass
class _Batch:
    """Jobs claimed together, and what became of each so far."""

    claimed: list[ScheduledJob]
    outcomes: list[Outcome] = field(default_factory=list)
    in_hand: list[ScheduledJob] = field(default_factory=list)  # begun, not finished


class JobPlan:
    """Plans and cancels jobs: what services use. The `Scheduler` runs them when due."""

    def __init__(self, stores: Stores, clock: Clock) -> None:
        self._stores = stores
        self._clock = clock
        self.bell = asyncio.Event()  # rung when a job is planned: the scheduler looks again
        self._index_locks: dict[str, asyncio.Lock] = {}

    async def schedule(self, network: Network, kind: JobKind, ref: object, due_at: datetime) -> None:
        """Plans (or moves) the one job of `kind` about `ref` in this network."""
        assert network.id is not None
        async with self.index_lock(network.slug):
            async with self._stores.network(network.slug) as store:
                await store.schedule(kind=kind, ref=str(ref), due_at=due_at, now=self._clock.now())
            await self._stores.directory.set_next_job(network.id, due_at, only_if_earlier=True)
        self.bell.set()

    async def cancel(self, network: Network, kind: JobKind, ref: object) -> None:
        async with self._stores.network(network.slug) as store:
            await store.unschedule(kind=kind, ref=str(ref))

    def index_lock(self, slug: str) -> asyncio.Lock:
        """Reading a network's next due job and noting it in the index is one step, which a job
        planned meanwhile waits for: otherwise the pass could overwrite the new job's earlier mark."""
        return self._index_locks.setdefault(slug, asyncio.Lock())


class Scheduler:
    def __init__(
        self,
        stores: Stores,
        clock: Clock,
        plan: JobPlan,
        *,
        runners: Mapping[str, JobRunner] | None = None,
        batch_runners: Mapping[str, BatchRunner] | None = None,
        rounds: Sequence[Callable[[], Awaitable[object]]] = (),
    ) -> None:
        """`runners` run the jobs of their kind one at a time; `batch_runners` get a network's
        claimed jobs of their kind together."""
        self._stores = stores
        self._clock = clock
        self._plan = plan
        self._runners: dict[str, JobRunner] = dict(runners or {})
        self._batch_runners: dict[str, BatchRunner] = dict(batch_runners or {})
        # Village-wide work that is no network's job (contact requests live in the directory):
        # run after each pass, a failure logged and tried again at the next.
        self._rounds = tuple(rounds)
        self._task: asyncio.Task[None] | None = None
        self._pass = asyncio.Lock()
        self._stopping = False
        # Networks whose jobs left running by an earlier process have been marked interrupted.
        self._looked_after: set[str] = set()
        # Called after each pass with what it did: for tests that wait and for benchmarks.
        self.listeners: list[Callable[[Ran], None]] = []

    # --- running --------------------------------------------------------------------------

    async def run_due(self) -> Ran:
        """Runs every job due now, network by network; returns what happened."""
        async with self._pass:
            started = time.monotonic()
            ran = Ran()
            now = self._clock.now()
            for network in await self._stores.directory.networks_with_jobs_due(now):
                if self._stopping:
                    break
                ran += await self._run_network(network, now)
            for work in self._rounds:
                try:
                    await work()
                except Exception:
                    log.exception("a round after the scheduler's pass failed; the next pass tries again")
            ran = Ran(ran.done, ran.skipped, ran.failed, time.monotonic() - started)
        for listener in self.listeners:
            listener(ran)
        return ran

    async def _run_network(self, network: Network, now: datetime) -> Ran:
        ran = Ran()
        async with self._stores.network(network.slug) as store:
            if network.slug not in self._looked_after:
                interrupted = await store.interrupt_running_jobs(now)
                if interrupted:
                    log.warning(
                        "%s: %s job(s) were running when the bot stopped; not run again", network.slug, interrupted
                    )
                self._looked_after.add(network.slug)
            taken = 0
            while taken < MOST_PER_PASS and not self._stopping:
                limit = min(CLAIM_BATCH, MOST_PER_PASS - taken)
                batch_ran, found = await self._run_batch(network, store, now, limit)
                ran += batch_ran
                taken += found
                if found < limit:
                    break
            assert network.id is not None
            async with self._plan.index_lock(network.slug):
                next_due = await store.next_due()
                await self._stores.directory.set_next_job(network.id, next_due, only_if_earlier=False)
        return ran

    async def _run_batch(self, network: Network, store: NetworkStore, now: datetime, limit: int) -> tuple[Ran, int]:
        """Claims up to `limit` due jobs (found and claimed in one transaction), runs them and writes
        their outcomes; returns what happened and how many due jobs were found."""
        claim = await store.claim_due_jobs(now, limit, lambda jobs: self._sort_out(network, jobs, now))
        batch = _Batch(claim.claimed)
        try:
            for group in self._groups(batch.claimed):
                if self._stopping:
                    break
                batch.in_hand = group
                outcomes = await self._run_group(network, group)
                at = self._clock.now()
                batch.outcomes.extend(
                    Outcome(job.id or 0, outcome, at) for job, outcome in zip(group, outcomes, strict=True)
                )
                batch.in_hand = []
                # SQLite runs in the event loop's thread, so a pass of many jobs would otherwise
                # hold the loop throughout: updates and the outbox's sender get their turn here.
                await asyncio.sleep(0)
        finally:
            await self._settle(network, store, batch)
        done = sum(status == JobStatus.DONE for _, status, _ in batch.outcomes)
        failed = len(batch.outcomes) - done + sum(status == JobStatus.FAILED for _, status, _ in claim.settled)
        return Ran(done, sum(status == JobStatus.SKIPPED for _, status, _ in claim.settled), failed), claim.found

    def _sort_out(
        self, network: Network, jobs: Sequence[ScheduledJob], now: datetime
    ) -> tuple[list[ScheduledJob], list[Outcome]]:
        """The jobs to run, and the others with what becomes of them: failed (no runner) or skipped (too late)."""
        to_run: list[ScheduledJob] = []
        settled: list[Outcome] = []
        for job in jobs:
            assert job.id is not None
            known = job.kind in JobKind._value2member_map_
            if not known or (job.kind not in self._runners and job.kind not in self._batch_runners):
                log.error("%s: no runner for job %s (%s); marked failed", network.slug, job.id, job.kind)
                settled.append(Outcome(job.id, JobStatus.FAILED, now))
            elif now - job.due_at > GRACE[JobKind(job.kind)]:
                log.warning(
                    "%s: job %s (%s %s) was due %s, too long ago; skipped",
                    network.slug,
                    job.id,
                    job.kind,
                    job.ref,
                    job.due_at,
                )
                settled.append(Outcome(job.id, JobStatus.SKIPPED, now))
            else:
                to_run.append(job)
        return to_run, settled

    def _groups(self, jobs: Sequence[ScheduledJob]) -> list[list[ScheduledJob]]:
        """What runs at once, in due order: a job alone, or every job of a kind with a batch runner
        (at the place of the first of them)."""
        groups: list[list[ScheduledJob]] = []
        together: dict[str, list[ScheduledJob]] = {}
        for job in jobs:
            if job.kind not in self._batch_runners:
                groups.append([job])
            elif job.kind in together:
                together[job.kind].append(job)
            else:
                together[job.kind] = [job]
                groups.append(together[job.kind])
        return groups

    async def _run_group(self, network: Network, group: Sequence[ScheduledJob]) -> list[JobStatus]:
        kind = group[0].kind
        batch_runner = self._batch_runners.get(kind)
        if batch_runner is None:
            return [await self._run_job(network, job) for job in group]
        try:
            failures = await batch_runner(network, [job.ref for job in group])
        except Exception:
            log.exception("%s: %s job(s) of kind %s failed together", network.slug, len(group), kind)
            return [JobStatus.FAILED] * len(group)
        outcomes = []
        for job in group:
            error = failures.get(job.ref)
            if error is not None:
                log.error("%s: job %s (%s %s) failed", network.slug, job.id, job.kind, job.ref, exc_info=error)
            outcomes.append(JobStatus.DONE if error is None else JobStatus.FAILED)
        return outcomes

    async def _run_job(self, network: Network, job: ScheduledJob) -> JobStatus:
        runner = self._runners[job.kind]
        try:
            await runner(network, job.ref)
        except Exception:
            log.exception("%s: job %s (%s %s) failed", network.slug, job.id, job.kind, job.ref)
            return JobStatus.FAILED
        return JobStatus.DONE

    async def _settle(self, network: Network, store: NetworkStore, batch: _Batch) -> None:
        """Writes what the batch did; a job cut off while it ran is interrupted, and the jobs not
        begun (a stop came) wait again. A job its runner planned anew (pending again) is left be."""
        outcomes = list(batch.outcomes)
        cut_off = self._clock.now()
        outcomes.extend(Outcome(job.id, JobStatus.INTERRUPTED, cut_off) for job in batch.in_hand if job.id is not None)
        finished = {job_id for job_id, _, _ in outcomes}
        not_begun = [job.id for job in batch.claimed if job.id is not None and job.id not in finished]
        try:
            await store.settle_jobs(outcomes, not_begun=not_begun)
        except Exception:
            # Left running: the next pass marks them interrupted. Run again they never are.
            log.exception("%s: could not write the outcome of %s job(s)", network.slug, len(batch.claimed))
            self._looked_after.discard(network.slug)
            raise

    # --- the background task --------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Lets the job in hand finish (for a while), puts the claimed ones back, and stops."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._plan.bell.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_S)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.run_due()
            except Exception:
                log.exception("a scheduler pass failed; trying again shortly")
            self._plan.bell.clear()  # before the check: a stop that comes after it wakes the wait below
            if self._stopping:
                return
            next_due = await self._stores.directory.next_job_at()
            seconds = LONGEST_SLEEP_S
            if next_due is not None:
                seconds = min(max((next_due - self._clock.now()).total_seconds(), 0.0), LONGEST_SLEEP_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._plan.bell.wait(), timeout=seconds)

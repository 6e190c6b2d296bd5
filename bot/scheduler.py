"""The durable scheduler: jobs live in each network's store; one task sleeps until the next is due.

A job runs at most once (it is claimed before it runs). A job missed while the bot was down
runs late if it is still within its kind's grace window, and is marked skipped otherwise;
a job that was running when the bot stopped is marked interrupted. Nothing is silently lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.clock import Clock
from storage.models import JobStatus, Network, ScheduledJob
from storage.stores import Stores

log = logging.getLogger(__name__)

LONGEST_SLEEP_S = 60.0  # wake up at least this often, in case the clock jumped


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
    JobKind.HELP_EXPIRE: timedelta(days=365),  # an expiry is never too late
    JobKind.EVENT_REMIND: timedelta(minutes=30),  # a reminder after the fact is no use
    JobKind.HELP_RETENTION: timedelta(days=365),  # a clean-up is never too late
}

JobRunner = Callable[[Network, str], Awaitable[None]]


@dataclass(frozen=True)
class Ran:
    """What one pass did: counts by final status."""

    done: int = 0
    skipped: int = 0
    failed: int = 0


class Scheduler:
    def __init__(self, stores: Stores, clock: Clock) -> None:
        self._stores = stores
        self._clock = clock
        self._runners: dict[str, JobRunner] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pass = asyncio.Lock()

    def register(self, kind: JobKind, runner: JobRunner) -> None:
        self._runners[kind] = runner

    async def schedule(self, network: Network, kind: JobKind, ref: object, due_at: datetime) -> None:
        """Plans (or moves) the one job of `kind` about `ref` in this network."""
        async with self._stores.network(network.slug) as store:
            await store.schedule(kind=kind, ref=str(ref), due_at=due_at, now=self._clock.now())
        assert network.id is not None
        await self._stores.directory.set_next_job(network.id, due_at, only_if_earlier=True)
        self._wake.set()

    async def cancel(self, network: Network, kind: JobKind, ref: object) -> None:
        async with self._stores.network(network.slug) as store:
            await store.unschedule(kind=kind, ref=str(ref))

    # --- running --------------------------------------------------------------------------

    async def run_due(self) -> Ran:
        """Runs every job due now, network by network; returns what happened."""
        async with self._pass:
            done = skipped = failed = 0
            now = self._clock.now()
            for network in await self._stores.directory.networks_with_jobs_due(now):
                result = await self._run_network(network, now)
                done, skipped, failed = done + result.done, skipped + result.skipped, failed + result.failed
            return Ran(done, skipped, failed)

    async def _run_network(self, network: Network, now: datetime) -> Ran:
        done = skipped = failed = 0
        async with self._stores.network(network.slug) as store:
            interrupted = await store.interrupt_running_jobs(now)
            if interrupted:
                log.warning("%s: %s job(s) were running when the bot stopped; not run again", network.slug, interrupted)
            for job in await store.due_jobs(now):
                outcome = await self._run_job(network, job, now)
                done += outcome == JobStatus.DONE
                skipped += outcome == JobStatus.SKIPPED
                failed += outcome == JobStatus.FAILED
            next_due = await store.next_due()
        assert network.id is not None
        await self._stores.directory.set_next_job(network.id, next_due, only_if_earlier=False)
        return Ran(done, skipped, failed)

    async def _run_job(self, network: Network, job: ScheduledJob, now: datetime) -> JobStatus | None:
        assert job.id is not None
        async with self._stores.network(network.slug) as store:
            grace = GRACE.get(JobKind(job.kind), timedelta(0)) if job.kind in JobKind._value2member_map_ else None
            runner = self._runners.get(job.kind)
            if runner is None or grace is None:
                log.error("%s: no runner for job %s (%s); marked failed", network.slug, job.id, job.kind)
                await store.move_job(job.id, expected=JobStatus.PENDING, status=JobStatus.FAILED, now=now)
                return JobStatus.FAILED
            if now - job.due_at > grace:
                log.warning(
                    "%s: job %s (%s %s) was due %s, too long ago; skipped",
                    network.slug,
                    job.id,
                    job.kind,
                    job.ref,
                    job.due_at,
                )
                await store.move_job(job.id, expected=JobStatus.PENDING, status=JobStatus.SKIPPED, now=now)
                return JobStatus.SKIPPED
            if not await store.move_job(job.id, expected=JobStatus.PENDING, status=JobStatus.RUNNING, now=now):
                return None  # another pass took it
        try:
            await runner(network, job.ref)
        except Exception:
            log.exception("%s: job %s (%s %s) failed", network.slug, job.id, job.kind, job.ref)
            status = JobStatus.FAILED
        else:
            status = JobStatus.DONE
        async with self._stores.network(network.slug) as store:
            await store.move_job(job.id, expected=JobStatus.RUNNING, status=status, now=self._clock.now())
        return status

    # --- the background task --------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("a scheduler pass failed; trying again shortly")
            self._wake.clear()
            next_due = await self._stores.directory.next_job_at()
            seconds = LONGEST_SLEEP_S
            if next_due is not None:
                seconds = min(max((next_due - self._clock.now()).total_seconds(), 0.0), LONGEST_SLEEP_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=seconds)

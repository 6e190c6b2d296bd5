"""Scheduled jobs: each network store's job table, and the directory's index of when each network's next job is due.

`JobRecords` (part of `NetworkStore`) plans jobs, and for the scheduler claims due ones a batch
at a time and settles their outcomes a batch at a time: SQLAlchemy Core statements on the job
table itself, many rows in one statement, no ORM bookkeeping per row. `JobIndex` (part of
`DirectoryStore`) keeps each network's next due time, so a pass opens only the stores with work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Table, bindparam, func, update
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.base import Store
from storage.engine import upsert
from storage.known import STANDING_UNAFFECTED
from storage.models import JobStatus, Network, ScheduledJob

# The job table itself (not the ORM class), for claiming and settling many jobs at once.
_JOBS: Table = ScheduledJob.__table__  # type: ignore[attr-defined]
# One statement for many jobs: each row gives the job, its final status and when it got there.
_SETTLE = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("job_id"))
    .values(status=bindparam("to_status"), finished_at=bindparam("at"))
)
_SETTLE_PENDING = _SETTLE.where(_JOBS.c.status == JobStatus.PENDING)  # not run: skipped, or failed for want of a runner
_SETTLE_RUNNING = _SETTLE.where(_JOBS.c.status == JobStatus.RUNNING)  # run (or cut off) by the claim that took it


class Outcome(NamedTuple):
    """What became of a job: its final status, and when it got there."""

    job_id: int
    status: JobStatus
    at: datetime


# Given the due jobs found, says which to run and what becomes of the others.
SortOut = Callable[[Sequence[ScheduledJob]], tuple[list[ScheduledJob], list[Outcome]]]


@dataclass(frozen=True)
class Claim:
    """What one claim found and did."""

    found: int  # due jobs found (at most the limit asked for)
    claimed: list[ScheduledJob]  # marked running by this claim, in due order
    settled: list[Outcome]  # not to be run: written skipped or failed at once


def _due(now: datetime, limit: int) -> SelectOfScalar[ScheduledJob]:
    return (
        select(ScheduledJob)
        .where(col(ScheduledJob.status) == JobStatus.PENDING, col(ScheduledJob.due_at) <= now)
        .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
        .limit(limit)
    )


def _rows(outcomes: Sequence[Outcome]) -> list[dict[str, object]]:
    return [{"job_id": job_id, "to_status": status, "at": at} for job_id, status, at in outcomes]


class JobRecords(Store):
    """A network's scheduled jobs (part of `NetworkStore`)."""

    async def schedule(self, *, kind: str, ref: str, due_at: datetime, now: datetime) -> None:
        """Plans the job of this kind for `ref` at `due_at`, replacing a plan made before."""
        async with self.transaction() as session:
            statement = upsert(session, ScheduledJob).values(
                kind=kind, ref=ref, due_at=due_at, status=JobStatus.PENDING, created_at=now
            )
            await session.exec(
                statement.on_conflict_do_update(
                    index_elements=["kind", "ref"],
                    set_={"due_at": due_at, "status": JobStatus.PENDING, "finished_at": None},
                )
            )

    async def unschedule(self, *, kind: str, ref: str) -> None:
        async with self.transaction() as session:
            await session.exec(
                update(ScheduledJob)
                .where(
                    col(ScheduledJob.kind) == kind,
                    col(ScheduledJob.ref) == ref,
                    col(ScheduledJob.status) == JobStatus.PENDING,
                )
                .values(status=JobStatus.SKIPPED)
            )

    async def due_jobs(self, now: datetime, limit: int = 500) -> Sequence[ScheduledJob]:
        async with self.transaction() as session:
            return (await session.exec(_due(now, limit))).all()

    async def next_due(self) -> datetime | None:
        async with self.transaction() as session:
            query = select(func.min(ScheduledJob.due_at)).where(col(ScheduledJob.status) == JobStatus.PENDING)
            return (await session.exec(query)).one()

    async def jobs(self) -> Sequence[ScheduledJob]:
        async with self.transaction() as session:
            return (await session.exec(select(ScheduledJob).order_by(col(ScheduledJob.id)))).all()

    async def move_job(self, job_id: int, *, expected: JobStatus, status: JobStatus, now: datetime) -> bool:
        """Moves a job from `expected` to `status`; False if it was not in `expected` (taken already)."""
        async with self.transaction() as session:
            result = await session.exec(
                update(ScheduledJob)
                .where(col(ScheduledJob.id) == job_id, col(ScheduledJob.status) == expected)
                .values(status=status, finished_at=None if status == JobStatus.RUNNING else now)
            )
            return bool(result.rowcount)

    async def claim_due_jobs(self, now: datetime, limit: int, sort_out: SortOut) -> Claim:
        """Finds up to `limit` jobs due at `now` and, in the same transaction, marks running those
        `sort_out` says to run and writes the outcome it gives the others. A job another pass took
        meanwhile is left out of the claim."""
        async with self.transaction() as session:
            jobs = (await session.exec(_due(now, limit))).all()
            to_run, settled = sort_out(jobs)
            connection = await session.connection()
            if settled:
                await connection.execute(_SETTLE_PENDING, _rows(settled))
            claimed: list[ScheduledJob] = []
            if to_run:
                claim = (
                    update(_JOBS)
                    .where(_JOBS.c.id.in_([job.id for job in to_run]), _JOBS.c.status == JobStatus.PENDING)
                    .values(status=JobStatus.RUNNING, finished_at=None)
                    .returning(_JOBS.c.id)
                )
                taken = set((await connection.execute(claim)).scalars().all())
                claimed = [job for job in to_run if job.id in taken]
        return Claim(len(jobs), claimed, settled)

    async def settle_jobs(self, outcomes: Sequence[Outcome], *, not_begun: Sequence[int] = ()) -> None:
        """Writes, in one transaction, the outcomes of claimed jobs (those still running: a job its
        runner planned anew, pending again, is left be) and puts the claimed jobs not begun back to
        waiting."""
        if not outcomes and not not_begun:
            return
        async with self.connection() as connection:
            if outcomes:
                await connection.execute(_SETTLE_RUNNING, _rows(outcomes))
            if not_begun:
                await connection.execute(
                    update(_JOBS)
                    .where(_JOBS.c.id.in_(not_begun), _JOBS.c.status == JobStatus.RUNNING)
                    .values(status=JobStatus.PENDING)
                )

    async def interrupt_running_jobs(self, now: datetime) -> int:
        """Jobs left running by a process that stopped: never run again, but kept visible."""
        async with self.transaction() as session:
            result = await session.exec(
                update(ScheduledJob)
                .where(col(ScheduledJob.status) == JobStatus.RUNNING)
                .values(status=JobStatus.INTERRUPTED, finished_at=now)
            )
            return int(result.rowcount)


class JobIndex(Store):
    """When each network's next job is due, in the directory (part of `DirectoryStore`)."""

    async def set_next_job(self, network_id: int, due_at: datetime | None, *, only_if_earlier: bool) -> None:
        """Notes when the network's next job is due (None: no jobs waiting)."""
        async with self.transaction() as session:
            query = update(Network).where(col(Network.id) == network_id)
            if only_if_earlier and due_at is not None:
                query = query.where((col(Network.next_job_at).is_(None)) | (col(Network.next_job_at) > due_at))
            await session.exec(query.values(next_job_at=due_at).execution_options(**{STANDING_UNAFFECTED: True}))

    async def networks_with_jobs_due(self, now: datetime) -> Sequence[Network]:
        async with self.transaction() as session:
            query = select(Network).where(col(Network.next_job_at) <= now).order_by(col(Network.next_job_at))
            return (await session.exec(query)).all()

    async def next_job_at(self) -> datetime | None:
        async with self.transaction() as session:
            return (await session.exec(select(func.min(Network.next_job_at)))).one()

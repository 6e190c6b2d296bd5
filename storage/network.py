"""A network's own store: what happens inside one street network (for now its audit log)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select

from storage.base import Store
from storage.engine import upsert
from storage.migrations.network import MIGRATIONS
from storage.models import AuditEntry, JobStatus, NetworkSetting, ScheduledJob


class NetworkStore(Store):
    def __init__(self, url: str, slug: str) -> None:
        super().__init__(url, MIGRATIONS)
        self.slug = slug

    async def audit(
        self, *, actor_id: int | None, action: str, subject_id: int | None, detail: str = "", now: datetime
    ) -> None:
        async with self.transaction() as session:
            session.add(AuditEntry(at=now, actor_id=actor_id, action=action, subject_id=subject_id, detail=detail))

    async def audit_log(self, limit: int = 100) -> Sequence[AuditEntry]:
        async with self.transaction() as session:
            query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
            return (await session.exec(query)).all()

    # --- scheduled jobs --------------------------------------------------------------------

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
            query = (
                select(ScheduledJob)
                .where(col(ScheduledJob.status) == JobStatus.PENDING, col(ScheduledJob.due_at) <= now)
                .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
                .limit(limit)
            )
            return (await session.exec(query)).all()

    async def next_due(self) -> datetime | None:
        async with self.transaction() as session:
            query = select(func.min(ScheduledJob.due_at)).where(col(ScheduledJob.status) == JobStatus.PENDING)
            return (await session.exec(query)).one()

    async def move_job(self, job_id: int, *, expected: JobStatus, status: JobStatus, now: datetime) -> bool:
        """Moves a job from `expected` to `status`; False if it was not in `expected` (taken already)."""
        async with self.transaction() as session:
            result = await session.exec(
                update(ScheduledJob)
                .where(col(ScheduledJob.id) == job_id, col(ScheduledJob.status) == expected)
                .values(status=status, finished_at=None if status == JobStatus.RUNNING else now)
            )
            return bool(result.rowcount)

    async def interrupt_running_jobs(self, now: datetime) -> int:
        """Jobs left running by a process that stopped: never run again, but kept visible."""
        async with self.transaction() as session:
            result = await session.exec(
                update(ScheduledJob)
                .where(col(ScheduledJob.status) == JobStatus.RUNNING)
                .values(status=JobStatus.INTERRUPTED, finished_at=now)
            )
            return int(result.rowcount)

    async def jobs(self) -> Sequence[ScheduledJob]:
        async with self.transaction() as session:
            return (await session.exec(select(ScheduledJob).order_by(col(ScheduledJob.id)))).all()

    # --- settings --------------------------------------------------------------------------

    async def settings(self) -> dict[str, str]:
        async with self.transaction() as session:
            return {row.name: row.value for row in (await session.exec(select(NetworkSetting))).all()}

    async def set_setting(self, name: str, value: str) -> None:
        async with self.transaction() as session:
            row = await session.get(NetworkSetting, name)
            if row is None:
                session.add(NetworkSetting(name=name, value=value))
            else:
                row.value = value

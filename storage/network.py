"""A network's own store: what happens inside one street network (its audit log, settings and scheduled jobs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select

from storage.jobs import JobRecords
from storage.migrations.network import MIGRATIONS
from storage.models import AuditEntry, NetworkSetting


class NetworkStore(JobRecords):
    """One network's SQLite file. Its scheduled jobs are kept by `JobRecords` (storage/jobs.py);
    help, activities, announcements and the outbox have repositories of their own in storage/."""

    def __init__(self, url: str, slug: str) -> None:
        super().__init__(url, MIGRATIONS)
        self.slug = slug

    # --- audit log -------------------------------------------------------------------------

    async def audit(
        self, *, actor_id: int | None, action: str, subject_id: int | None, detail: str = "", now: datetime
    ) -> None:
        async with self.transaction() as session:
            session.add(AuditEntry(at=now, actor_id=actor_id, action=action, subject_id=subject_id, detail=detail))

    async def audit_log(self, limit: int = 100) -> Sequence[AuditEntry]:
        async with self.transaction() as session:
            query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
            return (await session.exec(query)).all()

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

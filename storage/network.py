"""A network's own store: what happens inside one street network (for now its audit log)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select

from storage.base import Store
from storage.migrations.network import MIGRATIONS
from storage.models import AuditEntry


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

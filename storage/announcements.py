"""Announcements in a network's store: each kept with its audit line, its outbox rows and the step that queued it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage import outbox, steps
from storage.models import Announcement, AuditEntry, OutboxKind
from storage.stores import Stores


class Announcements:
    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def record(
        self,
        slug: str,
        *,
        author_id: int,
        text: str,
        audit_action: str,
        messages: Sequence[outbox.NewMessage],
        key: str | None,
        step_kind: str,
        now: datetime,
    ) -> tuple[Announcement, int, bool] | None:
        """Keeps the announcement, its audit line and one outbox row per message in one
        transaction, with the step under `key`. Returns the announcement, how many rows it
        queued and whether it was found queued before (the same update handled again after a
        crash: nothing is written twice); None when that one is gone (its author forgotten)."""
        async with self._stores.network(slug) as store, store.transaction() as session:
            connection = await session.connection()
            done = await steps.applied(connection, key)
            if done is not None:
                found = await session.get(Announcement, int(done.ref))
                if found is None:
                    return None
                return found, await outbox.count_of(connection, found.id or 0), True
            announcement = Announcement(author_id=author_id, text=text, created_at=now)
            session.add(announcement)
            await session.flush()
            session.add(AuditEntry(at=now, actor_id=author_id, action=audit_action, subject_id=None))
            await outbox.insert(
                connection,
                messages,
                kind=OutboxKind.ANNOUNCEMENT,
                ref=str(announcement.id),
                announcement_id=announcement.id,
                now=now,
            )
            await steps.record(connection, key, kind=step_kind, ref=str(announcement.id), now=now)
        return announcement, len(messages), False

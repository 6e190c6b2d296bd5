"""Updates kept in the directory before they are handled, and the steps they applied.

An update is kept (by its door and id) before it is handled and marked handled after: a
redelivery is recognised, and one kept but never handled (the bot stopped in between) is handled
at the next start. A step an update applied is kept with its effect (see storage/steps.py), so
handling it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select

from storage import steps
from storage.base import Store
from storage.engine import upsert
from storage.models import ProcessedUpdate
from storage.upserts import made_once

_UPDATES = ProcessedUpdate.__table__  # type: ignore[attr-defined]
_MARK_HANDLED = (  # run once per id (executemany): an expanding IN (...) is compiled anew each time
    update(_UPDATES)
    .where(_UPDATES.c.door == bindparam("b_door"), _UPDATES.c.update_id == bindparam("b_id"))
    .values(handled_at=bindparam("b_now"), event=None)
)


def _keep_updates(connection: AsyncConnection) -> Any:
    """INSERT .. ON CONFLICT DO NOTHING RETURNING update_id: the ids that were new."""
    return upsert(connection, _UPDATES).on_conflict_do_nothing().returning(_UPDATES.c.update_id)


class KeptUpdates(Store):
    """The directory's kept updates and applied steps (part of `DirectoryStore`)."""

    async def record_update(self, *, door: str, update_id: int, event: str, now: datetime) -> bool:
        """Keeps an update before it is handled; False if it was received before (a redelivery)."""
        return bool(await self.record_updates(door=door, updates=[(update_id, event)], now=now))

    async def record_updates(self, *, door: str, updates: Sequence[tuple[int, str]], now: datetime) -> set[int]:
        """Keeps updates (id, event as JSON) before they are handled, in one transaction; returns
        the ids that are new (the others were received before: redeliveries)."""
        rows = [
            {"door": door, "update_id": update_id, "received_at": now, "event": event}
            for update_id, event in dict(reversed(updates)).items()  # the first of a twice-sent id
        ]
        async with self.connection() as connection:
            return set((await connection.execute(made_once(connection, _keep_updates), rows)).scalars())

    async def mark_handled(self, *, door: str, update_id: int, now: datetime) -> None:
        await self.mark_all_handled(door=door, update_ids=[update_id], now=now)

    async def mark_all_handled(self, *, door: str, update_ids: Sequence[int], now: datetime) -> None:
        async with self.connection() as connection:
            await connection.execute(
                _MARK_HANDLED, [{"b_door": door, "b_id": update_id, "b_now": now} for update_id in update_ids]
            )

    async def unhandled_updates(self, door: str) -> list[tuple[int, str]]:
        """Updates received but not handled (the bot stopped in between), oldest first."""
        async with self.transaction() as session:
            query = (
                select(ProcessedUpdate.update_id, ProcessedUpdate.event)
                .where(ProcessedUpdate.door == door, col(ProcessedUpdate.handled_at).is_(None))
                .order_by(col(ProcessedUpdate.update_id))
            )
            return [(update_id, event or "") for update_id, event in (await session.exec(query)).all()]

    async def drop_kept_updates_of(self, person_id: int) -> int:
        """Clears what the kept updates of this person say (their name, what they typed), handled or
        not: for someone just forgotten. Their ids stay, so a redelivery still changes nothing."""
        sender = func.json_extract(_UPDATES.c.event, "$.sender.id")
        async with self.connection() as connection:
            result = await connection.execute(
                update(_UPDATES).where(_UPDATES.c.event.is_not(None), sender == person_id).values(event=None)
            )
        return int(result.rowcount)

    async def forget_updates_before(self, cutoff: datetime) -> int:
        """Forgets handled updates received before `cutoff`; Telegram no longer redelivers them.
        The steps they applied go too: only an update not yet handled is handled again."""
        async with self.transaction() as session:
            await steps.forget_before(await session.connection(), cutoff)
            result = await session.exec(
                delete(ProcessedUpdate).where(
                    col(ProcessedUpdate.received_at) < cutoff, col(ProcessedUpdate.handled_at).is_not(None)
                )
            )
            return int(result.rowcount)

    async def applied_step(self, key: str | None) -> steps.Applied | None:
        """A step an update applied in this store before (see storage.steps)."""
        if key is None:
            return None
        async with self.connection() as connection:
            return await steps.applied(connection, key)

    async def step_told(self, key: str | None, now: datetime) -> None:
        if key is not None:
            async with self.connection() as connection:
                await steps.told(connection, key, now)

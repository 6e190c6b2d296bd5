"""Applied steps: what an update changed, kept with the change, so its replay changes nothing.

After a crash the core handles again every update it kept but had not marked handled. A step
that committed its effect before the crash finds its own row here (written in the same
transaction as the effect, keyed by the update) and applies nothing again; `told_at` says
whether the messages that follow it went out. Core statements on a connection, so a step
written through the ORM (`await session.connection()`) or on a Core connection uses the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import AppliedStep

_STEP: Table = AppliedStep.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Applied:
    """A step found applied: what it made (`ref`) and whether its messages went out."""

    kind: str
    ref: str
    told: bool


async def applied(connection: AsyncConnection, key: str | None) -> Applied | None:
    """The step this update applied before, or None (also for an update without a key)."""
    if key is None:
        return None
    row = (
        await connection.execute(select(_STEP.c.kind, _STEP.c.ref, _STEP.c.told_at).where(_STEP.c.key == key))
    ).first()
    return None if row is None else Applied(row.kind, row.ref, row.told_at is not None)


async def record(connection: AsyncConnection, key: str | None, *, kind: str, ref: str, now: datetime) -> None:
    """Keeps the step in the transaction that applies it; nothing for an update without a key
    (the console's: never replayed)."""
    if key is not None:
        await connection.execute(_STEP.insert().values(key=key, kind=kind, ref=ref, at=now))


async def told(connection: AsyncConnection, key: str | None, now: datetime) -> None:
    """The messages that follow the step went out: a replay sends them no more."""
    if key is not None:
        await connection.execute(_STEP.update().where(_STEP.c.key == key).values(told_at=now))


async def forget_before(connection: AsyncConnection, cutoff: datetime) -> int:
    """Steps applied before `cutoff`: their updates were handled long ago and are not replayed."""
    return int((await connection.execute(_STEP.delete().where(_STEP.c.at < cutoff))).rowcount)

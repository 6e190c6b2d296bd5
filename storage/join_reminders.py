"""A member waiting for approval may remind the buurtverbinder: at most once in a while, kept in the directory."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, or_

from storage.base import Store
from storage.models import Membership, MembershipStatus

_MEMBERSHIP: Table = Membership.__table__  # type: ignore[attr-defined]


async def claim(
    directory: Store, *, membership_id: int, person_id: int, now: datetime, every: timedelta
) -> datetime | None:
    """Notes a reminder for this person's pending membership, in one conditional UPDATE (two taps
    at once remind once); returns None when it may be sent, else when the last one was sent."""
    fresh = or_(_MEMBERSHIP.c.reminded_at.is_(None), _MEMBERSHIP.c.reminded_at <= now - every)
    mine = (
        _MEMBERSHIP.c.id == membership_id,
        _MEMBERSHIP.c.person_id == person_id,
        _MEMBERSHIP.c.status == MembershipStatus.PENDING,
    )
    async with directory.connection() as connection:
        claimed = await connection.execute(_MEMBERSHIP.update().where(*mine, fresh).values(reminded_at=now))
        if claimed.rowcount:
            return None
        last = await connection.scalar(_MEMBERSHIP.select().with_only_columns(_MEMBERSHIP.c.reminded_at).where(*mine))
    return last if isinstance(last, datetime) else now  # gone or decided meanwhile: nothing to remind of

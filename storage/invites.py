"""Invites in the directory: codes a buurtverbinder hands out, counted as they are used, revoked or expired."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, update
from sqlmodel import col, select

from storage.base import Store
from storage.models import Invite


def _usable(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """What makes an invite still good: not revoked, not expired, not used up."""
    return (
        col(Invite.revoked_at).is_(None),
        (col(Invite.expires_at).is_(None)) | (col(Invite.expires_at) > now),
        (col(Invite.max_uses).is_(None)) | (col(Invite.uses) < col(Invite.max_uses)),
    )


class InviteRecords(Store):
    """The directory's invites (part of `DirectoryStore`)."""

    async def add_invite(
        self,
        *,
        code: str,
        network_id: int,
        created_by: int | None,
        max_uses: int | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> Invite:
        async with self.transaction() as session:
            invite = Invite(
                code=code,
                network_id=network_id,
                created_by=created_by,
                created_at=now,
                expires_at=expires_at,
                max_uses=max_uses,
            )
            session.add(invite)
            return invite

    async def invite(self, code: str) -> Invite | None:
        async with self.transaction() as session:
            return await session.get(Invite, code)

    async def active_invites(self, network_id: int, now: datetime) -> Sequence[Invite]:
        async with self.transaction() as session:
            query = select(Invite).where(Invite.network_id == network_id, *_usable(now))
            return (await session.exec(query.order_by(col(Invite.created_at)))).all()

    async def revoke_invite(self, code: str, now: datetime) -> bool:
        async with self.transaction() as session:
            result = await session.exec(
                update(Invite).where(col(Invite.code) == code, col(Invite.revoked_at).is_(None)).values(revoked_at=now)
            )
            return bool(result.rowcount)

    async def use_invite(self, code: str, now: datetime) -> bool:
        """Counts one use of a valid invite; False if it is unknown, revoked, expired or used up."""
        async with self.transaction() as session:
            result = await session.exec(
                update(Invite).where(col(Invite.code) == code, *_usable(now)).values(uses=col(Invite.uses) + 1)
            )
            return bool(result.rowcount)

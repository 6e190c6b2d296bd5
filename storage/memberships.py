"""Memberships in the directory: who belongs to which network, in which role, and who waits to be let in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import steps
from storage.base import Store
from storage.models import MemberRole, Membership, MembershipStatus, Network, Person, Street
from storage.views import MembershipView

# Made once: memberships are read on the hot path of every update, where building a statement
# costs more than running it against SQLite.
_ALL_MEMBERSHIPS = (
    select(Membership, Network, Street)
    .join(Network, col(Network.id) == col(Membership.network_id))
    .outerjoin(Street, col(Street.id) == col(Membership.street_id))
    .order_by(col(Network.name))
)
_MEMBERSHIPS = _ALL_MEMBERSHIPS.where(col(Membership.person_id) == bindparam("person_id"))
_MEMBERSHIPS_OF_MANY = _ALL_MEMBERSHIPS.where(col(Membership.person_id).in_(bindparam("person_ids", expanding=True)))


async def memberships_in(session: AsyncSession, person_id: int) -> list[MembershipView]:
    """A person's memberships with their networks and streets, by network name, in the caller's session."""
    rows = (await session.exec(_MEMBERSHIPS, params={"person_id": person_id})).all()
    return [MembershipView(m, n, s) for m, n, s in rows]


async def memberships_of_people(session: AsyncSession, person_ids: Iterable[int]) -> list[MembershipView]:
    """The memberships of all these people (as `memberships_in`), in one query."""
    rows = (await session.exec(_MEMBERSHIPS_OF_MANY, params={"person_ids": sorted(person_ids)})).all()
    return [MembershipView(m, n, s) for m, n, s in rows]


class MembershipRecords(Store):
    """The directory's memberships and roles (part of `DirectoryStore`)."""

    async def memberships_of(self, person_id: int) -> list[MembershipView]:
        async with self.transaction() as session:
            return await memberships_in(session, person_id)

    async def membership(self, membership_id: int) -> Membership | None:
        async with self.transaction() as session:
            return await session.get(Membership, membership_id)

    async def membership_of(self, person_id: int, network_id: int) -> Membership | None:
        async with self.transaction() as session:
            query = select(Membership).where(Membership.person_id == person_id, Membership.network_id == network_id)
            return (await session.exec(query)).first()

    async def request_membership(
        self,
        *,
        person_id: int,
        network_id: int,
        street_id: int | None,
        status: MembershipStatus,
        role: MemberRole = MemberRole.MEMBER,
        now: datetime,
    ) -> Membership:
        """Creates the membership, or renews one that was declined or left."""
        async with self.transaction() as session:
            query = select(Membership).where(Membership.person_id == person_id, Membership.network_id == network_id)
            membership = (await session.exec(query)).first()
            if membership is None:
                membership = Membership(person_id=person_id, network_id=network_id, created_at=now)
                session.add(membership)
            membership.street_id = street_id
            membership.status = status
            membership.role = role
            membership.created_at = now
            membership.decided_at = now if status == MembershipStatus.ACTIVE else None
            membership.decided_by = None
            await session.flush()
            return membership

    async def decide_membership(
        self,
        *,
        membership_id: int,
        expected: MembershipStatus,
        status: MembershipStatus,
        by: int | None,
        now: datetime,
        step: tuple[str | None, str] = (None, ""),
    ) -> bool:
        """Moves a membership from `expected` to `status`; False if someone else got there first.
        With a `step` (an update's key and what it does) the step is kept in the same transaction."""
        key, kind = step
        async with self.transaction() as session:
            result = await session.exec(
                update(Membership)
                .where(col(Membership.id) == membership_id, col(Membership.status) == expected)
                .values(status=status, decided_at=now, decided_by=by)
            )
            if result.rowcount:
                await steps.record(await session.connection(), key, kind=kind, ref=str(membership_id), now=now)
            return bool(result.rowcount)

    async def set_role(self, *, membership_id: int, role: MemberRole) -> None:
        async with self.transaction() as session:
            await session.exec(update(Membership).where(col(Membership.id) == membership_id).values(role=role))

    async def people_with_role(self, network_id: int, role: MemberRole) -> Sequence[Person]:
        async with self.transaction() as session:
            query = (
                select(Person)
                .join(Membership, col(Membership.person_id) == col(Person.id))
                .where(
                    Membership.network_id == network_id,
                    Membership.role == role,
                    Membership.status == MembershipStatus.ACTIVE,
                )
                .order_by(col(Person.name))
            )
            return (await session.exec(query)).all()

    async def count_members(self, network_id: int, status: MembershipStatus) -> int:
        async with self.transaction() as session:
            query = (
                select(func.count())
                .select_from(Membership)
                .where(Membership.network_id == network_id, Membership.status == status)
            )
            return int((await session.exec(query)).one())

    async def count_joined_since(self, network_id: int, since: datetime) -> int:
        async with self.transaction() as session:
            query = (
                select(func.count())
                .select_from(Membership)
                .where(
                    Membership.network_id == network_id,
                    Membership.status == MembershipStatus.ACTIVE,
                    col(Membership.decided_at) >= since,
                )
            )
            return int((await session.exec(query)).one())

    async def pending_joins(self, network_id: int) -> Sequence[tuple[Membership, Person]]:
        async with self.transaction() as session:
            query = (
                select(Membership, Person)
                .join(Person, col(Person.id) == col(Membership.person_id))
                .where(Membership.network_id == network_id, Membership.status == MembershipStatus.PENDING)
                .order_by(col(Membership.created_at))
            )
            return (await session.exec(query)).all()

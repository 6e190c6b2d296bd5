"""Networks and their streets in the directory: made by a community manager, read on nearly every update."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.base import Store
from storage.models import JoinPolicy, Network, Street


class DuplicateNetworkError(Exception):
    """A network with that slug already exists."""


class NetworkRecords(Store):
    """The directory's networks and streets (part of `DirectoryStore`)."""

    async def add_network(
        self, *, slug: str, name: str, streets: Iterable[str], join_policy: JoinPolicy, now: datetime
    ) -> Network:
        try:
            async with self.transaction() as session:
                network = Network(slug=slug, name=name, join_policy=join_policy, created_at=now)
                session.add(network)
                await session.flush()
                assert network.id is not None
                for street in dict.fromkeys(streets):
                    session.add(Street(network_id=network.id, name=street))
                return network
        except IntegrityError as error:
            raise DuplicateNetworkError(slug) from error

    async def add_streets(self, network_id: int, names: Iterable[str]) -> list[str]:
        """Adds the streets the network does not have yet; returns those added."""
        async with self.transaction() as session:
            known = set((await session.exec(select(Street.name).where(Street.network_id == network_id))).all())
            added = [name for name in dict.fromkeys(names) if name not in known]
            session.add_all(Street(network_id=network_id, name=name) for name in added)
            return added

    async def networks(self) -> Sequence[Network]:
        async with self.transaction() as session:
            return (await session.exec(select(Network).order_by(col(Network.name)))).all()

    async def network_by_slug(self, slug: str) -> Network | None:
        async with self.transaction() as session:
            return (await session.exec(select(Network).where(Network.slug == slug))).first()

    async def network(self, network_id: int) -> Network | None:
        async with self.transaction() as session:
            return await session.get(Network, network_id)

    async def set_join_policy(self, network_id: int, policy: JoinPolicy) -> None:
        async with self.transaction() as session:
            await session.exec(update(Network).where(col(Network.id) == network_id).values(join_policy=policy))

    async def streets(self) -> Sequence[tuple[Street, Network]]:
        async with self.transaction() as session:
            query = select(Street, Network).join(Network, col(Network.id) == col(Street.network_id))
            return (await session.exec(query.order_by(col(Street.name)))).all()

    async def streets_of(self, network_id: int) -> Sequence[Street]:
        async with self.transaction() as session:
            query = select(Street).where(Street.network_id == network_id).order_by(col(Street.name))
            return (await session.exec(query)).all()

    async def street(self, street_id: int) -> Street | None:
        async with self.transaction() as session:
            return await session.get(Street, street_id)

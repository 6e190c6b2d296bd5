"""Linked groups in the directory: a street's Telegram groups tied to its network, and who asked to join them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select

from storage.base import Store
from storage.models import GroupJoinRequest, LinkedGroup, Network


class GroupRecords(Store):
    """The directory's linked groups and group join requests (part of `DirectoryStore`)."""

    async def link_group(self, *, chat_id: int, network_id: int, title: str, linked_by: int, now: datetime) -> None:
        """Ties the group to the network; a group linked before is tied to this one instead."""
        async with self.transaction() as session:
            row = await session.get(LinkedGroup, chat_id)
            if row is None:
                session.add(
                    LinkedGroup(chat_id=chat_id, network_id=network_id, title=title, linked_by=linked_by, linked_at=now)
                )
            else:
                row.network_id, row.linked_by, row.linked_at = network_id, linked_by, now

    async def unlink_group(self, chat_id: int) -> None:
        async with self.transaction() as session:
            await session.exec(delete(LinkedGroup).where(col(LinkedGroup.chat_id) == chat_id))

    async def linked_network(self, chat_id: int) -> Network | None:
        """The network the group is linked to; None for a group not linked."""
        async with self.transaction() as session:
            row = await session.get(LinkedGroup, chat_id)
            return None if row is None else await session.get(Network, row.network_id)

    async def linked_groups(self, network_id: int | None) -> list[int]:
        """The chat ids of the groups linked to the network."""
        async with self.transaction() as session:
            query = select(LinkedGroup.chat_id).where(LinkedGroup.network_id == network_id)
            return list((await session.exec(query)).all())

    async def remember_join_request(self, *, chat_id: int, person_id: int, now: datetime) -> None:
        """Someone asked to join a linked group; kept (once) until it is decided."""
        async with self.transaction() as session:
            if await session.get(GroupJoinRequest, (chat_id, person_id)) is None:
                session.add(GroupJoinRequest(chat_id=chat_id, person_id=person_id, requested_at=now))

    async def waiting_join_requests(self, person_id: int, chat_ids: Sequence[int]) -> list[int]:
        """The groups among CHAT_IDS the person asked to join and is waiting for."""
        async with self.transaction() as session:
            query = select(GroupJoinRequest).where(
                GroupJoinRequest.person_id == person_id, col(GroupJoinRequest.chat_id).in_(chat_ids)
            )
            return [request.chat_id for request in (await session.exec(query)).all()]

    async def drop_join_request(self, *, chat_id: int, person_id: int) -> None:
        """A join request that was decided (or could not be)."""
        async with self.transaction() as session:
            await session.exec(
                delete(GroupJoinRequest).where(
                    col(GroupJoinRequest.chat_id) == chat_id, col(GroupJoinRequest.person_id) == person_id
                )
            )

"""Telegram groups of a street: linking them to a network, and letting in members who ask to join."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.delivery.messenger import Messenger
from bot.joining import Networks, Standing
from bot.kernel.events import ChatRef
from bot.kernel.permissions import Action
from bot.kernel.port import DoorError
from bot.kernel.refusals import Reason, Refusal
from storage.models import MembershipStatus, Network, Person
from storage.stores import Stores

log = logging.getLogger(__name__)


class Groups:
    def __init__(self, stores: Stores, networks: Networks, messenger: Messenger) -> None:
        self._stores = stores
        self._networks = networks
        self._messenger = messenger

    async def link(self, standing: Standing, chat: ChatRef, slug: str, now: datetime) -> Network:
        """Ties the group to the network; only a buurtverbinder of that network may."""
        if chat.is_private:
            raise Refusal(Reason.GROUP_ONLY)
        candidates = [n for n in await self._networks.all() if standing.may_in(n.id or 0, Action.LINK_GROUP)]
        if slug:
            candidates = [n for n in candidates if n.slug == slug.strip().casefold()]
        if not candidates:
            raise Refusal(Reason.NOT_ALLOWED)
        if len(candidates) > 1:
            raise Refusal(Reason.SAY_WHICH_NETWORK, slugs=", ".join(n.slug for n in candidates))
        network = candidates[0]
        linked = await self.network_of(chat.id)
        if linked is not None and linked.id != network.id and not standing.may_in(linked.id or 0, Action.LINK_GROUP):
            raise Refusal(Reason.LINKED_ELSEWHERE, network=linked.name)
        # Asked of the app, not assumed: a buurtverbinder who is a plain member of some group
        # must not be able to take it for his network.
        if not await self._is_group_admin(chat.id, standing.person.id):
            raise Refusal(Reason.NOT_GROUP_ADMIN)
        await self._stores.directory.link_group(
            chat_id=chat.id, network_id=network.id or 0, title=chat.title or "", linked_by=standing.person.id, now=now
        )
        return network

    async def unlink(self, standing: Standing, chat: ChatRef) -> Network:
        network = await self.network_of(chat.id)
        if network is None:
            raise Refusal(Reason.NOT_LINKED)
        if not standing.may_in(network.id or 0, Action.LINK_GROUP):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
        await self._stores.directory.unlink_group(chat.id)
        return network

    async def answers_in(self, standing: Standing, chat: ChatRef) -> bool:
        """Whether the bot answers this person's commands in this group: in a linked group only
        members of its network (and community managers), elsewhere only members of some network.
        Anyone else gets no answer there, so a stranger learns nothing about the network."""
        if standing.is_community_manager:
            return True
        network = await self.network_of(chat.id)
        if network is None:
            return bool(standing.active)
        return any(view.network.id == network.id for view in standing.active)

    async def _is_group_admin(self, chat_id: int, user_id: int) -> bool:
        try:
            return await self._messenger.port.is_group_admin(chat_id, user_id)
        except DoorError:
            log.warning("could not ask whether %s administers group %s; not linking", user_id, chat_id)
            return False

    async def network_of(self, chat_id: int) -> Network | None:
        return await self._stores.directory.linked_network(chat_id)

    async def groups_of(self, network: Network) -> list[int]:
        return await self._stores.directory.linked_groups(network.id)

    async def is_member(self, person: Person, network: Network) -> bool:
        membership = await self._stores.directory.membership_of(person.id, network.id or 0)
        return membership is not None and membership.status == MembershipStatus.ACTIVE

    async def remember_request(self, chat_id: int, person: Person, now: datetime) -> None:
        await self._stores.directory.remember_join_request(chat_id=chat_id, person_id=person.id, now=now)

    async def let_in(self, person: Person, network: Network, *, approve: bool = True) -> int:
        """Decides the person's waiting requests to join the network's groups; returns how many."""
        groups = await self.groups_of(network)
        let_in = 0
        for chat_id in await self._stores.directory.waiting_join_requests(person.id, groups):
            if await self._messenger.decide_join_request(chat_id, person.id, approve=approve):
                let_in += 1
            await self._stores.directory.drop_join_request(chat_id=chat_id, person_id=person.id)
        return let_in

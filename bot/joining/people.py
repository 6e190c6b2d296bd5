"""People and their standing: which networks they are in, and so which roles they hold."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.kernel.events import Sender
from bot.kernel.permissions import Action, Role, may
from storage.directory import Arriving, DirectoryStore
from storage.models import MemberRole, MembershipStatus, Network, Person
from storage.views import FlowState, MembershipView


@dataclass(frozen=True)
class Standing:
    """A person with their memberships: everything a permission check needs."""

    person: Person
    memberships: tuple[MembershipView, ...]
    is_community_manager: bool

    @property
    def active(self) -> list[MembershipView]:
        return [view for view in self.memberships if view.membership.status == MembershipStatus.ACTIVE]

    @property
    def pending(self) -> list[MembershipView]:
        return [view for view in self.memberships if view.membership.status == MembershipStatus.PENDING]

    def roles(self) -> frozenset[Role]:
        roles = {Role.STRANGER}
        for view in self.active:
            roles.add(Role.RESIDENT)
            if view.membership.role == MemberRole.BUURTVERBINDER:
                roles.add(Role.BUURTVERBINDER)
        if self.is_community_manager:
            roles.add(Role.COMMUNITY_MANAGER)
        return frozenset(roles)

    def roles_in(self, network_id: int) -> frozenset[Role]:
        """Roles in one network. A community manager holds every role in every network."""
        roles = {Role.STRANGER}
        for view in self.active:
            if view.network.id == network_id:
                roles.add(Role.RESIDENT)
                if view.membership.role == MemberRole.BUURTVERBINDER:
                    roles.add(Role.BUURTVERBINDER)
        if self.is_community_manager:
            roles.update({Role.RESIDENT, Role.BUURTVERBINDER, Role.COMMUNITY_MANAGER})
        return frozenset(roles)

    def may(self, action: Action) -> bool:
        return may(self.roles(), action)

    def may_in(self, network_id: int, action: Action) -> bool:
        return may(self.roles_in(network_id), action)

    def verbinder_of(self) -> list[Network]:
        return [view.network for view in self.active if view.membership.role == MemberRole.BUURTVERBINDER]


def language_for(language_code: str | None, default: str) -> str:
    """Dutch first; English for people whose Telegram speaks English."""
    if language_code and language_code.casefold().startswith("en"):
        return "en"
    if language_code and language_code.casefold().startswith("nl"):
        return "nl"
    return default


class People:
    def __init__(self, directory: DirectoryStore, *, community_managers: Iterable[int], default_language: str) -> None:
        self._directory = directory
        self._community_managers = frozenset(community_managers)
        self._default_language = default_language

    @property
    def community_managers(self) -> frozenset[int]:
        return self._community_managers

    async def arrive(self, sender: Sender, chat_id: int, now: datetime) -> tuple[Standing, FlowState | None]:
        """`seen`, `standing` and the flow in `chat_id` at once: what the core needs for each event."""
        arrival = await self._directory.arrive(
            person_id=sender.id,
            name=sender.full_name,
            username=sender.username,
            language=language_for(sender.language_code, self._default_language),
            chat_id=chat_id,
            now=now,
        )
        standing = Standing(arrival.person, tuple(arrival.memberships), sender.id in self._community_managers)
        return standing, arrival.flow

    async def recall(self, arrivals: Iterable[tuple[Sender, int]], now: datetime) -> None:
        """Reads ahead what `arrive` will need for these (sender, chat) pairs, all at once, and
        records the senders who are new."""
        await self._directory.recall(
            (
                Arriving(
                    sender.id,
                    chat_id,
                    sender.full_name,
                    sender.username,
                    language_for(sender.language_code, self._default_language),
                )
                for sender, chat_id in arrivals
            ),
            now,
        )

    async def get(self, person_id: int) -> Person | None:
        """The person with this id, if they ever wrote to the bot (or were appointed)."""
        return await self._directory.get_person(person_id)

    async def standing(self, person: Person) -> Standing:
        memberships = await self._directory.memberships_of(person.id)
        return Standing(person, tuple(memberships), person.id in self._community_managers)

    async def set_language(self, person_id: int, language: str) -> None:
        await self._directory.set_language(person_id, language)

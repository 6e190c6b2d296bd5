"""Help's scheduled jobs: escalating a request nobody took, asking how it went, letting it expire."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.neighbour_help.messages import HelpMessages
from bot.neighbour_help.service import Help
from storage.models import HelpStatus, MemberRole, Network, Person

PeopleWithRole = Callable[[int, MemberRole], Awaitable[Sequence[Person]]]
Reviewers = Callable[[int], Awaitable[Sequence[Person]]]


class HelpJobs:
    def __init__(
        self, help_: Help, messages: HelpMessages, *, people_with_role: PeopleWithRole, reviewers: Reviewers
    ) -> None:
        self._help = help_
        self._messages = messages
        self._people_with_role = people_with_role
        self._reviewers = reviewers

    async def escalate(self, network: Network, ref: str) -> None:
        """Nobody took the request in time: the network's buurtverbinders hear of it (or, with
        none, whoever reviews the network's joins)."""
        view = await self._help.view(network.id or 0, int(ref))
        if view.request.status != HelpStatus.OPEN:
            return
        if not await self._help.escalated(network, int(ref)):  # taken (or closed) since it was read
            return
        verbinders = await self._people_with_role(network.id or 0, MemberRole.BUURTVERBINDER)
        if not verbinders:
            verbinders = await self._reviewers(network.id or 0)
        for verbinder in verbinders:
            await self._messages.escalation(verbinder, view)

    async def follow_up(self, network: Network, ref: str) -> None:
        view = await self._help.view(network.id or 0, int(ref))
        if view.request.status in (HelpStatus.OPEN, HelpStatus.CLAIMED):
            await self._messages.follow_up(view)

    async def expire(self, network: Network, ref: str) -> None:
        view = await self._help.view(network.id or 0, int(ref))
        if view.request.status == HelpStatus.OPEN and await self._help.expire(network, int(ref)):
            await self._messages.expired(view)

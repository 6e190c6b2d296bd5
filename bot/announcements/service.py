"""Announcements: a buurtverbinder's message to every member, through the outbox, with a delivery report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.delivery.outbox import Outbox, new_message
from bot.delivery.post import Post
from bot.groups import Groups
from bot.joining import Networks, Standing
from bot.kernel import failpoints
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal, checked_text
from bot.kernel.replies import Reply
from bot.language.renderer import Renderer
from storage.announcements import Announcements as AnnouncementRows
from storage.models import Announcement, MemberRole, Network, Person
from storage.outbox import Report
from storage.stores import Stores

LanguageOf = Callable[[Network], Awaitable[str]]

TEXT_MAX = 2000
AUDIT_ACTION = "announcement_sent"
STEP_KIND = "announcement"  # storage.steps: the step that queued an announcement


@dataclass(frozen=True)
class Queued:
    network: Network
    announcement: Announcement
    recipients: int


class Announcements:
    def __init__(
        self,
        stores: Stores,
        *,
        renderer: Renderer,
        post: Post,
        outbox: Outbox,
        networks: Networks,
        groups: Groups,
        language_of: LanguageOf,
    ) -> None:
        self._stores = stores
        self._rows = AnnouncementRows(stores)
        self._renderer = renderer
        self._post = post
        self._outbox = outbox
        self._networks = networks
        self._groups = groups
        self._language_of = language_of

    def check_text(self, text: str) -> str:
        return checked_text(text, TEXT_MAX)

    async def recipients(self, network: Network, *, besides: int) -> list[Person]:
        directory = self._stores.directory
        people = [
            *await directory.people_with_role(network.id or 0, MemberRole.MEMBER),
            *await directory.people_with_role(network.id or 0, MemberRole.BUURTVERBINDER),
        ]
        return [p for p in people if p.id != besides and p.unreachable_at is None]

    async def announce(
        self, standing: Standing, network: Network, text: str, now: datetime, *, key: str | None = None
    ) -> Queued:
        """Queues the announcement for every member (and the street's linked groups).

        The announcement, its audit line and its outbox rows are written in one transaction,
        with the step that queued them under `key` (the confirming tap's update): handled again
        after a crash, that tap finds the announcement and queues nothing twice."""
        if not standing.may_in(network.id or 0, Action.ANNOUNCE):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
        text = self.check_text(text)
        messages = await self._messages(standing, network, text)
        kept = await self._rows.record(
            network.slug,
            author_id=standing.person.id,
            text=text,
            audit_action=AUDIT_ACTION,
            messages=[new_message(chat_id, reply) for chat_id, reply in messages],
            key=key,
            step_kind=STEP_KIND,
            now=now,
        )
        if kept is None:  # queued before a crash, and its author forgotten meanwhile
            raise Refusal(Reason.STALE_BUTTON)
        announcement, count, replayed = kept
        if replayed:  # queued before a crash: the same tap, handled again
            return Queued(network, announcement, count)
        failpoints.failpoint(failpoints.ANNOUNCEMENT_QUEUED)
        if messages:
            self._outbox.queued(network)
        return Queued(network, announcement, len(messages))

    async def _messages(self, standing: Standing, network: Network, text: str) -> list[tuple[int, Reply]]:
        """The announcement for each member in their language, and for each linked group."""
        people = await self.recipients(network, besides=standing.person.id)
        renderer = self._renderer
        values: dict[str, Any] = {"network": network.name, "author": standing.person.name, "text": text}
        messages = [(person.id, self._post.compose(person, "announcement/message", **values)) for person in people]
        language = await self._language_of(network)
        for group in await self._groups.groups_of(network):  # the street's linked groups too
            messages.append((group, Reply(renderer.render(language, "announcement/message", **values))))
        return messages

    async def announce_everywhere(
        self, standing: Standing, text: str, now: datetime, *, key: str | None = None
    ) -> list[Queued]:
        """Each network's store keeps its own step under `key`: a replay queues none twice."""
        if not standing.may(Action.ANNOUNCE_ALL):
            raise Refusal(Reason.NOT_ALLOWED)
        networks = await self._networks.all()
        return [await self.announce(standing, network, text, now, key=key) for network in networks]

    async def report(self, network: Network, announcement: Announcement, report: Report) -> None:
        """Tells the author how the announcement went, once the outbox has sent every copy it could."""
        author = await self._stores.directory.get_person(announcement.author_id)
        if author is None:
            return
        await self._post.tell(
            author,
            "announcement/report",
            network=network.name,
            text=announcement.text,
            sent=report.sent,
            unreachable=report.unreachable,
            failed=report.failed,
        )

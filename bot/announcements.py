"""Announcements: a buurtverbinder's message to every member, through the outbox, with a delivery report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.outbox import Report
from bot.people import Standing
from bot.permissions import Action
from bot.refusals import Reason, Refusal
from bot.replies import Reply
from storage.models import Announcement, MemberRole, Network, OutboxKind, Person

if TYPE_CHECKING:
    from bot.village import Village

TEXT_MAX = 2000
AUDIT_ACTION = "announcement_sent"


@dataclass(frozen=True)
class Queued:
    network: Network
    announcement: Announcement
    recipients: int


class Announcements:
    def __init__(self, village: Village) -> None:
        self._village = village
        village.outbox.on_report = self._report

    def check_text(self, text: str) -> str:
        text = text.strip()
        if not text:
            raise Refusal(Reason.EMPTY_TEXT)
        if len(text) > TEXT_MAX:
            raise Refusal(Reason.TOO_LONG, limit=TEXT_MAX)
        return text

    async def recipients(self, network: Network, *, besides: int) -> list[Person]:
        directory = self._village.stores.directory
        people = [
            *await directory.people_with_role(network.id or 0, MemberRole.MEMBER),
            *await directory.people_with_role(network.id or 0, MemberRole.BUURTVERBINDER),
        ]
        return [p for p in people if p.id != besides and p.unreachable_at is None]

    async def announce(self, standing: Standing, network: Network, text: str, now: datetime) -> Queued:
        if not standing.may_in(network.id or 0, Action.ANNOUNCE):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
        text = self.check_text(text)
        announcement = Announcement(author_id=standing.person.id, text=text, created_at=now)
        async with self._village.stores.network(network.slug) as store:
            async with store.transaction() as session:
                session.add(announcement)
                await session.flush()
            await store.audit(actor_id=standing.person.id, action=AUDIT_ACTION, subject_id=None, now=now)
        people = await self.recipients(network, besides=standing.person.id)
        renderer = self._village.renderer
        messages = [
            (
                person.id,
                Reply(
                    renderer.render(
                        person.language,
                        "announcement/message",
                        network=network.name,
                        author=standing.person.name,
                        text=text,
                    )
                ),
            )
            for person in people
        ]
        language = await self._village.admin.language(network)
        for group in await self._village.groups.groups_of(network):  # the street's linked groups too
            text_for_group = renderer.render(
                language, "announcement/message", network=network.name, author=standing.person.name, text=text
            )
            messages.append((group, Reply(text_for_group)))
        await self._village.outbox.queue(
            network, messages, kind=OutboxKind.ANNOUNCEMENT, ref=str(announcement.id), announcement_id=announcement.id
        )
        return Queued(network, announcement, len(messages))

    async def announce_everywhere(self, standing: Standing, text: str, now: datetime) -> list[Queued]:
        if not standing.may(Action.ANNOUNCE_ALL):
            raise Refusal(Reason.NOT_ALLOWED)
        return [await self.announce(standing, network, text, now) for network in await self._village.networks.all()]

    async def _report(self, network: Network, announcement: Announcement, report: Report) -> None:
        author = await self._village.stores.directory.get_person(announcement.author_id)
        if author is None:
            return
        await self._village.tell(
            author,
            "announcement/report",
            network=network.name,
            text=announcement.text,
            sent=report.sent,
            unreachable=report.unreachable,
            failed=report.failed,
        )

"""Announcements: a buurtverbinder's message to every member, through the outbox, with a delivery report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Table, func
from sqlalchemy import select as sa_select

from bot.delivery.outbox import Report, keyboard_to_json
from bot.joining.people import Standing
from bot.kernel import failpoints
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Reply
from storage import steps
from storage.models import (
    Announcement,
    AuditEntry,
    DeliveryStatus,
    MemberRole,
    Network,
    OutboxKind,
    OutboxMessage,
    Person,
)

if TYPE_CHECKING:
    from bot.application.village import Village

TEXT_MAX = 2000
AUDIT_ACTION = "announcement_sent"
STEP_KIND = "announcement"  # storage.steps: the step that queued an announcement
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


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
        async with self._village.stores.network(network.slug) as store, store.transaction() as session:
            connection = await session.connection()
            done = await steps.applied(connection, key)
            if done is not None:  # queued before a crash: the same tap, handled again
                announcement = await session.get(Announcement, int(done.ref))
                if announcement is None:  # the author was forgotten meanwhile
                    raise Refusal(Reason.STALE_BUTTON)
                count = await connection.scalar(
                    sa_select(func.count()).select_from(_OUTBOX).where(_OUTBOX.c.announcement_id == announcement.id)
                )
                return Queued(network, announcement, int(count or 0))
            announcement = Announcement(author_id=standing.person.id, text=text, created_at=now)
            session.add(announcement)
            await session.flush()
            session.add(AuditEntry(at=now, actor_id=standing.person.id, action=AUDIT_ACTION, subject_id=None))
            if messages:
                await connection.execute(
                    _OUTBOX.insert(),
                    [
                        {
                            "kind": OutboxKind.ANNOUNCEMENT,
                            "ref": str(announcement.id),
                            "announcement_id": announcement.id,
                            "chat_id": chat_id,
                            "text": reply.text,
                            "buttons": keyboard_to_json(reply.buttons),
                            "status": DeliveryStatus.PENDING,
                            "attempts": 0,
                            "not_before": now,
                        }
                        for chat_id, reply in messages
                    ],
                )
            await steps.record(connection, key, kind=STEP_KIND, ref=str(announcement.id), now=now)
        failpoints.failpoint(failpoints.ANNOUNCEMENT_QUEUED)
        if messages:
            self._wake_sender(network)
        return Queued(network, announcement, len(messages))

    async def _messages(self, standing: Standing, network: Network, text: str) -> list[tuple[int, Reply]]:
        """The announcement for each member in their language, and for each linked group."""
        people = await self.recipients(network, besides=standing.person.id)
        renderer = self._village.renderer
        values = {"network": network.name, "author": standing.person.name, "text": text}
        messages = [
            (person.id, Reply(renderer.render(person.language, "announcement/message", **values))) for person in people
        ]
        language = await self._village.admin.language(network)
        for group in await self._village.groups.groups_of(network):  # the street's linked groups too
            messages.append((group, Reply(renderer.render(language, "announcement/message", **values))))
        return messages

    def _wake_sender(self, network: Network) -> None:
        """Tells the outbox's sender that rows wait in this network, as `Outbox.queue` does for the
        rows it writes itself: these were written in the announcement's own transaction. The
        outbox has no public way yet to be told so; until it has, this does what `queue` does."""
        outbox = self._village.outbox
        outbox._busy.setdefault(network.slug)
        outbox._queued.add(network.slug)
        outbox._wake.set()

    async def announce_everywhere(
        self, standing: Standing, text: str, now: datetime, *, key: str | None = None
    ) -> list[Queued]:
        """Each network's store keeps its own step under `key`: a replay queues none twice."""
        if not standing.may(Action.ANNOUNCE_ALL):
            raise Refusal(Reason.NOT_ALLOWED)
        networks = await self._village.networks.all()
        return [await self.announce(standing, network, text, now, key=key) for network in networks]

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

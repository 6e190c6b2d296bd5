"""The outbox: every message to many people is queued here, one row per recipient, for the sender.

Announcements, activity invitations and reminders, help requests to helpers: each row keeps
its text and buttons already in the recipient's language, what it means (`Reply.topic` and
`Reply.values`, for WhatsApp's templates), and once sent, the message id, so the message can be
edited later. What is queued is sent by `bot.delivery.sender` within the
app's limits; nothing queued is lost if the bot stops halfway.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.kernel.clock import Clock
from bot.kernel.replies import Button, Keyboard, Reply
from storage.models import Network, OutboxKind
from storage.outbox import ClaimedRow, NewMessage, OutboxRows, Report, SentMessage

__all__ = [
    "Outbox",
    "Report",
    "Turns",
    "keyboard_from_json",
    "keyboard_to_json",
    "new_message",
    "reply_of",
]


def keyboard_to_json(buttons: Keyboard) -> str:
    if not buttons:
        return ""
    return json.dumps([[[b.label, b.data, b.url] for b in row] for row in buttons], ensure_ascii=False)


def keyboard_from_json(text: str) -> Keyboard:
    if not text:
        return ()
    rows: list[list[list[Any]]] = json.loads(text)
    return tuple(tuple(Button(label, data, url) for label, data, url in row) for row in rows)


def values_to_json(values: Mapping[str, str] | None) -> str | None:
    return None if values is None else json.dumps(dict(values), ensure_ascii=False)


def values_from_json(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    found: dict[str, Any] = json.loads(text)
    return {str(name): str(value) for name, value in found.items()}


def new_message(chat_id: int, reply: Reply) -> NewMessage:
    """A reply as the row that waits for the sender."""
    return NewMessage(chat_id, reply.text, keyboard_to_json(reply.buttons), reply.topic, values_to_json(reply.values))


def reply_of(row: ClaimedRow | SentMessage) -> Reply:
    """The reply a row was queued from, what it means included."""
    return Reply(row.text, keyboard_from_json(row.buttons), row.topic, values_from_json(row.template_values))


class Turns:
    """The networks with messages waiting, in turn (one batch each), and the bell that wakes the
    sender when something is queued in this process."""

    def __init__(self) -> None:
        self._busy: dict[str, None] = {}
        self._queued: set[str] = set()  # networks that had messages queued since their turn began
        self.bell = asyncio.Event()

    def __bool__(self) -> bool:
        return bool(self._busy)

    def queued(self, slug: str) -> None:
        """Messages were queued in this network: it gets a turn, and the sender wakes."""
        self.waiting(slug)
        self._queued.add(slug)
        self.bell.set()

    def waiting(self, slug: str) -> None:
        """This network has (or may have) messages waiting: it gets a turn."""
        self._busy.setdefault(slug)

    def next(self) -> str:
        """The network whose turn it is; it goes to the back, so a village-wide message does not
        keep a small network's reminders waiting until every other network is done."""
        slug = next(iter(self._busy))
        del self._busy[slug]
        self._busy[slug] = None
        self._queued.discard(slug)
        return slug

    def done_with(self, slug: str) -> None:
        """The network had nothing to send; unless messages came in meanwhile, its turns end."""
        if slug not in self._queued:
            self._busy.pop(slug, None)


class Outbox:
    """Queues messages for the sender and reads back how an announcement went."""

    def __init__(self, rows: OutboxRows, clock: Clock, turns: Turns) -> None:
        self._rows = rows
        self._clock = clock
        self._turns = turns

    async def queue(
        self,
        network: Network,
        messages: Sequence[tuple[int, Reply]],
        *,
        kind: OutboxKind,
        ref: str = "",
        announcement_id: int | None = None,
    ) -> int:
        """Keeps one row per recipient in one transaction; the sender takes it from there."""
        rows = [new_message(chat_id, reply) for chat_id, reply in messages]
        await self._rows.queue(
            network.slug, rows, kind=kind, ref=ref, announcement_id=announcement_id, now=self._clock.now()
        )
        if rows:
            self._turns.queued(network.slug)
        return len(rows)

    def queued(self, network: Network) -> None:
        """Rows were written for this network in another transaction (an announcement's own):
        the sender is told, as `queue` tells it of its own rows."""
        self._turns.queued(network.slug)

    async def withdraw(self, network: Network, *, kind: OutboxKind, ref: str) -> int:
        """Those of these messages not handed over yet are not sent after all (a help request
        was taken before every helper had it); returns how many."""
        return await self._rows.withdraw(network.slug, kind=kind, ref=ref, now=self._clock.now())

    async def report(self, network: Network, announcement_id: int) -> Report:
        return (await self._rows.counts(network.slug, [announcement_id]))[announcement_id]

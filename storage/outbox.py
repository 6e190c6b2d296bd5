"""The outbox's rows in each network's store: queued, claimed a batch at a time, settled, reported.

SQLAlchemy Core statements on the sender's hot path (claiming and settling run up to 30 times
a second): no ORM objects are made per row. Functions that take a connection compose into a
caller's transaction (an announcement and its rows are written together); `OutboxRows` opens
the right network's store for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Announcement, DeliveryStatus, OutboxKind, OutboxMessage
from storage.stores import Stores

OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
_ANNOUNCEMENT: Table = Announcement.__table__  # type: ignore[attr-defined]
FINAL = (DeliveryStatus.SENT, DeliveryStatus.UNREACHABLE, DeliveryStatus.FAILED, DeliveryStatus.WITHDRAWN)
UNDER_WAY = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
# Sent first: someone is waiting for an answer.
_URGENT = OUTBOX.c.kind == OutboxKind.HELP_REQUEST


@dataclass(frozen=True)
class NewMessage:
    """One message to queue: to whom, what (rendered in their language), its buttons as JSON."""

    chat_id: int
    text: str
    buttons: str = ""
    topic: str | None = None  # what the message means (its template), for an app that needs it
    template_values: str | None = None  # its plain values, a JSON object


@dataclass(frozen=True)
class ClaimedRow:
    """A row taken for sending (its fields in _CLAIMED_FIELDS order)."""

    id: int
    kind: str
    ref: str
    announcement_id: int | None
    chat_id: int
    text: str
    buttons: str
    attempts: int
    not_before: datetime
    topic: str | None = None
    template_values: str | None = None


_CLAIMED_FIELDS = (
    "id",
    "kind",
    "ref",
    "announcement_id",
    "chat_id",
    "text",
    "buttons",
    "attempts",
    "not_before",
    "topic",
    "template_values",
)


@dataclass(frozen=True)
class SentMessage:
    """A message the outbox handed over, as it was queued: enough to make it again (WhatsApp sends
    it again as its template, or shows it when that template's button is tapped)."""

    text: str
    buttons: str
    topic: str | None
    template_values: str | None


@dataclass(frozen=True)
class Result:
    """What sending a claimed row came to; `finished` for a final status."""

    row_id: int
    status: DeliveryStatus
    attempts: int
    not_before: datetime
    message_id: int | None = None


@dataclass(frozen=True)
class Report:
    """An announcement's rows by where they are."""

    sent: int
    unreachable: int
    failed: int
    pending: int

    @property
    def done(self) -> bool:
        return self.pending == 0


@dataclass(frozen=True)
class Resumed:
    """What a network's outbox held when the sender started."""

    interrupted: int  # rows left 'sending' by a process that ended: pending again
    waiting: int
    unreported: int


async def insert(
    connection: AsyncConnection,
    messages: Sequence[NewMessage],
    *,
    kind: OutboxKind,
    ref: str,
    announcement_id: int | None,
    now: datetime,
) -> None:
    """Queues one row per message, in the caller's transaction."""
    if not messages:
        return
    await connection.execute(
        OUTBOX.insert(),
        [
            {
                "kind": kind,
                "ref": ref,
                "announcement_id": announcement_id,
                "chat_id": message.chat_id,
                "text": message.text,
                "buttons": message.buttons,
                "topic": message.topic,
                "template_values": message.template_values,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "not_before": now,
            }
            for message in messages
        ],
    )


async def count_of(connection: AsyncConnection, announcement_id: int) -> int:
    """How many rows an announcement queued."""
    found = await connection.scalar(
        sa_select(func.count()).select_from(OUTBOX).where(OUTBOX.c.announcement_id == announcement_id)
    )
    return int(found or 0)


class OutboxRows:
    """The outbox of every network, one store each."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def queue(
        self,
        slug: str,
        messages: Sequence[NewMessage],
        *,
        kind: OutboxKind,
        ref: str = "",
        announcement_id: int | None = None,
        now: datetime,
    ) -> None:
        async with self._stores.network(slug) as store, store.connection() as connection:
            await insert(connection, messages, kind=kind, ref=ref, announcement_id=announcement_id, now=now)

    async def withdraw(self, slug: str, *, kind: OutboxKind, ref: str, now: datetime) -> int:
        """Rows of this kind and ref not claimed yet are not sent after all; returns how many."""
        statement = (
            OUTBOX.update()
            .where(OUTBOX.c.kind == kind, OUTBOX.c.ref == ref, OUTBOX.c.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.WITHDRAWN, finished_at=now)
        )
        async with self._stores.network(slug) as store, store.connection() as connection:
            return int((await connection.execute(statement)).rowcount)

    async def counts(self, slug: str, announcement_ids: Sequence[int]) -> dict[int, Report]:
        query = (
            sa_select(OUTBOX.c.announcement_id, OUTBOX.c.status, func.count())
            .where(OUTBOX.c.announcement_id.in_(announcement_ids))
            .group_by(OUTBOX.c.announcement_id, OUTBOX.c.status)
        )
        async with self._stores.network(slug) as store, store.connection() as connection:
            rows = (await connection.execute(query)).all()
        found: dict[int, dict[str, int]] = {announcement_id: {} for announcement_id in announcement_ids}
        for announcement_id, status, count in rows:
            found[announcement_id or 0][status] = count
        return {
            announcement_id: Report(
                sent=by_status.get(DeliveryStatus.SENT, 0),
                unreachable=by_status.get(DeliveryStatus.UNREACHABLE, 0),
                failed=by_status.get(DeliveryStatus.FAILED, 0),
                pending=by_status.get(DeliveryStatus.PENDING, 0) + by_status.get(DeliveryStatus.SENDING, 0),
            )
            for announcement_id, by_status in found.items()
        }

    async def resume(self, slug: str) -> Resumed:
        """At the sender's start: rows left 'sending' are pending again; what waits is counted."""
        async with self._stores.network(slug) as store, store.connection() as connection:
            interrupted = await connection.execute(
                OUTBOX.update().where(OUTBOX.c.status == DeliveryStatus.SENDING).values(status=DeliveryStatus.PENDING)
            )
            waiting = await connection.scalar(
                sa_select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status == DeliveryStatus.PENDING)
            )
            unreported = await connection.scalar(
                sa_select(func.count()).select_from(_ANNOUNCEMENT).where(_ANNOUNCEMENT.c.reported_at.is_(None))
            )
        return Resumed(int(interrupted.rowcount), int(waiting or 0), int(unreported or 0))

    async def claim(self, slug: str, *, now: datetime, limit: int) -> tuple[list[ClaimedRow], int]:
        """Marks up to `limit` due rows 'sending' in one transaction, a neighbour waiting for help
        before the rest of a long announcement; with none due, counts the rows waiting for later."""
        async with self._stores.network(slug) as store, store.connection() as connection:
            due = (OUTBOX.c.status == DeliveryStatus.PENDING, OUTBOX.c.not_before <= now)
            query = sa_select(*(OUTBOX.c[field] for field in _CLAIMED_FIELDS)).order_by(OUTBOX.c.id).limit(limit)
            rows = [ClaimedRow(*found) for found in (await connection.execute(query.where(_URGENT, *due))).all()]
            if not rows:
                rows = [ClaimedRow(*found) for found in (await connection.execute(query.where(*due))).all()]
            if rows:
                await connection.execute(
                    OUTBOX.update()
                    .where(OUTBOX.c.id.in_([row.id for row in rows]))
                    .values(status=DeliveryStatus.SENDING)
                )
                return rows, 0
            waiting = await connection.scalar(
                sa_select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status == DeliveryStatus.PENDING)
            )
        return [], int(waiting or 0)

    async def settle(
        self, slug: str, results: Sequence[Result], *, now: datetime, check: Iterable[int] = ()
    ) -> set[int]:
        """Records results in one transaction (only rows still 'sending'); returns those of the
        announcements in `check` that still have rows under way."""
        statement = (
            OUTBOX.update()
            .where(OUTBOX.c.id == bindparam("row_id"), OUTBOX.c.status == DeliveryStatus.SENDING)
            .values(
                status=bindparam("new_status"),
                attempts=bindparam("new_attempts"),
                not_before=bindparam("new_not_before"),
                finished_at=bindparam("new_finished_at"),
                message_id=bindparam("new_message_id"),
            )
        )
        params = [
            {
                "row_id": result.row_id,
                "new_status": result.status,
                "new_attempts": result.attempts,
                "new_not_before": result.not_before,
                "new_finished_at": now if result.status in FINAL else None,
                "new_message_id": result.message_id,
            }
            for result in results
        ]
        check = set(check)
        async with self._stores.network(slug) as store, store.connection() as connection:
            await connection.execute(statement, params)
            if not check:
                return set()
            query = (
                sa_select(OUTBOX.c.announcement_id)
                .where(OUTBOX.c.announcement_id.in_(check), OUTBOX.c.status.in_(UNDER_WAY))
                .distinct()
            )
            return set((await connection.execute(query)).scalars().all())

    async def unreported(self, slug: str, only: Iterable[int] | None = None) -> list[Announcement]:
        """Announcements whose author has not had the delivery report yet."""
        query = sa_select(_ANNOUNCEMENT).where(_ANNOUNCEMENT.c.reported_at.is_(None))
        if only is not None:
            query = query.where(_ANNOUNCEMENT.c.id.in_(list(only)))
        async with self._stores.network(slug) as store, store.connection() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [Announcement.model_validate(dict(row)) for row in rows]

    async def mark_reported(self, slug: str, announcement_id: int, *, now: datetime) -> bool:
        """True for the one caller that marks it (the report is sent once)."""
        statement = (
            _ANNOUNCEMENT.update()
            .where(_ANNOUNCEMENT.c.id == announcement_id, _ANNOUNCEMENT.c.reported_at.is_(None))
            .values(reported_at=now)
        )
        async with self._stores.network(slug) as store, store.connection() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def mark_failed_after_sending(
        self, slug: str, *, chat_id: int, message_id: int, status: DeliveryStatus, now: datetime
    ) -> int:
        """A message the app accepted (the row says sent) and reported failed later (WhatsApp's
        `failed` status): the row gets `status` (failed or unreachable); returns how many rows."""
        statement = (
            OUTBOX.update()
            .where(
                OUTBOX.c.chat_id == chat_id,
                OUTBOX.c.message_id == message_id,
                OUTBOX.c.status == DeliveryStatus.SENT,
            )
            .values(status=status, finished_at=now)
        )
        async with self._stores.network(slug) as store, store.connection() as connection:
            return int((await connection.execute(statement)).rowcount)

    async def sent_message(self, slug: str, *, chat_id: int, message_id: int) -> SentMessage | None:
        """The message handed over to `chat_id` under the app's `message_id`, if the outbox sent it."""
        query = sa_select(OUTBOX.c.text, OUTBOX.c.buttons, OUTBOX.c.topic, OUTBOX.c.template_values).where(
            OUTBOX.c.chat_id == chat_id, OUTBOX.c.message_id == message_id
        )
        async with self._stores.network(slug) as store, store.connection() as connection:
            row = (await connection.execute(query.limit(1))).first()
        return None if row is None else SentMessage(*row)

    async def sent_again(self, slug: str, *, chat_id: int, message_id: int, new_message_id: int) -> int:
        """A message the app refused after accepting it went again under another id (WhatsApp's
        template outside the 24-hour window): its row keeps the new id; returns how many rows."""
        statement = (
            OUTBOX.update()
            .where(OUTBOX.c.chat_id == chat_id, OUTBOX.c.message_id == message_id)
            .values(message_id=new_message_id)
        )
        async with self._stores.network(slug) as store, store.connection() as connection:
            return int((await connection.execute(statement)).rowcount)

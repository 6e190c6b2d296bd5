"""The outbox and its one sender: every message to many people goes out here, within Telegram's limits.

About BROADCAST_RATE messages per second overall, never more than one per second to one chat;
on 429 the sender waits `retry_after` and pauses; on 403 the person is marked unreachable and
never tried again; transient errors are retried with backoff. Interactive replies take their
share of the rate budget first, so they never wait behind a broadcast. Rows are kept in each
network's store: after a crash the sender resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, update
from sqlmodel import col, select

from bot.port import BlockedByUser, ChatNotFound, DoorError, RateLimited, TransientDoorError
from bot.replies import Reply
from storage.models import Announcement, DeliveryStatus, Network, OutboxMessage

if TYPE_CHECKING:
    from bot.village import Village

log = logging.getLogger(__name__)

PACE = 0.95  # stay just under the configured rate, so a sliding one-second window never exceeds it
PER_CHAT_GAP_S = 1.0  # a private chat: at most one message a second
PER_GROUP_GAP_S = 3.0  # a group: at most twenty a minute
MAX_ATTEMPTS = 5
IN_FLIGHT = 8  # sends under way at once
BATCH = 200
FINAL = (DeliveryStatus.SENT, DeliveryStatus.UNREACHABLE, DeliveryStatus.FAILED)


class RateBudget:
    """A token bucket of one second. Broadcasts wait for a token; interactive replies take one at once."""

    def __init__(self, rate: float) -> None:
        self.rate = rate * PACE
        self._tokens = 1.0
        self._stamp = time.monotonic()
        self._paused_until = 0.0

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(1.0, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def for_broadcast(self) -> None:
        while True:
            now = time.monotonic()
            if now < self._paused_until:
                await asyncio.sleep(self._paused_until - now)
                continue
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
            await asyncio.sleep((1.0 - self._tokens) / self.rate)

    def for_reply(self) -> None:
        self._refill()
        self._tokens -= 1.0  # may go below zero: the broadcast waits a little longer

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


@dataclass(frozen=True)
class Report:
    sent: int
    unreachable: int
    failed: int
    pending: int

    @property
    def done(self) -> bool:
        return self.pending == 0


ReportHandler = Callable[[Network, Announcement, Report], Awaitable[None]]


class Outbox:
    def __init__(self, village: Village, budget: RateBudget) -> None:
        self._village = village
        self.budget = budget
        self._busy: set[str] = set()  # networks with messages waiting
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_send: dict[int, float] = {}
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self.on_report: ReportHandler | None = None

    # --- queueing -------------------------------------------------------------------------

    async def queue(self, network: Network, announcement: Announcement, messages: Sequence[tuple[int, str]]) -> None:
        """Keeps one row per recipient; the sender takes it from there."""
        now = self._village.clock.now()
        async with self._village.stores.network(network.slug) as store, store.transaction() as session:
            session.add_all(
                OutboxMessage(announcement_id=announcement.id, chat_id=chat_id, text=text, not_before=now)
                for chat_id, text in messages
            )
        self._busy.add(network.slug)
        self._wake.set()

    async def report(self, network: Network, announcement_id: int) -> Report:
        async with self._village.stores.network(network.slug) as store, store.transaction() as session:
            query = (
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.announcement_id == announcement_id)
                .group_by(col(OutboxMessage.status))
            )
            counts = dict((await session.exec(query)).all())
        return Report(
            sent=counts.get(DeliveryStatus.SENT, 0),
            unreachable=counts.get(DeliveryStatus.UNREACHABLE, 0),
            failed=counts.get(DeliveryStatus.FAILED, 0),
            pending=counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.SENDING, 0),
        )

    # --- the sender -----------------------------------------------------------------------

    async def start(self) -> None:
        """Picks up what was waiting or being sent when the bot stopped, then starts sending."""
        for network in await self._village.stores.directory.networks():
            async with self._village.stores.network(network.slug) as store, store.transaction() as session:
                interrupted = await session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.status) == DeliveryStatus.SENDING)
                    .values(status=DeliveryStatus.PENDING)
                )
                waiting = (
                    await session.exec(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status == DeliveryStatus.PENDING)
                    )
                ).one()
            if interrupted.rowcount:
                log.warning(
                    "%s: %s message(s) were being sent at the stop; sending again", network.slug, interrupted.rowcount
                )
            if waiting:
                self._busy.add(network.slug)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def flush(self) -> None:
        """Sends everything waiting now, without the background task (tests drive it this way)."""
        while self._busy:
            slug = next(iter(self._busy))
            if not await self._send_some(slug):
                self._busy.discard(slug)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            if not self._busy:
                await self._wake.wait()
                continue
            slug = next(iter(self._busy))
            try:
                more = await self._send_some(slug)
            except Exception:
                log.exception("the sender failed on %s; trying again shortly", slug)
                await asyncio.sleep(1.0)
                continue
            if not more:
                self._busy.discard(slug)

    async def _send_some(self, slug: str) -> bool:
        """Sends a batch of due messages of one network; False when none is left."""
        network = await self._village.stores.directory.network_by_slug(slug)
        if network is None:
            return False
        now = self._village.clock.now()
        async with self._village.stores.network(slug) as store, store.transaction() as session:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.status == DeliveryStatus.PENDING, col(OutboxMessage.not_before) <= now)
                .order_by(col(OutboxMessage.id))
                .limit(BATCH)
            )
            rows = (await session.exec(query)).all()
            left = (
                await session.exec(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == DeliveryStatus.PENDING)
                )
            ).one()
        if not rows:
            if left:
                await asyncio.sleep(0.2)  # everything left waits for a retry time
            await self._report_finished(network)
            return bool(left)
        in_flight: list[asyncio.Task[None]] = []
        for row in rows:
            await self._slots.acquire()
            in_flight.append(asyncio.create_task(self._send_in_slot(network, row)))
        await asyncio.gather(*in_flight)
        await self._report_finished(network)
        return True

    async def _send_in_slot(self, network: Network, row: OutboxMessage) -> None:
        try:
            await self._send_one(network, row)
        finally:
            self._slots.release()

    async def _send_one(self, network: Network, row: OutboxMessage) -> None:
        assert row.id is not None
        spacing = PER_GROUP_GAP_S if row.chat_id < 0 else PER_CHAT_GAP_S
        gap = spacing - (time.monotonic() - self._last_send.get(row.chat_id, 0.0))
        if gap > 0:
            await asyncio.sleep(gap)
        await self.budget.for_broadcast()
        if not await self._move(network, row.id, DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            return
        self._last_send[row.chat_id] = time.monotonic()
        try:
            await self._village.messenger.port.send(row.chat_id, Reply(row.text))
        except RateLimited as error:
            log.warning("rate limited by Telegram; pausing the sender for %ss", error.retry_after)
            self.budget.pause(error.retry_after)
            await self._move(network, row.id, DeliveryStatus.SENDING, DeliveryStatus.PENDING)
        except (BlockedByUser, ChatNotFound) as error:
            log.info("%s: %s is unreachable: %s", network.slug, row.chat_id, error)
            await self._move(network, row.id, DeliveryStatus.SENDING, DeliveryStatus.UNREACHABLE)
            if isinstance(error, BlockedByUser):
                await self._village.stores.directory.mark_unreachable(row.chat_id, self._village.clock.now())
        except TransientDoorError as error:
            attempts = row.attempts + 1
            final = attempts >= MAX_ATTEMPTS
            log.warning("%s: sending to %s failed (attempt %s): %s", network.slug, row.chat_id, attempts, error)
            later = self._village.clock.now() + timedelta(seconds=2**attempts)
            await self._move(
                network,
                row.id,
                DeliveryStatus.SENDING,
                DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
                attempts=attempts,
                not_before=later,
            )
        except DoorError as error:
            log.error("%s: Telegram refused a message to %s: %s", network.slug, row.chat_id, error)
            await self._move(network, row.id, DeliveryStatus.SENDING, DeliveryStatus.FAILED)
        else:
            await self._move(network, row.id, DeliveryStatus.SENDING, DeliveryStatus.SENT)

    async def _move(
        self, network: Network, row_id: int, expected: DeliveryStatus, status: DeliveryStatus, **values: object
    ) -> bool:
        finished = {"finished_at": self._village.clock.now()} if status in FINAL else {}
        async with self._village.stores.network(network.slug) as store, store.transaction() as session:
            result = await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row_id, col(OutboxMessage.status) == expected)
                .values(status=status, **finished, **values)
            )
            return bool(result.rowcount)

    async def _report_finished(self, network: Network) -> None:
        """Tells each author whose announcement has reached everyone it could."""
        async with self._village.stores.network(network.slug) as store, store.transaction() as session:
            open_ones = (await session.exec(select(Announcement).where(col(Announcement.reported_at).is_(None)))).all()
        for announcement in open_ones:
            report = await self.report(network, announcement.id or 0)
            if not report.done:
                continue
            async with self._village.stores.network(network.slug) as store, store.transaction() as session:
                claimed = await session.exec(
                    update(Announcement)
                    .where(col(Announcement.id) == announcement.id, col(Announcement.reported_at).is_(None))
                    .values(reported_at=self._village.clock.now())
                )
            if claimed.rowcount and self.on_report is not None:
                await self.on_report(network, announcement, report)

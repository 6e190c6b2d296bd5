"""The outbox and its one sender: every message to many people goes out here, within Telegram's limits.

Announcements, activity invitations and reminders are queued as one row per recipient in the
network's store, with their text and buttons already in the recipient's language; once sent, a
row keeps Telegram's message id, so the message can be edited later. Networks take turns, a
batch each. Every message the bot sends or edits, replies included, takes a slot of one send
budget (`RateBudget`): replies first, and the outbox every slot they leave, never more than
BROADCAST_RATE in any second; never more than one message a second to one chat (one per three
seconds to a group); on 429 it waits `retry_after` and pauses; on 403 the person is marked
unreachable and never tried again; transient errors are retried with backoff.

Only the running bot sends (it holds DATA_DIR's lock, see bot/application/data_lock.py); what another
process queues (a CLI command) is found when the sender looks at the stores again, every
LOOK_AGAIN_S. Rows are claimed a batch at a time ('sending', one transaction), but each result
is recorded as it lands (results landing together share a transaction). After a crash the rows
left 'sending' are sent again: nothing is lost, and only the messages truly under way (handed
to Telegram, answer not yet recorded: one or two at 30/s) reach someone twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.kernel import failpoints
from bot.kernel.port import BlockedByUser, ChatNotFound, DoorError, RateLimited, TransientDoorError
from bot.kernel.replies import Button, Keyboard, Reply
from storage.models import Announcement, DeliveryStatus, Network, OutboxKind, OutboxMessage

if TYPE_CHECKING:
    from bot.application.village import Village

log = logging.getLogger(__name__)

# The broadcast's pace: this fraction of the rate, so that its even spacing and the second each
# message counts after its answer (see `RateBudget`) seldom meet; replies take from the same pace.
PACE = 0.99
TELEGRAM_SECOND_S = 1.002  # the second Telegram counts messages in, and 2 ms for two clocks' ticks
PER_CHAT_GAP_S = 1.0  # a private chat: at most one message a second
PER_GROUP_GAP_S = 3.0  # a group: at most twenty a minute
MAX_ATTEMPTS = 5
CLAIM_BATCH = 16  # rows marked 'sending' in one transaction; each is handed over in its own slot
IN_FLIGHT = 16  # messages handed to Telegram whose answers are not back yet, at most
IDLE_POLL_S = 0.2  # how often to look again when every waiting row waits for a retry time
LOOK_AGAIN_S = 2.0  # how often the sender looks for messages another process queued
RECORD_ATTEMPTS = 3  # a result that cannot be written is tried again this often, then sent again after a restart
STOP_WAIT_S = 10.0  # on a stop, how long the messages under way may take to be answered
_SLACK_S = 1e-6  # so that rounding never turns a wait into a spin
# Sent first: someone is waiting for an answer.
_URGENT = OutboxMessage.__table__.c.kind == OutboxKind.HELP_REQUEST  # type: ignore[attr-defined]
FINAL = (DeliveryStatus.SENT, DeliveryStatus.UNREACHABLE, DeliveryStatus.FAILED, DeliveryStatus.WITHDRAWN)


class RateBudget:
    """The one send budget of a village: replies, reports, edits, pins and the outbox all take a slot.

    A message counts from the moment it leaves until a second after its answer came back
    (`landed`): Telegram saw it arrive somewhere in between, so with never more than `rate` of
    them counted, no second at Telegram holds more than `rate` messages, however late an answer
    came. Replies go first: while one waits for a slot, the broadcast takes none. The broadcast
    is also paced: slot k is due at t0 + k / (rate × PACE), each reply taking a slot of that pace,
    so a short stall of the event loop costs no rate (the missed slots go as soon as it is back,
    within the count) and after a longer pause the clock starts afresh rather than bursting.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._clock, self._sleep = clock, sleep  # a test hands in its own
        self.per_second = max(1, math.floor(rate))
        self.interval = 1.0 / (rate * PACE)
        self.catch_up_s = self.per_second * self.interval  # slots missed longer ago are given up
        self._next = 0.0  # when the next broadcast slot is due, on `clock`
        self._last_broadcast = -math.inf
        self._under_way = 0  # messages sent and not yet answered
        self._landed: list[float] = []  # a heap: when each message of the last second was answered
        self._paused_until = 0.0
        self._replies_waiting = 0
        self._no_reply_waiting: asyncio.Event | None = None  # made on first use, in the running loop

    def _counted(self, now: float) -> int:
        while self._landed and now - self._landed[0] >= TELEGRAM_SECOND_S - _SLACK_S:
            heapq.heappop(self._landed)
        return self._under_way + len(self._landed)

    def _first_free(self, now: float) -> float:
        return self._landed[0] + TELEGRAM_SECOND_S if self._landed else now + self.interval

    async def for_reply(self) -> None:
        """Waits (briefly) for a slot for one reply; the caller sends it and then calls `landed`."""
        self._replies_waiting += 1
        if self._no_reply_waiting is not None:
            self._no_reply_waiting.clear()
        try:
            while True:
                now = self._clock()
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    continue
                if self._counted(now) >= self.per_second:
                    await self._sleep(max(self._first_free(now) - now, _SLACK_S))
                    continue
                self._next = max(self._next, now - self.catch_up_s) + self.interval
                self._under_way += 1
                return
        finally:
            self._replies_waiting -= 1
            if not self._replies_waiting and self._no_reply_waiting is not None:
                self._no_reply_waiting.set()

    async def for_broadcast(self) -> None:
        """Waits for the next slot the replies leave; the caller sends one message and then calls `landed`."""
        while True:
            if self._replies_waiting:
                if self._no_reply_waiting is None:
                    self._no_reply_waiting = asyncio.Event()
                self._no_reply_waiting.clear()
                await self._no_reply_waiting.wait()
                continue
            now = self._clock()
            if now < self._paused_until:
                await self._sleep(self._paused_until - now)
                continue
            if now - self._last_broadcast > self.catch_up_s:
                self._next = max(self._next, now)  # nothing to catch up from that long ago
            if self._next - now > _SLACK_S:
                await self._sleep(self._next - now)
                continue
            if self._counted(now) >= self.per_second:
                await self._sleep(max(self._first_free(now) - now, _SLACK_S))
                continue
            self._next += self.interval
            self._last_broadcast = now
            self._under_way += 1
            return

    def landed(self) -> None:
        """A message was answered (sent, refused or failed): it counts one second more."""
        self._under_way -= 1
        heapq.heappush(self._landed, self._clock())

    def pause(self, seconds: float) -> None:
        """After a 429: nothing until Telegram's retry time, then the clock starts afresh (no burst)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._next = self._paused_until


# --- what a row carries ------------------------------------------------------------------------


def keyboard_to_json(buttons: Keyboard) -> str:
    if not buttons:
        return ""
    return json.dumps([[[b.label, b.data, b.url] for b in row] for row in buttons], ensure_ascii=False)


def keyboard_from_json(text: str) -> Keyboard:
    if not text:
        return ()
    rows: list[list[list[Any]]] = json.loads(text)
    return tuple(tuple(Button(label, data, url) for label, data, url in row) for row in rows)


@dataclass(frozen=True)
class Report:
    sent: int
    unreachable: int
    failed: int
    pending: int

    @property
    def done(self) -> bool:
        return self.pending == 0


@dataclass(frozen=True)
class _Claimed:
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


_CLAIMED_FIELDS = ("id", "kind", "ref", "announcement_id", "chat_id", "text", "buttons", "attempts", "not_before")


@dataclass(frozen=True)
class _Outcome:
    row: _Claimed
    status: DeliveryStatus
    attempts: int
    not_before: datetime
    message_id: int | None = None
    blocked: bool = False  # the person blocked the bot: marked unreachable in the directory too


ReportHandler = Callable[[Network, Announcement, Report], Awaitable[None]]


class Outbox:
    def __init__(self, village: Village, budget: RateBudget) -> None:
        self._village = village
        self.budget = budget
        self._busy: dict[str, None] = {}  # networks with messages waiting, in turn (one batch each)
        self._queued: set[str] = set()  # networks that had messages queued since their turn began
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_send: dict[int, float] = {}
        self._in_flight: asyncio.Semaphore | None = None  # made on first use, in the running loop
        self._sending: set[asyncio.Task[None]] = set()  # one per message under way
        self._landing: dict[str, tuple[Network, list[_Outcome]]] = {}  # results not recorded yet
        self._recording: asyncio.Task[None] | None = None
        self._reporting: set[asyncio.Task[None]] = set()
        # Per announcement: its rows claimed whose results are not recorded yet. While there are
        # any it cannot be finished, and the store need not be asked after every result.
        self._unrecorded: Counter[int] = Counter()
        self._stamps: dict[str, tuple[int, ...]] = {}  # each store's files when the sender last looked
        self._looked_at = -math.inf
        self.on_report: ReportHandler | None = None

    # --- queueing -------------------------------------------------------------------------

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
        now = self._village.clock.now()
        async with self._village.stores.network(network.slug) as store, store.transaction() as session:
            session.add_all(
                OutboxMessage(
                    kind=kind,
                    ref=ref,
                    announcement_id=announcement_id,
                    chat_id=chat_id,
                    text=reply.text,
                    buttons=keyboard_to_json(reply.buttons),
                    not_before=now,
                )
                for chat_id, reply in messages
            )
        if messages:
            self._busy.setdefault(network.slug)
            self._queued.add(network.slug)
            self._wake.set()
        return len(messages)

    async def withdraw(self, network: Network, *, kind: OutboxKind, ref: str) -> int:
        """Those of these messages not handed to Telegram yet are not sent after all (a help
        request was taken before every helper had it); returns how many."""
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        statement = (
            table.update()
            .where(table.c.kind == kind, table.c.ref == ref, table.c.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.WITHDRAWN, finished_at=self._village.clock.now())
        )
        async with self._village.stores.network(network.slug) as store, store.connection() as connection:
            return int((await connection.execute(statement)).rowcount)

    async def report(self, network: Network, announcement_id: int) -> Report:
        return (await self._reports(network, [announcement_id]))[announcement_id]

    async def _reports(self, network: Network, announcement_ids: Sequence[int]) -> dict[int, Report]:
        async with self._village.stores.network(network.slug) as store, store.transaction() as session:
            query = (
                select(OutboxMessage.announcement_id, OutboxMessage.status, func.count())
                .where(col(OutboxMessage.announcement_id).in_(announcement_ids))
                .group_by(col(OutboxMessage.announcement_id), col(OutboxMessage.status))
            )
            rows = (await session.exec(query)).all()
        counts: dict[int, dict[str, int]] = {announcement_id: {} for announcement_id in announcement_ids}
        for announcement_id, status, count in rows:
            counts[announcement_id or 0][status] = count
        return {
            announcement_id: Report(
                sent=found.get(DeliveryStatus.SENT, 0),
                unreachable=found.get(DeliveryStatus.UNREACHABLE, 0),
                failed=found.get(DeliveryStatus.FAILED, 0),
                pending=found.get(DeliveryStatus.PENDING, 0) + found.get(DeliveryStatus.SENDING, 0),
            )
            for announcement_id, found in counts.items()
        }

    # --- the sender -----------------------------------------------------------------------

    async def start(self) -> None:
        """Picks up what was waiting or being sent when the bot stopped, then starts sending.

        Only the process holding DATA_DIR's lock calls this (`Buurtbot.start`): the rows it finds
        'sending' were left by a process that has ended."""
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
                unreported = (
                    await session.exec(
                        select(func.count()).select_from(Announcement).where(col(Announcement.reported_at).is_(None))
                    )
                ).one()
            self._stamps[network.slug] = self._stamp(network.slug)  # what is there now is seen to above
            if interrupted.rowcount:
                log.warning(
                    "%s: %s message(s) were being sent at the stop; sending again", network.slug, interrupted.rowcount
                )
            if waiting or unreported:
                self._busy.setdefault(network.slug)
        self._looked_at = time.monotonic()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stops handing messages over; those under way are answered and recorded first."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sending:
            _, late = await asyncio.wait(set(self._sending), timeout=STOP_WAIT_S)
            for task in late:  # left 'sending': sent again after the restart
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        with contextlib.suppress(Exception):  # logged where it failed
            await self._recorded()
        if self._reporting:  # a report under way is finished while the stores are still open
            _, late = await asyncio.wait(set(self._reporting), timeout=STOP_WAIT_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def flush(self) -> None:
        """Sends everything due now, without the background task (tests drive it this way), and
        waits until every result is recorded and every report sent.

        Rows waiting for a later retry time stay waiting: with a test's manual clock they would
        otherwise be waited for forever.
        """
        while True:
            while self._busy:
                slug = self._next_turn()
                if not await self._send_some(slug, wait_for_retries=False):
                    self._done_with(slug)
            await self._quiet()
            if not self._busy:
                return

    async def _quiet(self) -> None:
        while self._sending or self._reporting or (self._recording is not None and not self._recording.done()):
            await asyncio.gather(*self._sending, *self._reporting, return_exceptions=True)
            await self._recorded()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            if time.monotonic() - self._looked_at >= LOOK_AGAIN_S:
                try:
                    await self._look_again()
                except Exception:
                    log.exception("the sender could not look for messages queued elsewhere")
            if not self._busy:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LOOK_AGAIN_S):
                        await self._wake.wait()
                continue
            slug = self._next_turn()
            try:
                more = await self._send_some(slug)
            except Exception:
                log.exception("the sender failed on %s; trying again shortly", slug)
                await asyncio.sleep(1.0)
                continue
            if not more:
                self._done_with(slug)

    async def _look_again(self) -> None:
        """Gives a turn to each network whose store was written since the last look: another
        process (a CLI command) may have queued messages there, and it cannot wake this one."""
        self._looked_at = time.monotonic()
        for network in await self._village.stores.directory.networks():
            stamp = self._stamp(network.slug)
            if self._stamps.get(network.slug) != stamp:
                self._stamps[network.slug] = stamp
                self._busy.setdefault(network.slug)

    def _stamp(self, slug: str) -> tuple[int, ...]:
        """When and how much a store's files last changed: cheaper than a query per network.
        (An SQLite store: a write lands in its write-ahead log first, then in the file itself.)"""
        path = self._village.stores.network_path(slug)
        stamp: list[int] = []
        for file in (path, path.with_name(path.name + "-wal")):
            try:
                found = file.stat()
            except FileNotFoundError:
                stamp += (0, 0)
                continue
            stamp += (found.st_mtime_ns, found.st_size)
        return tuple(stamp)

    def _next_turn(self) -> str:
        """The network whose turn it is; it goes to the back, so a village-wide message does not
        keep a small network's reminders waiting until every other network is done."""
        slug = next(iter(self._busy))
        del self._busy[slug]
        self._busy[slug] = None
        self._queued.discard(slug)
        return slug

    def _done_with(self, slug: str) -> None:
        if slug not in self._queued:  # else messages came in while it found none: another turn
            self._busy.pop(slug, None)

    def _another_turn(self, slug: str) -> None:
        self._busy.setdefault(slug)
        self._queued.add(slug)
        self._wake.set()

    async def _send_some(self, slug: str, *, wait_for_retries: bool = True) -> bool:
        """Hands over one batch of due messages of one network; False when none is left."""
        network = await self._village.stores.directory.network_by_slug(slug)
        if network is None:
            return False
        rows, waiting = await self._claim(network)
        if not rows:
            await self._report_finished(network)
            if waiting and wait_for_retries:
                await asyncio.sleep(IDLE_POLL_S)  # everything left waits for a retry time
                return True
            return False
        failpoints.failpoint(failpoints.OUTBOX_CLAIMED)
        await self._hand_over(network, rows)
        return True

    async def _claim(self, network: Network) -> tuple[list[_Claimed], int]:
        """Marks up to CLAIM_BATCH due rows 'sending' in one transaction; also counts rows not yet due."""
        now = self._village.clock.now()
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        async with self._village.stores.network(network.slug) as store, store.connection() as connection:
            due = (table.c.status == DeliveryStatus.PENDING, table.c.not_before <= now)
            query = sa_select(*(table.c[field] for field in _CLAIMED_FIELDS)).order_by(table.c.id).limit(CLAIM_BATCH)
            # A neighbour waiting for help goes before the rest of a long announcement.
            rows = [_Claimed(*found) for found in (await connection.execute(query.where(_URGENT, *due))).all()]
            if not rows:
                rows = [_Claimed(*found) for found in (await connection.execute(query.where(*due))).all()]
            if rows:
                await connection.execute(
                    table.update().where(table.c.id.in_([row.id for row in rows])).values(status=DeliveryStatus.SENDING)
                )
                self._unrecorded.update(row.announcement_id for row in rows if row.announcement_id is not None)
                return rows, 0
            waiting = await connection.scalar(
                sa_select(func.count()).select_from(table).where(table.c.status == DeliveryStatus.PENDING)
            )
        return [], int(waiting or 0)

    async def _hand_over(self, network: Network, rows: Sequence[_Claimed]) -> None:
        """Starts sending each row in a slot of the budget, never to one chat more often than it
        allows; each result is recorded as it lands. Rows not handed over when this is cancelled
        stay 'sending' and are sent after the restart (they never went out)."""
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        now = time.monotonic()
        self._last_send = {chat: at for chat, at in self._last_send.items() if now - at < PER_GROUP_GAP_S}
        waiting = list(rows)
        while waiting:
            now = time.monotonic()
            row = next((r for r in waiting if self._chat_free_at(r.chat_id) <= now), None)
            if row is None:
                await asyncio.sleep(min(self._chat_free_at(r.chat_id) for r in waiting) - now)
                continue
            await self._in_flight.acquire()
            try:
                await self.budget.for_broadcast()
            except BaseException:
                self._in_flight.release()
                raise
            waiting.remove(row)
            self._last_send[row.chat_id] = time.monotonic()
            task = asyncio.create_task(self._send_one(network, row))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    def _chat_free_at(self, chat_id: int) -> float:
        gap = PER_GROUP_GAP_S if chat_id < 0 else PER_CHAT_GAP_S
        return self._last_send.get(chat_id, -math.inf) + gap

    async def _send_one(self, network: Network, row: _Claimed) -> None:
        """Sends one row (in the budget slot taken for it) and has its result recorded at once."""
        assert self._in_flight is not None
        try:
            outcome = await self._deliver(network, row)
        finally:
            self.budget.landed()
            self._in_flight.release()
        self._record(network, outcome)
        if outcome.status == DeliveryStatus.SENT and row.kind == OutboxKind.ANNOUNCEMENT and row.chat_id < 0:
            await self._pin(network, row.chat_id, outcome.message_id or 0)

    async def _deliver(self, network: Network, row: _Claimed) -> _Outcome:
        unchanged = _Outcome(row, DeliveryStatus.PENDING, row.attempts, row.not_before)
        try:
            message_id = await self._village.messenger.port.send(
                row.chat_id, Reply(row.text, keyboard_from_json(row.buttons))
            )
            failpoints.failpoint(failpoints.OUTBOX_HANDED_OVER)
        except RateLimited as error:
            log.warning("rate limited by Telegram; pausing the sender for %ss", error.retry_after)
            self.budget.pause(error.retry_after)
            return unchanged
        except (BlockedByUser, ChatNotFound) as error:
            log.info("%s: %s is unreachable: %s", network.slug, row.chat_id, error)
            return _Outcome(
                row,
                DeliveryStatus.UNREACHABLE,
                row.attempts,
                row.not_before,
                blocked=isinstance(error, BlockedByUser),
            )
        except TransientDoorError as error:
            attempts = row.attempts + 1
            final = attempts >= MAX_ATTEMPTS
            log.warning("%s: sending to %s failed (attempt %s): %s", network.slug, row.chat_id, attempts, error)
            later = self._village.clock.now() + timedelta(seconds=2**attempts)
            return _Outcome(row, DeliveryStatus.FAILED if final else DeliveryStatus.PENDING, attempts, later)
        except DoorError as error:
            log.error("%s: Telegram refused a message to %s: %s", network.slug, row.chat_id, error)
            return _Outcome(row, DeliveryStatus.FAILED, row.attempts, row.not_before)
        except Exception:  # a bug, not Telegram: counted as an attempt, so the row cannot loop forever
            log.exception("%s: sending to %s failed", network.slug, row.chat_id)
            attempts = row.attempts + 1
            status = DeliveryStatus.FAILED if attempts >= MAX_ATTEMPTS else DeliveryStatus.PENDING
            return _Outcome(row, status, attempts, self._village.clock.now() + timedelta(seconds=2**attempts))
        return _Outcome(row, DeliveryStatus.SENT, row.attempts, row.not_before, message_id=message_id)

    # --- recording results ------------------------------------------------------------------

    def _record(self, network: Network, outcome: _Outcome) -> None:
        """Has a result written now; results that land while one is being written go in the next
        transaction together, so the store keeps up at any rate and a crash forgets only what
        is truly under way."""
        self._landing.setdefault(network.slug, (network, []))[1].append(outcome)
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record_landed())

    async def _recorded(self) -> None:
        while self._recording is not None and not self._recording.done():
            await self._recording

    async def _record_landed(self) -> None:
        failures = 0
        await asyncio.sleep(0)  # the results landing now go in the same transaction
        while self._landing:
            slug = next(iter(self._landing))
            network, outcomes = self._landing.pop(slug)
            try:
                finished = await self._settle(network, outcomes)
            except Exception:
                failures += 1
                if failures >= RECORD_ATTEMPTS:
                    # Left 'sending': sent again after the next start, never lost.
                    log.exception("%s: could not record %d result(s)", slug, len(outcomes))
                    failures = 0
                    continue
                log.warning("%s: could not record %d result(s); trying again", slug, len(outcomes), exc_info=True)
                earlier = self._landing.pop(slug, (network, []))[1]
                self._landing = {slug: (network, outcomes + earlier), **self._landing}
                await asyncio.sleep(0.5 * failures)
                continue
            failures = 0
            for _ in outcomes:
                failpoints.failpoint(failpoints.OUTBOX_RECORDED)
            if any(outcome.status == DeliveryStatus.PENDING for outcome in outcomes):
                self._another_turn(slug)  # a retry later, or after a 429
            if finished:
                task = asyncio.create_task(self._report_finished(network, finished))
                self._reporting.add(task)
                task.add_done_callback(self._reporting.discard)

    async def _pin(self, network: Network, chat_id: int, message_id: int) -> None:
        """An announcement in a street's group is pinned there. Without the right to pin (the
        group's admins decide) it stays an ordinary message: delivered all the same."""
        await self.budget.for_broadcast()  # a pin is a message in the group: it counts
        try:
            await self._village.messenger.port.pin(chat_id, message_id)
        except DoorError as error:
            log.info("%s: could not pin announcement %s in %s: %s", network.slug, message_id, chat_id, error)
        except Exception:  # a bug: the message was sent, and that is what the outbox records
            log.exception("%s: pinning %s in %s failed", network.slug, message_id, chat_id)
        finally:
            self.budget.landed()

    async def _settle(self, network: Network, outcomes: Sequence[_Outcome]) -> set[int]:
        """Records results in one transaction; returns the announcements they finished."""
        now = self._village.clock.now()
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        statement = (
            table.update()
            .where(table.c.id == bindparam("row_id"), table.c.status == DeliveryStatus.SENDING)
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
                "row_id": outcome.row.id,
                "new_status": outcome.status,
                "new_attempts": outcome.attempts,
                "new_not_before": outcome.not_before,
                "new_finished_at": now if outcome.status in FINAL else None,
                "new_message_id": outcome.message_id,
            }
            for outcome in outcomes
        ]
        recorded = Counter(o.row.announcement_id for o in outcomes if o.row.announcement_id is not None)
        # Only an announcement with none of its claimed rows still under way can be finished.
        touched = {announcement for announcement, count in recorded.items() if self._unrecorded[announcement] <= count}
        async with self._village.stores.network(network.slug) as store, store.connection() as connection:
            await connection.execute(statement, params)
            unfinished = set()
            if touched:
                query = (
                    sa_select(table.c.announcement_id)
                    .where(
                        table.c.announcement_id.in_(touched),
                        table.c.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
                    )
                    .distinct()
                )
                unfinished = set((await connection.execute(query)).scalars().all())
        self._unrecorded.subtract(recorded)
        for announcement in touched:
            del self._unrecorded[announcement]
        for outcome in outcomes:
            if outcome.blocked:
                await self._village.stores.directory.mark_unreachable(outcome.row.chat_id, now)
        return touched - unfinished

    async def _report_finished(self, network: Network, only: Iterable[int] | None = None) -> None:
        """Tells each author whose announcement has reached everyone it could."""
        async with self._village.stores.network(network.slug) as store, store.transaction() as session:
            query = select(Announcement).where(col(Announcement.reported_at).is_(None))
            if only is not None:
                query = query.where(col(Announcement.id).in_(list(only)))
            open_ones = (await session.exec(query)).all()
        if not open_ones:
            return
        reports = await self._reports(network, [announcement.id or 0 for announcement in open_ones])
        for announcement in open_ones:
            report = reports[announcement.id or 0]
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

"""The outbox's one sender: hands queued messages to the app within its limits, and records each result.

Every message the bot sends or edits, replies included, takes a slot of its app's send budget
(`bot.delivery.budget`): replies first, and the outbox every slot they leave, never more than the
app's rate in any second (BROADCAST_RATE on Telegram, WHATSAPP_RATE on WhatsApp), and never more
often to one chat than the app allows (on Telegram one a second, one per three seconds to a
group; on WhatsApp the pair rate). Each app has a lane of its own (`bot.delivery.lanes`): a
batch claimed is shared out among them, and each goes at its own app's pace. On the app's rate
limit (429, 130429) that app's budget pauses; on a refusal for one person (131056) only they wait;
on 403 the person is marked unreachable and never tried again; transient errors are retried
with backoff. Networks take turns, a batch each.

Only the running bot sends (it holds DATA_DIR's lock, see bot/application/data_lock.py); what another
process queues (a CLI command) is found when the sender looks at the stores again, every
LOOK_AGAIN_S. Rows are claimed a batch at a time ('sending', one transaction), but each result
is recorded as it lands (results landing together share a transaction). After a crash the rows
left 'sending' are sent again: nothing is lost, and only the messages truly under way (handed
over, answer not yet recorded: one or two at 30/s) reach someone twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.delivery.budget import RateBudget, SendBudgets
from bot.delivery.lanes import Item, Lane
from bot.delivery.messenger import Messenger
from bot.delivery.outbox import Turns, reply_of
from bot.kernel import failpoints
from bot.kernel.clock import Clock
from bot.kernel.port import BlockedByUser, ChatNotFound, DoorError, PairRateLimited, RateLimited, TransientDoorError
from storage.models import Announcement, DeliveryStatus, Network, OutboxKind
from storage.outbox import ClaimedRow, OutboxRows, Report, Result

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CLAIM_BATCH = 16  # rows marked 'sending' in one transaction; each is handed over in its own slot
IN_FLIGHT = 16  # messages of one app handed over whose answers are not back yet, at most
# Rows claimed and waiting in the lanes, at most. An announcement to residents of both apps has
# their rows mixed: for the faster app to keep its pace, the slower one's rows are claimed ahead
# of it (half a village's announcement, at most; a help request still goes first in its lane).
AHEAD_ROWS = 4096
IDLE_POLL_S = 0.2  # how often to look again when every waiting row waits for a retry time
LOOK_AGAIN_S = 2.0  # how often the sender looks for messages another process queued
RECORD_ATTEMPTS = 3  # a result that cannot be written is tried again this often, then sent again after a restart
STOP_WAIT_S = 10.0  # on a stop, how long the messages under way may take to be answered

ReportHandler = Callable[[Network, Announcement, Report], Awaitable[None]]
NetworkLookup = Callable[[str], Awaitable[Network | None]]
NetworksLookup = Callable[[], Awaitable[Sequence[Network]]]
Unreachable = Callable[[int, datetime], Awaitable[None]]


@dataclass(frozen=True)
class _Outcome:
    row: ClaimedRow
    status: DeliveryStatus
    attempts: int
    not_before: datetime
    message_id: int | None = None
    blocked: bool = False  # the person blocked the bot: marked unreachable in the directory too

    def result(self) -> Result:
        return Result(self.row.id, self.status, self.attempts, self.not_before, self.message_id)


class Sender:
    def __init__(
        self,
        *,
        rows: OutboxRows,
        turns: Turns,
        clock: Clock,
        messenger: Messenger,
        budgets: SendBudgets,
        networks: NetworksLookup,
        network_by_slug: NetworkLookup,
        written_stamp: Callable[[str], tuple[int, ...]],
        mark_unreachable: Unreachable,
        on_report: ReportHandler,
    ) -> None:
        self._rows = rows
        self._turns = turns
        self._clock = clock
        self._messenger = messenger
        self.budgets = budgets
        self._lanes = {budget: Lane(budget, IN_FLIGHT) for budget in budgets}
        self._lane_room = asyncio.Event()  # a lane handed a row over: there may be room to claim more
        self._networks = networks
        self._network_by_slug = network_by_slug
        self._written_stamp = written_stamp
        self._mark_unreachable = mark_unreachable
        self._on_report = on_report
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()  # one per message under way
        self._landing: dict[str, tuple[Network, list[_Outcome]]] = {}  # results not recorded yet
        self._recording: asyncio.Task[None] | None = None
        self._reporting: set[asyncio.Task[None]] = set()
        # Per announcement: its rows claimed whose results are not recorded yet. While there are
        # any it cannot be finished, and the store need not be asked after every result.
        self._unrecorded: Counter[int] = Counter()
        self._stamps: dict[str, tuple[int, ...]] = {}  # each store's files when the sender last looked
        self._looked_at = -math.inf

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Picks up what was waiting or being sent when the bot stopped, then starts sending.

        Only the process holding DATA_DIR's lock calls this (`Buurtbot.start`): the rows it finds
        'sending' were left by a process that has ended."""
        for network in await self._networks():
            found = await self._rows.resume(network.slug)
            self._stamps[network.slug] = self._written_stamp(network.slug)  # what is there now is seen to above
            if found.interrupted:
                log.warning(
                    "%s: %s message(s) were being sent at the stop; sending again", network.slug, found.interrupted
                )
            if found.waiting or found.unreported:
                self._turns.waiting(network.slug)
        self._looked_at = time.monotonic()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stops handing messages over; those under way are answered and recorded first."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        handing = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in handing:  # the rows not handed over stay 'sending': sent after the restart
            task.cancel()
        await asyncio.gather(*handing, return_exceptions=True)
        for lane in self._lanes.values():
            lane.clear()
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
            while self._turns:
                slug = self._turns.next()
                if not await self._send_some(slug, wait_for_retries=False):
                    self._turns.done_with(slug)
            await self._quiet()
            if not self._turns:
                return

    async def _quiet(self) -> None:
        while (
            (handing := [lane.task for lane in self._lanes.values() if lane.task is not None and not lane.task.done()])
            or self._sending
            or self._reporting
            or (self._recording is not None and not self._recording.done())
        ):
            await asyncio.gather(*handing, *self._sending, *self._reporting, return_exceptions=True)
            await self._recorded()

    async def _run(self) -> None:
        while True:
            self._turns.bell.clear()
            if time.monotonic() - self._looked_at >= LOOK_AGAIN_S:
                try:
                    await self._look_again()
                except Exception:
                    log.exception("the sender could not look for messages queued elsewhere")
            if not self._turns:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LOOK_AGAIN_S):
                        await self._turns.bell.wait()
                continue
            slug = self._turns.next()
            try:
                more = await self._send_some(slug)
            except Exception:
                log.exception("the sender failed on %s; trying again shortly", slug)
                await asyncio.sleep(1.0)
                continue
            if not more:
                self._turns.done_with(slug)

    async def _look_again(self) -> None:
        """Gives a turn to each network whose store was written since the last look: another
        process (a CLI command) may have queued messages there, and it cannot wake this one."""
        self._looked_at = time.monotonic()
        for network in await self._networks():
            stamp = self._written_stamp(network.slug)
            if self._stamps.get(network.slug) != stamp:
                self._stamps[network.slug] = stamp
                self._turns.waiting(network.slug)

    async def _send_some(self, slug: str, *, wait_for_retries: bool = True) -> bool:
        """Hands over one batch of due messages of one network; False when none is left."""
        network = await self._network_by_slug(slug)
        if network is None:
            return False
        while not self._lanes_want_more():
            self._lane_room.clear()
            self._keep_lanes_going()
            await self._lane_room.wait()
        rows, waiting = await self._rows.claim(slug, now=self._clock.now(), limit=CLAIM_BATCH)
        if not rows:
            await self._report_finished(network)
            if waiting and wait_for_retries:
                await asyncio.sleep(IDLE_POLL_S)  # everything left waits for a retry time
                return True
            return False
        self._unrecorded.update(row.announcement_id for row in rows if row.announcement_id is not None)
        failpoints.failpoint(failpoints.OUTBOX_CLAIMED)
        await self._hand_over(network, rows)
        return True

    def _lanes_want_more(self) -> bool:
        """Whether to claim another batch: every lane is running low, or one is that had rows in
        the latest claims (so the next may have more for it), and not too many rows wait."""
        lanes = self._lanes.values()
        if sum(len(lane) for lane in lanes) >= AHEAD_ROWS:
            return False
        low = [lane for lane in lanes if len(lane) < CLAIM_BATCH]
        return len(low) == len(lanes) or any(lane.wanted for lane in low)

    async def _hand_over(self, network: Network, rows: Sequence[ClaimedRow]) -> None:
        """Shares the rows out among the apps' lanes; each lane hands its own over in its app's
        budget, never to one chat more often than the app allows, and each result is recorded as
        it lands. Rows not handed over at a stop stay 'sending' and are sent after the restart
        (they never went out)."""
        shares: dict[RateBudget, list[ClaimedRow]] = {}
        for row in rows:
            shares.setdefault(self.budgets.of(row.chat_id), []).append(row)
        for budget, lane in self._lanes.items():
            lane.share(network, shares.get(budget, ()))
        self._keep_lanes_going()

    def _keep_lanes_going(self) -> None:
        for lane in self._lanes.values():
            if len(lane) and (lane.task is None or lane.task.done()):
                lane.task = asyncio.create_task(self._run_lane(lane))

    async def _run_lane(self, lane: Lane) -> None:
        try:
            await lane.hand_over(self._start_sending, self._lane_room.set)
        except Exception:  # a bug: the lane starts again shortly
            log.exception("a lane of the outbox failed")
            await asyncio.sleep(1.0)
        finally:
            self._lane_room.set()

    def _start_sending(self, item: Item, lane: Lane) -> None:
        task = asyncio.create_task(self._send_one(*item, lane))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_one(self, network: Network, row: ClaimedRow, lane: Lane) -> None:
        """Sends one row (in the budget slot taken for it) and has its result recorded at once."""
        assert lane.in_flight is not None
        try:
            outcome = await self._deliver(network, row, lane.budget)
        finally:
            lane.budget.landed()
            lane.in_flight.release()
        self._record(network, outcome)
        if outcome.status == DeliveryStatus.SENT and row.kind == OutboxKind.ANNOUNCEMENT and row.chat_id < 0:
            await self._pin(network, row.chat_id, outcome.message_id or 0)

    async def _deliver(self, network: Network, row: ClaimedRow, budget: RateBudget) -> _Outcome:
        unchanged = _Outcome(row, DeliveryStatus.PENDING, row.attempts, row.not_before)
        try:
            message_id = await self._messenger.port.send(row.chat_id, reply_of(row))
            failpoints.failpoint(failpoints.OUTBOX_HANDED_OVER)
        except PairRateLimited as error:
            log.info("%s: %s gets messages too fast; they wait %ss", network.slug, row.chat_id, error.retry_after)
            budget.back_off(row.chat_id, error.retry_after)
            return unchanged
        except RateLimited as error:
            log.warning("rate limited; pausing the app's sending for %ss", error.retry_after)
            budget.pause(error.retry_after)
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
            later = self._clock.now() + timedelta(seconds=2**attempts)
            return _Outcome(row, DeliveryStatus.FAILED if final else DeliveryStatus.PENDING, attempts, later)
        except DoorError as error:
            log.error("%s: the app refused a message to %s: %s", network.slug, row.chat_id, error)
            return _Outcome(row, DeliveryStatus.FAILED, row.attempts, row.not_before)
        except Exception:  # a bug, not the app: counted as an attempt, so the row cannot loop forever
            log.exception("%s: sending to %s failed", network.slug, row.chat_id)
            attempts = row.attempts + 1
            status = DeliveryStatus.FAILED if attempts >= MAX_ATTEMPTS else DeliveryStatus.PENDING
            return _Outcome(row, status, attempts, self._clock.now() + timedelta(seconds=2**attempts))
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
                self._turns.queued(slug)  # a retry later, or after a 429
            if finished:
                task = asyncio.create_task(self._report_finished(network, finished))
                self._reporting.add(task)
                task.add_done_callback(self._reporting.discard)

    async def _pin(self, network: Network, chat_id: int, message_id: int) -> None:
        """An announcement in a street's group is pinned there. Without the right to pin (the
        group's admins decide) it stays an ordinary message: delivered all the same."""
        budget = self.budgets.of(chat_id)
        await budget.for_broadcast()  # a pin is a message in the group: it counts
        try:
            await self._messenger.port.pin(chat_id, message_id)
        except DoorError as error:
            log.info("%s: could not pin announcement %s in %s: %s", network.slug, message_id, chat_id, error)
        except Exception:  # a bug: the message was sent, and that is what the outbox records
            log.exception("%s: pinning %s in %s failed", network.slug, message_id, chat_id)
        finally:
            budget.landed()

    async def _settle(self, network: Network, outcomes: Sequence[_Outcome]) -> set[int]:
        """Records results in one transaction; returns the announcements they finished."""
        now = self._clock.now()
        recorded = Counter(o.row.announcement_id for o in outcomes if o.row.announcement_id is not None)
        # Only an announcement with none of its claimed rows still under way can be finished.
        touched = {announcement for announcement, count in recorded.items() if self._unrecorded[announcement] <= count}
        unfinished = await self._rows.settle(
            network.slug, [outcome.result() for outcome in outcomes], now=now, check=touched
        )
        self._unrecorded.subtract(recorded)
        for announcement in touched:
            del self._unrecorded[announcement]
        for outcome in outcomes:
            if outcome.blocked:
                await self._mark_unreachable(outcome.row.chat_id, now)
        return touched - unfinished

    async def _report_finished(self, network: Network, only: Iterable[int] | None = None) -> None:
        """Tells each author whose announcement has reached everyone it could."""
        open_ones = await self._rows.unreported(network.slug, only)
        if not open_ones:
            return
        reports = await self._rows.counts(network.slug, [announcement.id or 0 for announcement in open_ones])
        for announcement in open_ones:
            if not reports[announcement.id or 0].done:
                continue
            if await self._rows.mark_reported(network.slug, announcement.id or 0, now=self._clock.now()):
                await self._on_report(network, announcement, reports[announcement.id or 0])

"""The village's one send budget: replies, reports, edits, pins and the outbox all take a slot of it."""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import Awaitable, Callable

# The broadcast's pace: this fraction of the rate, so that its even spacing and the second each
# message counts after its answer (see `RateBudget`) seldom meet; replies take from the same pace.
PACE = 0.99
TELEGRAM_SECOND_S = 1.002  # the second Telegram counts messages in, and 2 ms for two clocks' ticks
_SLACK_S = 1e-6  # so that rounding never turns a wait into a spin


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

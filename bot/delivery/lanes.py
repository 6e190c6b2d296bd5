"""The outbox's lanes, one per app: rows claimed and not handed over yet, each app going at its own pace.

The sender shares each claimed batch out among the lanes of the apps its rows go to; each lane
hands its rows to its app in the slots of that app's budget, apart from the others, so a network
whose residents use both apps gets Telegram's 30 messages a second and WhatsApp's 80 at once.
Within a lane a help request (a neighbour waits for an answer) goes first, then the networks take
turns, a row each, so a long announcement does not keep a small network's reminders waiting; a row
whose chat the app holds back (one a second on Telegram, the pair rate on WhatsApp) waits while
the rows behind it go.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable, Sequence

from bot.delivery.budget import RateBudget
from storage.models import Network, OutboxKind
from storage.outbox import ClaimedRow

Item = tuple[Network, ClaimedRow]
SCAN = 64  # rows looked at per network for one whose chat is free; the rest wait their turn
FED_MEMORY = 4  # claims after which a lane that got no rows counts as having none to come
_SHORTEST_WAIT_S = 0.001


class Lane:
    """One app's claimed rows, and the task that hands them over one budget slot at a time."""

    def __init__(self, budget: RateBudget, in_flight: int) -> None:
        self.budget = budget
        self._urgent: deque[Item] = deque()
        self._networks: dict[str, deque[Item]] = {}  # in turn: the first is next
        self._count = 0
        self._fed: deque[bool] = deque(maxlen=FED_MEMORY)
        self._in_flight_most = in_flight
        self.in_flight: asyncio.Semaphore | None = None  # made on first use, in the running loop
        self._added: asyncio.Event | None = None
        self.task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return self._count

    @property
    def wanted(self) -> bool:
        """Whether the latest claims had rows for this lane (so the next ones may too)."""
        return any(self._fed)

    def share(self, network: Network, rows: Sequence[ClaimedRow]) -> None:
        """This lane's rows of a claimed batch (none, perhaps)."""
        self._fed.append(bool(rows))
        for row in rows:
            if row.kind == OutboxKind.HELP_REQUEST:
                self._urgent.append((network, row))
            else:
                self._networks.setdefault(network.slug, deque()).append((network, row))
        self._count += len(rows)
        if rows and self._added is not None:
            self._added.set()

    def clear(self) -> None:
        """Forgets the rows (at a stop: they stay 'sending' in their stores, sent after the restart)."""
        self._urgent.clear()
        self._networks.clear()
        self._count = 0

    def _take(self, now: float) -> Item | float:
        """The next row whose chat is free now, taken out of the lane; else when the soonest will be."""
        soonest = float("inf")
        for index, item in enumerate(itertools.islice(self._urgent, SCAN)):
            free = self.budget.free_at(item[1].chat_id)
            if free <= now:
                del self._urgent[index]
                self._count -= 1
                return item
            soonest = min(soonest, free)
        for slug, queue in self._networks.items():
            for index, item in enumerate(itertools.islice(queue, SCAN)):
                free = self.budget.free_at(item[1].chat_id)
                if free <= now:
                    del queue[index]
                    self._count -= 1
                    del self._networks[slug]
                    if queue:
                        self._networks[slug] = queue  # to the back: the next network's turn
                    return item
                soonest = min(soonest, free)
        return soonest

    async def _next_free(self) -> Item:
        if self._added is None:
            self._added = asyncio.Event()
        while True:
            self._added.clear()
            found = self._take(self.budget.now())
            if isinstance(found, tuple):
                return found
            with contextlib.suppress(TimeoutError):  # woken early by rows added meanwhile
                async with asyncio.timeout(max(found - self.budget.now(), _SHORTEST_WAIT_S)):
                    await self._added.wait()

    async def hand_over(self, start: Callable[[Item, Lane], None], handed: Callable[[], None]) -> None:
        """Hands the rows over until the lane is empty: each in a slot of the budget, never more
        than `in_flight` unanswered; `start` sends one, `handed` is told after each."""
        if self.in_flight is None:
            self.in_flight = asyncio.Semaphore(self._in_flight_most)
        while self._count:
            await self.in_flight.acquire()
            try:
                item = await self._next_free()
                await self.budget.for_broadcast(item[1].chat_id)
            except BaseException:
                self.in_flight.release()
                raise
            start(item, self)
            handed()

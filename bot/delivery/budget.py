"""Each app's send budget: the replies, reports, edits and outbox of one app take slots of that app's budget only.

Telegram allows a bot about 30 messages a second (BROADCAST_RATE) and the outbox one a second to a
private chat, one every three to a group; WhatsApp allows a business number 80 a second
(WHATSAPP_RATE) and one person about one every six seconds, with short bursts (the pair rate). Each
app has a `RateBudget` of its own, with its rule per chat (`TelegramChats`, `PairRate`), and
`SendBudgets` says which one a chat's messages take: a busy WhatsApp broadcast never delays a
Telegram reply, and the other way round. A refusal for one person (WhatsApp's 131056,
`PairRateLimited`) holds back that person only; one for the app (a 429, a 130429) pauses that app.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from storage.identities import WHATSAPP, is_app_person

TELEGRAM = "telegram"

# The broadcast's pace: this fraction of the rate, so that its even spacing and the second each
# message counts after its answer (see `RateBudget`) seldom meet; replies take from the same pace.
PACE = 0.99
APP_SECOND_S = 1.002  # the second an app counts messages in, and 2 ms for two clocks' ticks
TELEGRAM_SECOND_S = APP_SECOND_S
_SLACK_S = 1e-6  # so that rounding never turns a wait into a spin

PER_CHAT_GAP_S = 1.0  # Telegram, a private chat: at most one message a second from the outbox
PER_GROUP_GAP_S = 3.0  # Telegram, a group: at most twenty a minute
PAIR_INTERVAL_S = 6.0  # WhatsApp: one message every 6 s to one person, on average (Meta's pair rate)
# Meta lets a burst of 45 borrow from the time after it; five are kept back for the time a message
# takes to reach Meta (Meta counts when it arrives, the budget when it leaves).
PAIR_BURST = 40
# The outbox takes no more of a person's burst than this: the rest is for their conversation, so
# a day of announcements and reminders never makes a reply to them wait.
OUTBOX_PAIR_BURST = 10
_PRUNE_EVERY = 1024  # sends between sweeps of the per-chat tables (chats no rule holds back any more)


class ChatRule(Protocol):
    """An app's limit per chat, beside its overall rate: when a chat may have its next message."""

    def free_at(self, chat_id: int, *, reply: bool) -> float:
        """The earliest time (on the budget's clock) of the chat's next reply or outbox message."""
        ...

    def sent(self, chat_id: int, now: float, *, reply: bool) -> None: ...

    def back_off(self, chat_id: int, until: float) -> None:
        """The app refused a message for this chat: nothing to it before `until`."""
        ...


class TelegramChats:
    """Telegram's limit per chat: the outbox sends a private chat at most one message a second and a
    group one every three seconds (twenty a minute). A reply goes at once: Telegram allows a
    conversation's short bursts."""

    def __init__(self) -> None:
        self._last: dict[int, float] = {}  # when the outbox last sent to each chat
        self._held: dict[int, float] = {}  # a chat the app refused: nothing to it before this
        self._sends = 0

    def free_at(self, chat_id: int, *, reply: bool) -> float:
        held = self._held.get(chat_id, -math.inf)
        if reply:
            return held
        gap = PER_GROUP_GAP_S if chat_id < 0 else PER_CHAT_GAP_S
        return max(held, self._last.get(chat_id, -math.inf) + gap)

    def sent(self, chat_id: int, now: float, *, reply: bool) -> None:
        if not reply:
            self._last[chat_id] = now
        self._sends += 1
        if self._sends % _PRUNE_EVERY == 0:
            self._last = {chat: at for chat, at in self._last.items() if now - at < PER_GROUP_GAP_S}
            self._held = {chat: until for chat, until in self._held.items() if until > now}

    def back_off(self, chat_id: int, until: float) -> None:
        self._held[chat_id] = max(self._held.get(chat_id, -math.inf), until)


class PairRate:
    """WhatsApp's pair rate, counted as Meta counts it: each message to a person borrows `interval`
    seconds, paid back as time passes; a message may go while no more than `burst` - 1 intervals are
    borrowed. Replies may use the whole burst, the outbox only `outbox_burst` of it. After a
    refusal (131056) the person's burst counts as used up: their next reply waits for the refusal's
    retry time, and the outbox for as long as it takes to pay the burst back to its share."""

    def __init__(
        self,
        interval: float = PAIR_INTERVAL_S,
        burst: int = PAIR_BURST,
        outbox_burst: int = OUTBOX_PAIR_BURST,
    ) -> None:
        self.interval = interval
        self.burst = burst
        self.outbox_burst = min(outbox_burst, burst)
        self._due: dict[int, float] = {}  # when each person's borrowed time is paid back
        self._sends = 0

    def free_at(self, chat_id: int, *, reply: bool) -> float:
        due = self._due.get(chat_id)
        if due is None:
            return -math.inf
        return due - self.interval * ((self.burst if reply else self.outbox_burst) - 1)

    def sent(self, chat_id: int, now: float, *, reply: bool) -> None:
        self._due[chat_id] = max(self._due.get(chat_id, now), now) + self.interval
        self._sends += 1
        if self._sends % _PRUNE_EVERY == 0:
            self._due = {chat: due for chat, due in self._due.items() if due > now}

    def back_off(self, chat_id: int, until: float) -> None:
        full = until + self.interval * (self.burst - 1)
        self._due[chat_id] = max(self._due.get(chat_id, -math.inf), full)


class RateBudget:
    """One app's send budget: its replies, reports, edits, pins and outbox all take a slot of it.

    A message counts from the moment it leaves until a second after its answer came back
    (`landed`): the app saw it arrive somewhere in between, so with never more than `rate` of
    them counted, no second at the app holds more than `rate` messages, however late an answer
    came. Replies go first: while one waits for a slot, the broadcast takes none. The broadcast
    is also paced: slot k is due at t0 + k / (rate × PACE), each reply taking a slot of that pace,
    so a short stall of the event loop costs no rate (the missed slots go as soon as it is back,
    within the count) and after a longer pause the clock starts afresh rather than bursting.

    Beside the rate, the app's rule per chat (`chats`): a reply waits for its own chat without
    holding up anyone else; the outbox asks `free_at` and picks a chat that is free.
    """

    def __init__(
        self,
        rate: float,
        *,
        chats: ChatRule | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.chats: ChatRule = chats if chats is not None else TelegramChats()
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

    def now(self) -> float:
        return self._clock()

    def free_at(self, chat_id: int) -> float:
        """When the outbox may send this chat its next message (on `now`'s clock)."""
        return self.chats.free_at(chat_id, reply=False)

    def _counted(self, now: float) -> int:
        while self._landed and now - self._landed[0] >= APP_SECOND_S - _SLACK_S:
            heapq.heappop(self._landed)
        return self._under_way + len(self._landed)

    def _first_free(self, now: float) -> float:
        return self._landed[0] + APP_SECOND_S if self._landed else now + self.interval

    async def for_reply(self, chat_id: int | None = None) -> None:
        """Waits (briefly) for a slot for one reply to `chat_id`; the caller sends it and then calls `landed`."""
        while True:
            if chat_id is not None:  # waiting for one chat holds up no one else's messages
                while (wait := self.chats.free_at(chat_id, reply=True) - self._clock()) > _SLACK_S:
                    await self._sleep(wait)
            if await self._reply_slot(chat_id):
                return

    async def _reply_slot(self, chat_id: int | None) -> bool:
        """Takes a slot, replies before the broadcast; False when the chat was taken meanwhile."""
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
                if chat_id is not None and self.chats.free_at(chat_id, reply=True) - now > _SLACK_S:
                    return False
                self._next = max(self._next, now - self.catch_up_s) + self.interval
                self._under_way += 1
                if chat_id is not None:
                    self.chats.sent(chat_id, now, reply=True)
                return True
        finally:
            self._replies_waiting -= 1
            if not self._replies_waiting and self._no_reply_waiting is not None:
                self._no_reply_waiting.set()

    async def for_broadcast(self, chat_id: int | None = None) -> None:
        """Waits for the next slot the replies leave, for one message to `chat_id` (a chat whose
        `free_at` has come); the caller sends it and then calls `landed`."""
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
            if chat_id is not None:
                self.chats.sent(chat_id, now, reply=False)
            return

    def landed(self) -> None:
        """A message was answered (sent, refused or failed): it counts one second more."""
        self._under_way -= 1
        heapq.heappush(self._landed, self._clock())

    def pause(self, seconds: float) -> None:
        """After the app's rate limit: nothing until its retry time, then the clock starts afresh (no burst)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._next = self._paused_until

    def back_off(self, chat_id: int, seconds: float) -> None:
        """After a refusal for one chat (`PairRateLimited`): nothing to it for `seconds`, the rest goes on."""
        self.chats.back_off(chat_id, self._clock() + seconds)


AppOf = Callable[[int], str]


def app_by_id(chat_id: int) -> str:
    """The app of a chat by its id alone: people who first wrote from WhatsApp have ids from 2**53
    up (`storage.identities`), which no Telegram id reaches; every other chat is Telegram's."""
    return WHATSAPP if is_app_person(chat_id) else TELEGRAM


@runtime_checkable
class ChatApps(Protocol):
    """A port that knows which app each chat is on (both apps at once): the budgets follow it."""

    def app_of(self, chat_id: int) -> str: ...


class SendBudgets:
    """The village's send budgets, one per app, and which one a chat's messages take."""

    def __init__(self, budgets: Mapping[str, RateBudget], *, app_of: AppOf = app_by_id) -> None:
        if not budgets:
            raise ValueError("no send budget")
        self._budgets = dict(budgets)
        self._fallback = self._budgets.get(TELEGRAM) or next(iter(self._budgets.values()))
        self._app_of = app_of

    @classmethod
    def one(cls, budget: RateBudget) -> SendBudgets:
        """One budget for every chat (a test, or a door with one app)."""
        return cls({TELEGRAM: budget})

    def of(self, chat_id: int) -> RateBudget:
        """The budget this chat's messages take a slot of."""
        return self._budgets.get(self._app_of(chat_id), self._fallback)

    def __getitem__(self, app: str) -> RateBudget:
        return self._budgets[app]

    def __iter__(self) -> Iterator[RateBudget]:
        """Each budget once."""
        return iter(dict.fromkeys(self._budgets.values()))

    def route(self, app_of: AppOf) -> None:
        """From now on a chat's app is what `app_of` says (the port that sends knows it best)."""
        self._app_of = app_of

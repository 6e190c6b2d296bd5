"""Flood control: whoever writes faster than a person would gets one notice and is ignored for a while."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from bot.kernel.events import ButtonPress, Event, MembersJoined, Message, parse_command
from bot.kernel.limits import FLOOD_LIMIT, FLOOD_PAUSE, FLOOD_TRACKED, FLOOD_WINDOW


class Verdict(Enum):
    PASS = "pass"  # handle the event as usual
    WARN = "warn"  # the limit was just passed: say slow down once, ignore the event
    IGNORE = "ignore"  # paused: ignore without a word


@dataclass(slots=True)
class _Sender:
    times: deque[float]  # the latest events, seconds since the epoch, at most limit + 1
    paused_until: float = field(default=0.0)


class FloodGate:
    """A sliding window per sender id (and per group chat), in memory, with a bounded number of senders.

    A sender is remembered only while their last event is within the window or they are paused,
    and never more than `max_tracked` at once: a quiet village costs almost nothing.
    """

    def __init__(
        self,
        *,
        limit: int = FLOOD_LIMIT,
        window: timedelta = FLOOD_WINDOW,
        pause: timedelta = FLOOD_PAUSE,
        max_tracked: int = FLOOD_TRACKED,
    ) -> None:
        if limit < 1 or max_tracked < 1:
            raise ValueError("flood limit and tracked senders must be at least 1")
        self.limit = limit
        self.window = window.total_seconds()
        self.pause = pause.total_seconds()
        self.max_tracked = max_tracked
        self._senders: OrderedDict[int, _Sender] = OrderedDict()  # least recently active first

    def __len__(self) -> int:
        return len(self._senders)

    def admit(self, event: Event, now: datetime, *, bot_username: str | None = None) -> Verdict:
        """Counts the event against its sender and, for what is addressed to the bot in a group, the group.

        Plain conversation in a group is not the bot's business (the router drops it) and counts for
        nobody: a lively group chat must not earn its members a notice.
        """
        keys = _keys(event, bot_username)
        if not keys:
            return Verdict.PASS
        verdicts = {self.check(key, now) for key in keys}
        if Verdict.WARN in verdicts and not isinstance(event, MembersJoined):
            return Verdict.WARN
        if verdicts & {Verdict.WARN, Verdict.IGNORE}:
            return Verdict.IGNORE  # a crowd coming into a group is not told to slow down; its welcomes wait
        return Verdict.PASS

    def check(self, key: int, now: datetime) -> Verdict:
        """Counts one event of `key` (a sender or chat id) at `now`."""
        moment = now.timestamp()
        self._forget_quiet(moment)
        sender = self._senders.get(key)
        if sender is None:
            sender = self._senders[key] = _Sender(deque(maxlen=self.limit + 1))
            if len(self._senders) > self.max_tracked:
                self._senders.popitem(last=False)
        else:
            self._senders.move_to_end(key)
        if moment < sender.paused_until:
            return Verdict.IGNORE
        sender.times.append(moment)
        if len(sender.times) > self.limit and sender.times[0] > moment - self.window:
            sender.paused_until = moment + self.pause
            sender.times.clear()
            return Verdict.WARN
        return Verdict.PASS

    def _forget_quiet(self, moment: float) -> None:
        """Drops senders, least recently active first, whose window has passed and who are not paused."""
        while self._senders:
            key, oldest = next(iter(self._senders.items()))
            if oldest.paused_until > moment or (oldest.times and oldest.times[-1] > moment - self.window):
                return
            del self._senders[key]


def _keys(event: Event, bot_username: str | None) -> tuple[int, ...]:
    if event.chat.is_private:
        return (event.sender.id,)
    if isinstance(event, ButtonPress):
        return (event.sender.id, event.chat.id)
    if isinstance(event, Message):
        if parse_command(event.text.strip(), bot_username) is None:
            return ()
        return (event.sender.id, event.chat.id)
    if isinstance(event, MembersJoined):
        return (event.chat.id,)  # each newcomer gets a welcome in the group: that is what may flood
    return (event.sender.id,)  # a join request: the asker, not the group they knock on

"""Fault injection: errors (429s, 5xx, ...) for the next calls or a fraction of them, stalls, delays, blocked chats."""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass

from .common import DESCRIPTIONS, JSON, ApiError, ChatId
from .limits import SEND_METHODS
from .state import State

BLOCKABLE = SEND_METHODS | {"sendChatAction"}
"""Methods that get 403 for a chat that blocked the bot (see block())."""


@dataclass
class _Fault:
    error_code: int
    description: str
    retry_after: int | None
    count: int


class Faults(State):
    """What a test arranges to go wrong; _before_call() applies it to each call before its method runs."""

    served_faults: list[tuple[str, int]]
    stalled: int

    def _init_faults(self) -> None:
        self.served_faults = []  # (method, error code) of each fail_next fault served
        self.stalled = 0  # calls stalled, by stall_next or stall_ratio
        self._faults: dict[str, deque[_Fault]] = {}
        self._random_fault: tuple[float, int, frozenset[str] | None, random.Random] | None = None
        self._stalls: dict[str, list[float]] = {}
        self._random_stall: tuple[float, float, frozenset[str] | None, random.Random] | None = None
        self._delays: dict[str, float] = {}
        self._blocked: set[ChatId] = set()

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Make the next count calls of method fail (429 gets parameters.retry_after)."""
        if error_code == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        fault = _Fault(error_code, description or DESCRIPTIONS.get(error_code, "Error"), retry_after, count)
        self._faults.setdefault(self._method_name(method), deque()).append(fault)

    def fail_ratio(
        self,
        ratio: float,
        error_code: int = 502,
        methods: list[str] | None = None,
        seed: int = 0,
    ) -> None:
        """Fail this fraction of calls at random; methods=None means all but getUpdates."""
        names = None if methods is None else frozenset(self._method_name(m) for m in methods)
        self._random_fault = (ratio, error_code, names, random.Random(seed)) if ratio else None

    def stall_ratio(self, ratio: float, seconds: float, methods: list[str] | None = None, seed: int = 1) -> None:
        """Make this fraction of calls hang for `seconds` and then fail unexecuted, so a client
        with a shorter timeout sees a timeout; methods=None means all but getUpdates."""
        names = None if methods is None else frozenset(self._method_name(m) for m in methods)
        self._random_stall = (ratio, seconds, names, random.Random(seed)) if ratio else None

    def stall_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Make the next `count` calls of method hang for `seconds`, then fail unexecuted."""
        self._stalls[self._method_name(method)] = [seconds, count]

    def delay(self, method: str, seconds: float) -> None:
        """Answer method only after seconds (0 removes the delay)."""
        self._delays[self._method_name(method)] = seconds

    def block(self, chat_id: ChatId) -> None:
        """Every send to chat_id gets 403 (blocked by the user / kicked from the group)."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: ChatId) -> None:
        self._blocked.discard(chat_id)

    async def _before_call(self, name: str, params: JSON) -> None:
        """Stalls (then 504), delays, and raises the ApiError a fault calls for, in that order."""
        stall = self._stalls.get(name)
        if stall is not None and stall[1] > 0:
            stall[1] -= 1
            self.stalled += 1
            await self._sleep(stall[0])
            raise ApiError(504, "Gateway Timeout")
        if self._random_stall is not None:
            ratio, seconds, methods, rng = self._random_stall
            applies = name != "getUpdates" if methods is None else name in methods
            if applies and rng.random() < ratio:
                self.stalled += 1
                await self._sleep(seconds)
                raise ApiError(504, "Gateway Timeout")
        if name in self._delays:
            await self._sleep(self._delays[name])
        self._inject_faults(name, params)

    def _inject_faults(self, method: str, params: JSON) -> None:
        queue = self._faults.get(method)
        if queue:
            fault = queue[0]
            fault.count -= 1
            if fault.count <= 0:
                queue.popleft()
            self.served_faults.append((method, fault.error_code))
            raise ApiError(fault.error_code, fault.description, fault.retry_after)
        if self._random_fault is not None:
            ratio, code, methods, rng = self._random_fault
            applies = method != "getUpdates" if methods is None else method in methods
            if applies and rng.random() < ratio:
                retry_after = 1 if code == 429 else None
                description = "Too Many Requests: retry after 1" if code == 429 else None
                raise ApiError(code, description or DESCRIPTIONS.get(code, "Error"), retry_after)
        chat_id = params.get("chat_id")
        if method in BLOCKABLE and isinstance(chat_id, int | str) and chat_id in self._blocked:
            if self._chat(chat_id)["type"] == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closing and (remaining := deadline - time.monotonic()) > 0:
            await self._update_signal.wait(remaining)

"""Fault injection: error answers for the next calls, held (timed-out) calls, and errors for one recipient."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from .errors import GraphError
from .records import Via
from .state import State

Endpoint = Literal["messages", "media"]


@dataclass
class _Failure:
    error: GraphError
    json_body: bool
    count: int


@dataclass
class _Stall:
    seconds: float
    then_send: bool
    count: int


@dataclass
class _RecipientFault:
    error: GraphError
    via: Via
    count: int | None  # None: every message


class Faults(State):
    """What a test arranges to go wrong; applied to each call before Meta's own checks."""

    served_faults: list[tuple[str, int]]
    stalled: int

    def _init_faults(self) -> None:
        self.served_faults = []  # (endpoint or wa_id, code) of each injected error served
        self.stalled = 0  # calls held by stall_next
        self._failures: dict[Endpoint, list[_Failure]] = {"messages": [], "media": []}
        self._stalls: dict[Endpoint, list[_Stall]] = {"messages": [], "media": []}
        self._recipient_faults: dict[str, _RecipientFault] = {}

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        code: int | None = None,
        details: str | None = None,
        json_body: bool = True,
        endpoint: Endpoint = "messages",
    ) -> None:
        """The next `count` calls to endpoint answer HTTP `status` with Graph's error body: code 131000
        for a 500, 2 for a 503, else `code`. json_body=False answers a bare text body, as a proxy would."""
        code = code if code is not None else {500: 131000, 503: 2}.get(status, 1)
        error = GraphError(code, details, http_status=status, is_transient=status >= 500 or None)
        self._failures[endpoint].append(_Failure(error, json_body, count))

    def stall_next(
        self, seconds: float, count: int = 1, *, then_send: bool = False, endpoint: Endpoint = "messages"
    ) -> None:
        """Hold the next `count` calls for `seconds` (a client with a shorter timeout sees a timeout).
        Afterwards the call fails with 503 (code 2), or, with then_send, goes through after all: the
        user gets a message whose answer the bot never saw."""
        self._stalls[endpoint].append(_Stall(seconds, then_send, count))

    def fail_to(
        self,
        wa_id: str,
        code: int,
        *,
        count: int | None = None,
        via: Via = "response",
        details: str | None = None,
    ) -> None:
        """Messages to wa_id fail with `code` (131026 undeliverable, 131047, 131051, ...): every message,
        or the next `count`. via="status": answered with a wamid, then a `failed` status webhook, which
        is how Meta reports most delivery failures."""
        self._recipient_faults[wa_id] = _RecipientFault(GraphError(code, details), via, count)

    def clear_faults(self) -> None:
        self._failures = {"messages": [], "media": []}
        self._stalls = {"messages": [], "media": []}
        self._recipient_faults.clear()

    async def _before_call(self, endpoint: Endpoint) -> tuple[GraphError, bool] | None:
        """Holds a stalled call, then the error (and whether its body is JSON) a fault calls for."""
        stalls = self._stalls[endpoint]
        if stalls:
            stall = stalls[0]
            stall.count -= 1
            if stall.count <= 0:
                stalls.pop(0)
            self.stalled += 1
            await self._hold(stall.seconds)
            if not stall.then_send:
                return GraphError(2, is_transient=True), True
        failures = self._failures[endpoint]
        if failures:
            failure = failures[0]
            failure.count -= 1
            if failure.count <= 0:
                failures.pop(0)
            self.served_faults.append((endpoint, failure.error.code))
            return failure.error, failure.json_body
        return None

    def _recipient_fault(self, wa_id: str) -> tuple[GraphError, Via] | None:
        fault = self._recipient_faults.get(wa_id)
        if fault is None:
            return None
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                del self._recipient_faults[wa_id]
        self.served_faults.append((wa_id, fault.error.code))
        return fault.error, fault.via

    async def _hold(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closing and (remaining := deadline - time.monotonic()) > 0:
            await self._change.wait(remaining)

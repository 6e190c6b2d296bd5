"""Waiting for what the bot does: a message, a number of messages, a call, any condition, with a timeout."""

from __future__ import annotations

import time
from collections.abc import Callable

from .common import JSON, ChatId, Record
from .state import State


class Waiting(State):
    """Waits wake on every call the server receives or answers, and re-check their condition."""

    async def wait_for_message(
        self,
        chat_id: ChatId,
        predicate: Callable[[Record], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Record:
        """The first (undeleted) message to chat_id matching predicate, sent or edited into
        shape within timeout; raises TimeoutError listing what was sent."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.messages_to(chat_id):
                if not record["deleted"] and (predicate is None or predicate(record)):
                    return record
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                texts = [r["text"] or r["caption"] for r in self.messages_to(chat_id)]
                raise TimeoutError(f"no matching message to {chat_id} in {timeout}s; got {texts}")
            await self._change_signal.wait(remaining)

    async def wait_for_sent(self, count: int, timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """Waits until `count` messages are recorded in all; False if `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while len(self.sent) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await self._change_signal.wait(remaining)
        return True

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """Waits until `condition()` holds, checked after each call the server answers; False if
        `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                return False
            await self._change_signal.wait(remaining)
        return True

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JSON:
        """Parameters of the first handled call of method matching predicate."""
        method = self._method_name(method)
        deadline = time.monotonic() + timeout
        while True:
            for name, params in self.calls:
                if name == method and (predicate is None or predicate(params)):
                    return params
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                raise TimeoutError(f"no matching {method} call in {timeout}s")
            await self._change_signal.wait(remaining)

"""Waiting for what the bot does: messages to a user, any condition; with a timeout, woken by every call."""

from __future__ import annotations

import time
from collections.abc import Callable

from .records import OutboundMessage
from .state import State


class Waiting(State):
    """Waits wake on every call the server answers and every webhook the bot answers."""

    async def wait_for_messages(self, wa_id: str, count: int = 1, timeout: float = 5.0) -> list[OutboundMessage]:  # noqa: ASYNC109
        """The first `count` messages the bot got through to wa_id; raises TimeoutError listing what came."""
        if not await self.wait_until(lambda: len(self.messages_to(wa_id)) >= count, timeout):
            texts = [m.text for m in self.messages_to(wa_id)]
            raise TimeoutError(f"{count} messages to {wa_id} expected within {timeout}s; got {texts}")
        return self.messages_to(wa_id)[:count]

    async def wait_for_message(
        self,
        wa_id: str,
        predicate: Callable[[OutboundMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> OutboundMessage:
        """The first message to wa_id matching predicate; raises TimeoutError listing what came."""

        def found() -> OutboundMessage | None:
            return next((m for m in self.messages_to(wa_id) if predicate is None or predicate(m)), None)

        if not await self.wait_until(lambda: found() is not None, timeout):
            texts = [m.text for m in self.messages_to(wa_id)]
            raise TimeoutError(f"no matching message to {wa_id} within {timeout}s; got {texts}")
        message = found()
        assert message is not None
        return message

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """Waits until condition() holds, re-checked after each call and webhook; False if timeout passes first."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                return False
            await self._change.wait(remaining)
        return True

"""Telegram's flood limits: 30 counted calls a second overall, per private chat and per group; violations and 429s."""

from __future__ import annotations

import math
import time
from collections import deque

from .common import JSON, ApiError, ChatId
from .state import State

PRIVATE_BURST = 3  # messages to one private chat within a second before it counts as flooding
GLOBAL_LIMIT = 30  # counted calls a second across all chats
GROUP_LIMIT = 20  # messages a minute to one group

SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup"})
COUNTED_METHODS = SEND_METHODS | EDIT_METHODS | {"pinChatMessage"}
"""Every method that puts or changes a message in a chat: each counts against Telegram's overall
limit (30 a second across all chats). Only sends count against a chat's own limit (1 a second in
a private chat, 20 a minute in a group): a tap's edit often follows a reply in the same chat at once."""


class Limits(State):
    """Counts sends, edits and pins against the limits; a call over one is a violation, and with
    enforce_rate_limits it is refused with 429 and parameters.retry_after (and not counted)."""

    enforce_rate_limits: bool
    violations: list[JSON]

    def _init_limits(self, enforce_rate_limits: bool) -> None:
        self.enforce_rate_limits = enforce_rate_limits
        self.violations = []  # {kind, method, chat_id, limit, window, count} of each call over a limit
        self._send_window: deque[float] = deque()
        self._counted: list[float] = []  # time.monotonic() of every counted call made (COUNTED_METHODS)
        self._chat_windows: dict[ChatId, deque[float]] = {}

    @property
    def rate_violations(self) -> int:
        """Calls over one of Telegram's limits: sends, edits and pins (see COUNTED_METHODS)."""
        return len(self.violations)

    def counted_times(self) -> list[float]:
        """time.monotonic() of every send, edit and pin made, in order: what Telegram's overall
        limit of 30 a second counts (calls refused with 429 are not in it)."""
        return list(self._counted)

    def _account(self, method: str, chat_id: ChatId, *, per_chat: bool = True) -> float:
        """Telegram's flood limits: 30 msg/s overall, 1 msg/s per private chat, 20/min/group.
        Returns the time.monotonic() the call is counted at.

        Telegram lets a private chat have a short burst (a reply and a menu after it); only
        more than PRIVATE_BURST messages within one second count against the 1 msg/s rule.
        Edits and pins (per_chat=False) count against the overall limit only.
        """
        now = time.monotonic()
        checks = [("global", self._send_window, 1.0, GLOBAL_LIMIT)]
        if per_chat:
            private = isinstance(chat_id, int) and chat_id > 0
            checks.append(
                (
                    "private_chat" if private else "group_chat",
                    self._chat_windows.setdefault(chat_id, deque()),
                    1.0 if private else 60.0,
                    PRIVATE_BURST if private else GROUP_LIMIT,
                )
            )
        found: list[JSON] = []
        wait = 0.0
        for kind, window, span, limit in checks:
            while window and now - window[0] >= span:
                window.popleft()
            if len(window) >= limit:
                found.append(
                    {
                        "kind": kind,
                        "method": method,
                        "chat_id": chat_id,
                        "limit": limit,
                        "window": span,
                        "count": len(window) + 1,
                    }
                )
                wait = max(wait, span - (now - window[0]))
        self.violations.extend(found)
        if found and self.enforce_rate_limits:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for _, window, _, _ in checks:
            window.append(now)
        self._counted.append(now)
        return now

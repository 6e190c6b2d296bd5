"""What every part of the fake Bot API shares: the JSON types, a Record, Telegram's error answers, a wake-up signal."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
ChatId = int | str
Record = dict[str, Any]
"""A message the bot sent: chat_id, message_id, method, text, caption, parse_mode,
reply_markup, document, photo, history (earlier versions), edit_date, deleted, pinned,
message (the current Telegram Message object) and at (time.monotonic() when it was recorded,
one clock for every process on Linux, so a benchmark can time it against its own clock)."""

DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
"""The description Telegram gives with an error code, when nothing more specific is said."""


class ApiError(Exception):
    """A Telegram error answer: HTTP status = error_code, plus an optional retry_after."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad(description: str) -> ApiError:
    """A 400 Bad Request answer."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str | None


class Signal:
    """Wakes every waiter on fire(); waiters re-check their condition afterwards."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(seconds, 0))

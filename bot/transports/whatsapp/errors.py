"""pywa's errors as the core's door errors, caught where pywa raises them.

pywa's errors are frozen dataclasses: raised on through a context manager (which sets their
traceback) they fail with FrozenInstanceError. So the door calls pywa only through `mapped`,
which turns them into the port's errors at once, by Meta's error code; the log names the code,
never the error's text, which may quote a phone number.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from pywa.errors import WhatsAppError

from bot.kernel.port import (
    ChatNotFound,
    DoorError,
    NotDeliverable,
    PairRateLimited,
    RateLimited,
    TransientDoorError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

THROUGHPUT_PAUSE_S = 1.0  # 130429: the number's messages per second were used up
PAIR_RATE_PAUSE_S = 6.0  # 131056: about one message every 6 s to one person
SPAM_PAUSE_S = 60.0  # 131048: Meta limits the number for a while
TRANSIENT_CODES = frozenset({1, 2, 131000, 131016, 133004})
OUTSIDE_WINDOW = 131047
# Outside the 24-hour window (131047: the port sends the message's template instead, see port.py),
# not a WhatsApp number or an old app (131026), a message WhatsApp cannot show this person (131051):
# final for this message.
UNDELIVERABLE_CODES = {
    131026: "undeliverable (not on WhatsApp, or an old app)",
    OUTSIDE_WINDOW: "outside the 24-hour window",
    131051: "a message type WhatsApp does not support for this person",
}
# A template Meta will not send: not (yet) approved in this language, paused or disabled, or its
# parameters do not fit. The message fails; the person stays reachable.
TEMPLATE_CODES = {
    132000: "the template's parameters do not fit it",
    132001: "the template does not exist (not approved yet?) in this language",
    132005: "the template's text is too long once filled in",
    132007: "the template breaks Meta's rules",
    132012: "the template's parameters are not in the right format",
    132015: "the template is paused",
    132016: "the template is disabled",
}


class WhatsAppRefused(ChatNotFound):
    """Meta refused a message for this person; `code` says why. The core treats the person as not
    reachable for this message (a reply to someone else goes on; an outbox row is final)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"WhatsApp error {code}: {reason}")
        self.code = code


def door_error(code: int, http_status: int | None = None) -> DoorError:
    """The core's error for Meta's error code (and the HTTP status it came with)."""
    if code == 130429:
        return RateLimited(THROUGHPUT_PAUSE_S)
    if code == 131056:  # about this one person: only they wait
        return PairRateLimited(PAIR_RATE_PAUSE_S)
    if code == 131048:
        return RateLimited(SPAM_PAUSE_S)
    if code in UNDELIVERABLE_CODES:
        return WhatsAppRefused(code, UNDELIVERABLE_CODES[code])
    if code in TEMPLATE_CODES:
        return NotDeliverable(f"WhatsApp error {code}: {TEMPLATE_CODES[code]}")
    if code == 100 and http_status == 404:
        return ChatNotFound(f"WhatsApp error {code}")
    if code in TRANSIENT_CODES or (http_status is not None and http_status >= 500):
        return TransientDoorError(f"WhatsApp error {code}")
    return DoorError(f"WhatsApp error {code}")


async def mapped(call: Callable[[], Awaitable[T]], what: str) -> T:
    """Runs a pywa call; its errors and httpx's come out as the core's door errors."""
    try:
        return await call()
    except WhatsAppError as error:
        mapped_error = door_error(error.code, error.status_code)
    except (httpx.TimeoutException, httpx.TransportError) as error:
        raise TransientDoorError(f"{what}: {type(error).__name__}") from None
    if isinstance(mapped_error, WhatsAppRefused | NotDeliverable):
        log.warning("WhatsApp refused %s: %s", what, mapped_error)
    raise mapped_error

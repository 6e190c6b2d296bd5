"""The fake's memory: the business number, the clock, what the bot sent and uploaded, users, windows, call logs."""

from __future__ import annotations

import hashlib
import itertools
import time

from tests.fakebotapi.common import Signal

from .errors import JSON
from .records import Clock, OutboundMessage, Template, UploadedMedia, Violation

COUNTRY_PREFIXES = {"31": "NL", "32": "BE", "33": "FR", "44": "GB", "49": "DE", "1": "US"}
"""Calling codes the fake knows, for the country part of a business-scoped user id."""


class State:
    """What the server knows and what the bot did; the other parts of FakeGraphAPI read and change it."""

    def __init__(
        self,
        *,
        token: str,
        phone_id: str,
        display_phone_number: str,
        waba_id: str,
        clock: Clock,
    ) -> None:
        self.token = token
        self.phone_id = phone_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        self.clock = clock
        # What the bot did, for assertions.
        self.sent: list[OutboundMessage] = []  # accepted messages, failed-by-webhook ones included
        self.requests: list[tuple[str, JSON]] = []  # (endpoint, body) of every authorised call
        self.media: dict[str, UploadedMedia] = {}
        self.read_marks: list[str] = []  # wamids the bot marked as read (typing indicators too)
        self.violations: list[Violation] = []
        self.internal_errors: list[str] = []
        # Users, windows, templates.
        self.names: dict[str, str] = {}  # wa_id → profile name
        self.templates: dict[tuple[str, str], Template] = {}
        self._last_inbound: dict[str, float] = {}  # wa_id → clock timestamp of their latest message
        self._inbound_ids: set[str] = set()
        self._received: list[tuple[str, str | None, float]] = []  # (endpoint, wa_id, monotonic) per call
        self._ids = itertools.count(1)
        # Waking waiters.
        self._closing = False
        self._change = Signal()  # a call came in or was answered, a webhook was answered

    # ------------------------------------------------------- what the bot did

    def messages_to(self, wa_id: str) -> list[OutboundMessage]:
        """The messages the bot got through to wa_id, in order (not those failed by a status webhook)."""
        return [m for m in self.sent if m.wa_id == wa_id and m.error is None]

    @property
    def failed_messages(self) -> list[OutboundMessage]:
        """Messages answered with a wamid and then failed by a status webhook (fail_to(..., via="status"))."""
        return [m for m in self.sent if m.error is not None]

    def message(self, message_id: str) -> OutboundMessage:
        for sent in self.sent:
            if sent.id == message_id:
                return sent
        raise KeyError(f"the bot sent no message {message_id}")

    def received_times(self, wa_id: str | None = None) -> list[float]:
        """time.monotonic() at which each send (POST .../messages with a message) came in, refused
        ones included; of all recipients, or of wa_id. One clock for every process on Linux."""
        return [at for endpoint, to, at in self._received if endpoint == "messages" and wa_id in (None, to)]

    def accepted_times(self, wa_id: str | None = None) -> list[float]:
        """time.monotonic() of each message accepted (answered with a wamid), in order."""
        return [m.at for m in self.sent if wa_id in (None, m.wa_id)]

    # ----------------------------------------------------------- who users are

    def bsuid_for(self, wa_id: str) -> str:
        """The business-scoped user id Meta gives wa_id (country code, a dot, digits), stable per wa_id."""
        country = next((c for prefix, c in COUNTRY_PREFIXES.items() if wa_id.startswith(prefix)), "NL")
        digits = int(hashlib.sha256(wa_id.encode()).hexdigest(), 16) % 10**19
        return f"{country}.{digits:019d}"

    def wa_id_for(self, recipient: str) -> str:
        """The wa_id behind a recipient given as wa_id or as business-scoped user id."""
        if "." not in recipient:
            return recipient
        known = {self.bsuid_for(wa_id): wa_id for wa_id in itertools.chain(self.names, self._last_inbound)}
        return known.get(recipient, recipient)

    # ----------------------------------------------------------------- helpers

    def _new_wamid(self, wa_id: str) -> str:
        raw = f"{wa_id}:{self.phone_id}:{next(self._ids):010d}".encode()
        return "wamid." + hashlib.blake2b(raw, digest_size=24).hexdigest().upper()

    def _now(self) -> float:
        """The fake's clock as seconds since the epoch: what windows and rate limits count in."""
        return self.clock.now().timestamp()

    def _timestamp(self) -> str:
        return str(int(self._now()))

    def _record_received(self, endpoint: str, wa_id: str | None) -> None:
        self._received.append((endpoint, wa_id, time.monotonic()))

"""What the fake remembers, as typed records: messages sent, uploads, templates, webhook deliveries, violations."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from .errors import JSON, GraphError

Via = Literal["response", "status"]
"""How Meta reports a refusal: as the send's error answer, or as a 200 followed by a `failed` status webhook."""

Signing = Literal["valid", "wrong", "missing"]
"""How the fake signs its webhooks: X-Hub-Signature-256 right, wrong, or left out."""


class Clock(Protocol):
    """Anything with now() -> an aware datetime (bot.kernel.clock's clocks fit)."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Row:
    """One row of a list message."""

    id: str
    title: str
    description: str | None
    section: str | None


@dataclass(frozen=True)
class TemplateUse:
    """A template message as sent: its name, language and filled-in parameters."""

    name: str
    language: str
    body_params: tuple[str, ...]
    header_params: tuple[str, ...]
    button_payloads: dict[int, str]


@dataclass(frozen=True)
class UploadedMedia:
    """A file the bot uploaded with POST /{phone_id}/media."""

    id: str
    filename: str
    mime_type: str
    content: bytes


@dataclass(frozen=True)
class DocumentSent:
    """A document message: the uploaded media it names (or a link), its file name and caption."""

    media_id: str | None
    link: str | None
    filename: str | None
    caption: str | None
    media: UploadedMedia | None

    @property
    def content(self) -> bytes | None:
        return None if self.media is None else self.media.content


@dataclass
class OutboundMessage:
    """A message the bot sent to a WhatsApp user, parsed; `payload` is the request body as it came."""

    wa_id: str
    type: str
    payload: JSON
    id: str = ""
    text: str | None = None  # the text body, an interactive body or a document's caption
    interactive: str | None = None  # button, list, cta_url, ... for interactive messages
    header: str | None = None
    footer: str | None = None
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (id, title) of reply buttons
    list_button: str | None = None
    rows: list[Row] = field(default_factory=list)
    template: TemplateUse | None = None
    document: DocumentSent | None = None
    reply_to: str | None = None  # context.message_id
    at: float = 0.0  # time.monotonic() when accepted
    sent_at: datetime | None = None  # the fake's clock when accepted
    statuses: list[str] = field(default_factory=list)  # sent, delivered, read, failed: as webhooked
    error: GraphError | None = None  # why it failed, when Meta told by a failed status webhook

    @property
    def button_titles(self) -> list[str]:
        return [title for _, title in self.buttons]

    @property
    def row_ids(self) -> list[str]:
        return [row.id for row in self.rows]


@dataclass(frozen=True)
class Template:
    """A message template registered with the fake (what Meta would have approved)."""

    name: str
    language: str
    body_params: int
    header_params: int
    buttons: tuple[str, ...]
    category: str


@dataclass
class Delivery:
    """One webhook body the fake POSTs to the bot, and what the bot answered each time it was delivered."""

    kind: Literal["message", "status"]
    payload: JSON
    body: bytes
    message_id: str | None = None  # the inbound wamid, for message webhooks
    statuses: list[int] = field(default_factory=list)  # HTTP status per attempt; 0: no answer
    signatures: list[str | None] = field(default_factory=list)  # X-Hub-Signature-256 per attempt
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def status(self) -> int | None:
        """The bot's answer to the latest attempt; None before the first."""
        return self.statuses[-1] if self.statuses else None


@dataclass(frozen=True)
class Violation:
    """A rule of Meta's the bot broke: a malformed message, a rate limit, the 24-hour window, a template."""

    kind: str  # invalid, throughput, pair_rate, window, template
    code: int
    wa_id: str | None
    details: str
    at: float = field(default_factory=time.monotonic)

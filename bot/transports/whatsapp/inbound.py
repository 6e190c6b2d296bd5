"""What Meta's webhook says, read from its JSON: people's messages and taps, and statuses of the bot's own.

Plain dicts in, frozen dataclasses out; no framework. pywa's own update handler is not used: it
drops updates without a business-scoped user id and skips bodies by their hash (a redelivery must
be found kept instead, by its message id), so the door checks the signature and reads the JSON
itself. Anything of another kind (account and template updates, reactions, images) is read as
nothing, so Meta hears 200 and does not send it again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Hub-Signature-256"


def signature_ok(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether `header` is "sha256=" and the HMAC-SHA256 of the raw body with the app secret
    (compared in constant time)."""
    if not header or not app_secret:
        return False
    expected = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())


@dataclass(frozen=True)
class Inbound:
    """A message a person sent: text, or a tap on a reply button or list row (`data` is its id)."""

    wamid: str
    wa_id: str
    name: str
    text: str
    data: str | None = None
    answers: str | None = None  # the wamid of the bot's message it answers (a tap's `context`)


@dataclass(frozen=True)
class Status:
    """What became of a message the bot sent: sent, delivered, read or failed (with error codes)."""

    wamid: str
    status: str
    wa_id: str
    errors: tuple[int, ...] = ()


@dataclass(frozen=True)
class Webhook:
    messages: tuple[Inbound, ...]
    statuses: tuple[Status, ...]
    skipped: int  # messages of kinds the bot does not read (images, reactions, ...) or without a wa_id


def read_webhook(data: Any, phone_id: str) -> Webhook:
    """The messages and statuses for our phone number in a webhook body (parsed JSON). Raises
    ValueError for a body that is not a JSON object."""
    if not isinstance(data, dict):
        raise ValueError(f"a JSON {type(data).__name__}, not an object")
    messages: list[Inbound] = []
    statuses: list[Status] = []
    skipped = 0
    for value in _values(data, phone_id):
        names = {
            str(contact.get("wa_id")): _text(_dict(contact.get("profile")).get("name"))
            for contact in _list(value.get("contacts"))
            if isinstance(contact, dict)
        }
        for message in _list(value.get("messages")):
            read = _message(message, names)
            if read is None:
                skipped += 1
            else:
                messages.append(read)
        for status in _list(value.get("statuses")):
            read_status = _status(status)
            if read_status is not None:
                statuses.append(read_status)
    return Webhook(tuple(messages), tuple(statuses), skipped)


def _values(data: dict[str, Any], phone_id: str) -> list[dict[str, Any]]:
    """The `value` of each `messages` change for our number (one app may serve several)."""
    if data.get("object") != "whatsapp_business_account":
        return []
    found = []
    for entry in _list(data.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            value = _dict(change.get("value"))
            if change.get("field") != "messages":
                continue
            if str(_dict(value.get("metadata")).get("phone_number_id", "")) != phone_id:
                continue
            found.append(value)
    return found


def _message(message: Any, names: dict[str, str]) -> Inbound | None:
    message = _dict(message)
    wamid, wa_id = _text(message.get("id")), _text(message.get("from"))
    if not wamid or not wa_id:  # a username-only sender without a phone number: not yet read
        return None
    name = names.get(wa_id, "")
    answers = _text(_dict(message.get("context")).get("id")) or None
    kind = message.get("type")
    if kind == "text":
        return Inbound(wamid, wa_id, name, _text(_dict(message.get("text")).get("body")))
    if kind == "interactive":
        interactive = _dict(message.get("interactive"))
        chosen = _dict(interactive.get("button_reply") or interactive.get("list_reply"))
        if not _text(chosen.get("id")):
            return None
        return Inbound(wamid, wa_id, name, _text(chosen.get("title")), _text(chosen.get("id")), answers)
    if kind == "button":  # a template's quick-reply button: its payload, else its text
        button = _dict(message.get("button"))
        text = _text(button.get("text"))
        return Inbound(wamid, wa_id, name, text, _text(button.get("payload")) or text, answers)
    return None


def _status(status: Any) -> Status | None:
    status = _dict(status)
    wamid, wa_id, state = _text(status.get("id")), _text(status.get("recipient_id")), _text(status.get("status"))
    if not wamid or not wa_id or not state:
        return None
    codes = tuple(
        int(error["code"])
        for error in _list(status.get("errors"))
        if isinstance(error, dict) and isinstance(error.get("code"), int)
    )
    return Status(wamid, state, wa_id, codes)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""

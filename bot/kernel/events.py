"""What a door hands the core: a message or a button press, free of any chat framework."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


@dataclass(frozen=True)
class Sender:
    """A person writing to the bot, as their chat app describes them."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part).strip() or str(self.id)


@dataclass(frozen=True)
class ChatRef:
    id: int
    kind: ChatKind = ChatKind.PRIVATE
    title: str | None = None

    @property
    def is_private(self) -> bool:
        return self.kind == ChatKind.PRIVATE


@dataclass(frozen=True)
class Message:
    """Text someone typed. `update_id` is None for doors without redelivery (the console)."""

    update_id: int | None
    sender: Sender
    chat: ChatRef
    text: str
    message_id: int = 0


@dataclass(frozen=True)
class ButtonPress:
    """Someone tapped a button under one of the bot's messages."""

    update_id: int | None
    sender: Sender
    chat: ChatRef
    message_id: int
    data: str
    press_id: str


@dataclass(frozen=True)
class JoinRequest:
    """Someone asked to join a group the bot manages; `private_chat_id` lets the bot write to them."""

    update_id: int | None
    sender: Sender
    chat: ChatRef
    private_chat_id: int


@dataclass(frozen=True)
class MembersJoined:
    """People came into a group (Telegram's "new chat members" message)."""

    update_id: int | None
    sender: Sender
    chat: ChatRef
    members: tuple[Sender, ...]


Event = Message | ButtonPress | JoinRequest | MembersJoined


def event_to_json(event: Event) -> str:
    """An event as JSON, so it can be kept until handled and handled after a restart."""
    return json.dumps({"kind": type(event).__name__, **_plain(event)})


def _plain(value: Any) -> Any:
    """Dataclasses as dicts of their fields, all the way down. (`dataclasses.asdict` deep-copies
    every value on the way: 2.5 times slower, on every update.)"""
    names = getattr(value, "__dataclass_fields__", None)  # the events have no ClassVar fields
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def event_from_json(text: str) -> Event:
    data: dict[str, Any] = json.loads(text)
    kind = data.pop("kind")
    sender = Sender(**data.pop("sender"))
    chat = ChatRef(**{**data.pop("chat")})
    chat = ChatRef(chat.id, ChatKind(chat.kind), chat.title)
    if kind == "Message":
        return Message(sender=sender, chat=chat, **data)
    if kind == "ButtonPress":
        return ButtonPress(sender=sender, chat=chat, **data)
    if kind == "JoinRequest":
        return JoinRequest(sender=sender, chat=chat, **data)
    if kind == "MembersJoined":
        members = tuple(Sender(**member) for member in data.pop("members"))
        return MembersJoined(sender=sender, chat=chat, members=members, **data)
    raise ValueError(f"unknown event kind {kind!r}")


@dataclass(frozen=True)
class CommandCall:
    name: str
    argument: str


def parse_command(text: str, bot_username: str | None = None) -> CommandCall | None:
    """`/start abc` → ("start", "abc"); `/help@buurtbot` is ours, `/help@otherbot` is not."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, argument = text.partition(" ")
    name, _, addressed_to = head[1:].partition("@")
    if addressed_to and bot_username and addressed_to.casefold() != bot_username.casefold():
        return None
    return CommandCall(name.casefold(), argument.strip())

"""The one small port through which the core acts in a chat app, and the errors it may raise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.kernel.replies import Reply


class DoorError(Exception):
    """A chat app refused or failed an outbound call."""


class BlockedByUser(DoorError):
    """The person blocked the bot or deleted their account: do not try again."""


class ChatNotFound(DoorError):
    """The chat does not exist (any more) or the bot is not in it."""


class NotDeliverable(DoorError):
    """The app cannot carry this message to this person now (WhatsApp outside its 24-hour window,
    with no template for the message): the message fails, and the person stays reachable."""


class RateLimited(DoorError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class PairRateLimited(RateLimited):
    """Too many messages to one person (WhatsApp's pair rate, error 131056): only they wait.

    A `RateLimited` all the same, so whatever does not know the difference waits as for any rate
    limit; the outbox and the messenger hold back that one person and send on to everyone else."""


class TransientDoorError(DoorError):
    """A network hiccup or a server error: worth retrying."""


class MessageGone(DoorError):
    """The message to edit no longer exists, or can no longer be edited."""


class MessageNotModified(DoorError):
    """An edit that would not change anything; harmless."""


@dataclass(frozen=True)
class MenuCommand:
    command: str
    description: str


@dataclass(frozen=True)
class CommandMenu:
    """The command menu for one language; `language=None` is what everyone else sees."""

    language: str | None
    commands: Sequence[MenuCommand]


class OutboundPort(Protocol):
    """What the core asks of a door. Every door (Telegram runtimes, console, memory) has one."""

    async def send(self, chat_id: int, reply: Reply) -> int:
        """Sends a message; returns its message id."""
        ...

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None: ...

    async def answer_press(self, press_id: str, text: str | None = None, *, alert: bool = False) -> None: ...

    async def send_document(self, chat_id: int, filename: str, content: bytes, caption: str | None = None) -> int:
        """Sends a file (a calendar entry, an export); returns the message id."""
        ...

    async def set_commands(self, menus: Sequence[CommandMenu]) -> None: ...

    async def decide_join_request(self, chat_id: int, user_id: int, *, approve: bool) -> None:
        """Lets someone into a group who asked to join it, or turns them away."""
        ...

    async def pin(self, chat_id: int, message_id: int) -> None:
        """Pins a message in a group, quietly (the message itself has told everyone already)."""
        ...

    async def is_group_admin(self, chat_id: int, user_id: int) -> bool:
        """Whether the app says this person is an administrator (or the creator) of the group."""
        ...

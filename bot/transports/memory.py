"""The in-memory door: keeps every message the bot sends, and simulated people who talk to it.

Scenario tests and the console door both use it; no network, no framework.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.kernel.core import Buurtbot
from bot.kernel.events import ButtonPress, ChatKind, ChatRef, Message, Sender
from bot.kernel.port import ChatNotFound, CommandMenu, MessageGone, MessageNotModified
from bot.kernel.replies import Button, Reply

SIMULATED_ID_BASE = 8_000_000_000_000_000  # far above any Telegram user id


def simulated_user_id(name: str) -> int:
    """A stable id per simulated name, so `/as Jan` is the same Jan in every console session."""
    return SIMULATED_ID_BASE + zlib.crc32(name.strip().casefold().encode())


@dataclass
class Sent:
    """One message the bot sent, with every edit made to it since."""

    chat_id: int
    message_id: int
    versions: list[Reply]

    @property
    def reply(self) -> Reply:
        return self.versions[-1]

    @property
    def text(self) -> str:
        return self.reply.plain_text

    @property
    def buttons(self) -> list[Button]:
        return [button for row in self.reply.buttons for button in row]

    @property
    def labels(self) -> list[str]:
        return [button.label for button in self.buttons]


@dataclass(frozen=True)
class SentFile:
    chat_id: int
    message_id: int
    filename: str
    content: bytes
    caption: str | None


@dataclass(frozen=True)
class DoorEvent:
    """What happened at the door, in order: a message sent or edited, or a press answered."""

    kind: str  # "send", "edit", "answer" or "file"
    chat_id: int
    sent: Sent | None = None
    text: str | None = None
    file: SentFile | None = None


@dataclass
class MemoryDoor:
    messages: list[Sent] = field(default_factory=list)
    log: list[DoorEvent] = field(default_factory=list)
    menus: Sequence[CommandMenu] = ()
    files: list[SentFile] = field(default_factory=list)
    join_decisions: list[tuple[int, int, bool]] = field(default_factory=list)
    pinned: list[tuple[int, int]] = field(default_factory=list)  # (chat, message)
    unreachable: set[int] = field(default_factory=set)
    group_admins: set[tuple[int, int]] = field(default_factory=set)  # (chat, user)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, chat_id: int, reply: Reply) -> int:
        if chat_id in self.unreachable:
            raise ChatNotFound(f"chat {chat_id} not found")
        sent = Sent(chat_id, next(self._ids), [reply])
        self.messages.append(sent)
        self.log.append(DoorEvent("send", chat_id, sent))
        return sent.message_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        sent = next((m for m in self.messages if m.chat_id == chat_id and m.message_id == message_id), None)
        if sent is None:
            raise MessageGone(f"message {message_id} not found")
        if sent.reply == reply:
            raise MessageNotModified("message is not modified")
        sent.versions.append(reply)
        self.log.append(DoorEvent("edit", chat_id, sent))

    async def answer_press(self, press_id: str, text: str | None = None, *, alert: bool = False) -> None:
        chat_id = int(press_id.split(":")[0])
        self.log.append(DoorEvent("answer", chat_id, text=text))

    async def set_commands(self, menus: Sequence[CommandMenu]) -> None:
        self.menus = menus

    async def decide_join_request(self, chat_id: int, user_id: int, *, approve: bool) -> None:
        self.join_decisions.append((chat_id, user_id, approve))

    async def pin(self, chat_id: int, message_id: int) -> None:
        if not any(m.chat_id == chat_id and m.message_id == message_id for m in self.messages):
            raise MessageGone(f"message {message_id} not found")
        self.pinned.append((chat_id, message_id))

    async def is_group_admin(self, chat_id: int, user_id: int) -> bool:
        return (chat_id, user_id) in self.group_admins

    async def send_document(self, chat_id: int, filename: str, content: bytes, caption: str | None = None) -> int:
        if chat_id in self.unreachable:
            raise ChatNotFound(f"chat {chat_id} not found")
        sent = SentFile(chat_id, next(self._ids), filename, content, caption)
        self.files.append(sent)
        self.log.append(DoorEvent("file", chat_id, file=sent))
        return sent.message_id

    def chat(self, chat_id: int) -> list[Sent]:
        return [m for m in self.messages if m.chat_id == chat_id]

    def answers(self, chat_id: int) -> list[str]:
        return [e.text or "" for e in self.log if e.kind == "answer" and e.chat_id == chat_id]


class Simulator:
    """Simulated people talking to a bot through a memory door."""

    def __init__(
        self, bot: Buurtbot, door: MemoryDoor, *, with_update_ids: bool = True, first_update_id: int = 1000
    ) -> None:
        self.bot = bot
        self.door = door
        self._with_update_ids = with_update_ids
        self._update_ids = itertools.count(first_update_id)
        self._press_ids = itertools.count(1)

    def person(self, name: str, *, language: str = "nl", user_id: int | None = None) -> SimulatedPerson:
        first, _, last = name.partition(" ")
        sender = Sender(user_id or simulated_user_id(name), first, last or None, None, language)
        return SimulatedPerson(self, sender)

    def next_update_id(self) -> int | None:
        return next(self._update_ids) if self._with_update_ids else None

    def next_press_id(self, chat_id: int) -> str:
        return f"{chat_id}:{next(self._press_ids)}"


class SimulatedPerson:
    """One person in a private chat with the bot."""

    def __init__(self, simulator: Simulator, sender: Sender) -> None:
        self.simulator = simulator
        self.sender = sender

    @property
    def id(self) -> int:
        return self.sender.id

    @property
    def chat(self) -> ChatRef:
        return ChatRef(self.sender.id, ChatKind.PRIVATE)

    async def says(self, text: str, *, update_id: int | None = None, chat: ChatRef | None = None) -> None:
        message = Message(update_id or self.simulator.next_update_id(), self.sender, chat or self.chat, text)
        await self.simulator.bot.handle(message)

    async def taps(self, label: str | int, *, in_message: Sent | None = None) -> None:
        """Taps a button by (part of) its label, or by its number, on the latest message that has it."""
        sent, button = self.find_button(label, in_message)
        await self.press(sent, button.data or "")

    async def press(self, sent: Sent, data: str, *, update_id: int | None = None) -> None:
        """Sends a button press with any data: how a forged or stale button is tried."""
        press = ButtonPress(
            update_id or self.simulator.next_update_id(),
            self.sender,
            self.chat,
            sent.message_id,
            data,
            self.simulator.next_press_id(self.id),
        )
        await self.simulator.bot.handle(press)

    def find_button(self, label: str | int, in_message: Sent | None = None) -> tuple[Sent, Button]:
        """A number presses a button of the latest message with buttons; a label searches back."""
        with_buttons = [in_message] if in_message else [sent for sent in reversed(self.inbox) if sent.buttons]
        if isinstance(label, int):
            if with_buttons and 1 <= label <= len(with_buttons[0].buttons):
                return with_buttons[0], with_buttons[0].buttons[label - 1]
            raise LookupError(f"{self.sender.first_name} has no button {label}")
        for sent in with_buttons:
            for button in sent.buttons:
                if label.casefold() in button.label.casefold() and button.data is not None:
                    return sent, button
        raise LookupError(f"{self.sender.first_name} sees no button {label!r}")

    @property
    def inbox(self) -> list[Sent]:
        return self.simulator.door.chat(self.id)

    @property
    def last(self) -> Sent:
        if not self.inbox:
            raise LookupError(f"{self.sender.first_name} has no messages")
        return self.inbox[-1]

    @property
    def last_text(self) -> str:
        return self.last.text

    @property
    def answers(self) -> list[str]:
        return self.simulator.door.answers(self.id)

    @property
    def files(self) -> list[SentFile]:
        return [f for f in self.simulator.door.files if f.chat_id == self.id]

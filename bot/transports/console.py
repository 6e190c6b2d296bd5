"""The console door: the whole bot in a terminal. Each input line is what the current person types.

`/as NAME [en]` switches person. A number presses that button of the last message shown to the
current person, when it has one, and is text otherwise (so "20" places can be typed); `/tap N`
presses button N of their latest message with buttons. A message prints the moment the bot sends
or edits it, one for someone else under `[to NAME]`. Output is plain text, so a script can drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO

from bot.kernel.core import Buurtbot
from bot.kernel.replies import Button, Reply, html_to_plain
from bot.transports.memory import MemoryDoor, Sent, SentFile, SimulatedPerson, Simulator

log = logging.getLogger(__name__)

DEFAULT_PERSON = "Gast"
QUOTED = 40  # characters of an edited message's first line that say which message it was
HINT = "console/hint"


@dataclass
class ShowingDoor(MemoryDoor):
    """A memory door that shows each message the moment it is sent or edited, not after the next
    typed line: one the bot sends in the background (the outbox, a reminder) is seen at once."""

    show_message: Callable[[Sent, Reply, Reply | None], Awaitable[None]] | None = None  # (message, now, before)
    show_notice: Callable[[int, str], Awaitable[None]] | None = None
    show_file: Callable[[SentFile], Awaitable[None]] | None = None

    async def send(self, chat_id: int, reply: Reply) -> int:
        message_id = await super().send(chat_id, reply)
        if self.show_message is not None:
            await self.show_message(self.messages[-1], reply, None)
        return message_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        await super().edit(chat_id, message_id, reply)
        edited = self.log[-1].sent
        if self.show_message is not None and edited is not None:
            await self.show_message(edited, reply, edited.versions[-2])

    async def answer_press(self, press_id: str, text: str | None = None, *, alert: bool = False) -> None:
        await super().answer_press(press_id, text, alert=alert)
        if self.show_notice is not None and text:
            await self.show_notice(self.log[-1].chat_id, text)

    async def send_document(self, chat_id: int, filename: str, content: bytes, caption: str | None = None) -> int:
        message_id = await super().send_document(chat_id, filename, content, caption)
        if self.show_file is not None:
            await self.show_file(self.files[-1])
        return message_id


class ConsoleDoor:
    """The simulated people at the keyboard, and the screen they all read."""

    def __init__(self, bot: Buurtbot, output: TextIO) -> None:
        self.bot = bot
        self.door = ShowingDoor(
            show_message=self._show_message, show_notice=self._show_notice, show_file=self._show_file
        )
        bot.attach(self.door)
        self.simulator = Simulator(bot, self.door, with_update_ids=False)
        self.output = output
        self.current: SimulatedPerson = self.simulator.person(DEFAULT_PERSON)
        self._names: dict[int, str] = {}
        self._remember(self.current)
        # Per chat: the message shown last, and the latest shown with buttons (what N and /tap N press).
        self._last_shown: dict[int, Sent] = {}
        self._last_with_buttons: dict[int, Sent] = {}
        self._printing = asyncio.Lock()  # a name looked up for one message must not let the next pass it
        self.prompting = False  # a prompt waits on the screen: what prints meanwhile starts below it

    def _remember(self, person: SimulatedPerson) -> None:
        self._names[person.id] = person.sender.first_name

    @property
    def prompt(self) -> str:
        return f"{self.current.sender.first_name}> "

    def hint(self) -> str:
        """The first words on the screen: how to be someone, and how to begin."""
        village = self.bot.village
        return html_to_plain(village.renderer.render(village.settings.default_language, HINT))

    async def feed(self, line: str) -> None:
        line = line.strip()
        if not line or line.startswith("#"):
            return
        if line.startswith("/as ") or line == "/as":
            self._switch(line[4:].split())
        elif line.startswith("/tap ") or line == "/tap":
            number = line[5:].strip()
            sent = self._last_with_buttons.get(self.current.id)
            button = _button(sent, number)
            if sent is None or button is None:
                self._print(f"[no button {number}]")
                return
            await self._press(sent, button)
        elif line.isdigit() and (sent := self._last_shown.get(self.current.id)) and (button := _button(sent, line)):
            await self._press(sent, button)
        else:
            await self.current.says(line)

    async def _press(self, sent: Sent, button: Button) -> None:
        if button.data is None:  # a link: the console cannot open it, but shows where it goes
            self._print(f"[link: {button.url}]")
            return
        await self.current.press(sent, button.data)

    def _switch(self, words: list[str]) -> None:
        if not words:
            self._print(f"[you are {self.current.sender.first_name}]")
            return
        language = "nl"
        if len(words) > 1 and words[-1].casefold() in {"nl", "en"}:
            language = words.pop().casefold()
        self.current = self.simulator.person(" ".join(words), language=language)
        self._remember(self.current)
        self._print(f"[you are {' '.join(words)}]")

    async def _name(self, chat_id: int) -> str:
        if chat_id not in self._names:
            person = await self.bot.village.stores.directory.get_person(chat_id)
            self._names[chat_id] = person.name if person else str(chat_id)
        return self._names[chat_id]

    async def _to_whom(self, chat_id: int) -> str | None:
        """The name a message is for, or None when it is for the current person."""
        return None if chat_id == self.current.id else await self._name(chat_id)

    async def _show_message(self, sent: Sent, reply: Reply, was: Reply | None) -> None:
        async with self._printing:
            to = await self._to_whom(sent.chat_id)
            lines = []
            if was is not None:
                quoted = _first_line(was.plain_text)
                lines.append(f"[edited: to {to}, {quoted}]" if to else f"[edited: {quoted}]")
            elif to:
                lines.append(f"[to {to}]")
            buttons = [button for row in reply.buttons for button in row]
            lines.append(reply.plain_text)
            lines += [f"[{number}] {button.label}" for number, button in enumerate(buttons, start=1)]
            self._show(lines)
            self._last_shown[sent.chat_id] = sent
            if buttons:
                self._last_with_buttons[sent.chat_id] = sent

    async def _show_notice(self, chat_id: int, text: str) -> None:
        async with self._printing:
            to = await self._to_whom(chat_id)
            self._show([f"[to {to}] [notice] {text}" if to else f"[notice] {text}"], blank_after=False)

    async def _show_file(self, file: SentFile) -> None:
        async with self._printing:
            to = await self._to_whom(file.chat_id)
            folder = self.bot.village.settings.data_dir / "console-files"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / file.filename
            path.write_bytes(file.content)
            lines = [f"[to {to}] [file: {path}]" if to else f"[file: {path}]"]
            if file.caption:
                lines.append(html_to_plain(file.caption))
            self._show(lines)

    def _show(self, lines: list[str], *, blank_after: bool = True) -> None:
        """Prints a message; over a waiting prompt it starts on a line of its own, and the prompt
        is shown again under it, so what is typed next still goes to the right person."""
        text = "\n".join(lines) + ("\n\n" if blank_after else "\n")
        if self.prompting:
            text = "\n" + text + self.prompt
        self.output.write(text)
        self.output.flush()

    def _print(self, text: str) -> None:
        self.output.write(text + "\n")
        self.output.flush()


def _button(sent: Sent | None, number: str) -> Button | None:
    if sent is None or not number.isdigit() or not 1 <= int(number) <= len(sent.buttons):
        return None
    return sent.buttons[int(number) - 1]


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f'"{line}"' if len(line) <= QUOTED else f'"{line[:QUOTED].rstrip()}…"'


async def run_console(bot: Buurtbot, source: TextIO = sys.stdin, output: TextIO = sys.stdout) -> int:
    """Reads lines until the end of input; returns the exit status (0).

    Lines are read in a thread of their own, so the bot's messages print while the console waits
    for the next line, not only after it."""
    console = ConsoleDoor(bot, output)
    output.write(console.hint() + "\n\n")
    output.flush()
    interactive = source.isatty()
    lines = _read_lines(source)
    while True:
        if interactive:
            output.write(console.prompt)
            output.flush()
            console.prompting = True
        line = await lines.get()
        console.prompting = False
        if line is None:
            if interactive:
                output.write("\n")
            return 0
        await console.feed(line)


def _read_lines(source: TextIO) -> asyncio.Queue[str | None]:
    """Each line of SOURCE as it is typed, then None at its end. A daemon thread reads, so a
    Ctrl-C does not wait for a line that never comes."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def put(line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the console has ended and its loop is closed
            loop.call_soon_threadsafe(lines.put_nowait, line)

    def read() -> None:
        try:
            for line in iter(source.readline, ""):
                put(line)
        except (OSError, ValueError):
            log.exception("could not read the console's input; ending as at its end")
        put(None)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return lines

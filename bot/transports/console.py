"""The console door: the whole bot in a terminal. Each input line is what the current person types.

`/as NAME [en]` switches person, a number or `/tap N` presses button N of their latest message
with buttons. Output is plain text, one message after another, so a script can drive it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.kernel.core import Buurtbot
from bot.transports.memory import DoorEvent, MemoryDoor, SimulatedPerson, Simulator

DEFAULT_PERSON = "Gast"


class ConsoleDoor:
    def __init__(self, bot: Buurtbot, output: TextIO) -> None:
        self.bot = bot
        self.door = MemoryDoor()
        bot.attach(self.door)
        self.simulator = Simulator(bot, self.door, with_update_ids=False)
        self.output = output
        self.current: SimulatedPerson = self.simulator.person(DEFAULT_PERSON)
        self._names: dict[int, str] = {}
        self._shown = 0
        self._remember(self.current)

    def _remember(self, person: SimulatedPerson) -> None:
        self._names[person.id] = person.sender.first_name

    async def feed(self, line: str) -> None:
        line = line.strip()
        if not line or line.startswith("#"):
            return
        if line.startswith("/as ") or line == "/as":
            self._switch(line[4:].split())
            return
        tap = line.removeprefix("/tap ").strip()
        if tap.isdigit():
            try:
                await self.current.taps(int(tap))
            except LookupError:
                self._print(f"[no button {tap}]")
                return
        else:
            await self.current.says(line)
        await self._print_new()

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

    async def _print_new(self) -> None:
        for event in self.door.log[self._shown :]:
            if event.chat_id not in self._names:
                person = await self.bot.village.stores.directory.get_person(event.chat_id)
                self._names[event.chat_id] = person.name if person else str(event.chat_id)
            self._print_event(event)
        self._shown = len(self.door.log)

    def _print_event(self, event: DoorEvent) -> None:
        to_someone_else = event.chat_id != self.current.id
        header = f"[to {self._names.get(event.chat_id, event.chat_id)}] " if to_someone_else else ""
        if event.kind == "answer":
            if event.text:
                self._print(f"{header}[notice] {event.text}")
            return
        if event.kind == "file" and event.file is not None:
            folder = self.bot.village.settings.data_dir / "console-files"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / event.file.filename
            path.write_bytes(event.file.content)
            self._print(f"{header}[file: {path}]")
            if event.file.caption:
                self._print(event.file.caption)
            self._print("")
            return
        assert event.sent is not None
        edited = "[edited] " if event.kind == "edit" else ""
        if header or edited:
            self._print(f"{header}{edited}".rstrip())
        self._print(event.sent.text)
        for number, label in enumerate(event.sent.labels, start=1):
            self._print(f"[{number}] {label}")
        self._print("")

    def _print(self, text: str) -> None:
        self.output.write(text + "\n")
        self.output.flush()


async def run_console(bot: Buurtbot, source: TextIO = sys.stdin, output: TextIO = sys.stdout) -> int:
    """Reads lines until the end of input; returns the exit status (0)."""
    console = ConsoleDoor(bot, output)
    interactive = source.isatty()
    while True:
        if interactive:
            output.write(f"{console.current.sender.first_name}> ")
            output.flush()
        line = await asyncio.to_thread(source.readline)
        if not line:
            return 0
        await console.feed(line)

"""The console door: the whole bot in a terminal. Each input line is what the current person types.

`/as NAME [en] [whatsapp]` switches person. A number presses that button of the last message shown
to the current person, when it has one, and is text otherwise (so "20" places can be typed); `/tap N`
presses button N of their latest message with buttons. A message prints the moment the bot sends
or edits it, one for someone else under `[to NAME]`. Output is plain text, so a script can drive it.

Someone made with `whatsapp` (until `/as NAME telegram`) is a WhatsApp resident: what they get is
shown as the WhatsApp door renders it (`whatsapp.render`: WhatsApp's *bold* and _italics_, at most
3 reply buttons, else a list whose rows carry a title and, when it had to be shortened, the whole
label beneath; over 10 choices, pages behind a "Meer…" row), a number presses that button or row
(the "Meer…" row shows the next page), and the WhatsApp door's rules hold: no edits (an edit shows
nothing, and an outcome that replaces the tapped message comes as a new one), no toasts (an alert
comes as a message), and plain words ("hulp", "menu", a first "Hallo", an invite's "(code …)") are
the commands they mean (`whatsapp.words`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from bot.kernel.core import Buurtbot
from bot.kernel.port import MessageGone
from bot.kernel.replies import Reply, html_to_plain
from bot.transports.memory import MemoryDoor, Sent, SentFile, SimulatedPerson, Simulator

if TYPE_CHECKING:  # the WhatsApp package itself is imported only when needed (see below)
    from bot.language.renderer import Renderer
    from bot.transports.whatsapp.render import Phrases

log = logging.getLogger(__name__)

DEFAULT_PERSON = "Gast"
QUOTED = 40  # characters of an edited message's first line that say which message it was
HINT = "console/hint"
LANGUAGE_WORDS = frozenset({"nl", "en"})
WHATSAPP, TELEGRAM = "whatsapp", "telegram"  # the app a console person is on, after their name
ROW_INDENT = "    "  # a list row's whole label, under its shortened title


@dataclass(frozen=True)
class Choice:
    """What a number on the screen presses: a button's data, a link (shown, not opened), or on
    WhatsApp a list's "Meer…" row (its id asks for the next page)."""

    label: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Shown:
    """A message as the console showed it, and the choices its numbers press, in order."""

    sent: Sent
    choices: list[Choice]


@dataclass
class ShowingDoor(MemoryDoor):
    """A memory door that shows each message the moment it is sent or edited, not after the next
    typed line: one the bot sends in the background (the outbox, a reminder) is seen at once."""

    show_message: Callable[[Sent, Reply, Reply | None], Awaitable[None]] | None = None  # (message, now, before)
    show_notice: Callable[[int, str, bool], Awaitable[None]] | None = None  # (chat, text, alert)
    show_file: Callable[[SentFile], Awaitable[None]] | None = None
    no_edits: set[int] = field(default_factory=set)  # chats on WhatsApp, which cannot edit a message

    async def send(self, chat_id: int, reply: Reply) -> int:
        message_id = await super().send(chat_id, reply)
        if self.show_message is not None:
            await self.show_message(self.messages[-1], reply, None)
        return message_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        if chat_id in self.no_edits:
            raise MessageGone("WhatsApp cannot edit a message")  # as the WhatsApp door's port does
        await super().edit(chat_id, message_id, reply)
        edited = self.log[-1].sent
        if self.show_message is not None and edited is not None:
            await self.show_message(edited, reply, edited.versions[-2])

    async def answer_press(self, press_id: str, text: str | None = None, *, alert: bool = False) -> None:
        await super().answer_press(press_id, text, alert=alert)
        if self.show_notice is not None and text:
            await self.show_notice(self.log[-1].chat_id, text, alert)

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
        self._on_whatsapp = self.door.no_edits  # the people at this console who are on WhatsApp
        # Per chat: the message shown last, and the latest shown with choices (what N and /tap N press).
        self._last_shown: dict[int, Shown] = {}
        self._last_with_choices: dict[int, Shown] = {}
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
            shown = self._last_with_choices.get(self.current.id)
            choice = _choice(shown, number)
            if shown is None or choice is None:
                self._print(f"[no button {number}]")
                return
            await self._press(shown, choice)
        elif line.isdigit() and (shown := self._last_shown.get(self.current.id)) and (choice := _choice(shown, line)):
            await self._press(shown, choice)
        elif self.current.id in self._on_whatsapp:
            known = await self.bot.village.stores.directory.get_person(self.current.id)
            await self.current.says(_whatsapp_words(line, first=known is None))
        else:
            await self.current.says(line)

    async def _press(self, shown: Shown, choice: Choice) -> None:
        if choice.data is None:  # a link: the console cannot open it, but shows where it goes
            self._print(f"[link: {choice.url}]")
        elif shown.sent.chat_id in self._on_whatsapp and _is_next_page(choice.data):  # "Meer…": the door pages
            await self._show_next_page(shown, choice.data)
        else:
            await self.current.press(shown.sent, choice.data)

    def _switch(self, words: list[str]) -> None:
        if not words:
            self._print(f"[you are {self._who(self.current)}]")
            return
        language, app = "nl", None
        while len(words) > 1 and words[-1].casefold() in LANGUAGE_WORDS | {WHATSAPP, TELEGRAM}:
            word = words.pop().casefold()
            if word in LANGUAGE_WORDS:
                language = word
            else:
                app = word
        self.current = self.simulator.person(" ".join(words), language=language)
        self._remember(self.current)
        if app == WHATSAPP:
            self._on_whatsapp.add(self.current.id)
        elif app == TELEGRAM:
            self._on_whatsapp.discard(self.current.id)
        self._print(f"[you are {self._who(self.current)}]")

    def _who(self, person: SimulatedPerson) -> str:
        name = " ".join(filter(None, (person.sender.first_name, person.sender.last_name)))
        return f"{name}, on WhatsApp" if person.id in self._on_whatsapp else name

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
            if sent.chat_id in self._on_whatsapp:
                shown, choices = _whatsapp_screen(_as_whatsapp(reply, await self._phrases(sent.chat_id)))
            else:
                choices = [Choice(b.label, b.data, b.url) for row in reply.buttons for b in row]
                shown = [reply.plain_text, *_numbered(choices)]
            self._show(lines + shown)
            self._seen(Shown(sent, choices))

    def _seen(self, shown: Shown) -> None:
        self._last_shown[shown.sent.chat_id] = shown
        if shown.choices:
            self._last_with_choices[shown.sent.chat_id] = shown

    async def _show_next_page(self, shown: Shown, row_id: str) -> None:
        """The next page of a WhatsApp list, from the Reply the list was made of (as the door does)."""
        async with self._printing:
            page = _whatsapp_page(shown.sent.reply, row_id, await self._phrases(shown.sent.chat_id))
            if page is None:
                self._print("[no next page]")
                return
            lines, choices = _whatsapp_screen(page)
            self._show(lines)
            self._seen(Shown(shown.sent, choices))

    async def _phrases(self, chat_id: int) -> Phrases:
        """The words WhatsApp's rendering adds, in the person's language."""
        village = self.bot.village
        person = await village.stores.directory.get_person(chat_id)
        language = person.language if person and person.language else village.settings.default_language
        return _whatsapp_phrases(village.renderer, village.renderer.language(language))

    async def _show_notice(self, chat_id: int, text: str, alert: bool) -> None:
        async with self._printing:
            to = await self._to_whom(chat_id)
            if chat_id in self._on_whatsapp:  # no toasts on WhatsApp; an alert comes as a message
                if alert:
                    self._show([*([f"[to {to}]"] if to else []), _whatsapp_shown(text)])
                return
            self._show([f"[to {to}] [notice] {text}" if to else f"[notice] {text}"], blank_after=False)

    async def _show_file(self, file: SentFile) -> None:
        async with self._printing:
            to = await self._to_whom(file.chat_id)
            folder = self.bot.village.settings.data_dir / "console-files"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / file.filename
            path.write_bytes(file.content)
            lines = [f"[to {to}] [file: {path}]" if to else f"[file: {path}]"]
            if file.caption and file.chat_id in self._on_whatsapp:
                lines.append(_whatsapp_shown(file.caption))
            elif file.caption:
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


def _choice(shown: Shown | None, number: str) -> Choice | None:
    if shown is None or not number.isdigit() or not 1 <= int(number) <= len(shown.choices):
        return None
    return shown.choices[int(number) - 1]


def _numbered(choices: list[Choice]) -> list[str]:
    return [f"[{number}] {choice.label}" for number, choice in enumerate(choices, start=1)]


# --- WhatsApp's rendering --------------------------------------------------------------------------
#
# Imported when someone at the console is on WhatsApp: the WhatsApp package loads pywa, which a
# console without WhatsApp people need not wait for.


def _whatsapp_phrases(renderer: Renderer, language: str) -> Phrases:
    from bot.transports.whatsapp.port import phrases_from

    return phrases_from(renderer, language)


def _as_whatsapp(reply: Reply, phrases: Phrases) -> list[dict[str, Any]]:
    from bot.transports.whatsapp.render import render

    return render(reply, phrases)


def _whatsapp_page(reply: Reply, row_id: str, phrases: Phrases) -> list[dict[str, Any]] | None:
    from bot.transports.whatsapp.render import StalePage, render_page

    try:
        return render_page(reply, row_id, phrases)
    except StalePage:
        return None


def _is_next_page(data: str) -> bool:
    from bot.transports.whatsapp.render import PAGE_PREFIX, read_page_id

    return data.startswith(PAGE_PREFIX) and read_page_id(data) is not None


def _whatsapp_words(line: str, *, first: bool) -> str:
    from bot.transports.whatsapp.words import as_typed

    return as_typed(line, first=first)


def _whatsapp_shown(html_text: str) -> str:
    """A text as WhatsApp's formatting writes it, without the invisible word joiners a terminal may show."""
    from bot.transports.whatsapp.render import WORD_JOINER, whatsapp_text

    return whatsapp_text(html_text).replace(WORD_JOINER, "")


def _whatsapp_screen(messages: list[dict[str, Any]]) -> tuple[list[str], list[Choice]]:
    """WhatsApp messages as lines on the screen (a blank line between two), and the choices of the
    last: reply buttons as `[N] title`; a list as `[≡ its button]`, then its rows as `[N] title`,
    each with its whole label beneath when the title had to be shortened."""
    from bot.transports.whatsapp.render import WORD_JOINER

    lines: list[str] = []
    choices: list[Choice] = []
    for message in messages:
        if lines:
            lines.append("")
        if message["type"] == "text":
            lines.append(message["text"]["body"].replace(WORD_JOINER, ""))
            continue
        interactive = message["interactive"]
        lines.append(interactive["body"]["text"].replace(WORD_JOINER, ""))
        action = interactive["action"]
        if interactive["type"] == "button":
            choices = [Choice(b["reply"]["title"], b["reply"]["id"]) for b in action["buttons"]]
            lines += _numbered(choices)
            continue
        lines.append(f"[≡ {action['button']}]")
        choices = []
        for section in action["sections"]:
            for row in section["rows"]:
                choices.append(Choice(row["title"], row["id"]))
                lines.append(f"[{len(choices)}] {row['title']}")
                if "description" in row:
                    lines.append(ROW_INDENT + row["description"])
    return lines, choices


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

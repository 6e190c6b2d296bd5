"""Every door behind one test interface, so a scenario written once runs through each of them.

Doors: the in-memory door, and aiogram and python-telegram-bot, each by long polling and by
webhook, over real HTTP against the fake Bot API server. A person `says` and `taps`; each call
returns once the bot has finished handling that update.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.application.build import build_bot
from bot.application.settings import Settings
from bot.kernel.clock import Clock
from bot.kernel.core import Buurtbot
from bot.kernel.events import Event
from bot.kernel.replies import html_to_plain
from bot.transports.memory import MemoryDoor, Simulator
from tests.fakebotapi import FakeBotAPI, Record

DOORS = ("memory", "aiogram-polling", "aiogram-webhook", "ptb-polling", "ptb-webhook")
HANDLED_WITHIN_S = 30.0


@dataclass(frozen=True)
class Seen:
    """A message as the person sees it on screen."""

    text: str
    labels: list[str]
    data: list[str]


class Door(Protocol):
    name: str
    bot: Buurtbot

    async def says(self, who: Who, text: str) -> None: ...

    async def press(self, who: Who, data: str, message: int = -1) -> None:
        """Presses a button with `data` (made up, if a test forges one) under the who's message."""
        ...

    def inbox(self, who: Who) -> list[Seen]: ...

    def answers(self, who: Who) -> list[str]: ...

    async def stop(self) -> None: ...


@dataclass
class Who:
    """A person in a scenario: what they do goes through `door`, what they see comes from it."""

    door: Door
    name: str
    id: int
    language: str = "nl"

    async def says(self, text: str) -> None:
        await self.door.says(self, text)

    async def taps(self, label: str) -> None:
        """Taps the button whose label contains `label` on the latest message that has one."""
        inbox = self.inbox
        for index in range(len(inbox) - 1, -1, -1):
            for shown, data in zip(inbox[index].labels, inbox[index].data, strict=True):
                if label.casefold() in shown.casefold():
                    await self.door.press(self, data, index)
                    return
        raise LookupError(f"{self.name} sees no button {label!r}")

    async def forges(self, data: str) -> None:
        await self.door.press(self, data)

    @property
    def inbox(self) -> list[Seen]:
        return self.door.inbox(self)

    @property
    def last(self) -> Seen:
        return self.inbox[-1]

    @property
    def answers(self) -> list[str]:
        return self.door.answers(self)

    def saw(self, fragment: str) -> bool:
        return any(fragment in seen.text for seen in self.inbox)


class HandledUpdates:
    """Listens to the core and lets a test wait until a given update has been handled."""

    def __init__(self, bot: Buurtbot) -> None:
        self._handled: set[int] = set()
        self._changed = asyncio.Event()
        bot.listeners.append(self._on_handled)

    def _on_handled(self, event: Event, _: float) -> None:
        if event.update_id is not None:
            self._handled.add(event.update_id)
            self._changed.set()

    async def wait(self, update_id: int) -> None:
        async with asyncio.timeout(HANDLED_WITHIN_S):
            while update_id not in self._handled:
                self._changed.clear()
                await self._changed.wait()


# --- the memory door --------------------------------------------------------------------------


@dataclass
class MemoryHarness:
    bot: Buurtbot
    name: str = "memory"
    door: MemoryDoor = field(default_factory=MemoryDoor)

    def __post_init__(self) -> None:
        self.bot.attach(self.door)
        self.sim = Simulator(self.bot, self.door)

    def _person(self, who: Who) -> Any:
        return self.sim.person(who.name, language=who.language, user_id=who.id)

    async def says(self, who: Who, text: str) -> None:
        await self._person(who).says(text)

    async def press(self, who: Who, data: str, message: int = -1) -> None:
        person = self._person(who)
        await person.press(person.inbox[message], data)

    def inbox(self, who: Who) -> list[Seen]:
        return [Seen(sent.text, sent.labels, [b.data or "" for b in sent.buttons]) for sent in self.door.chat(who.id)]

    def answers(self, who: Who) -> list[str]:
        return self.door.answers(who.id)

    async def stop(self) -> None:
        await self.bot.stop()


# --- Telegram doors over real HTTP --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seen(record: Record) -> Seen:
    markup = record.get("reply_markup") or {}
    buttons = [button for row in markup.get("inline_keyboard", []) for button in row]
    return Seen(
        html_to_plain(record.get("text") or ""),
        [b["text"] for b in buttons],
        [b.get("callback_data", "") for b in buttons],
    )


@dataclass
class TelegramHarness:
    name: str
    api: FakeBotAPI
    bot: Buurtbot
    handled: HandledUpdates
    task: asyncio.Task[int]
    stop_event: asyncio.Event

    async def says(self, who: Who, text: str) -> None:
        update_id = self.api.push_message(who.id, text, first_name=who.name, language_code=who.language)
        await self.handled.wait(update_id)

    async def press(self, who: Who, data: str, message: int = -1) -> None:
        record = self.api.messages_to(who.id)[message]
        update_id = self.api.press_button(
            who.id, record, data, first_name=who.name, language_code=who.language, strict=False
        )
        await self.handled.wait(update_id)

    def inbox(self, who: Who) -> list[Seen]:
        return [_seen(record) for record in self.api.messages_to(who.id)]

    def answers(self, who: Who) -> list[str]:
        return [a.get("text") or "" for a in self.api.callback_answers if a.get("user_id") == who.id]

    async def stop(self) -> None:
        self.stop_event.set()
        assert await asyncio.wait_for(self.task, 20) == 0


async def start_door(
    name: str,
    settings: Settings,
    clock: Clock,
    api: FakeBotAPI | None = None,
    seed: Callable[[Buurtbot], Awaitable[None]] | None = None,
) -> Door:
    """Seeds the stores, then starts the bot behind the named door, as `buurtbot run` would."""
    if seed is not None:
        seeding = build_bot(settings, door="cli", clock=clock)
        await seeding.start()
        await seed(seeding)
        await seeding.stop()
    if name == "memory":
        bot = build_bot(settings, door="memory", clock=clock)
        harness = MemoryHarness(bot)
        await bot.start(background=False)
        return harness
    assert api is not None
    from bot.transports.telegram import run_telegram

    runtime, mode = name.split("-")
    overrides: dict[str, Any] = {
        "bot_token": api.token,
        "bot_api_base_url": api.base_url,
        "bot_runtime": runtime,
        "bot_api_timeout": 1.0,
        "bot_username": "",
    }
    if mode == "webhook":
        port = free_port()
        overrides |= {
            "webhook_url": "https://buurtbot.example/telegram/hook",
            "webhook_listen": f"127.0.0.1:{port}",
            "webhook_secret": "s3cret-for-tests",
        }
        api.push_webhooks_to(f"http://127.0.0.1:{port}/telegram/hook")
    door_settings = settings.model_copy(update=overrides)
    bot = build_bot(door_settings, door="telegram", clock=clock)
    handled = HandledUpdates(bot)
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(door_settings, stop, core=bot))
    await (api.wait_for_call("setWebhook") if mode == "webhook" else api.wait_for_call("getUpdates"))
    return TelegramHarness(name, api, bot, handled, task, stop)

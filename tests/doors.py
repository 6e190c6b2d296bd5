"""Every door behind one test interface, so a scenario written once runs through each of them.

Doors: the in-memory door, and aiogram and python-telegram-bot, each by long polling and by
webhook, over real HTTP against the fake Bot API server; and WhatsApp over real HTTP against the
fake Graph API: "whatsapp" runs both apps as `buurtbot run` does with both configured, the people
the seed put in the directory (the buurtverbinders, appointed by their Telegram ids) on Telegram
and everyone else on WhatsApp; "whatsapp-only" runs WhatsApp alone, everyone on it. A person
`says` and `taps`; each call returns once the bot has finished handling that update.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from bot.application.build import build_bot
from bot.application.settings import Settings
from bot.kernel.clock import Clock
from bot.kernel.core import Buurtbot
from bot.kernel.events import Event
from bot.kernel.replies import html_to_plain
from bot.transports.memory import MemoryDoor, Simulator
from bot.transports.whatsapp.ids import number_of
from bot.transports.whatsapp.render import WORD_JOINER, read_page_id
from storage.identities import WHATSAPP, AppIdentities
from storage.models import Person
from tests.fakebotapi import FakeBotAPI, Record
from tests.fakegraphapi import FakeGraphAPI, OutboundMessage

DOORS = ("memory", "aiogram-polling", "aiogram-webhook", "ptb-polling", "ptb-webhook", "whatsapp")
WHATSAPP_DOORS = ("whatsapp", "whatsapp-only")
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


# --- WhatsApp over real HTTP -------------------------------------------------------------------


def wa_id_of(person_id: int) -> str:
    """A Dutch mobile number for a scenario's person (their wa_id)."""
    return f"316{person_id % 10**8:08d}"


_MARKERS = "*_~`"


def whatsapp_plain(text: str) -> str:
    """What a person reads of a WhatsApp text: formatting markers gone, those that are text kept
    (the door puts word joiners around a marker that is text)."""
    shown = [
        char
        for index, char in enumerate(text)
        if char not in _MARKERS
        or (index and text[index - 1] == WORD_JOINER)
        or text[index + 1 : index + 2] == WORD_JOINER
    ]
    return "".join(shown).replace(WORD_JOINER, "")


def whatsapp_seen(message: OutboundMessage) -> Seen:
    """Reply buttons by their titles; list rows by their whole label (the description, when the
    title had to be shortened)."""
    if message.buttons:
        labels, data = [title for _, title in message.buttons], [button_id for button_id, _ in message.buttons]
    else:
        labels = [row.description or row.title for row in message.rows]
        data = [row.id for row in message.rows]
    return Seen(whatsapp_plain(message.text or ""), labels, data)


@dataclass
class WhatsAppHarness:
    """The bot with a WhatsApp door (and, for "whatsapp", a Telegram one beside it)."""

    name: str
    graph: FakeGraphAPI
    bot: Buurtbot
    handled: HandledUpdates
    task: asyncio.Task[int]
    stop_event: asyncio.Event
    api: FakeBotAPI | None = None  # Telegram, for the people in `on_telegram`
    on_telegram: set[int] = field(default_factory=set)
    phones: dict[int, str] = field(default_factory=dict)  # people who came with a number of their own
    _registered: set[int] = field(default_factory=set)

    def wa_id(self, who: Who) -> str:
        return self.phones.get(who.id) or wa_id_of(who.id)

    async def newcomer(self, name: str, phone: str, first_words: str) -> Who:
        """Someone the bot does not know writes from WhatsApp: they get a person id of their own."""
        delivery = await self.graph.send_text_from_user(phone, first_words, name=name)
        assert delivery.status == 200, delivery.statuses
        await self.handled.wait(number_of(delivery.message_id or ""))
        person_id = await AppIdentities(self.bot.village.stores.directory).person_of(WHATSAPP, phone)
        assert person_id is not None
        self.phones[person_id] = phone
        self._registered.add(person_id)
        return Who(self, name, person_id)

    def on_whatsapp(self, who: Who) -> bool:
        return who.id not in self.on_telegram

    async def register(self, person_id: int) -> None:
        """The scenario's person is this wa_id on WhatsApp (their scenario id kept as person id)."""
        if person_id not in self._registered:
            identities = AppIdentities(self.bot.village.stores.directory)
            wa_id = wa_id_of(person_id)
            await identities.register(
                person_id=person_id, app=WHATSAPP, app_id=wa_id, phone=wa_id, now=self.bot.village.clock.now()
            )
            self._registered.add(person_id)

    async def says(self, who: Who, text: str) -> None:
        if not self.on_whatsapp(who):
            assert self.api is not None
            await self.handled.wait(self.api.push_message(who.id, text, first_name=who.name))
            return
        await self.register(who.id)
        delivery = await self.graph.send_text_from_user(self.wa_id(who), text, name=who.name)
        assert delivery.status == 200, delivery.statuses
        await self.handled.wait(number_of(delivery.message_id or ""))

    async def press(self, who: Who, data: str, message: int = -1) -> None:
        if not self.on_whatsapp(who):
            assert self.api is not None
            record = self.api.messages_to(who.id)[message]
            update_id = self.api.press_button(who.id, record, data, first_name=who.name, strict=False)
            await self.handled.wait(update_id)
            return
        await self.register(who.id)
        wa_id = self.wa_id(who)
        sent = self.graph.messages_to(wa_id)
        tapped = sent[message]
        if data in dict(tapped.buttons):
            delivery = await self.graph.tap_button(wa_id, tapped, data, name=who.name)
        elif data in tapped.row_ids:
            delivery = await self.graph.choose_row(wa_id, tapped, data, name=who.name)
        else:
            delivery = await self.graph.forge_tap(wa_id, tapped, data, name=who.name)
        assert delivery.status == 200, delivery.statuses
        if read_page_id(data) is not None:  # the door shows the next page itself
            await self.graph.wait_for_messages(wa_id, len(sent) + 1, timeout=HANDLED_WITHIN_S)
        else:
            await self.handled.wait(number_of(delivery.message_id or ""))

    def inbox(self, who: Who) -> list[Seen]:
        if not self.on_whatsapp(who):
            assert self.api is not None
            return [_seen(record) for record in self.api.messages_to(who.id)]
        return [whatsapp_seen(message) for message in self.graph.messages_to(self.wa_id(who))]

    def answers(self, who: Who) -> list[str]:
        """On WhatsApp: the alerts, sent as texts that quote the tapped message."""
        if not self.on_whatsapp(who):
            assert self.api is not None
            return [a.get("text") or "" for a in self.api.callback_answers if a.get("user_id") == who.id]
        sent = self.graph.messages_to(self.wa_id(who))
        return [whatsapp_plain(message.text or "") for message in sent if message.reply_to]

    async def stop(self) -> None:
        self.stop_event.set()
        try:
            assert await asyncio.wait_for(self.task, 20) == 0
        finally:
            await self.graph.stop()
        refused = [v for v in self.graph.violations if v.kind in ("invalid", "template")]
        assert refused == [], refused


async def _listening(url: str, task: asyncio.Task[int]) -> None:
    async with asyncio.timeout(HANDLED_WITHIN_S), aiohttp.ClientSession() as http:
        while True:
            if task.done():
                raise RuntimeError(f"the bot stopped while starting: {task.result()}")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)


async def start_whatsapp_door(
    name: str, settings: Settings, clock: Clock, api: FakeBotAPI | None, on_telegram: set[int]
) -> WhatsAppHarness:
    from bot.transports.telegram import run_telegram
    from bot.transports.whatsapp import run_whatsapp

    graph = FakeGraphAPI(clock=clock)
    await graph.start()
    port = free_port()
    graph.webhook_url = f"http://127.0.0.1:{port}/whatsapp"
    overrides: dict[str, Any] = {
        "whatsapp_token": graph.token,
        "whatsapp_phone_id": graph.phone_id,
        "whatsapp_app_secret": graph.app_secret,
        "whatsapp_verify_token": graph.verify_token,
        "whatsapp_api_base_url": graph.base_url,
        "webhook_listen": f"127.0.0.1:{port}",
        "bot_api_timeout": 1.0,
    }
    both = name == "whatsapp"
    if both:
        assert api is not None
        overrides |= {"bot_token": api.token, "bot_api_base_url": api.base_url, "bot_username": ""}
    door_settings = settings.model_copy(update=overrides)
    bot = build_bot(door_settings, door="telegram" if both else "whatsapp", clock=clock)
    handled = HandledUpdates(bot)
    stop = asyncio.Event()
    if both:
        task = asyncio.create_task(run_telegram(door_settings, stop, core=bot, with_whatsapp=True))
    else:
        task = asyncio.create_task(run_whatsapp(door_settings, stop, core=bot))
    await _listening(f"http://127.0.0.1:{port}/healthz", task)
    if both and api is not None:
        await api.wait_for_call("getUpdates")
    harness = WhatsAppHarness(name, graph, bot, handled, task, stop, api if both else None, on_telegram)
    if not both:
        for person_id in on_telegram:  # alone, WhatsApp has them all
            await harness.register(person_id)
            # As if they wrote lately: outside the 24-hour window only templates go (not built yet).
            graph.open_window(wa_id_of(person_id))
        harness.on_telegram = set()
    return harness


async def _seeded_people(settings: Settings, clock: Clock) -> set[int]:
    reading = build_bot(settings, door="cli", clock=clock)
    await reading.start(background=False)
    try:
        async with reading.village.stores.directory.transaction() as session:
            from sqlmodel import select

            return {person.id for person in (await session.exec(select(Person))).all()}
    finally:
        await reading.stop()


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
    if name in WHATSAPP_DOORS:
        return await start_whatsapp_door(name, settings, clock, api, await _seeded_people(settings, clock))
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

"""Runs the bot on Telegram: picks the runtime, polls or serves a webhook, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import signal
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.app import build_bot
from bot.core import Buurtbot
from bot.events import Event
from bot.port import OutboundPort
from bot.settings import Runtime, Settings

log = logging.getLogger(__name__)


class TelegramRuntime(Protocol):
    """What the runner needs of a Telegram framework; aiogram and PTB each provide one."""

    name: str
    port: OutboundPort

    async def open(self) -> str:
        """Checks the token with getMe; returns the bot's username."""
        ...

    async def close(self) -> None: ...

    def event_from_json(self, data: dict[str, Any]) -> Event | None: ...

    async def set_webhook(self, url: str, secret: str) -> None: ...

    async def delete_webhook(self) -> None: ...

    async def start_polling(self) -> None: ...

    async def stop_polling(self) -> None:
        """Stops taking updates; every update already fetched has been submitted when this returns."""
        ...


def make_runtime(settings: Settings, core: Buurtbot) -> TelegramRuntime:
    # Imported here: each framework takes seconds to import and only one is used.
    if settings.bot_runtime == Runtime.PTB:
        from bot.transports.ptb_door import PtbRuntime

        return PtbRuntime(settings, core)
    from bot.transports.aiogram_door import AiogramRuntime

    return AiogramRuntime(settings, core)


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, or one derived from the token so it stays the same across restarts."""
    if settings.webhook_secret:
        return settings.webhook_secret
    return hashlib.sha256(f"buurtbot-webhook:{settings.bot_token}".encode()).hexdigest()[:48]


def listen_address(settings: Settings) -> tuple[str, int]:
    host, _, port = settings.webhook_listen.rpartition(":")
    return host or "0.0.0.0", int(port)


async def run_telegram(settings: Settings, stop: asyncio.Event | None = None, core: Buurtbot | None = None) -> int:
    """Runs until SIGTERM/SIGINT (or `stop`); finishes the updates in hand; returns 0.

    `core` is built from settings unless given (tests give one to watch it work).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    core = core or build_bot(settings, door="telegram")
    runtime = make_runtime(settings, core)
    core.attach(runtime.port)
    try:
        username = await runtime.open()
        core.village.bot_username = username
        await core.start()
        await runtime.port.set_commands(core.command_menus())
        # What is alive now (modules, the frameworks' models, the stores' mappings) lives as long
        # as the process: taken out of the garbage collector's sight, each full collection walks
        # only what came after. Without this one walked some 400,000 objects every few hundred
        # updates, a third of a second each on the benchmark machine.
        gc.collect()
        gc.freeze()
        if settings.webhook_url:
            await _serve_webhook(settings, core, runtime, stop)
        else:
            await _poll(settings, runtime, stop, username)
    finally:
        await core.stop()  # waits for the updates in hand, then closes the stores
        await runtime.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped")
    return 0


async def _poll(settings: Settings, runtime: TelegramRuntime, stop: asyncio.Event, username: str) -> None:
    await runtime.delete_webhook()
    await runtime.start_polling()
    log.info("Buurtbot @%s is polling %s with %s", username, settings.bot_api_base_url, runtime.name)
    await stop.wait()
    log.info("stopping: taking no new updates, finishing those in hand")
    await runtime.stop_polling()


async def _serve_webhook(settings: Settings, core: Buurtbot, runtime: TelegramRuntime, stop: asyncio.Event) -> None:
    from bot.transports.webhook import WebhookServer

    secret = webhook_secret(settings)
    server = WebhookServer(
        path=urlsplit(settings.webhook_url).path, secret=secret, parse=runtime.event_from_json, submit=core.submit
    )
    host, port = listen_address(settings)
    await server.start(host, port)
    await runtime.set_webhook(settings.webhook_url, secret)
    log.info("Buurtbot serves its webhook %s with %s", settings.webhook_url, runtime.name)
    await stop.wait()
    log.info("stopping: taking no new updates, finishing those in hand")
    await server.stop()

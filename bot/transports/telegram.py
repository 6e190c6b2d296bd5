"""Runs the bot on Telegram: picks the runtime, polls or serves a webhook, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from bot.application.build import build_bot, stopping_on_signals
from bot.application.settings import CannotStart, Runtime, Settings
from bot.kernel.core import Buurtbot
from bot.kernel.events import Event
from bot.kernel.port import CommandMenu, DoorError, OutboundPort, RateLimited, TransientDoorError
from bot.transports.errors import TokenRefused

if TYPE_CHECKING:
    from bot.transports.whatsapp import WhatsAppDoor

log = logging.getLogger(__name__)
T = TypeVar("T")

# Pauses between tries of a call the bot cannot start without (getMe, setWebhook): three tries.
START_RETRY_DELAYS_S = (0.5, 1.0)
START_RETRY_MAX_WAIT_S = 10.0  # the longest a rate-limited start-up call is waited for
# Pauses before trying a cosmetic call (the command menu) again, while the bot serves.
COSMETIC_RETRY_DELAYS_S = (5.0, 30.0, 120.0, 600.0)


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


async def run_telegram(
    settings: Settings, stop: asyncio.Event | None = None, core: Buurtbot | None = None, *, with_whatsapp: bool = False
) -> int:
    """Runs until SIGTERM/SIGINT (or `stop`); finishes the updates in hand; returns 0.

    What stops it from starting (a token Telegram refuses, an API server that does not answer,
    an address it cannot listen on) is a `CannotStart` naming the setting. `core` is built from
    settings unless given (tests give one to watch it work). `with_whatsapp` serves WhatsApp
    too, on the same core: its webhook on the same server as Telegram's (or on a server of its
    own on WEBHOOK_LISTEN while Telegram polls), each message sent through the person's app.
    """
    stop = stop or asyncio.Event()
    with stopping_on_signals(stop):
        core = core or build_bot(settings, door="telegram")
        runtime = make_runtime(settings, core)
        whatsapp = _whatsapp_door(settings, core) if with_whatsapp else None
        core.attach(runtime.port if whatsapp is None else _routing_port(runtime.port, whatsapp))
        starting_core = False
        menus: asyncio.Task[None] | None = None
        try:
            username = await _essential(runtime.open, "getMe", settings)
            core.village.identity.username = username
            starting_core = True
            await core.start()
            if whatsapp is not None:
                await whatsapp.open()
            menus = asyncio.create_task(_set_commands(runtime.port, core.command_menus()))
            # What is alive now (modules, the frameworks' models, the stores' mappings) lives as long
            # as the process: taken out of the garbage collector's sight, each full collection walks
            # only what came after. Without this one walked some 400,000 objects every few hundred
            # updates, a third of a second each on the benchmark machine.
            gc.collect()
            gc.freeze()
            if settings.webhook_url:
                await _serve_webhook(settings, core, runtime, stop, whatsapp)
            elif whatsapp is not None:
                await _poll_beside_whatsapp(settings, runtime, stop, username, whatsapp)
            else:
                await _poll(settings, runtime, stop, username)
        finally:
            if menus is not None:
                menus.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await menus
            if starting_core:
                await core.stop()  # waits for the updates in hand, then closes the stores
            await runtime.close()
            if whatsapp is not None:
                await whatsapp.close()
    log.info("stopped")
    return 0


async def _essential(call: Callable[[], Awaitable[T]], method: str, settings: Settings) -> T:
    """A call the bot cannot run without: tried a few times if Telegram does not answer, then
    a `CannotStart` that names the setting to look at."""
    for attempt, pause in enumerate((*START_RETRY_DELAYS_S, None), start=1):
        try:
            return await call()
        except TokenRefused as error:
            raise CannotStart("BOT_TOKEN: Telegram refused this token") from error
        except RateLimited as error:
            if pause is None:
                raise CannotStart(
                    f"BOT_API_BASE_URL: {method} is rate limited by {settings.bot_api_base_url}"
                ) from error
            log.debug("%s rate limited; trying again in %.1f s", method, error.retry_after)
            await asyncio.sleep(min(error.retry_after, START_RETRY_MAX_WAIT_S))
        except TransientDoorError as error:
            if pause is None:
                raise CannotStart(
                    f"BOT_API_BASE_URL: {settings.bot_api_base_url} does not answer "
                    f"({method} failed {attempt} times, the last: {_one_line(error)})"
                ) from error
            log.debug("%s failed (%s); trying again in %.1f s", method, error, pause)
            await asyncio.sleep(pause)
        except DoorError as error:
            variable = "WEBHOOK_URL" if method == "setWebhook" else "BOT_API_BASE_URL"
            raise CannotStart(f"{variable}: Telegram refused {method}: {_one_line(error)}") from error
    raise AssertionError("unreachable")  # the last pause is None: the loop returns or raises


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


async def _set_commands(port: OutboundPort, menus: Sequence[CommandMenu]) -> None:
    """The command menu is cosmetic: the bot serves without it. A failure is logged once, and the
    menu tried again a few times in the background, waiting longer each time."""
    for attempt, pause in enumerate((0.0, *COSMETIC_RETRY_DELAYS_S)):
        await asyncio.sleep(pause)
        try:
            await port.set_commands(menus)
        except RateLimited as error:
            problem: str = f"rate limited for {error.retry_after:.0f} s"
            await asyncio.sleep(error.retry_after)
        except Exception as error:  # whatever it is, the bot serves on; logged below
            problem = _one_line(error)
        else:
            if attempt:
                log.info("command menu set (try %d)", attempt + 1)
            return
        if not attempt:
            log.warning("could not set the command menu (%s); trying again in the background", problem)
    log.warning("gave up setting the command menu after %d tries; the bot works without it", attempt + 1)


async def _poll(settings: Settings, runtime: TelegramRuntime, stop: asyncio.Event, username: str) -> None:
    await _essential(runtime.delete_webhook, "deleteWebhook", settings)
    await runtime.start_polling()
    log.info("Buurtbot @%s is polling %s with %s", username, settings.bot_api_base_url, runtime.name)
    await stop.wait()
    log.info("stopping: taking no new updates, finishing those in hand")
    await runtime.stop_polling()


def _whatsapp_door(settings: Settings, core: Buurtbot) -> WhatsAppDoor:
    from bot.transports.whatsapp import WhatsAppDoor

    return WhatsAppDoor(settings, core)


def _routing_port(telegram: OutboundPort, whatsapp: WhatsAppDoor) -> OutboundPort:
    from bot.transports.whatsapp import RoutingPort

    return RoutingPort(telegram, whatsapp)


async def _poll_beside_whatsapp(
    settings: Settings, runtime: TelegramRuntime, stop: asyncio.Event, username: str, whatsapp: WhatsAppDoor
) -> None:
    """Telegram polls; WhatsApp's webhook (and /healthz) listen on WEBHOOK_LISTEN meanwhile."""
    from bot.transports.webhook import WebhookServer, listen

    server = WebhookServer()
    whatsapp.serve_on(server)
    await listen(server, settings)
    try:
        await _poll(settings, runtime, stop, username)
    finally:
        await server.stop()


async def _serve_webhook(
    settings: Settings,
    core: Buurtbot,
    runtime: TelegramRuntime,
    stop: asyncio.Event,
    whatsapp: WhatsAppDoor | None = None,
) -> None:
    from bot.transports.webhook import WebhookServer, listen

    secret = webhook_secret(settings)
    server = WebhookServer()
    path = urlsplit(settings.webhook_url).path
    server.serve_telegram(path=path, secret=secret, parse=runtime.event_from_json, submit=core.submit)
    if whatsapp is not None:
        try:
            whatsapp.serve_on(server)
        except ValueError as error:
            raise CannotStart(f"WEBHOOK_URL: its path {path} is WhatsApp's; choose another") from error
    await listen(server, settings)
    try:
        await _essential(lambda: runtime.set_webhook(settings.webhook_url, secret), "setWebhook", settings)
        log.info("Buurtbot serves its webhook %s with %s", settings.webhook_url, runtime.name)
        await stop.wait()
        log.info("stopping: taking no new updates, finishing those in hand")
    finally:
        await server.stop()

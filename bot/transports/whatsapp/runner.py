"""Runs the bot on WhatsApp alone: the webhook server on WEBHOOK_LISTEN, until SIGTERM.

(With a Telegram token too, `bot.transports.telegram.run_telegram` runs both, one core behind a
`RoutingPort`.)
"""

from __future__ import annotations

import asyncio
import logging

from bot.application.build import build_bot, stopping_on_signals
from bot.application.settings import Settings
from bot.kernel.core import Buurtbot
from bot.transports.webhook import WebhookServer, listen
from bot.transports.whatsapp.door import PATH, WhatsAppDoor

log = logging.getLogger(__name__)


async def run_whatsapp(settings: Settings, stop: asyncio.Event | None = None, core: Buurtbot | None = None) -> int:
    """Serves WhatsApp's webhook until SIGTERM/SIGINT (or `stop`); finishes the updates in hand."""
    stop = stop or asyncio.Event()
    with stopping_on_signals(stop):
        core = core or build_bot(settings, door="whatsapp")
        door = WhatsAppDoor(settings, core)
        core.attach(door.port)
        server = WebhookServer()
        door.serve_on(server)
        started = False
        try:
            await core.start()
            started = True
            await door.open()
            await listen(server, settings)
            log.info("Buurtbot serves WhatsApp at %s on %s", PATH, settings.webhook_listen)
            await stop.wait()
            log.info("stopping: taking no new updates, finishing those in hand")
        finally:
            await server.stop()
            if started:
                await core.stop()
            await door.close()
    log.info("stopped")
    return 0

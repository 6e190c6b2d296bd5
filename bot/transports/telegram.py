"""Runs the bot on Telegram with the chosen runtime, and stops it cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.app import build_bot
from bot.settings import Runtime, Settings

log = logging.getLogger(__name__)


async def run_telegram(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Long polling until SIGTERM/SIGINT (or `stop` is set); finishes updates in hand; returns 0."""
    if settings.bot_runtime != Runtime.AIOGRAM:
        log.error("BOT_RUNTIME=%s: only the aiogram door is built so far", settings.bot_runtime)
        return 2
    from bot.transports.aiogram_door import AiogramDoor, AiogramPort, make_bot

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    core = build_bot(settings, door="telegram")
    telegram = make_bot(settings)
    core.attach(AiogramPort(telegram))
    await core.start()
    try:
        me = await telegram.get_me()
        core.village.bot_username = me.username or ""
        await AiogramPort(telegram).set_commands(core.command_menus())
        await telegram.delete_webhook(drop_pending_updates=False)
        door = AiogramDoor(core)
        polling = asyncio.create_task(door.poll(telegram))
        stopping = asyncio.create_task(stop.wait())
        log.info("Buurtbot @%s is polling %s", me.username, settings.bot_api_base_url)
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not polling.done():
            log.info("stopping: taking no new updates, finishing those in hand")
            await door.stop()
        stopping.cancel()
        await polling
    finally:
        await core.stop()
        await telegram.session.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped")
    return 0

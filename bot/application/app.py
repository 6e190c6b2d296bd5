"""Wiring: builds the bot from settings and runs it through the right door."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from bot.application.demo import DEMO_VILLAGE, seed_demo
from bot.application.settings import Settings
from bot.application.village import Village
from bot.kernel.clock import Clock, SystemClock
from bot.kernel.core import Buurtbot
from handlers import build_router

log = logging.getLogger(__name__)


_asked_to_stop = False


def remember_stop_request(signum: int, _frame: object) -> None:
    """A SIGTERM before the event loop listens for it (while the bot still starts): kept, and
    acted on as soon as the runner listens, so the bot stops cleanly instead of dying mid-start."""
    global _asked_to_stop
    _asked_to_stop = True


def asked_to_stop_early() -> bool:
    return _asked_to_stop


def build_bot(settings: Settings, *, door: str, clock: Clock | None = None) -> Buurtbot:
    village = Village.build(settings, clock or SystemClock())
    return Buurtbot(village, build_router(), door=door, max_concurrent=settings.max_concurrent_updates)


async def run(settings: Settings, *, source: TextIO = sys.stdin, output: TextIO = sys.stdout) -> int:
    """The main job: the Telegram bot with a token, otherwise the console door on the same data."""
    if settings.bot_token:
        from bot.transports.telegram import run_telegram

        return await run_telegram(settings)
    return await run_console_door(settings, source=source, output=output, seed_if_empty=True)


async def run_console_door(
    settings: Settings, *, source: TextIO = sys.stdin, output: TextIO = sys.stdout, seed_if_empty: bool = False
) -> int:
    from bot.transports.console import run_console

    bot = build_bot(settings, door="console")
    bot.flood = None  # one person at a keyboard, or a script piping many lines: no flood control
    await bot.start()
    try:
        if seed_if_empty and not await bot.village.networks.all():
            added = await seed_demo(bot.village)
            verbinders = ", ".join(f"{d.verbinder} ({d.name})" for d in DEMO_VILLAGE)
            output.write(
                f"[no networks in {settings.data_dir} yet: seeded the demo village: {', '.join(added)}]\n"
                f"[buurtverbinders: {verbinders}; type /as Jan to be one]\n"
                "[type /start to begin; a number taps a button; /as NAME switches person; Ctrl-D ends]\n\n"
            )
        return await run_console(bot, source, output)
    finally:
        await bot.stop()

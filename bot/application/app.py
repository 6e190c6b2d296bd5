"""Wiring: builds the bot from settings and runs it through the right door."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from bot.application.build import build_bot
from bot.application.demo import seed_demo_if_empty
from bot.application.settings import Settings

log = logging.getLogger(__name__)


async def run(settings: Settings, *, source: TextIO = sys.stdin, output: TextIO = sys.stdout) -> int:
    """The main job: Telegram with a token, WhatsApp with its settings, both with both (one core,
    each person written to on their own app); with neither, the console door on the same data."""
    # Read here, not in the door: importing pywa costs a second a Telegram-only bot need not pay.
    whatsapp = bool(settings.whatsapp_token or settings.whatsapp_phone_id)
    if settings.bot_token:
        from bot.transports.telegram import run_telegram

        return await run_telegram(settings, with_whatsapp=whatsapp)
    if whatsapp:
        from bot.transports.whatsapp import run_whatsapp

        return await run_whatsapp(settings)
    return await open_console(settings, source=source, output=output)


async def open_console(settings: Settings, *, source: TextIO = sys.stdin, output: TextIO = sys.stdout) -> int:
    """The console door on DATA_DIR; a data folder without networks first gets the demo village."""
    from bot.transports.console import run_console

    bot = build_bot(settings, door="console")
    bot.flood = None  # one person at a keyboard, or a script piping many lines: no flood control
    await bot.start()  # DATA_DIR's lock first: never seed under a bot that runs on this data
    try:
        added = await seed_demo_if_empty(bot.village)
        if added:
            networks = ", ".join(demo.name for demo in added)
            verbinders = ", ".join(f"/as {demo.verbinder}" for demo in added)
            output.write(
                f"[no networks in {settings.data_dir} yet: seeded the demo village: {networks};"
                f" buurtverbinders: {verbinders}]\n"
            )
        return await run_console(bot, source, output)
    finally:
        await bot.stop()

"""A stop that comes while fetched updates are being kept: they are kept and handled before the
bot stops, on both runtimes (not cut off halfway, to wait unhandled for the next start)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest

import bot.transports.aiogram_door
import bot.transports.ptb_door  # noqa: F401 - the frameworks take seconds to import; pay it at collection
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.kernel.events import Event
from bot.kernel.replies import html_to_plain
from tests.doors import TelegramHarness, start_door
from tests.fakebotapi import FakeBotAPI

ANNA = 2002


@pytest.mark.parametrize("door_name", ["aiogram-polling", "ptb-polling"])
async def test_updates_being_kept_when_the_stop_comes_are_handled_before_the_bot_stops(
    settings: Settings, clock: ManualClock, door_name: str
) -> None:
    async with FakeBotAPI(token="123456:STOP") as api:
        door = await start_door(door_name, settings, clock, api)
        assert isinstance(door, TelegramHarness)
        core = door.bot
        keeping, cut_off, go_on = asyncio.Event(), asyncio.Event(), asyncio.Event()
        submit_all = core.submit_all

        async def slow_submit_all(events: Sequence[Event]) -> None:
            keeping.set()
            try:
                await go_on.wait()
            except asyncio.CancelledError:
                cut_off.set()
                raise
            await submit_all(events)

        core.submit_all = slow_submit_all  # type: ignore[method-assign]
        api.push_message(ANNA, "/privacy", first_name="Anna")
        await asyncio.wait_for(keeping.wait(), 10)
        door.stop_event.set()
        # A runtime that cuts the keeping off does so at once; one that lets it finish never does.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cut_off.wait(), 1.0)
        go_on.set()
        assert await asyncio.wait_for(door.task, 20) == 0
        assert not cut_off.is_set()
        assert any("Uw gegevens bij Buurtbot" in html_to_plain(r["text"] or "") for r in api.messages_to(ANNA))

"""Builds the bot from settings (the village's services, the router, the core), and keeps a stop asked for early."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

from bot.application.settings import Settings
from bot.application.village import Village
from bot.kernel.clock import Clock, SystemClock
from bot.kernel.core import Buurtbot
from handlers import build_router

_asked_to_stop = False
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def remember_stop_request(signum: int, _frame: object) -> None:
    """A SIGTERM before the event loop listens for it (while the bot still starts): kept, and
    acted on as soon as the runner listens, so the bot stops cleanly instead of dying mid-start."""
    global _asked_to_stop
    _asked_to_stop = True


@contextlib.contextmanager
def stopping_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """While a runner serves, SIGTERM and SIGINT set `stop` (and a SIGTERM kept from start-up sets it
    at once), so the updates in hand can finish."""
    loop = asyncio.get_running_loop()
    for signum in _STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    if _asked_to_stop:
        stop.set()
    try:
        yield
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)


def build_bot(settings: Settings, *, door: str, clock: Clock | None = None) -> Buurtbot:
    village = Village.build(settings, clock or SystemClock())
    return Buurtbot(village, build_router(), door=door, max_concurrent=settings.max_concurrent_updates)

"""Builds the bot from settings (the village's services, the router, the core), and keeps a stop asked for early."""

from __future__ import annotations

from bot.application.settings import Settings
from bot.application.village import Village
from bot.kernel.clock import Clock, SystemClock
from bot.kernel.core import Buurtbot
from handlers import build_router

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

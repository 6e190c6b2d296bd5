"""Shared fixtures: settings on a temporary data folder, a controlled clock, a small village."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.application.build import build_bot
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.kernel.core import Buurtbot
from bot.transports.memory import MemoryDoor, SimulatedPerson, Simulator
from storage.models import Network

CM_ID = 4242  # the community manager's Telegram id in these tests


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "bot_token": "",
        "community_manager_ids": frozenset({CM_ID}),
        "bot_username": "buurtbot_test",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))


@dataclass
class Village:
    """A running bot behind a memory door, with Breugel-Noord (buurtverbinder Jan) and Son-Centrum."""

    bot: Buurtbot
    door: MemoryDoor
    sim: Simulator
    noord: Network
    centrum: Network
    jan: SimulatedPerson
    marieke: SimulatedPerson

    def person(self, name: str, **kwargs: object) -> SimulatedPerson:
        return self.sim.person(name, **kwargs)  # type: ignore[arg-type]


async def start_village(
    settings: Settings, clock: ManualClock, *, seed: bool = True, first_update_id: int = 1000
) -> Village:
    bot = build_bot(settings, door="memory", clock=clock)
    door = MemoryDoor()
    bot.attach(door)
    await bot.start(background=False)  # the test runs the scheduler with its own clock
    sim = Simulator(bot, door, first_update_id=first_update_id)
    jan, marieke = sim.person("Jan"), sim.person("Marieke")
    village = bot.village
    if seed:
        now = clock.now()
        noord = await village.networks.add("Breugel-Noord", ["Nieuwstraat", "Kerkstraat", "Dommelstraat"], now)
        centrum = await village.networks.add("Son-Centrum", ["Markt", "Molenstraat", "Kloosterstraat"], now)
        await village.memberships.appoint(noord, jan.id, by=None, now=now, name="Jan")
        await village.memberships.appoint(centrum, marieke.id, by=None, now=now, name="Marieke")
    else:
        noord = await village.networks.by_slug("breugel-noord")
        centrum = await village.networks.by_slug("son-centrum")
    return Village(bot, door, sim, noord, centrum, jan, marieke)


@pytest.fixture
async def village(settings: Settings, clock: ManualClock) -> AsyncIterator[Village]:
    started = await start_village(settings, clock)
    yield started
    await started.bot.stop()

"""The demo village: a few street networks of Son en Breugel with a buurtverbinder each."""

from __future__ import annotations

from dataclasses import dataclass

from bot.application.village import Village
from bot.transports.memory import simulated_user_id
from storage.models import JoinPolicy


@dataclass(frozen=True)
class DemoNetwork:
    name: str
    streets: tuple[str, ...]
    verbinder: str  # a console name: `/as Jan` in the console is this buurtverbinder


DEMO_VILLAGE = (
    DemoNetwork("Breugel-Noord", ("Nieuwstraat", "Kerkstraat", "Dommelstraat", "Hooghuisstraat"), "Jan"),
    DemoNetwork(
        "Son-Centrum", ("Markt", "Molenstraat", "Kloosterstraat", "Europalaan", "Sint Genovevalaan"), "Marieke"
    ),
    DemoNetwork("'t Zand", ("Zandstraat", "Boslaan", "Van den Elsenstraat", "Lieshoutseweg"), "Henk"),
)


async def seed_demo(village: Village) -> list[str]:
    """Adds the demo networks that are not there yet; returns the names added."""
    now = village.clock.now()
    existing = {network.name for network in await village.networks.all()}
    added = []
    for demo in DEMO_VILLAGE:
        if demo.name in existing:
            continue
        network = await village.networks.add(demo.name, demo.streets, now, JoinPolicy.APPROVAL)
        await village.memberships.appoint(
            network, simulated_user_id(demo.verbinder), by=None, now=now, name=demo.verbinder
        )
        added.append(demo.name)
    return added


async def seed_demo_if_empty(village: Village) -> list[DemoNetwork]:
    """A village with no networks yet (a fresh data folder) gets the demo village, as the console
    door's first run does; returns the demo networks added (none when there were networks)."""
    if await village.networks.all():
        return []
    added = set(await seed_demo(village))
    return [demo for demo in DEMO_VILLAGE if demo.name in added]

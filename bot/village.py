"""The services of one village, built once from settings and handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.flows import Flows
from bot.membership import Memberships
from bot.messenger import Messenger
from bot.networks import Networks
from bot.people import People
from bot.renderer import Renderer
from bot.settings import Settings
from storage.stores import Stores


@dataclass
class Village:
    settings: Settings
    clock: Clock
    stores: Stores
    renderer: Renderer
    messenger: Messenger
    people: People
    networks: Networks
    memberships: Memberships
    flows: Flows
    bot_username: str = ""

    @classmethod
    def build(cls, settings: Settings, clock: Clock, renderer: Renderer | None = None) -> Village:
        stores = Stores(settings.data_dir, max_open=settings.open_network_stores)

        async def unreachable(person_id: int) -> None:
            await stores.directory.mark_unreachable(person_id, clock.now())

        return cls(
            settings=settings,
            clock=clock,
            stores=stores,
            renderer=renderer or Renderer(timezone=settings.zone),
            messenger=Messenger(on_unreachable=unreachable),
            people=People(
                stores.directory,
                community_managers=settings.community_manager_ids,
                default_language=settings.default_language,
            ),
            networks=Networks(stores),
            memberships=Memberships(stores, community_managers=settings.community_manager_ids),
            flows=Flows(stores.directory),
            bot_username=settings.bot_username,
        )

    def deep_link(self, code: str) -> str:
        return f"https://t.me/{self.bot_username or 'buurtbot'}?start={code}"

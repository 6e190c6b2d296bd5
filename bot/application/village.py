"""The services of one village, built once from settings and handed to every handler."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.application.settings import Settings
from bot.delivery.messenger import Messenger
from bot.delivery.scheduler import Scheduler
from bot.joining.membership import Memberships
from bot.joining.networks import Networks
from bot.joining.people import People
from bot.kernel.clock import Clock
from bot.kernel.flows import Flows
from bot.kernel.replies import Keyboard, Reply
from bot.language.renderer import Renderer
from storage.models import Network, OutboxKind, Person
from storage.stores import Stores

if TYPE_CHECKING:
    from bot.activities.service import Activities
    from bot.announcements.service import Announcements
    from bot.delivery.outbox import Outbox
    from bot.groups.service import Groups
    from bot.neighbour_help.service import Help
    from bot.network_admin.service import NetworkAdmin

Labels = Callable[..., str]  # label(name, **values) in one person's language
KeyboardFor = Callable[[Labels], Keyboard]  # buttons built in the recipient's language


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
    scheduler: Scheduler
    help: Help
    activities: Activities
    outbox: Outbox
    announcements: Announcements
    admin: NetworkAdmin
    groups: Groups
    bot_username: str = ""

    @classmethod
    def build(cls, settings: Settings, clock: Clock, renderer: Renderer | None = None) -> Village:
        stores = Stores(settings.data_dir, max_open=settings.open_network_stores)

        async def unreachable(person_id: int) -> None:
            await stores.directory.mark_unreachable(person_id, clock.now())

        scheduler = Scheduler(stores, clock)
        from bot.delivery.outbox import RateBudget

        budget = RateBudget(settings.broadcast_rate)
        village = cls(
            settings=settings,
            clock=clock,
            stores=stores,
            renderer=renderer or Renderer(timezone=settings.zone),
            messenger=Messenger(on_unreachable=unreachable, budget=budget),
            people=People(
                stores.directory,
                community_managers=settings.community_manager_ids,
                default_language=settings.default_language,
            ),
            networks=Networks(stores),
            memberships=Memberships(stores, community_managers=settings.community_manager_ids),
            flows=Flows(stores.directory),
            scheduler=scheduler,
            help=None,  # type: ignore[arg-type]  # set just below: these services need the village
            activities=None,  # type: ignore[arg-type]
            outbox=None,  # type: ignore[arg-type]
            announcements=None,  # type: ignore[arg-type]
            admin=None,  # type: ignore[arg-type]
            groups=None,  # type: ignore[arg-type]
            bot_username=settings.bot_username,
        )
        from bot.activities.service import Activities
        from bot.announcements.service import Announcements
        from bot.delivery.outbox import Outbox
        from bot.groups.service import Groups
        from bot.neighbour_help.service import Help
        from bot.network_admin.service import NetworkAdmin

        village.help = Help(village)
        village.activities = Activities(village)
        village.outbox = Outbox(village, budget)
        village.announcements = Announcements(village)
        village.admin = NetworkAdmin(village)
        village.groups = Groups(village)
        return village

    def labels_for(self, language: str) -> Labels:
        return functools.partial(self.renderer.label, self.renderer.language(language))

    def compose(self, person: Person, template: str, /, *, buttons: KeyboardFor | None = None, **values: Any) -> Reply:
        """A message for someone in their own language: what `tell` sends now, or the outbox later."""
        language = self.renderer.language(person.language)
        text = self.renderer.render(language, template, **values)
        keyboard = buttons(self.labels_for(language)) if buttons else ()
        return Reply(text, keyboard)

    async def tell_many(
        self,
        network: Network,
        people: Iterable[Person],
        template: str,
        /,
        *,
        kind: OutboxKind,
        ref: str,
        buttons: KeyboardFor | None = None,
        **values: Any,
    ) -> int:
        """Queues the message for each person the bot can reach, each in their own language;
        returns how many. The outbox sends them within Telegram's limits, not lost if the bot
        stops halfway, and keeps where each one landed (looked up by `kind` and `ref`)."""
        messages = [
            (person.id, self.compose(person, template, buttons=buttons, **values))
            for person in people
            if person.unreachable_at is None
        ]
        return await self.outbox.queue(network, messages, kind=kind, ref=ref)

    async def tell(
        self, person: Person, template: str, /, *, buttons: KeyboardFor | None = None, **values: Any
    ) -> int | None:
        """Writes to someone in their own language (their private chat is their id)."""
        return await self.messenger.send(person.id, self.compose(person, template, buttons=buttons, **values))

    async def retell(
        self, person: Person, message_id: int, template: str, /, *, buttons: KeyboardFor | None = None, **values: Any
    ) -> bool:
        """Changes a message sent to someone earlier, in their language."""
        language = self.renderer.language(person.language)
        text = self.renderer.render(language, template, **values)
        keyboard = buttons(self.labels_for(language)) if buttons else ()
        return await self.messenger.edit(person.id, message_id, Reply(text, keyboard))

    def deep_link(self, code: str) -> str:
        return f"https://t.me/{self.bot_username or 'buurtbot'}?start={code}"

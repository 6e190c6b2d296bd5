"""The transport-neutral core: takes events from any door, once each, a bounded number at a time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot import commands
from bot.context import Context
from bot.events import ButtonPress, Event
from bot.limits import UPDATE_MEMORY
from bot.port import CommandMenu, MenuCommand, OutboundPort
from bot.refusals import Refusal
from bot.router import Router
from bot.settings import LANGUAGES
from bot.village import Village

log = logging.getLogger(__name__)


class Buurtbot:
    """One bot: a village's services, a router, and a door to talk through."""

    def __init__(self, village: Village, router: Router, *, door: str, max_concurrent: int = 32) -> None:
        self.village = village
        self.router = router
        self.door = door
        self._slots = asyncio.Semaphore(max_concurrent)
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_users: dict[int, int] = {}
        self._in_hand: set[asyncio.Task[None]] = set()

    def attach(self, port: OutboundPort) -> None:
        self.village.messenger.attach(port)

    async def start(self) -> None:
        await self.village.stores.open()
        # Telegram redelivers for at most a day; older update ids need not be remembered.
        cutoff = self.village.clock.now() - UPDATE_MEMORY
        await self.village.stores.directory.forget_updates_before(cutoff)

    async def stop(self) -> None:
        await self.drain()
        await self.village.stores.close()

    def command_menus(self) -> Sequence[CommandMenu]:
        """Telegram's command menu in every language; the default language also for everyone else."""
        renderer = self.village.renderer
        menus = []
        for language in LANGUAGES:
            entries = [
                MenuCommand(commands.shown_name(c, language), renderer.label(language, f"command_{c.name}"))
                for c in commands.ALL
                if c.in_menu
            ]
            menus.append(CommandMenu(language, entries))
            if language == self.village.settings.default_language:
                menus.append(CommandMenu(None, entries))
        return menus

    # --- intake ---------------------------------------------------------------------------

    async def submit(self, event: Event) -> None:
        """Accepts an event for handling in the background; waits only while all slots are busy."""
        await self._slots.acquire()
        task = asyncio.create_task(self._handle_in_slot(event))
        self._in_hand.add(task)
        task.add_done_callback(self._in_hand.discard)

    async def drain(self) -> None:
        """Waits for every event in hand to finish."""
        while self._in_hand:
            await asyncio.gather(*list(self._in_hand), return_exceptions=True)

    async def _handle_in_slot(self, event: Event) -> None:
        try:
            chat = event.chat.id
            lock = self._chat_locks.setdefault(chat, asyncio.Lock())
            self._chat_users[chat] = self._chat_users.get(chat, 0) + 1
            try:
                async with lock:  # one chat's events in the order they came
                    await self.handle(event)
            finally:
                self._chat_users[chat] -= 1
                if not self._chat_users[chat]:
                    del self._chat_users[chat], self._chat_locks[chat]
        finally:
            self._slots.release()

    async def handle(self, event: Event) -> None:
        """Handles one event to the end. A redelivered update changes nothing."""
        village = self.village
        now = village.clock.now()
        if event.update_id is not None and not await village.stores.directory.claim_update(
            door=self.door, update_id=event.update_id, now=now
        ):
            log.info("update %s already handled; ignored", event.update_id)
            return
        person = await village.people.seen(event.sender, now)
        standing = await village.people.standing(person)
        flow = await village.flows.current(person.id, event.chat.id, now)
        ctx = Context(village, event, standing, flow, now)
        try:
            await self.router.route(ctx)
        except Refusal as refusal:
            await self._refuse(ctx, refusal)
        except Exception:
            log.exception("handling %r failed", event)
            await self._apologise(ctx)

    async def _refuse(self, ctx: Context, refusal: Refusal) -> None:
        template = f"refusal/{refusal.reason.value}"
        if isinstance(ctx.event, ButtonPress) and not ctx.answered:
            await ctx.notice(template, alert=True, **refusal.values)
        else:
            await ctx.reply(template, **refusal.values)

    async def _apologise(self, ctx: Context) -> None:
        try:
            if isinstance(ctx.event, ButtonPress) and not ctx.answered:
                await ctx.notice("common/sorry", alert=True)
            else:
                await ctx.reply("common/sorry")
        except Exception:
            log.exception("could not even apologise to %s", ctx.person.id)

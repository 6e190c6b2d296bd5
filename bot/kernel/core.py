"""The transport-neutral core: takes events from any door, once each, a bounded number at a time."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.application.data_lock import DataLock
from bot.application.settings import LANGUAGES
from bot.application.village import Village
from bot.joining import language_for
from bot.kernel import commands, failpoints
from bot.kernel.context import Context
from bot.kernel.events import ButtonPress, Event, JoinRequest, event_from_json, event_to_json
from bot.kernel.flood import FloodGate, Verdict
from bot.kernel.limits import BUSY_RETRY_S, UPDATE_MEMORY
from bot.kernel.port import CommandMenu, MenuCommand, OutboundPort
from bot.kernel.refusals import Refusal
from bot.kernel.replies import Reply
from bot.kernel.router import Router
from storage.errors import StoreBusy

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
        # Update ids are kept and marked handled in batches: under load one transaction does many.
        self._arriving: list[tuple[int, str, asyncio.Future[bool]]] = []
        self._keeping: asyncio.Task[None] | None = None
        self._handled: list[int] = []
        self._marking: asyncio.Task[None] | None = None
        # In memory: a restart forgives every flooder. None turns flood control off (a door with
        # nobody to protect against, such as the operator's own console).
        self.flood: FloodGate | None = FloodGate()
        # Called after each event with the seconds it took: for tests that wait and for benchmarks.
        self.listeners: list[Callable[[Event, float], None]] = []
        self._data_lock = DataLock(village.settings.data_dir)
        # Updates whose store another process held too long, waiting to be tried again.
        self.busy_retry_s = BUSY_RETRY_S
        self._retrying: set[asyncio.TimerHandle] = set()

    def attach(self, port: OutboundPort) -> None:
        self.village.messenger.attach(port)

    async def start(self, *, background: bool = True) -> None:
        """Opens the stores, starts the scheduler and the sender (unless a CLI command or a test
        drives them) and picks up updates received but not handled before a stop.

        With `background` this process becomes the village's one sender: it takes DATA_DIR's lock
        first (CannotStart when another Buurtbot runs on it), before anything is reset."""
        if background:
            self._data_lock.acquire()
        await self.village.stores.open()
        directory = self.village.stores.directory
        # Telegram redelivers for at most a day; older update ids need not be remembered.
        await directory.forget_updates_before(self.village.clock.now() - UPDATE_MEMORY)
        for update_id, text in await directory.unhandled_updates(self.door):
            try:
                event = event_from_json(text)
            except (ValueError, TypeError, KeyError):
                log.exception("update %s was kept but cannot be read back; skipped", update_id)
                await directory.mark_handled(door=self.door, update_id=update_id, now=self.village.clock.now())
                continue
            log.info("handling update %s, received before the last stop", update_id)
            await self._spawn(event)
        if background:
            for network in await self.village.networks.all():
                await self.village.help.plan_retention(network)  # then each run plans the next night
            self.village.scheduler.start()
            await self.village.sender.start()

    async def stop(self) -> None:
        for retry in self._retrying:  # still kept, not handled: the next start handles them
            retry.cancel()
        self._retrying.clear()
        try:
            await self.village.scheduler.stop()
            await self.village.sender.stop()
            await self.drain()
            await self.village.stores.close()
        finally:
            self._data_lock.release()

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

    async def submit(self, event: Event) -> bool:
        """Keeps the event, then handles it in the background; waits only while all slots are busy.

        When this returns the event is safely kept: a door may tell Telegram it was received.
        Returns False for an update that was received before.
        """
        if not await self.accept(event):
            return False
        await self._spawn(event)
        return True

    async def handle(self, event: Event) -> None:
        """Keeps and handles one event to the end, marked handled too (the memory door and the
        console use this)."""
        if await self.accept(event):
            await self._process(event)
            await self._marked()

    async def submit_all(self, events: Sequence[Event]) -> None:
        """`submit` for updates fetched together: kept in one transaction, their senders' standings
        and flows read ahead (and newcomers recorded) in one more, then handled in order."""
        kept = await asyncio.gather(*(self.accept(event) for event in events))
        new = [event for event, is_new in zip(events, kept, strict=True) if is_new]
        try:
            await self.village.people.recall(
                ((event.sender, _flow_chat(event)) for event in new), self.village.clock.now()
            )
        except Exception:
            log.exception("could not read ahead for %d updates; each reads its own", len(new))
        for event in new:
            await self._spawn(event)

    async def accept(self, event: Event) -> bool:
        """Keeps the event until it is handled; False for a redelivery of one already kept.

        Events accepted at the same time are kept in one transaction."""
        if event.update_id is None:
            return True
        kept: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._arriving.append((event.update_id, event_to_json(event), kept))
        if self._keeping is None or self._keeping.done():
            self._keeping = asyncio.create_task(self._keep_batches())
        recorded = await kept
        if not recorded:
            log.info("update %s was received before; ignored", event.update_id)
        return recorded

    async def _keep_batches(self) -> None:
        await asyncio.sleep(0)  # let the events arriving now join this batch
        directory = self.village.stores.directory
        while self._arriving:
            batch, self._arriving = self._arriving, []
            try:
                new = await directory.record_updates(
                    door=self.door,
                    updates=[(update_id, text) for update_id, text, _ in batch],
                    now=self.village.clock.now(),
                )
                failpoints.failpoint(failpoints.UPDATE_KEPT)
            except Exception as error:
                for _, _, kept in batch:  # not kept: the door must not say it was received
                    if not kept.done():
                        kept.set_exception(error)
                continue
            for update_id, _, kept in batch:
                if not kept.done():
                    kept.set_result(update_id in new)
                    new.discard(update_id)  # the same id twice in one batch: the second is a redelivery

    async def _spawn(self, event: Event) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(self._handle_in_slot(event))
        self._in_hand.add(task)
        task.add_done_callback(self._in_hand.discard)

    def _retry_later(self, event: Event) -> None:
        def again() -> None:
            self._retrying.discard(handle)
            task = asyncio.create_task(self._spawn(event))
            self._in_hand.add(task)
            task.add_done_callback(self._in_hand.discard)

        handle = asyncio.get_running_loop().call_later(self.busy_retry_s, again)
        self._retrying.add(handle)

    async def drain(self) -> None:
        """Waits for every event in hand to finish and be marked handled."""
        while self._in_hand:
            await asyncio.gather(*list(self._in_hand), return_exceptions=True)
        await self._marked()

    def _mark_handled(self, update_id: int) -> None:
        """Marks soon, together with the updates finishing meanwhile. Until then a crash would
        handle the update again after the restart: at most once more, never lost."""
        self._handled.append(update_id)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_batches())

    async def _mark_batches(self) -> None:
        await asyncio.sleep(0)  # let the events finishing now join this batch
        directory = self.village.stores.directory
        while self._handled:
            batch, self._handled = self._handled, []
            try:
                await directory.mark_all_handled(door=self.door, update_ids=batch, now=self.village.clock.now())
            except Exception:
                # Not marked: handled again after a restart, which is better than forgotten.
                log.exception("could not mark %d updates handled", len(batch))

    async def _marked(self) -> None:
        while self._marking is not None and not self._marking.done():
            await self._marking

    async def _handle_in_slot(self, event: Event) -> None:
        try:
            chat = event.chat.id
            lock = self._chat_locks.setdefault(chat, asyncio.Lock())
            self._chat_users[chat] = self._chat_users.get(chat, 0) + 1
            try:
                async with lock:  # one chat's events in the order they came
                    await self._process(event)
            finally:
                self._chat_users[chat] -= 1
                if not self._chat_users[chat]:
                    del self._chat_users[chat], self._chat_locks[chat]
        finally:
            self._slots.release()

    async def _process(self, event: Event) -> None:
        """Handles a kept event to the end (or ignores it from a flooder), then marks it handled."""
        started = time.perf_counter()
        village = self.village
        now = village.clock.now()
        verdict = Verdict.PASS
        if self.flood is not None:
            verdict = self.flood.admit(event, now, bot_username=village.bot_username or None)
        if verdict is Verdict.PASS:
            try:
                await self._route(event, now)
            except StoreBusy as busy:
                # Another process held a store too long: kept, not handled, so tried again (also
                # after a restart). Nothing is lost and, replayed, nothing is applied twice.
                log.warning("%s: %s; trying it again in %.0f s", _described(event), busy, self.busy_retry_s)
                self._retry_later(event)
                return
            except Exception as error:
                # Before a context exists (a sender the store cannot take, say): no one to
                # apologise to in their language; logged, and the update is not replayed forever.
                log.error("%s could not be handled\n%s", _described(event), _where(error))
        elif verdict is Verdict.WARN:
            await self._slow_down(event)
        if event.update_id is not None:
            failpoints.failpoint(failpoints.UPDATE_HANDLED)
            self._mark_handled(event.update_id)
        for listener in self.listeners:
            listener(event, time.perf_counter() - started)

    async def _route(self, event: Event, now: datetime) -> None:
        village = self.village
        flow_chat = _flow_chat(event)
        standing, flow = await village.people.arrive(event.sender, flow_chat, now)
        flow = await village.flows.fresh(event.sender.id, flow_chat, flow, now)
        ctx = Context(village, event, standing, flow, now)
        try:
            await self.router.route(ctx)
        except Refusal as refusal:
            await self._refuse(ctx, refusal)
        except StoreBusy:
            raise
        except Exception as error:
            log.error("%s failed in %s\n%s", _described(event), ctx.handler or "routing", _where(error))
            await self._apologise(ctx)

    async def _slow_down(self, event: Event) -> None:
        """The one notice a flooder gets before a pause; in their language if we know it."""
        village = self.village
        log.info("sender %s in chat %s is sending too fast; ignored for a while", event.sender.id, event.chat.id)
        try:
            person = await village.stores.directory.get_person(event.sender.id)
            language = (
                person.language
                if person is not None
                else language_for(event.sender.language_code, village.settings.default_language)
            )
            chat = _flow_chat(event)
            text = village.renderer.render(language, "common/slow_down")
            await village.messenger.send(chat, Reply(text))
        except Exception:
            log.exception("could not tell %s to slow down", event.sender.id)

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


def _described(event: Event) -> str:
    """An event as a log line may name it: its update id and kind, never who sent it or what
    they typed (the log must hold no name, username, phone number or message text)."""
    return f"update {event.update_id} ({type(event).__name__})"


def _where(error: BaseException) -> str:
    """Where an error came from: its type and the code it went through, without its message,
    which may quote what someone typed (`int('Anna')`) or a value from a store."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    return f"Traceback (most recent call last):\n{frames}{type(error).__module__}.{type(error).__qualname__}"


def _flow_chat(event: Event) -> int:
    """The chat a conversation with the sender happens in: for a join request, the private chat
    the bot may write to (the group's chat is not theirs)."""
    return event.private_chat_id if isinstance(event, JoinRequest) else event.chat.id

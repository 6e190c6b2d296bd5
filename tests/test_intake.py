"""The core's intake: a bounded number of updates at a time, one chat's updates in order, none lost."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.application.build import build_bot
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.kernel.events import (
    ButtonPress,
    ChatKind,
    ChatRef,
    Event,
    JoinRequest,
    MembersJoined,
    Message,
    Sender,
    event_from_json,
    event_to_json,
)
from bot.kernel.replies import Reply
from bot.transports.memory import MemoryDoor

# Loop turns given to every task that can run before the test looks: no clock is involved.
SETTLE = 200


async def settle() -> None:
    for _ in range(SETTLE):
        await asyncio.sleep(0)


@dataclass
class HeldDoor(MemoryDoor):
    """A door whose sends wait until the test lets them go, counting how many are under way."""

    busy: int = 0
    most_busy: int = 0
    order: list[tuple[int, str]] = field(default_factory=list)
    held: list[asyncio.Future[None]] = field(default_factory=list)

    async def send(self, chat_id: int, reply: Reply) -> int:
        self.busy += 1
        self.most_busy = max(self.most_busy, self.busy)
        release: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.held.append(release)
        try:
            await release
        finally:
            self.busy -= 1
        self.order.append((chat_id, reply.plain_text))
        return await super().send(chat_id, reply)

    def let_go(self, *, last_first: bool = False) -> None:
        """Lets the held sends go, the last one held first if asked."""
        held, self.held = self.held, []
        for release in reversed(held) if last_first else held:
            release.set_result(None)


async def test_no_more_updates_than_the_bound_run_at_once_and_none_is_lost(
    settings: Settings, clock: ManualClock
) -> None:
    bot = build_bot(settings.model_copy(update={"max_concurrent_updates": 3}), door="memory", clock=clock)
    door = HeldDoor()
    bot.attach(door)
    await bot.start()

    async def twenty_neighbours_write() -> None:
        for number in range(20):
            person = Sender(100 + number, f"Buur{number}")
            await bot.submit(Message(number + 1, person, ChatRef(person.id), "/privacy"))

    writing = asyncio.create_task(twenty_neighbours_write())
    await settle()
    assert door.busy == 3  # three at once, and a fourth was given every chance to start: it waits
    while not writing.done() or door.held:
        door.let_go()
        await settle()
    await writing
    await bot.drain()
    await bot.stop()
    assert door.most_busy == 3
    assert len({chat for chat, _ in door.order}) == 20


async def test_one_chats_updates_are_handled_in_the_order_they_came(settings: Settings, clock: ManualClock) -> None:
    bot = build_bot(settings, door="memory", clock=clock)
    door = HeldDoor()
    bot.attach(door)
    await bot.start()
    anna = Sender(7, "Anna")

    async def anna_writes_four_times() -> None:
        for number, text in enumerate(["/privacy", "/taal", "/stop", "/hulp"]):
            await bot.submit(Message(number + 1, anna, ChatRef(anna.id), text))

    writing = asyncio.create_task(anna_writes_four_times())
    for _ in range(4):
        await settle()  # were her updates handled side by side, all four would be held by now...
        door.let_go(last_first=True)  # ...and the last one would go first
    await writing
    await bot.drain()
    await bot.stop()
    firsts = [text.split()[0] for _, text in door.order]
    assert firsts == ["Uw", "In", "Er", "Wat"]
    assert door.most_busy == 1


async def test_an_update_kept_but_not_handled_before_a_stop_is_handled_after_the_restart(
    settings: Settings, clock: ManualClock
) -> None:
    anna = Sender(7, "Anna")
    first = build_bot(settings, door="telegram", clock=clock)
    first.attach(MemoryDoor())
    await first.start()
    assert await first.accept(Message(501, anna, ChatRef(anna.id), "/privacy"))  # kept, then the bot "dies"
    await first.stop()

    second = build_bot(settings, door="telegram", clock=clock)
    door = MemoryDoor()
    second.attach(door)
    await second.start()
    await second.drain()
    assert "Uw gegevens bij Buurtbot" in door.chat(anna.id)[-1].text
    await second.submit(Message(501, anna, ChatRef(anna.id), "/privacy"))  # Telegram redelivers it
    await second.drain()
    await second.stop()
    assert len(door.chat(anna.id)) == 1

    third = build_bot(settings, door="telegram", clock=clock)
    third.attach(MemoryDoor())
    await third.start()  # nothing left to pick up
    assert await third.village.stores.directory.unhandled_updates("telegram") == []
    await third.stop()


def test_every_kind_of_event_survives_being_kept_as_json() -> None:
    # Kept in the directory until handled, and read back after a restart.
    anna = Sender(7, "Anna", "de Vries", "anna", "nl")
    group = ChatRef(-100, ChatKind.GROUP, "Kerkstraat")
    events: list[Event] = [
        Message(1, anna, ChatRef(7), "Eikenlaan 12", 40),
        ButtonPress(2, anna, ChatRef(7), 41, "rsvp:1:2:yes", "press-1"),
        JoinRequest(3, anna, group, 7),
        MembersJoined(4, anna, group, (anna, Sender(8, "Piet"))),
    ]
    assert [event_from_json(event_to_json(event)) for event in events] == events

"""The outbox: its send clock, any message (text and buttons) to many people, batches, crashes, the schema."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event
from sqlmodel import select

from bot.clock import ManualClock
from bot.outbox import (
    IN_FLIGHT,
    PACE,
    REPLY_SPELL_S,
    REPLY_TRAVEL_S,
    TELEGRAM_SECOND_S,
    RateBudget,
    keyboard_from_json,
    keyboard_to_json,
)
from bot.port import BlockedByUser
from bot.replies import Button, Reply, keyboard
from bot.settings import Settings
from bot.transports.memory import MemoryDoor
from storage.migrations import upgrade
from storage.migrations.network import MIGRATIONS
from storage.models import DeliveryStatus, OutboxKind, OutboxMessage
from tests.conftest import Village, start_village

RATE = 30.0


class FakeTime:
    """A monotonic clock that moves only when the send clock sleeps, or when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0
        self.later: list[tuple[float, Callable[[], None]]] = []  # what happens at a time, e.g. an answer

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        self.slept += max(seconds, 0.0)
        for due, happen in [(due, happen) for due, happen in self.later if due <= self.now]:
            self.later.remove((due, happen))
            happen()


def budget_on(time: FakeTime) -> RateBudget:
    return RateBudget(RATE, clock=time.clock, sleep=time.sleep)


def most_in_any_window(times: list[float], window: float) -> int:
    """The most messages that went within any `window` seconds (a window ending at each message)."""
    return max(sum(1 for t in times if end - window < t <= end) for end in times)


async def broadcast(budget: RateBudget, time: FakeTime, count: int) -> list[float]:
    """Sends `count` messages, each answered by Telegram at once."""
    sent = []
    for _ in range(count):
        await budget.for_broadcast()
        budget.landed()
        sent.append(time.now)
    return sent


# --- the send clock ------------------------------------------------------------------------------


async def test_the_send_clock_keeps_an_even_pace_just_under_the_rate() -> None:
    time = FakeTime()
    budget = budget_on(time)
    sent = await broadcast(budget, time, 300)
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(sent)}
    assert gaps == {round(1 / (RATE * PACE), 6)}  # no bursts, no gaps
    assert most_in_any_window(sent, 1.0) < RATE


async def test_slots_lost_to_a_stall_are_caught_up_but_never_beyond_the_rate_in_any_window() -> None:
    time = FakeTime()
    budget = budget_on(time)
    sent = await broadcast(budget, time, 60)
    time.now += 0.3  # the event loop was busy for 300 ms: about 9 slots missed
    slept = time.slept
    sent += await broadcast(budget, time, 8)
    assert time.slept == slept  # sent at once: the stall cost no rate
    sent += await broadcast(budget, time, 200)
    per_second = (len(sent) - 1) / (sent[-1] - sent[0])
    assert per_second == pytest.approx(RATE * PACE, rel=0.01)
    assert most_in_any_window(sent, 1.0) <= RATE


async def test_after_a_long_stall_or_an_idle_spell_the_clock_starts_afresh_without_a_burst() -> None:
    time = FakeTime()
    budget = budget_on(time)
    await broadcast(budget, time, 30)
    time.now += 5.0  # nothing to send for a while (or a very long stall)
    sent = await broadcast(budget, time, 3)
    assert sent[1] - sent[0] == pytest.approx(budget.interval)


async def test_an_interactive_reply_never_waits_and_the_broadcast_makes_room_for_it() -> None:
    time = FakeTime()
    budget = budget_on(time)
    sent = await broadcast(budget, time, 40)
    budget.for_reply()  # returns at once: a resident asking /privacy never waits for the announcement
    replies = [time.now]
    sent += await broadcast(budget, time, 1)
    assert sent[-1] - sent[-2] >= 2 * budget.interval  # the reply took a slot
    for _ in range(20):  # residents keep asking, three at once: together they stay within the limit
        for _ in range(3):
            budget.for_reply()
            replies.append(time.now)
        sent += await broadcast(budget, time, 5)
    assert most_in_any_window(sorted(sent + replies), 1.0) <= RATE
    time.now += REPLY_SPELL_S  # quiet again: the broadcast goes back to its pace
    sent = await broadcast(budget, time, 100)
    assert (len(sent) - 1) / (sent[-1] - sent[0]) == pytest.approx(RATE * PACE, rel=0.01)


async def test_a_flood_of_replies_holds_the_broadcast_until_a_second_after_they_went() -> None:
    time = FakeTime()
    budget = budget_on(time)
    for _ in range(int(RATE)):
        budget.for_reply()
    before = time.now
    await budget.for_broadcast()
    assert time.now - before == pytest.approx(REPLY_TRAVEL_S + TELEGRAM_SECOND_S)


async def test_a_message_counts_until_a_second_after_telegram_answered_so_a_slow_answer_crowds_no_second() -> None:
    time = FakeTime()
    budget = budget_on(time)
    started = time.now
    for _ in range(int(RATE)):  # Telegram takes two seconds to answer these thirty
        await budget.for_broadcast()
        time.later.append((started + 2.0, budget.landed))
    await budget.for_broadcast()
    # They may have reached Telegram just before it answered: the next one waits a second more.
    assert time.now >= started + 2.0 + TELEGRAM_SECOND_S - 1e-6


async def test_after_a_429_nothing_goes_until_retry_after_and_then_at_the_usual_pace() -> None:
    time = FakeTime()
    budget = budget_on(time)
    await broadcast(budget, time, 10)
    budget.pause(3)
    paused_at = time.now
    sent = await broadcast(budget, time, 3)
    assert sent[0] >= paused_at + 3
    assert sent[2] - sent[1] == pytest.approx(budget.interval)


def test_a_rate_below_one_a_second_still_sends() -> None:
    budget = RateBudget(0.5)
    assert budget.per_second == 1 and math.isfinite(budget.interval)


def test_buttons_survive_the_store() -> None:
    buttons = keyboard(
        [Button("👍 Ik kom", "ea:1:2:y"), Button("Misschien", "ea:1:2:m")], Button("Kaart", url="https://x.nl")
    )
    assert keyboard_from_json(keyboard_to_json(buttons)) == buttons
    assert keyboard_to_json(()) == "" and keyboard_from_json("") == ()


# --- the outbox on real stores ---------------------------------------------------------------------


async def rows(village: Village) -> list[OutboxMessage]:
    async with village.bot.village.stores.network(village.noord.slug) as store, store.transaction() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all())  # type: ignore[arg-type]


async def test_any_message_with_its_buttons_goes_out_once_and_its_telegram_id_is_kept(village: Village) -> None:
    anna = village.person("Anna")
    buttons = keyboard([Button("Ik kom", "ea:1:2:y"), Button("Kan niet", "ea:1:2:n")])
    outbox = village.bot.village.outbox
    queued = await outbox.queue(
        village.noord, [(anna.id, Reply("⏰ <b>Herinnering</b>", buttons))], kind=OutboxKind.EVENT_REMINDER, ref="2:24"
    )
    assert queued == 1 and anna.inbox == []  # queued, not sent: the sender takes it from here
    await outbox.flush()
    assert [m.reply for m in anna.inbox] == [Reply("⏰ <b>Herinnering</b>", buttons)]
    [row] = await rows(village)
    assert (row.kind, row.ref, row.announcement_id, row.status) == ("event_reminder", "2:24", None, "sent")
    assert row.message_id == anna.inbox[0].message_id and row.finished_at is not None
    await outbox.flush()
    assert len(anna.inbox) == 1


async def test_a_help_request_goes_before_the_rest_of_a_long_announcement(village: Village) -> None:
    outbox = village.bot.village.outbox
    announcement = [(5_000 + n, Reply(f"Mededeling {n}")) for n in range(3 * IN_FLIGHT)]
    await outbox.queue(village.noord, announcement, kind=OutboxKind.ANNOUNCEMENT)
    piet = village.person("Piet")
    await outbox.queue(village.noord, [(piet.id, Reply("Een buur vraagt om hulp"))], kind=OutboxKind.HELP_REQUEST)
    await outbox.flush()
    sends = [event.chat_id for event in village.door.log if event.kind == "send"]
    assert len(sends) == 3 * IN_FLIGHT + 1
    assert sends[0] == piet.id  # in the first batch, ahead of every announcement row queued before it


async def test_results_are_recorded_a_batch_at_a_time_not_twice_per_message(village: Village) -> None:
    outbox = village.bot.village.outbox
    count = 4 * IN_FLIGHT
    await outbox.queue(
        village.noord, [(10_000 + n, Reply(f"bericht {n}")) for n in range(count)], kind=OutboxKind.ANNOUNCEMENT
    )
    commits = 0

    def committed(*_: object) -> None:
        nonlocal commits
        commits += 1

    async with village.bot.village.stores.network(village.noord.slug) as store:
        event.listen(store.engine.sync_engine, "commit", committed)
        try:
            await outbox.flush()
        finally:
            event.remove(store.engine.sync_engine, "commit", committed)
    assert Counter(row.status for row in await rows(village)) == {DeliveryStatus.SENT: count}
    batches = count // IN_FLIGHT
    assert commits <= 2 * batches + 4  # claim + results per batch, and a last look; was 2 per message


class CrashingDoor(MemoryDoor):
    """A door that lets `survive` messages through, then the process dies (kill -9) mid-batch."""

    def __init__(self, survive: int) -> None:
        super().__init__()
        self.survive = survive
        self.sender: asyncio.Task[None] | None = None

    async def send(self, chat_id: int, reply: Reply) -> int:
        message_id = await super().send(chat_id, reply)
        if len(self.messages) == self.survive and self.sender is not None:
            self.sender.cancel()  # nothing is tidied up: the batch's results are never recorded
        return message_id


@pytest.mark.timeout(60)
async def test_after_a_crash_nothing_is_lost_and_only_the_batch_in_flight_arrives_twice(
    settings: Settings, clock: ManualClock
) -> None:
    recipients = [20_000 + n for n in range(3 * IN_FLIGHT)]
    first = await start_village(settings, clock)
    door = CrashingDoor(survive=IN_FLIGHT + IN_FLIGHT // 2)  # half-way through the second batch
    first.bot.attach(door)
    outbox = first.bot.village.outbox
    await outbox.queue(
        first.noord, [(chat, Reply("Straatfeest!")) for chat in recipients], kind=OutboxKind.ANNOUNCEMENT
    )
    door.sender = asyncio.create_task(outbox.flush())
    with pytest.raises(asyncio.CancelledError):
        await door.sender
    left = Counter(row.status for row in await rows(first))
    assert left[DeliveryStatus.SENT] == IN_FLIGHT  # the first batch was recorded
    assert left[DeliveryStatus.SENDING] <= 2 * IN_FLIGHT  # the one under way and the next, claimed
    await first.bot.stop()

    again = await start_village(settings, clock, seed=False)
    second_door = MemoryDoor()
    again.bot.attach(second_door)
    outbox = again.bot.village.outbox
    await outbox.start()  # rows left 'sending' go back to pending
    await outbox.stop()
    await outbox.flush()
    assert Counter(row.status for row in await rows(again)) == {DeliveryStatus.SENT: len(recipients)}
    received = Counter(m.chat_id for m in [*door.messages, *second_door.messages])
    assert set(received) == set(recipients)  # nothing lost
    assert sum(n - 1 for n in received.values()) == IN_FLIGHT // 2  # only what went out of the unrecorded batch
    await again.bot.stop()


class BlockingDoor(MemoryDoor):
    def __init__(self, blocked: set[int]) -> None:
        super().__init__()
        self.blocked = blocked

    async def send(self, chat_id: int, reply: Reply) -> int:
        if chat_id in self.blocked:
            raise BlockedByUser("Forbidden: bot was blocked by the user")
        return await super().send(chat_id, reply)


async def test_someone_who_blocked_the_bot_is_marked_unreachable_and_not_tried_again(village: Village) -> None:
    piet = village.person("Piet")
    await piet.says("/start")  # Piet is known to the bot
    door = BlockingDoor({piet.id})
    village.bot.attach(door)
    outbox = village.bot.village.outbox
    await outbox.queue(village.noord, [(piet.id, Reply("Herinnering"))], kind=OutboxKind.EVENT_REMINDER)
    await outbox.flush()
    await outbox.flush()
    assert [row.status for row in await rows(village)] == [DeliveryStatus.UNREACHABLE]
    person = await village.bot.village.stores.directory.get_person(piet.id)
    assert person is not None and person.unreachable_at is not None


# --- the schema -------------------------------------------------------------------------------------


def test_an_outbox_from_before_version_5_keeps_its_rows_as_announcements(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'breugel-noord.db'}")
    with engine.begin() as connection:
        upgrade(connection, MIGRATIONS[:4])
        connection.exec_driver_sql(
            "INSERT INTO outbox_message (chat_id, text, status, attempts, not_before) "
            "VALUES (42, 'Straatfeest!', 'pending', 0, '2026-11-28 10:00:00')"
        )
    with engine.begin() as connection:
        assert upgrade(connection, MIGRATIONS)[0] == 5
        found = connection.exec_driver_sql(
            "SELECT chat_id, text, kind, ref, buttons, message_id, status FROM outbox_message"
        ).all()
    engine.dispose()
    assert found == [(42, "Straatfeest!", "announcement", "", "", None, "pending")]


async def test_networks_take_turns_so_a_long_broadcast_does_not_hold_up_another_networks_reminder(
    village: Village,
) -> None:
    outbox = village.bot.village.outbox
    long = [(30_000 + n, Reply("Aan iedereen in Breugel-Noord")) for n in range(3 * IN_FLIGHT)]
    await outbox.queue(village.noord, long, kind=OutboxKind.ANNOUNCEMENT)
    await outbox.queue(village.centrum, [(40_000, Reply("Herinnering"))], kind=OutboxKind.EVENT_REMINDER)
    await outbox.flush()
    order = [m.chat_id for m in village.door.messages]
    assert len(order) == len(long) + 1
    assert order.index(40_000) <= IN_FLIGHT  # after the first batch of the announcement, not after all of it

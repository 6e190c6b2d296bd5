"""Flood control: Anna sends far too much at once, gets one polite notice, a pause, and then answers again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.kernel.clock import ManualClock
from bot.kernel.events import ChatKind, ChatRef, JoinRequest, MembersJoined, Message, Sender
from bot.kernel.flood import FloodGate, Verdict
from bot.kernel.limits import FLOOD_LIMIT, FLOOD_PAUSE, FLOOD_WINDOW
from bot.kernel.replies import html_to_plain
from bot.transports.memory import Sent, SimulatedPerson
from tests.conftest import Village
from tests.test_help_scenarios import member

GROUP = ChatRef(-1001234, ChatKind.SUPERGROUP, "Kerkstraat")


def slow_down(village: Village, language: str = "nl") -> str:
    return html_to_plain(village.bot.village.renderer.render(language, "common/slow_down"))


def notices(village: Village, messages: list[Sent], language: str = "nl") -> int:
    return sum(sent.text == slow_down(village, language) for sent in messages)


async def unhandled(village: Village) -> list[tuple[int, str]]:
    return await village.bot.village.stores.directory.unhandled_updates("memory")


def with_real_flood_control(village: Village) -> None:
    """The village's gate as the bot ships it, whatever a scenario fixture set up."""
    village.bot.flood = FloodGate()


async def test_anna_floods_gets_one_notice_then_a_pause_and_piet_is_answered_meanwhile(
    village: Village, clock: ManualClock
) -> None:
    with_real_flood_control(village)
    anna, piet = village.person("Anna"), village.person("Piet")
    for _ in range(FLOOD_LIMIT + 10):
        await anna.says("/privacy")
    assert len(anna.inbox) <= FLOOD_LIMIT + 1
    assert notices(village, anna.inbox) == 1
    assert anna.inbox[FLOOD_LIMIT].text == slow_down(village)  # the notice comes right after the last answer
    assert await unhandled(village) == []  # ignored updates are marked handled too

    await piet.says("/privacy")
    assert len(piet.inbox) == 1 and notices(village, piet.inbox) == 0

    clock.advance(FLOOD_PAUSE / 2)
    await anna.says("/privacy")  # still paused: no answer and no second notice
    assert len(anna.inbox) == FLOOD_LIMIT + 1

    clock.advance(FLOOD_PAUSE / 2 + timedelta(seconds=1))
    await anna.says("/privacy")
    assert len(anna.inbox) == FLOOD_LIMIT + 2
    assert anna.last_text != slow_down(village)
    assert notices(village, anna.inbox) == 1
    assert await unhandled(village) == []


async def test_anna_at_a_human_pace_is_never_slowed_down(village: Village, clock: ManualClock) -> None:
    with_real_flood_control(village)
    anna = village.person("Anna")
    pace = FLOOD_WINDOW / FLOOD_LIMIT + timedelta(milliseconds=10)
    for _ in range(FLOOD_LIMIT * 3):
        await anna.says("/privacy")
        clock.advance(pace)
    assert len(anna.inbox) == FLOOD_LIMIT * 3
    assert notices(village, anna.inbox) == 0


async def test_button_presses_count_and_an_english_flooder_is_told_in_english(village: Village) -> None:
    with_real_flood_control(village)
    john = village.person("John", language="en")
    await john.says("/privacy")
    for _ in range(FLOOD_LIMIT + 5):
        await john.press(john.last, "pv")
    assert notices(village, john.inbox, "en") == 1
    assert notices(village, john.inbox, "nl") == 0
    assert await unhandled(village) == []


async def test_a_group_that_spams_commands_gets_one_notice_but_its_chatter_counts_for_nothing(
    village: Village,
) -> None:
    neighbours = [await member(village, f"Buur{n}") for n in range(FLOOD_LIMIT + 5)]  # the bot answers members
    with_real_flood_control(village)
    for neighbour in neighbours:  # lively conversation: the bot stays out of it
        for _ in range(3):
            await neighbour.says("Gezellig straks!", chat=GROUP)
    assert village.door.chat(GROUP.id) == []

    for neighbour in neighbours:  # each only once, but together far too fast
        await neighbour.says("/hulp", chat=GROUP)
    in_group = village.door.chat(GROUP.id)
    assert len(in_group) == FLOOD_LIMIT + 1
    assert notices(village, in_group) == 1

    before = len(neighbours[0].inbox)
    await neighbours[0].says("/privacy")  # the group's pause is not the person's
    assert len(neighbours[0].inbox) == before + 1 and notices(village, neighbours[0].inbox) == 0


async def test_a_redelivered_update_after_a_pause_is_not_handled_twice(village: Village, clock: ManualClock) -> None:
    with_real_flood_control(village)
    anna: SimulatedPerson = village.person("Anna")
    for n in range(FLOOD_LIMIT + 3):
        await anna.says("/privacy", update_id=500 + n)
    answered_before = len(anna.inbox)
    clock.advance(FLOOD_PAUSE + FLOOD_WINDOW)  # the pause is over: only recognising them keeps them out

    await anna.says("/privacy", update_id=500)  # Telegram sends one that was answered again...
    await anna.says("/privacy", update_id=500 + FLOOD_LIMIT + 2)  # ...and one the pause ignored
    assert len(anna.inbox) == answered_before

    await anna.says("/privacy", update_id=600)  # a new one is answered: the gate is open
    assert len(anna.inbox) == answered_before + 1 and anna.last_text != slow_down(village)


def test_the_gate_forgets_quiet_senders_and_never_holds_more_than_its_bound() -> None:
    start = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    gate = FloodGate(max_tracked=100)
    for sender in range(10_000):
        assert gate.check(sender, start) is Verdict.PASS
        assert len(gate) <= 100
    gate.check(1, start + FLOOD_WINDOW * 2)
    assert len(gate) == 1  # the other senders went quiet: nothing kept


def test_the_gate_counts_a_sliding_window_not_fixed_buckets() -> None:
    start = datetime(2026, 11, 28, 10, 0, 9, tzinfo=UTC)
    gate = FloodGate(limit=3, window=timedelta(seconds=10), pause=timedelta(seconds=60))
    # Three at the end of one ten-second stretch and one at the start of the next: four in two seconds.
    verdicts = [gate.check(7, start + timedelta(seconds=s)) for s in (0, 0.5, 1, 2)]
    assert verdicts == [Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.WARN]
    assert gate.check(7, start + timedelta(seconds=61)) is Verdict.IGNORE
    assert gate.check(7, start + timedelta(seconds=62)) is Verdict.PASS


def test_in_a_group_only_what_is_meant_for_the_bot_counts_and_a_join_request_counts_for_the_asker() -> None:
    gate = FloodGate(limit=1)
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    anna, piet, els = Sender(1, "Anna"), Sender(2, "Piet"), Sender(3, "Els")
    ours = "buurtbot_test"
    assert gate.admit(Message(1, anna, GROUP, "/hulp"), now, bot_username=ours) is Verdict.PASS
    assert gate.admit(Message(2, piet, GROUP, "/hulp@anderebot"), now, bot_username=ours) is Verdict.PASS
    assert gate.admit(Message(3, piet, GROUP, "hoi allemaal"), now, bot_username=ours) is Verdict.PASS
    assert gate.admit(Message(4, piet, GROUP, "/hulp@buurtbot_test"), now, bot_username=ours) is Verdict.WARN
    assert gate.admit(JoinRequest(5, els, GROUP, els.id), now) is Verdict.PASS  # the group's pause is not hers
    assert gate.admit(JoinRequest(6, els, GROUP, els.id), now) is Verdict.WARN


def test_a_crowd_coming_into_a_group_pauses_the_welcomes_without_a_notice() -> None:
    gate = FloodGate(limit=2)
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    newcomers = [Sender(100 + n, f"Buur{n}") for n in range(4)]
    verdicts = [gate.admit(MembersJoined(n, person, GROUP, (person,)), now) for n, person in enumerate(newcomers)]
    assert verdicts == [Verdict.PASS, Verdict.PASS, Verdict.IGNORE, Verdict.IGNORE]

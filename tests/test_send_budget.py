"""One send budget for every message: replies, edits, the outbox and its delivery report together
never put more than BROADCAST_RATE messages in one second, and no reply is dropped.

Through the aiogram door over real HTTP against the fake Bot API. The fake server counts
Telegram's overall limit over the messages it records; edits count against it too, so the
seconds are counted here over both (`most_in_one_second`).
"""

from __future__ import annotations

import bisect
from collections import Counter
from pathlib import Path

import pytest

import bot.transports.aiogram_door  # noqa: F401 - aiogram takes seconds to import; pay it at collection
from bench.common import MEMBER_BASE, VERBINDER_BASE, seed_village
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from tests.doors import TelegramHarness, Who, start_door
from tests.fakebotapi import FakeBotAPI

RATE = 30  # BROADCAST_RATE's default, and Telegram's limit
STRANGERS = 700_000  # people the bot has never met
TEXT = "Zaterdag is de Eikenlaan afgesloten voor het straatfeest."


def most_in_one_second(api: FakeBotAPI) -> int:
    """The most messages sent or edited within any one second, as Telegram counts them."""
    times = sorted([float(record["at"]) for record in api.sent] + [at for _, at in api.edits])
    return max((i + 1 - bisect.bisect_right(times, at - 1.0) for i, at in enumerate(times)), default=0)


async def door_on(settings: Settings, clock: ManualClock, api: FakeBotAPI) -> TelegramHarness:
    door = await start_door("aiogram-polling", settings, clock, api)
    assert isinstance(door, TelegramHarness)
    return door


@pytest.mark.timeout(180)
async def test_a_burst_of_400_commands_gets_every_reply_and_no_second_holds_more_than_the_rate(
    settings: Settings, clock: ManualClock
) -> None:
    async with FakeBotAPI(token="123456:BURST") as api:
        door = await door_on(settings, clock, api)
        people = [STRANGERS + n for n in range(400)]
        for person in people:  # all at once, as after a notice in the street's group
            api.push_message(person, "/privacy", first_name="Buur", language_code="nl")
        assert await api.wait_for_sent(len(people), timeout=120)
        await door.stop()
    assert Counter(int(r["chat_id"]) for r in api.sent) == dict.fromkeys(people, 1)  # every reply, once
    assert api.rate_violations == 0, api.violations[:3]
    assert most_in_one_second(api) <= RATE


@pytest.mark.timeout(180)
async def test_taps_that_change_a_message_in_place_count_as_messages_too(
    settings: Settings, clock: ManualClock
) -> None:
    async with FakeBotAPI(token="123456:EDITS") as api:
        door = await door_on(settings, clock, api)
        people = [Who(door, "Buur", STRANGERS + n) for n in range(120)]
        for person in people:
            api.push_message(person.id, "/vergeetmij", first_name="Buur", language_code="nl")
        assert await api.wait_for_sent(len(people), timeout=60)
        for person in people:  # each confirms at once: the question is replaced by the outcome
            record = api.messages_to(person.id)[-1]
            [data] = [
                button["callback_data"]
                for row in record["reply_markup"]["inline_keyboard"]
                for button in row
                if button["text"].startswith("Ja")
            ]
            api.press_button(person.id, record, data, first_name="Buur", language_code="nl")
        for person in people:
            await api.wait_for_message(person.id, lambda r: r["edit_date"] is not None, timeout=60)
        await door.stop()
    assert len(api.edits) == len(people)
    assert most_in_one_second(api) <= RATE


@pytest.mark.timeout(240)
async def test_an_announcement_while_residents_talk_their_replies_and_the_report_all_within_the_rate(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    seeded = await seed_village(settings.data_dir, networks=1, members=300)
    members = next(iter(seeded.members.values()))
    async with FakeBotAPI(token="123456:DURING") as api:
        door = await door_on(settings, clock, api)
        jan = Who(door, "Jan", VERBINDER_BASE)
        await jan.says("/bericht")
        await jan.says(TEXT)
        await jan.taps("Versturen")
        asking = [MEMBER_BASE + n for n in range(5)]
        questions = 0
        for progress in range(30, len(members) - 30, 30):  # five residents ask, every thirty deliveries
            assert await api.wait_for_sent(progress, timeout=60)
            for person in asking:
                api.push_message(person, "/privacy", first_name="Buur", language_code="nl")
                questions += 1
        report = await api.wait_for_message(jan.id, lambda r: "Verslag" in (r.get("text") or ""), timeout=120)
        await door.stop()
    delivered = Counter(int(r["chat_id"]) for r in api.sent if TEXT in (r.get("text") or ""))
    assert set(delivered) == set(members) and set(delivered.values()) == {1}
    answers = sum(1 for r in api.sent if int(r["chat_id"]) in asking and TEXT not in (r.get("text") or ""))
    assert answers == questions  # every resident had their answer
    assert "300 verstuurd" in (report["text"] or "")
    assert api.rate_violations == 0, api.violations[:3]
    assert most_in_one_second(api) <= RATE  # the report included

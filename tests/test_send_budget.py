"""One send budget per app for every message: replies, edits, the outbox and its delivery report together
never put more than BROADCAST_RATE messages in one second on Telegram (WHATSAPP_RATE on WhatsApp),
and no reply is dropped.

Through the aiogram door over real HTTP against the fake Bot API (and, both apps at once, the
WhatsApp door against the fake Graph API). The fake Bot API counts Telegram's overall limit over
the messages it records; edits count against it too, so the seconds are counted here over both
(`most_in_one_second`).
"""

from __future__ import annotations

import asyncio
import bisect
from collections import Counter
from pathlib import Path

import pytest

import bot.transports.aiogram_door  # noqa: F401 - aiogram takes seconds to import; pay it at collection
from bench.common import MEMBER_BASE, VERBINDER_BASE, seed_village
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock, SystemClock
from bot.transports.whatsapp.ids import number_of
from storage.identities import FIRST_APP_PERSON_ID
from tests.doors import TelegramHarness, WhatsAppHarness, Who, start_door, wa_id_of
from tests.fakebotapi import FakeBotAPI
from tests.test_app_budgets import mixed_seed

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


@pytest.mark.timeout(180)
async def test_a_burst_from_both_apps_gets_every_reply_and_neither_apps_limit_is_broken(settings: Settings) -> None:
    # WhatsApp's throughput lowered to 20 a second (the fake's and the bot's): its replies must keep
    # to WhatsApp's budget, whatever Telegram's has left, and Telegram's to Telegram's.
    on_whatsapp = [FIRST_APP_PERSON_ID + n for n in range(60)]
    on_telegram = [STRANGERS + n for n in range(60)]
    both = settings.model_copy(update={"whatsapp_rate": 20.0})
    async with FakeBotAPI(token="123456:BOTH", enforce_rate_limits=True) as api:
        door = await start_door("whatsapp", both, SystemClock(), api, mixed_seed([], on_whatsapp))
        assert isinstance(door, WhatsAppHarness)
        graph = door.graph
        graph.enforce_rate_limits, graph.throughput = True, 20
        asked = [api.push_message(person, "/privacy", first_name="Buur", language_code="nl") for person in on_telegram]
        deliveries = await asyncio.gather(
            *(graph.send_text_from_user(wa_id_of(person), "privacy", name="Buur") for person in on_whatsapp)
        )
        asked += [number_of(delivery.message_id or "") for delivery in deliveries]
        for update_id in asked:
            await door.handled.wait(update_id)
        await door.stop()
    assert Counter(int(r["chat_id"]) for r in api.sent) == dict.fromkeys(on_telegram, 1)
    per_person = {len(graph.messages_to(wa_id_of(person))) for person in on_whatsapp}
    assert len(per_person) == 1 and per_person != {0}  # every WhatsApp resident had the same answer
    assert api.rate_violations == 0, api.violations[:3]
    assert most_in_one_second(api) <= RATE
    assert graph.rate_violations == [], graph.rate_violations[:3]

"""Announcements through the outbox: everyone reachable exactly once, within Telegram's limits, after crashes too."""

from __future__ import annotations

from collections import Counter

import pytest

import bot.transports.aiogram_door  # noqa: F401 - aiogram takes seconds to import; pay it at collection
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.kernel.core import Buurtbot
from storage.models import DeliveryStatus, MembershipStatus, OutboxMessage
from tests.conftest import Village
from tests.doors import TelegramHarness, Who, start_door
from tests.fakebotapi import FakeBotAPI
from tests.test_help_scenarios import member

JAN = 1001
MEMBERS = 500
FIRST_MEMBER = 50_000


async def test_jan_announces_and_every_member_gets_it_once_and_jan_a_report(village: Village) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    jan = village.jan
    await jan.says("/bericht")
    await jan.says("Zaterdag is de straat <b>afgesloten</b> voor het straatfeest!")
    assert "Zo ziet uw bericht eruit voor Breugel-Noord" in jan.last_text
    await jan.taps("Versturen")
    assert "Uw bericht gaat naar 2 leden van Breugel-Noord" in jan.last_text
    await village.bot.village.sender.flush()
    for person in (anna, piet):
        messages = [m for m in person.inbox if "Bericht van Breugel-Noord" in m.text]
        assert len(messages) == 1 and "<b>afgesloten</b>" in messages[0].text  # shown as typed, not as markup
    assert "Verslag van uw bericht aan Breugel-Noord" in jan.last_text and "2 verstuurd" in jan.last_text
    assert not any("Bericht van Breugel-Noord" in m.text for m in village.marieke.inbox)


async def test_only_the_community_manager_announces_to_every_network(village: Village) -> None:
    anna = await member(village, "Anna")
    kees = await member(village, "Kees", village.centrum)
    await anna.says("/berichtiedereen")
    assert "Dat kunt u hier niet doen" in anna.last_text
    await village.jan.says("/berichtiedereen")
    assert "Dat kunt u hier niet doen" in village.jan.last_text
    karin = village.person("Karin", user_id=4242)
    await karin.says("/berichtiedereen")
    await karin.says("De gemeente zoekt vrijwilligers.")
    await karin.taps("Versturen")
    await village.bot.village.sender.flush()
    assert any("De gemeente zoekt vrijwilligers" in m.text for m in anna.inbox)
    assert any("De gemeente zoekt vrijwilligers" in m.text for m in kees.inbox)


async def seed_street(bot: Buurtbot) -> None:
    village = bot.village
    now = village.clock.now()
    network = await village.networks.add("Breugel-Noord", ["Kerkstraat"], now)
    await village.memberships.appoint(network, JAN, by=None, now=now, name="Jan")
    directory = village.stores.directory
    for number in range(MEMBERS):
        person_id = FIRST_MEMBER + number
        await directory.upsert_person(person_id=person_id, name=f"Buur {number}", username=None, language="nl", now=now)
        await directory.request_membership(
            person_id=person_id, network_id=network.id or 0, street_id=None, status=MembershipStatus.ACTIVE, now=now
        )


async def announce_to_all(door: TelegramHarness) -> None:
    jan = Who(door, "Jan", JAN)
    await jan.says("/bericht")
    await jan.says("Het straatfeest gaat door!")
    await jan.taps("Versturen")
    assert f"Uw bericht gaat naar {MEMBERS} leden" in jan.last.text


async def statuses(bot: Buurtbot) -> Counter[str]:
    from sqlmodel import select

    async with bot.village.stores.network("breugel-noord") as store, store.transaction() as session:
        return Counter((await session.exec(select(OutboxMessage.status))).all())


@pytest.mark.timeout(120)
async def test_500_members_with_429s_and_403s_each_reachable_one_exactly_once(
    settings: Settings, clock: ManualClock
) -> None:
    blocked = {FIRST_MEMBER + n for n in range(0, MEMBERS, 25)}  # 20 people blocked the bot
    async with FakeBotAPI(token="123456:BROADCAST") as api:
        door = await start_door("aiogram-polling", settings, clock, api, seed_street)
        assert isinstance(door, TelegramHarness)
        for chat in blocked:
            api.block(chat)
        await announce_to_all(door)
        api.fail_next("sendMessage", error_code=429, retry_after=1, count=3)
        report = await api.wait_for_message(JAN, lambda r: "Verslag" in (r.get("text") or ""), timeout=90)
        person = await door.bot.village.stores.directory.get_person(min(blocked))
        await door.stop()
    received = Counter(r["chat_id"] for r in api.sent if "Het straatfeest gaat door" in (r.get("text") or ""))
    reachable = {FIRST_MEMBER + n for n in range(MEMBERS)} - blocked
    assert set(received) == reachable and set(received.values()) == {1}
    assert api.rate_violations == 0, api.violations[:3]
    assert "480 verstuurd" in report["text"] and "20 niet bereikbaar" in report["text"]
    assert person is not None and person.unreachable_at is not None


@pytest.mark.timeout(120)
async def test_a_crash_half_way_still_ends_with_every_recipient_in_a_final_state(
    settings: Settings, clock: ManualClock
) -> None:
    async with FakeBotAPI(token="123456:CRASH") as api:
        door = await start_door("aiogram-polling", settings, clock, api, seed_street)
        assert isinstance(door, TelegramHarness)
        await announce_to_all(door)
        await api.wait_for_message(FIRST_MEMBER + MEMBERS // 3, timeout=60)  # a third of the way
        # kill -9 of the sender: its task dies mid-send, nothing is tidied up.
        task = door.bot.village.sender._task
        assert task is not None
        task.cancel()
        middle = await statuses(door.bot)
        await door.stop()
        assert middle[DeliveryStatus.PENDING] > 0

        again = await start_door("aiogram-polling", settings, clock, api)
        await api.wait_for_message(JAN, lambda r: "Verslag" in (r.get("text") or ""), timeout=90)
        final = await statuses(again.bot)
        await again.stop()
    assert set(final) == {DeliveryStatus.SENT} and final[DeliveryStatus.SENT] == MEMBERS
    received = Counter(r["chat_id"] for r in api.sent if "Het straatfeest gaat door" in (r.get("text") or ""))
    assert len(received) == MEMBERS  # nothing lost
    # Each result is recorded as it lands: only what was truly under way could arrive twice
    # (a real kill -9 of the process: tests/test_outbox_crash.py).
    assert sum(count - 1 for count in received.values()) <= 2

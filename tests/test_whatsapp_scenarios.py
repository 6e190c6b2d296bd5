"""The join scenarios of tests/test_scenarios.py, and a neighbour-help story, with everyone on WhatsApp
(the buurtverbinders too), and a network of both apps: a WhatsApp asker and a Telegram helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

import tests.test_scenarios as scenarios
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.neighbour_help import HelpStatus
from storage.identities import FIRST_APP_PERSON_ID
from tests.doors import WhatsAppHarness, Who, start_door
from tests.fakebotapi import FakeBotAPI
from tests.test_scenarios import ANNA, INVITES, JAN, KEES, MARIEKE, PIET, Street, seed

Scenario = Callable[[Street], Awaitable[None]]
JOIN_SCENARIOS: list[Scenario] = [
    scenarios.test_anna_joins_by_street_name_and_jan_approves,
    scenarios.test_piet_joins_by_invite_link,
    scenarios.test_kees_mistypes_his_street,
    scenarios.test_a_forged_approve_button_is_refused,
]


@pytest.fixture
async def street(settings: Settings, clock: ManualClock) -> AsyncIterator[Street]:
    door = await start_door("whatsapp-only", settings, clock, None, seed)
    named = (("Jan", JAN), ("Marieke", MARIEKE), ("Anna", ANNA), ("Piet", PIET), ("Kees", KEES))
    yield Street(door, INVITES[-1], *(Who(door, name, id_) for name, id_ in named))
    await door.stop()


@pytest.mark.parametrize("scenario", JOIN_SCENARIOS, ids=lambda scenario: scenario.__name__.removeprefix("test_"))
async def test_the_join_scenarios_with_everyone_on_whatsapp(street: Street, scenario: Scenario) -> None:
    await scenario(street)


async def offers_groceries(helper: Who) -> None:
    await helper.says("/aanbod")
    await helper.taps("Boodschappen")
    await helper.taps("Opslaan")
    assert "U helpt met: 🛒 boodschappen" in helper.last.text


async def asks_for_groceries(asker: Who) -> None:
    await asker.says("vraag")  # the Dutch command, typed as a plain word
    assert "Waar kunnen de buren mee helpen?" in asker.last.text
    await asker.taps("Boodschappen")
    await asker.says("Boodschappen halen bij de Jumbo, ik heb een lijstje")
    assert "Wanneer?" in asker.last.text
    await asker.says("zaterdag 14:00")
    assert "Bedoelt u" in asker.last.text
    await asker.taps("Ja, dat klopt")
    await asker.taps("Iedereen")
    assert "Zo ziet uw vraag eruit" in asker.last.text
    await asker.taps("Plaatsen")
    await asker.door.bot.village.sender.flush()  # the request goes to helpers through the outbox


async def help_story(street: Street, asker: Who, helper: Who) -> None:
    """Ask, claim, write both ways through the bot, close."""
    await offers_groceries(helper)
    await asks_for_groceries(asker)
    assert "Een buur vraagt om hulp" in helper.last.text and "Boodschappen halen bij de Jumbo" in helper.last.text
    await helper.taps("Ik help")
    assert "Dank u! U helpt" in helper.last.text
    assert asker.saw("gaat u helpen")

    await asker.taps("Bericht aan")
    await asker.says("Komt zaterdag om twee uur uit?")
    assert "doorgestuurd naar" in asker.last.text
    assert "Komt zaterdag om twee uur uit?" in helper.last.text
    await helper.taps("Bericht aan")  # on the relayed message: the helper's own buttons
    await helper.says("Prima, ik bel aan!")
    assert "Prima, ik bel aan!" in asker.last.text

    await asker.taps("Gelukt, bedankt!")
    assert "Fijn dat het gelukt is" in asker.last.text
    assert "laat weten dat het gelukt is" in helper.last.text
    village = street.door.bot.village
    noord = await village.networks.by_slug("breugel-noord")
    async with village.stores.network(noord.slug) as store, store.transaction() as session:
        from sqlmodel import select

        from storage.models import HelpRequest

        [request] = (await session.exec(select(HelpRequest))).all()
    assert request.status == HelpStatus.DONE and request.helper_id == helper.id

    # An old button tapped again is checked against the request as it is now: closed.
    before = len(helper.inbox)
    await helper.taps("Bericht aan")
    assert "al afgesloten" in " ".join([*(seen.text for seen in helper.inbox[before:]), *helper.answers])
    assert request.status == HelpStatus.DONE


async def joins(who: Who, invite: str) -> None:
    await who.says(f"/start {invite}")
    assert "Welkom bij buurtnetwerk Breugel-Noord" in who.last.text


async def test_anna_asks_and_piet_helps_both_on_whatsapp(street: Street) -> None:
    village = street.door.bot.village
    noord = await village.networks.by_slug("breugel-noord")
    second = (await village.memberships.invite(noord, created_by=JAN, now=village.clock.now())).code
    await joins(street.anna, street.invite)
    await joins(street.piet, second)
    await help_story(street, street.anna, street.piet)


async def test_a_whatsapp_asker_and_a_telegram_helper_help_each_other_through_the_bot(
    settings: Settings, clock: ManualClock
) -> None:
    anna_phone = "31655501234"
    async with FakeBotAPI(token="123456:MIXED") as api:
        door = await start_door("whatsapp", settings, clock, api, seed)
        assert isinstance(door, WhatsAppHarness)
        try:
            village = door.bot.village
            noord = await village.networks.by_slug("breugel-noord")
            second = (await village.memberships.invite(noord, created_by=JAN, now=village.clock.now())).code
            # Anna, new to the bot, writes from WhatsApp: a person id of WhatsApp's range is hers.
            anna = await door.newcomer("Anna", anna_phone, f"/start {INVITES[-1]}")
            assert anna.id >= FIRST_APP_PERSON_ID
            assert "Welkom bij buurtnetwerk Breugel-Noord" in anna.last.text
            # Piet is on Telegram.
            door.on_telegram.add(PIET)
            piet = Who(door, "Piet", PIET)
            await joins(piet, second)
            jan, marieke = Who(door, "Jan", JAN), Who(door, "Marieke", MARIEKE)
            await help_story(Street(door, INVITES[-1], jan, marieke, anna, piet, piet), anna, piet)
        finally:
            await door.stop()
        # Piet acts several times a second, faster than a person: only the private chat's burst
        # of 3 a second is ever exceeded, never the overall limit.
        assert {violation["kind"] for violation in api.violations} <= {"private_chat"}
        to_piet = " ".join(record.get("text") or "" for record in api.messages_to(PIET))
        assert "Anna" in to_piet and anna_phone not in to_piet  # her number is never shown
        assert api.messages_to(anna.id) == []  # nothing for Anna went to Telegram

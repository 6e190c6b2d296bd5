"""The join scenarios, written once, run through every door: memory, aiogram and PTB, polling and webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

import bot.transports.aiogram_door
import bot.transports.ptb_door  # noqa: F401
from bot.application.settings import Settings
from bot.kernel.buttons import Tap, encode
from bot.kernel.clock import ManualClock
from bot.kernel.core import Buurtbot
from bot.kernel.replies import Button, Reply, keyboard
from storage.models import MembershipStatus
from tests.doors import DOORS, Door, Who, start_door
from tests.fakebotapi import FakeBotAPI

JAN, MARIEKE, ANNA, PIET, KEES = 1001, 1002, 2002, 3003, 4004


@dataclass
class Street:
    """A started door with the people of the scenarios."""

    door: Door
    invite: str
    jan: Who
    marieke: Who
    anna: Who
    piet: Who
    kees: Who

    async def status(self, who: Who, network: str) -> str | None:
        village = self.door.bot.village
        found = await village.networks.by_slug(network)
        membership = await village.stores.directory.membership_of(who.id, found.id or 0)
        return membership.status if membership else None


INVITES: list[str] = []


async def seed(bot: Buurtbot) -> None:
    village = bot.village
    now = village.clock.now()
    noord = await village.networks.add("Breugel-Noord", ["Nieuwstraat", "Kerkstraat", "Dommelstraat"], now)
    centrum = await village.networks.add("Son-Centrum", ["Markt", "Molenstraat", "Kloosterstraat"], now)
    await village.memberships.appoint(noord, JAN, by=None, now=now, name="Jan")
    await village.memberships.appoint(centrum, MARIEKE, by=None, now=now, name="Marieke")
    INVITES.append((await village.memberships.invite(noord, created_by=JAN, now=now)).code)


@pytest.fixture(params=DOORS)
async def street(request: pytest.FixtureRequest, settings: Settings, clock: ManualClock) -> AsyncIterator[Street]:
    async with FakeBotAPI(token="123456:SCENARIO") as api:
        door = await start_door(request.param, settings, clock, api, seed)
        people = [Who(door, name, id_) for name, id_ in (("Jan", JAN), ("Marieke", MARIEKE))]
        people += [Who(door, name, id_) for name, id_ in (("Anna", ANNA), ("Piet", PIET), ("Kees", KEES))]
        yield Street(door, INVITES[-1], *people)
        await door.stop()
        assert api.rate_violations == 0


async def anna_joins_and_jan_approves(street: Street) -> None:
    anna, jan = street.anna, street.jan
    await anna.says("/start")
    assert "Welkom, Anna!" in anna.last.text and "In welke straat woont u?" in anna.last.text
    await anna.says("Kerkstraat 12")
    assert "Woont u in de Kerkstraat?" in anna.last.text
    assert anna.last.labels == ["Ja, dat is mijn straat", "Nee, een andere straat"]
    await anna.taps("Ja, dat is mijn straat")
    assert anna.saw("doorgestuurd naar de buurtverbinder")
    assert "Anna wil lid worden, woont in de Kerkstraat" in jan.last.text
    assert jan.last.labels == ["✅ Toelaten", "❌ Afwijzen"]
    await jan.taps("Toelaten")
    assert jan.saw("U heeft Anna toegelaten tot Breugel-Noord")
    assert "Jan heeft u toegelaten tot buurtnetwerk Breugel-Noord" in anna.last.text
    assert "🏠 Mijn buurtnetwerk" in anna.last.labels
    assert await street.status(anna, "breugel-noord") == MembershipStatus.ACTIVE


async def test_anna_joins_by_street_name_and_jan_approves(street: Street) -> None:
    await anna_joins_and_jan_approves(street)


async def test_piet_joins_by_invite_link(street: Street) -> None:
    piet = street.piet
    await piet.says(f"/start {street.invite}")
    assert "Welkom bij buurtnetwerk Breugel-Noord" in piet.last.text
    assert await street.status(piet, "breugel-noord") == MembershipStatus.ACTIVE
    assert street.jan.inbox == []
    await street.kees.says(f"/start {street.invite}")  # the link was for one person
    assert "al gebruikt of verlopen" in street.kees.last.text
    assert await street.status(street.kees, "breugel-noord") is None


async def test_kees_mistypes_his_street(street: Street) -> None:
    kees = street.kees
    await kees.says("/aanmelden")
    await kees.says("Moolenstrat 7")
    assert "Woont u in de Molenstraat?" in kees.last.text and "Son-Centrum" in kees.last.text
    await kees.taps("Ja")
    assert "Kees wil lid worden" in street.marieke.last.text
    assert street.jan.inbox == []


async def test_a_forged_approve_button_is_refused(street: Street) -> None:
    anna = street.anna
    await anna.says("/start")
    await anna.says("Kerkstraat")
    await anna.taps("Ja")
    village = street.door.bot.village
    noord = await village.networks.by_slug("breugel-noord")
    membership = await village.stores.directory.membership_of(anna.id, noord.id or 0)
    assert membership is not None
    approve = encode(Tap.APPROVE, membership.id)

    await anna.forges(approve)
    assert "Dat kunt u hier niet doen" in anna.answers[-1]
    await street.marieke.says("/menu")
    await street.marieke.forges(approve)  # a buurtverbinder, but of Son-Centrum
    assert "U bent geen buurtverbinder van Breugel-Noord" in street.marieke.answers[-1]
    await street.jan.forges("ma:not-a-number")
    assert "Deze knop werkt niet meer" in street.jan.answers[-1]
    assert await street.status(anna, "breugel-noord") == MembershipStatus.PENDING


@pytest.mark.parametrize("door_name", [d for d in DOORS if d != "memory"])
async def test_every_reply_arrives_when_a_tenth_of_telegram_calls_fail_or_time_out(
    door_name: str, settings: Settings, clock: ManualClock
) -> None:
    async with FakeBotAPI(token="123456:FLAKY") as api:
        door = await start_door(door_name, settings, clock, api, seed)
        api.fail_ratio(0.07, error_code=502, seed=7)
        api.stall_ratio(0.03, seconds=1.5, seed=8)  # longer than BOT_API_TIMEOUT (1 s) in these tests
        api.stall_next("sendMessage", seconds=1.5)  # at least one reply times out, whatever the dice say
        people = [Who(door, name, id_) for name, id_ in (("Jan", JAN), ("Marieke", MARIEKE))]
        people += [Who(door, name, id_) for name, id_ in (("Anna", ANNA), ("Piet", PIET), ("Kees", KEES))]
        street = Street(door, INVITES[-1], *people)
        await anna_joins_and_jan_approves(street)
        await street.piet.says(f"/start {street.invite}")
        assert "Welkom bij buurtnetwerk Breugel-Noord" in street.piet.last.text
        await door.stop()
        sends = [name for name, _ in api.calls if name == "sendMessage"]
        delivered = [record for record in api.sent if record["method"] == "sendMessage"]
    assert len(sends) > len(delivered)  # some sends failed and were tried again...
    assert api.stalled >= 1  # ...and at least one of them timed out


@pytest.mark.parametrize("door_name", ["aiogram-polling", "ptb-webhook"])
async def test_a_buurtverbinder_who_blocked_the_bot_is_recorded_and_not_retried(
    door_name: str, settings: Settings, clock: ManualClock
) -> None:
    async with FakeBotAPI(token="123456:BLOCKED") as api:
        door = await start_door(door_name, settings, clock, api, seed)
        api.block(JAN)
        anna = Who(door, "Anna", ANNA)
        await anna.says("/start")
        await anna.says("Kerkstraat")
        await anna.taps("Ja")
        assert anna.saw("doorgestuurd naar de buurtverbinder")
        jan = await door.bot.village.stores.directory.get_person(JAN)
        await door.stop()
    assert [name for name, params in api.calls if name == "sendMessage" and params["chat_id"] == JAN] == ["sendMessage"]
    assert jan is not None and jan.unreachable_at is not None


@pytest.mark.parametrize("door_name", [d for d in DOORS if d.endswith("polling")])
async def test_long_dutch_text_buttons_and_a_file_arrive_as_sent(
    door_name: str, settings: Settings, clock: ManualClock
) -> None:
    # aiogram's calls go as JSON bodies, its files as multipart (bot.transports.aiogram_door).
    text = "<b>Privacy</b> &amp; uw gegevens: één keer per jaar ruimen we op; 50% minder? Ja! " * 30
    buttons = keyboard(
        Button("✅ Toelaten", "x:1"), [Button("Kan niet", "x:2"), Button("Site", url="https://son.nl/?a=1&b=2")]
    )
    async with FakeBotAPI(token="123456:SCENARIO") as api:
        door = await start_door(door_name, settings, clock, api, seed)
        messenger = door.bot.village.messenger
        try:
            message_id = await messenger.send(ANNA, Reply(text, buttons))
            edited = await messenger.edit(ANNA, message_id or 0, Reply(text.replace("Ja!", "Nee."), buttons))
            await messenger.send_document(
                ANNA, "straatfeest.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "Zet één in uw agenda"
            )
        finally:
            await door.stop()
    [shown, document] = api.messages_to(ANNA)
    assert edited and (shown["text"], shown["parse_mode"]) == (text.replace("Ja!", "Nee."), "HTML")
    assert shown["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "✅ Toelaten", "callback_data": "x:1"}],
            [{"text": "Kan niet", "callback_data": "x:2"}, {"text": "Site", "url": "https://son.nl/?a=1&b=2"}],
        ]
    }
    assert document["caption"] == "Zet één in uw agenda"
    assert (document["document"]["filename"], document["document"]["content"]) == (
        "straatfeest.ics",
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    )

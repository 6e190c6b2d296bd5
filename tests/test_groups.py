"""A street's Telegram group: linked by its buurtverbinder, members let in at once, strangers after joining."""

from __future__ import annotations

from typing import Any

import pytest

import bot.transports.aiogram_door
import bot.transports.ptb_door  # noqa: F401 - both runtimes take a while to import; pay it at collection
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.kernel.replies import html_to_plain
from tests.doors import TelegramHarness, Who, start_door
from tests.fakebotapi import FakeBotAPI
from tests.test_scenarios import ANNA, JAN, KEES, MARIEKE, seed

GROUP = -100_777


def decisions(api: FakeBotAPI) -> list[tuple[str, int]]:
    return [(name, int(params["user_id"])) for name, params in api.calls if name.endswith("ChatJoinRequest")]


@pytest.mark.parametrize("door_name", ["aiogram-polling", "ptb-webhook"])
async def test_members_are_let_in_and_strangers_join_the_network_first(
    door_name: str, settings: Settings, clock: ManualClock
) -> None:
    async with FakeBotAPI(token="123456:GROUP") as api:
        door = await start_door(door_name, settings, clock, api, seed)
        assert isinstance(door, TelegramHarness)
        handled = door.handled

        # Marieke is a buurtverbinder, but not of Breugel-Noord: she cannot link it.
        update = api.push_message(
            MARIEKE, "/koppel breugel-noord", first_name="Marieke", chat_id=GROUP, chat_type="supergroup"
        )
        await handled.wait(update)
        # Jan is Breugel-Noord's buurtverbinder but not (yet) an administrator of the group:
        # Telegram is asked, and he cannot link it.
        update = api.push_message(JAN, "/koppel", first_name="Jan", chat_id=GROUP, chat_type="supergroup")
        await handled.wait(update)
        api.set_chat_member(GROUP, JAN, "administrator")
        update = api.push_message(JAN, "/koppel", first_name="Jan", chat_id=GROUP, chat_type="supergroup")
        await handled.wait(update)
        said = [html_to_plain(record["text"] or "") for record in api.messages_to(GROUP)]
        assert "Dat kunt u hier niet doen" in said[-3]
        assert "Alleen een beheerder van deze groep" in said[-2]
        assert "hoort nu bij buurtnetwerk Breugel-Noord" in said[-1]
        asked = [params for name, params in api.calls if name == "getChatMember"]
        assert [(int(p["chat_id"]), int(p["user_id"])) for p in asked] == [(GROUP, JAN), (GROUP, JAN)]

        anna = Who(door, "Anna", ANNA)
        await anna.says("/start")
        await anna.says("Kerkstraat")
        await anna.taps("Ja")
        jan = Who(door, "Jan", JAN)
        await jan.taps("Toelaten")

        await handled.wait(api.push_chat_join_request(ANNA, GROUP, first_name="Anna"))
        assert decisions(api) == [("approveChatJoinRequest", ANNA)]  # a member: at once

        await handled.wait(api.push_chat_join_request(KEES, GROUP, first_name="Kees"))
        assert len(decisions(api)) == 1  # a stranger waits
        kees = Who(door, "Kees", KEES)
        assert "eerst wordt u lid daarvan" in kees.last.text
        await kees.says("Nieuwstraat 4")
        await kees.taps("Ja")
        assert "Kees wil lid worden" in jan.last.text
        await jan.taps("Toelaten")
        assert decisions(api) == [("approveChatJoinRequest", ANNA), ("approveChatJoinRequest", KEES)]
        await door.stop()


async def test_an_announcement_also_goes_to_the_linked_group(settings: Settings, clock: ManualClock) -> None:
    from bot.kernel.events import ChatKind, ChatRef
    from tests.conftest import start_village

    village = await start_village(settings, clock)
    group = ChatRef(GROUP, ChatKind.SUPERGROUP, "Kerkstraat")
    village.door.group_admins.add((GROUP, village.jan.id))
    await village.jan.says("/koppel", chat=group)
    await village.jan.says("/bericht")
    await village.jan.says("Vuilnis wordt dinsdag opgehaald.")
    await village.jan.taps("Versturen")
    await village.bot.village.sender.flush()
    in_group = [m for m in village.door.chat(GROUP) if "Vuilnis wordt dinsdag opgehaald" in m.text]
    assert len(in_group) == 1
    assert village.door.pinned == [(GROUP, in_group[0].message_id)]  # pinned in the group, not in private chats
    await village.bot.stop()


@pytest.mark.parametrize("door_name", ["aiogram-polling", "ptb-polling"])
async def test_an_announcement_is_pinned_in_the_linked_group_quietly(
    door_name: str, settings: Settings, clock: ManualClock
) -> None:
    async with FakeBotAPI(token="123456:PIN") as api:
        door = await start_door(door_name, settings, clock, api, seed)
        assert isinstance(door, TelegramHarness)
        api.set_chat_member(GROUP, JAN, "creator")
        await door.handled.wait(
            api.push_message(JAN, "/koppel", first_name="Jan", chat_id=GROUP, chat_type="supergroup")
        )
        jan = Who(door, "Jan", JAN)
        await jan.says("/bericht")
        await jan.says("De container staat zaterdag op het plein.")
        await jan.taps("Versturen")
        await api.wait_for_call("pinChatMessage", timeout=10)
        pins = [params for name, params in api.calls if name == "pinChatMessage"]
        in_group = [r for r in api.messages_to(GROUP) if "container" in (r.get("text") or "")]
        assert len(in_group) == 1 and in_group[0]["pinned"] is True
        assert len(pins) == 1 and pins[0]["message_id"] == in_group[0]["message_id"]
        assert pins[0]["disable_notification"] is True
        assert not any(r.get("pinned") for r in api.messages_to(ANNA))  # private chats: not pinned

        def is_report(record: dict[str, Any]) -> bool:
            return "Verslag" in (record.get("text") or "")

        first = await api.wait_for_message(JAN, is_report, timeout=10)

        # Without the right to pin, the announcement is still delivered, and reported as sent.
        api.fail_next("pinChatMessage", error_code=400, description="Bad Request: not enough rights to pin a message")
        await jan.says("/bericht")
        await jan.says("Dinsdag geen ophaaldienst.")
        await jan.taps("Versturen")
        report = await api.wait_for_message(
            JAN, lambda r: is_report(r) and r["message_id"] > first["message_id"], timeout=10
        )
        assert report["text"] == first["text"] and "mislukt" not in report["text"]  # the group counted as sent
        assert [r["pinned"] for r in api.messages_to(GROUP) if "ophaaldienst" in (r.get("text") or "")] == [False]
        await door.stop()


@pytest.mark.parametrize("door_name", ["aiogram-polling", "ptb-polling"])
async def test_new_members_of_a_linked_group_are_welcomed(
    door_name: str, settings: Settings, clock: ManualClock
) -> None:
    async with FakeBotAPI(token="123456:WELCOME") as api:
        door = await start_door(door_name, settings, clock, api, seed)
        assert isinstance(door, TelegramHarness)
        api.set_chat_member(GROUP, JAN, "creator")
        await door.handled.wait(
            api.push_message(JAN, "/koppel", first_name="Jan", chat_id=GROUP, chat_type="supergroup")
        )
        newcomer = {"id": ANNA, "is_bot": False, "first_name": "Anna"}
        update = api.push_update(
            {
                "message": {
                    "message_id": 99,
                    "date": 0,
                    "chat": {"id": GROUP, "type": "supergroup", "title": "Kerkstraat"},
                    "from": newcomer,
                    "new_chat_members": [newcomer],
                }
            }
        )
        await door.handled.wait(update)
        said = html_to_plain(api.messages_to(GROUP)[-1]["text"] or "")
        assert "Welkom in de groep, Anna!" in said and "Breugel-Noord" in said
        await door.stop()


async def test_a_group_is_linked_only_by_its_administrator_and_moved_only_by_its_own_network(
    settings: Settings, clock: ManualClock
) -> None:
    """Piet is buurtverbinder of Son-Centrum and a plain member of the Kerkstraat group: he cannot
    take it; once Jan has linked it to Breugel-Noord, Piet cannot move it even as an administrator
    of the group; the community manager can."""
    from bot.kernel.events import ChatKind, ChatRef
    from tests.conftest import CM_ID, start_village
    from tests.test_help_scenarios import member

    village = await start_village(settings, clock)
    app = village.bot.village
    group = ChatRef(GROUP, ChatKind.SUPERGROUP, "Kerkstraat")
    piet = await member(village, "Piet")  # lives in Breugel-Noord
    await app.memberships.appoint(village.centrum, piet.id, by=None, now=clock.now(), name="Piet")

    async def linked_to() -> str | None:
        network = await app.groups.network_of(GROUP)
        return network.slug if network else None

    def last_in_group() -> str:
        return village.door.chat(GROUP)[-1].text

    await piet.says("/koppel son-centrum", chat=group)  # a buurtverbinder, but not the group's administrator
    assert "Alleen een beheerder van deze groep" in last_in_group()
    assert await linked_to() is None

    village.door.group_admins.add((GROUP, village.jan.id))
    await village.jan.says("/koppel", chat=group)
    assert await linked_to() == "breugel-noord"

    village.door.group_admins.add((GROUP, piet.id))
    await piet.says("/koppel son-centrum", chat=group)  # administrator now, but not of this group's network
    assert "hoort bij buurtnetwerk Breugel-Noord" in last_in_group()
    assert await linked_to() == "breugel-noord"
    await piet.says("/ontkoppel", chat=group)
    assert "geen buurtverbinder van Breugel-Noord" in last_in_group()
    assert await linked_to() == "breugel-noord"

    karin = village.person("Karin", user_id=CM_ID)
    village.door.group_admins.add((GROUP, CM_ID))
    await karin.says("/koppel son-centrum", chat=group)
    assert await linked_to() == "son-centrum"
    await village.bot.stop()


async def test_strangers_get_no_answer_in_a_linked_group(settings: Settings, clock: ManualClock) -> None:
    """In Breugel-Noord's group, Kees (no member) types commands: the group sees no answer from the
    bot; a member typing a private command is pointed to the private chat."""
    from bot.kernel.events import ChatKind, ChatRef
    from tests.conftest import start_village
    from tests.test_help_scenarios import member

    village = await start_village(settings, clock)
    group = ChatRef(GROUP, ChatKind.SUPERGROUP, "Kerkstraat")
    village.door.group_admins.add((GROUP, village.jan.id))
    await village.jan.says("/koppel", chat=group)
    before = len(village.door.chat(GROUP))
    kees = village.person("Kees")
    marieke = village.marieke  # buurtverbinder of Son-Centrum, not of this group's network
    for person, command in [(kees, "/verzoeken"), (kees, "/hulp"), (kees, "/koppel"), (marieke, "/leden")]:
        await person.says(command, chat=group)
    assert len(village.door.chat(GROUP)) == before
    anna = await member(village, "Anna")
    await anna.says("/verzoeken", chat=group)
    assert len(village.door.chat(GROUP)) == before + 1
    assert "privégesprek" in village.door.chat(GROUP)[-1].text
    await village.bot.stop()

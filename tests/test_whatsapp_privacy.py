"""Privacy on WhatsApp: a resident's phone number is in their "mijn gegevens" file, and "vergeet mij"
takes it (and their name) out of every store file, over the fake Graph API."""

from __future__ import annotations

import json
from pathlib import Path

from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from storage.identities import FIRST_APP_PERSON_ID, AppIdentities
from tests.doors import WhatsAppHarness, Who, start_door
from tests.test_forget import store_files
from tests.test_scenarios import INVITES, JAN, PIET, seed
from tests.test_whatsapp_scenarios import asks_for_groceries, joins, offers_groceries

PHONE = "31655501234"  # as WhatsApp gives it: country code and number
# The number in every form someone might find it written, and the name she writes under.
TRACES = (PHONE, f"+{PHONE}", "0655501234", "Annabel", "Zonnebloem")


def traces_in(data_dir: Path, traces: tuple[str, ...]) -> list[tuple[str, str]]:
    """(file, trace) for every trace a store file (WAL and shared-memory files included) holds."""
    return [
        (path.name, trace) for path in store_files(data_dir) for trace in traces if trace.encode() in path.read_bytes()
    ]


async def annabel_asks_piet_helps_and_she_writes_to_him(door: WhatsAppHarness) -> Who:
    village = door.bot.village
    noord = await village.networks.by_slug("breugel-noord")
    second = (await village.memberships.invite(noord, created_by=JAN, now=village.clock.now())).code
    annabel = await door.newcomer("Annabel Zonnebloem", PHONE, f"/start {INVITES[-1]}")
    assert annabel.id >= FIRST_APP_PERSON_ID
    assert "Welkom bij buurtnetwerk Breugel-Noord" in annabel.last.text
    piet = Who(door, "Piet", PIET)
    await joins(piet, second)
    await offers_groceries(piet)
    await asks_for_groceries(annabel)
    await piet.taps("Ik help")
    await annabel.taps("Bericht aan")
    await annabel.says("Mijn deur is de blauwe, Zonnebloem staat erop")
    assert "Zonnebloem staat erop" in piet.last.text
    await piet.taps("Bericht aan")
    await piet.says("Prima, tot zaterdag!")
    assert "Prima, tot zaterdag!" in annabel.last.text
    return annabel


async def test_annabel_finds_her_app_and_phone_number_in_her_data(settings: Settings, clock: ManualClock) -> None:
    door = await start_door("whatsapp-only", settings, clock, None, seed)
    assert isinstance(door, WhatsAppHarness)
    try:
        annabel = await annabel_asks_piet_helps_and_she_writes_to_him(door)
        await annabel.says("mijn gegevens")  # plain words: WhatsApp has no commands
        [sent] = [message for message in door.graph.messages_to(PHONE) if message.document is not None]
        assert sent.document is not None and sent.document.content is not None
        data = json.loads(sent.document.content)
    finally:
        await door.stop()
    profile = data["profile"]
    assert profile["name"] == "Annabel Zonnebloem"
    assert "telegram_id" not in profile  # she is not on Telegram
    [app] = profile["apps"]
    assert app["app"] == "whatsapp" and app["phone"] == f"+{PHONE}"
    [network] = data["networks"]
    assert network["help_requests"][0]["description"].startswith("Boodschappen halen bij de Jumbo")
    assert network["messages_relayed"] == [
        {"sent": "Mijn deur is de blauwe, Zonnebloem staat erop", "at": network["messages_relayed"][0]["at"]},
        {"received": "Prima, tot zaterdag!", "at": network["messages_relayed"][1]["at"]},
    ]


async def test_vergeet_mij_leaves_neither_her_number_nor_her_name_in_any_store_file(
    settings: Settings, clock: ManualClock
) -> None:
    door = await start_door("whatsapp-only", settings, clock, None, seed)
    assert isinstance(door, WhatsAppHarness)
    try:
        village = door.bot.village
        annabel = await annabel_asks_piet_helps_and_she_writes_to_him(door)
        await village.sender.flush()
        found = {trace for _, trace in traces_in(settings.data_dir, TRACES)}
        assert {PHONE, "Zonnebloem"} <= found  # the search finds what is there

        await annabel.says("vergeet mij")  # plain words: WhatsApp has no commands
        assert "Wilt u dat Buurtbot u vergeet?" in annabel.last.text
        await annabel.taps("Ja, vergeet mij")
        assert "U bent vergeten" in annabel.last.text  # told on WhatsApp, before her number went
        assert await AppIdentities(village.stores.directory).of_person(annabel.id) == []
        assert await village.stores.directory.get_person(annabel.id) is None
        # While the bot runs on, right after she was told: no file, no page of a log, holds her.
        assert traces_in(settings.data_dir, (*TRACES, str(annabel.id))) == []

        piet = Who(door, "Piet", PIET)
        await piet.says("verzoeken")  # her request went with her
        assert "Boodschappen halen bij de Jumbo" not in piet.last.text
    finally:
        await door.stop()
    assert traces_in(settings.data_dir, (*TRACES, str(annabel.id))) == []

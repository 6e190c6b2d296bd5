"""Invites for WhatsApp: a wa.me link whose message, typed in for the resident, carries the code, so
they only tap Send; /uitnodigen and `buurtbot invite` give Telegram's link and WhatsApp's, or the code."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from pydantic import ValidationError

from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.transports.whatsapp.words import as_typed
from storage.identities import FIRST_APP_PERSON_ID
from storage.models import MembershipStatus
from tests.conftest import Village, make_settings, start_village
from tests.doors import WhatsAppHarness, Who, start_door
from tests.fakebotapi import FakeBotAPI
from tests.test_cli import buurtbot, finish, start_buurtbot
from tests.test_scenarios import INVITES, JAN, KEES, seed

NUMBER = "+31 6 1234 5678"  # as an operator writes it in .env
WA_ME = re.compile(r"https://wa\.me/(\d+)\?text=(\S+)")
TELEGRAM_LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


def whatsapp_link(text: str) -> tuple[str, str]:
    """The number and the typed-in message of the wa.me link in TEXT."""
    found = WA_ME.search(text)
    assert found is not None, text
    return found.group(1), unquote(found.group(2))


async def jan_invites_one_neighbour(village: Village) -> str:
    await village.jan.says("/uitnodigen")
    await village.jan.taps("Voor één persoon")
    return village.jan.last_text


@pytest.fixture
async def both_apps(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Village]:
    village = await start_village(make_settings(tmp_path / "data", whatsapp_number=NUMBER), clock)
    yield village
    await village.bot.stop()


# --- the link, and the words the door reads back -----------------------------------------------------


def test_whatsapp_number_is_kept_in_the_form_wa_me_wants_and_a_national_number_is_refused(tmp_path: Path) -> None:
    for written in ("+31 6 1234 5678", "0031-6-12345678", "31612345678", "+31 (6) 1234.5678"):
        assert make_settings(tmp_path, whatsapp_number=written).whatsapp_number == "31612345678"
    for wrong in ("06 12345678", "+31 6 1234 567x", "+31 6"):
        with pytest.raises(ValidationError, match="international form"):
            make_settings(tmp_path, whatsapp_number=wrong)


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_the_typed_in_message_of_each_language_reads_as_start_with_its_code(
    both_apps: Village, language: str
) -> None:
    code = "aB3-x_9Zq7Kd"
    link = both_apps.bot.village.whatsapp_link(code, network="Breugel-Noord & 't Zand", language=language)
    assert link is not None
    number, text = whatsapp_link(link)
    assert number == "31612345678"
    assert "Breugel-Noord & 't Zand" in text and f"(code {code})" in text  # plain words, no HTML
    assert as_typed(text, first=True) == f"/start {code}"  # the first message of a conversation
    assert as_typed(text, first=False) == f"/start {code}"  # or any later one


def test_only_a_message_ending_in_an_invites_code_is_read_as_one() -> None:
    assert as_typed("Ik wil lid worden (code ABC123)", first=False) == "/start ABC123"
    assert as_typed("ik wil lid worden (Code: ABC123).", first=False) == "/start ABC123"
    assert as_typed("De deur heeft een slot (code 4711) maar ik kom niet binnen", first=False) == (
        "De deur heeft een slot (code 4711) maar ik kom niet binnen"
    )
    assert as_typed("/start ABC123", first=True) == "/start ABC123"


# --- /uitnodigen ---------------------------------------------------------------------------------------


async def test_jan_gets_both_links_when_both_apps_are_configured(both_apps: Village) -> None:
    text = await jan_invites_one_neighbour(both_apps)
    telegram = TELEGRAM_LINK.search(text)
    assert telegram is not None and telegram.group(1) == "buurtbot_test"
    code = telegram.group(2)
    assert f"Telegram: https://t.me/buurtbot_test?start={code}" in text
    number, message = whatsapp_link(text)
    assert number == "31612345678" and message.endswith(f"(code {code})")
    assert "alleen nog op Verzenden tikken" in text
    # The resident only taps Send: from WhatsApp that message is a join at once.
    piet = both_apps.person("Piet")
    await piet.says(as_typed(message, first=True))
    assert "Welkom bij buurtnetwerk Breugel-Noord" in piet.last_text


async def test_without_a_bot_name_jan_gets_the_whatsapp_link_only(tmp_path: Path, clock: ManualClock) -> None:
    village = await start_village(make_settings(tmp_path / "data", bot_username="", whatsapp_number=NUMBER), clock)
    try:
        text = await jan_invites_one_neighbour(village)
    finally:
        await village.bot.stop()
    assert "t.me" not in text and "Telegram:" not in text
    assert "in WhatsApp op Verzenden tikt, is meteen lid:\nhttps://wa.me/31612345678?text=" in text


async def test_without_a_whatsapp_number_jan_gets_the_telegram_link_and_with_neither_the_code(
    tmp_path: Path, clock: ManualClock
) -> None:
    telegram_only = await start_village(make_settings(tmp_path / "a"), clock)
    try:
        text = await jan_invites_one_neighbour(telegram_only)
    finally:
        await telegram_only.bot.stop()
    assert TELEGRAM_LINK.search(text) is not None and "wa.me" not in text and "WhatsApp" not in text

    neither = await start_village(make_settings(tmp_path / "b", bot_username=""), clock)
    try:
        text = await jan_invites_one_neighbour(neither)
    finally:
        await neither.bot.stop()
    assert "https://" not in text and re.search(r"typt, is meteen lid", text)
    assert re.search(r"/start [A-Za-z0-9_-]{12}", text)


# --- buurtbot invite -----------------------------------------------------------------------------------


def test_buurtbot_invite_prints_both_links_and_the_code_for_the_console(tmp_path: Path) -> None:
    added = buurtbot(tmp_path, "network", "add", "Breugel-Noord", "--streets", "Kerkstraat")
    assert added.returncode == 0, added.stderr
    invite = finish(
        start_buurtbot(
            tmp_path, "invite", "breugel-noord", BOT_USERNAME="buurtbot_son", WHATSAPP_NUMBER="+31 6 1234 5678"
        )
    )
    assert invite.returncode == 0, invite.stderr
    telegram, whatsapp, console = invite.stdout.strip().splitlines()
    found = TELEGRAM_LINK.fullmatch(telegram.removeprefix("Telegram: "))
    assert found is not None, invite.stdout
    code = found.group(2)
    assert whatsapp.startswith("WhatsApp: https://wa.me/31612345678?text=")
    assert whatsapp_link(whatsapp)[1] == f"Hallo! Ik wil graag lid worden van buurtnetwerk Breugel-Noord (code {code})"
    assert console == f"(console: /start {code})"


# --- over the fake Graph API ---------------------------------------------------------------------------


async def test_a_whatsapp_newcomer_sends_the_typed_in_message_and_is_a_member_at_once(
    settings: Settings, clock: ManualClock
) -> None:
    async with FakeBotAPI(token="123456:INVITES") as api:
        door = await start_door(
            "whatsapp", settings.model_copy(update={"whatsapp_number": "31850000000"}), clock, api, seed
        )
        assert isinstance(door, WhatsAppHarness)
        try:
            jan = Who(door, "Jan", JAN)  # the buurtverbinder, on Telegram
            await jan.says("/uitnodigen")
            await jan.taps("Voor één persoon")
            assert "Telegram: https://t.me/" in jan.last.text
            number, message = whatsapp_link(jan.last.text)
            assert number == door.graph.display_phone_number
            # Lies taps the link Jan passed on; WhatsApp opens with the message typed in: she taps Send.
            lies = await door.newcomer("Lies", "31655507070", message)
            assert lies.id >= FIRST_APP_PERSON_ID
            assert "Welkom bij buurtnetwerk Breugel-Noord" in lies.last.text
            noord = await door.bot.village.networks.by_slug("breugel-noord")
            membership = await door.bot.village.stores.directory.membership_of(lies.id, noord.id or 0)
            assert membership is not None and membership.status == MembershipStatus.ACTIVE
            assert jan.inbox[-1].text == jan.last.text  # nobody had to approve her

            # Kees said "Hallo" some time ago and was asked for his street; the link works any time.
            kees = Who(door, "Kees", KEES)
            await kees.says("Hallo")
            assert "In welke straat woont u?" in kees.last.text
            link = door.bot.village.whatsapp_link(INVITES[-1], network="Breugel-Noord", language="nl")
            assert link is not None
            await kees.says(whatsapp_link(link)[1])
            assert "Welkom bij buurtnetwerk Breugel-Noord" in kees.last.text
        finally:
            await door.stop()

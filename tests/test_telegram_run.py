"""`buurtbot run` with a token: the Telegram runner over real HTTP against a fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

import bot.transports.aiogram_door  # noqa: F401 - aiogram takes seconds to import; pay it at collection
from bot.application.app import run
from bot.application.build import build_bot
from bot.application.settings import Settings
from bot.kernel.replies import html_to_plain
from bot.transports.telegram import run_telegram
from tests.conftest import make_settings
from tests.fakebotapi import FakeBotAPI, Record

JAN, ANNA, PIET = 1001, 2002, 3003


def buttons(record: Record) -> list[dict[str, Any]]:
    markup = record.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def button(record: Record, label: str) -> str:
    data: str = next(b["callback_data"] for b in buttons(record) if label in b["text"])
    return data


def says(fragment: str) -> Callable[[Record], bool]:
    """Matches a message whose text, as the person reads it (no HTML tags), contains `fragment`."""
    return lambda record: fragment in html_to_plain(record.get("text") or "")


def answered(api: FakeBotAPI, data: str) -> Callable[[object], bool]:
    """Matches once the bot has answered the press of the button carrying `data`."""
    return lambda _: data in [a["data"] for a in api.callback_answers]


async def seed(settings: Settings) -> str:
    """Breugel-Noord with Jan as buurtverbinder; returns a fresh invite code."""
    bot = build_bot(settings, door="cli")
    await bot.start()
    village = bot.village
    now = village.clock.now()
    network = await village.networks.add("Breugel-Noord", ["Nieuwstraat", "Kerkstraat"], now)
    await village.memberships.appoint(network, JAN, by=None, now=now, name="Jan")
    invite = await village.memberships.invite(network, created_by=JAN, now=now)
    await bot.stop()
    return invite.code


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token="123456:TEST") as server:
        yield server


@pytest.fixture
async def running(api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[tuple[FakeBotAPI, str]]:
    settings = make_settings(tmp_path / "data", bot_token=api.token, bot_api_base_url=api.base_url, bot_username="")
    code = await seed(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(settings, stop))
    await api.wait_for_call("getUpdates")
    yield api, code
    stop.set()
    assert await asyncio.wait_for(task, 10) == 0


async def test_anna_joins_and_jan_approves_over_real_http(running: tuple[FakeBotAPI, str]) -> None:
    api, _ = running
    api.push_message(ANNA, "/start", first_name="Anna")
    await api.wait_for_message(ANNA, says("In welke straat woont u?"))

    api.push_message(ANNA, "kerkstr 12", first_name="Anna")
    question = await api.wait_for_message(ANNA, says("Woont u in de Kerkstraat?"))
    assert [b["text"] for b in buttons(question)] == ["Ja, dat is mijn straat", "Nee, een andere straat"]

    yes = button(question, "Ja")
    api.press_button(ANNA, question, yes, first_name="Anna")
    await api.wait_for_message(ANNA, says("doorgestuurd naar de buurtverbinder"))
    request = await api.wait_for_message(JAN, says("Anna wil lid worden"))

    approve = button(request, "Toelaten")
    api.press_button(JAN, request, approve, first_name="Jan")
    await api.wait_for_message(JAN, says("U heeft Anna toegelaten"))
    welcome = await api.wait_for_message(ANNA, says("Jan heeft u toegelaten"))
    assert "🏠 Mijn buurtnetwerk" in [b["text"] for b in buttons(welcome)]
    assert welcome["parse_mode"] == "HTML"
    for tap in (yes, approve):  # every tap is answered, so no spinner is left turning
        await api.wait_for_call("answerCallbackQuery", answered(api, tap))


async def test_piet_joins_with_the_invite_link_and_a_forged_button_is_refused(running: tuple[FakeBotAPI, str]) -> None:
    api, code = running
    api.push_message(PIET, f"/start {code}", first_name="Piet")
    welcome = await api.wait_for_message(PIET, says("Welkom bij buurtnetwerk Breugel-Noord"))

    api.press_button(PIET, welcome, "ma:1", first_name="Piet", strict=False)
    answer = await api.wait_for_call("answerCallbackQuery", lambda p: bool(p.get("text")))
    assert "Dat kunt u hier niet doen" in answer["text"]


async def test_the_command_menu_is_set_in_dutch_and_english(running: tuple[FakeBotAPI, str]) -> None:
    api, _ = running
    # Set in the background, so a failing menu does not stop the bot: waited for.
    assert await api.wait_until(lambda: {"", "nl", "en"} <= set(api.commands))
    dutch = [c["command"] for c in api.commands["nl"]]
    english = [c["command"] for c in api.commands["en"]]
    assert "aanmelden" in dutch and "hulp" in dutch and "join" not in dutch
    assert "join" in english and "help" in english
    assert [c["command"] for c in api.commands[""]] == dutch  # everyone else gets Dutch
    assert any(name == "deleteWebhook" for name, _ in api.calls)


async def test_an_update_telegram_delivers_twice_is_handled_once(running: tuple[FakeBotAPI, str]) -> None:
    api, _ = running
    update = {
        "update_id": 990001,
        "message": {
            "message_id": 5,
            "date": 0,
            "chat": {"id": ANNA, "type": "private", "first_name": "Anna"},
            "from": {"id": ANNA, "is_bot": False, "first_name": "Anna", "language_code": "nl"},
            "text": "/privacy",
        },
    }
    api.push_update(update)
    await api.wait_for_message(ANNA, says("Uw gegevens bij Buurtbot"))
    api.push_update(update)
    api.push_message(ANNA, "/stop", first_name="Anna")
    await api.wait_for_message(ANNA, says("Er is niets om te stoppen"))
    assert len([r for r in api.messages_to(ANNA) if "Uw gegevens" in (r["text"] or "")]) == 1


async def test_replies_get_through_when_telegram_hiccups(running: tuple[FakeBotAPI, str]) -> None:
    api, _ = running
    api.fail_next("sendMessage", error_code=502)
    api.fail_next("sendMessage", error_code=429, retry_after=1)
    api.push_message(ANNA, "/privacy", first_name="Anna")
    await api.wait_for_message(ANNA, says("Uw gegevens bij Buurtbot"), timeout=10)
    assert api.served_faults == [("sendMessage", 502), ("sendMessage", 429)]  # both were met, and overcome


async def test_run_without_a_token_is_the_console(tmp_path: Path) -> None:
    import io

    settings = make_settings(tmp_path / "data")
    output = io.StringIO()
    assert await run(settings, source=io.StringIO("/as Anna\n/start\n"), output=output) == 0
    assert "seeded the demo village" in output.getvalue()
    assert "Welkom, Anna!" in output.getvalue()


@pytest.mark.parametrize("runtime", ["aiogram", "ptb"])
async def test_sigterm_finishes_the_update_in_hand_and_exits_0(api: FakeBotAPI, tmp_path: Path, runtime: str) -> None:
    data = tmp_path / "data"
    await seed(make_settings(data))
    environment = {
        **os.environ,
        "BOT_TOKEN": api.token,
        "BOT_API_BASE_URL": api.base_url,
        "DATA_DIR": str(data),
        "BOT_RUNTIME": runtime,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=environment, stderr=asyncio.subprocess.PIPE
    )
    try:
        await api.wait_for_call("getUpdates", timeout=20)
        api.delay("sendMessage", 1.5)  # the reply is still on its way when SIGTERM comes
        api.push_message(ANNA, "/privacy", first_name="Anna")
        await api.wait_for_call("sendMessage", timeout=10)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert any("Uw gegevens bij Buurtbot" in (r["text"] or "") for r in api.messages_to(ANNA))

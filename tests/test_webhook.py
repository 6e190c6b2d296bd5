"""Webhook mode: the secret token, /healthz, and "received" said only once the update is kept."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

import bot.transports.aiogram_door
import bot.transports.ptb_door  # noqa: F401
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from tests.doors import TelegramHarness, start_door
from tests.fakebotapi import FakeBotAPI

ANNA = 2002
SECRET = "s3cret-for-tests"  # what tests/doors.py configures


def privacy_update(update_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": ANNA, "type": "private", "first_name": "Anna"},
            "from": {"id": ANNA, "is_bot": False, "first_name": "Anna", "language_code": "nl"},
            "text": "/privacy",
        },
    }


@pytest.fixture(params=["aiogram-webhook", "ptb-webhook"])
async def hook(
    request: pytest.FixtureRequest, settings: Settings, clock: ManualClock
) -> AsyncIterator[tuple[FakeBotAPI, TelegramHarness, str]]:
    async with FakeBotAPI(token="123456:HOOK") as api:
        door = await start_door(request.param, settings, clock, api)
        assert isinstance(door, TelegramHarness)
        assert api.webhook["url"] == "https://buurtbot.example/telegram/hook"
        assert api.webhook["secret_token"] == SECRET
        local = f"http://{door_listen(door)}/telegram/hook"
        yield api, door, local
        await door.stop()


def door_listen(door: TelegramHarness) -> str:
    return door.bot.village.settings.webhook_listen


async def test_a_request_without_the_secret_token_is_refused_and_logged(
    hook: tuple[FakeBotAPI, TelegramHarness, str], caplog: pytest.LogCaptureFixture
) -> None:
    api, door, local = hook
    with caplog.at_level(logging.WARNING):
        assert await api.deliver_webhook(local, privacy_update(7001)) == 401
        assert await api.deliver_webhook(local, privacy_update(7002), secret_token="wrong") == 401
    assert "wrong or missing X-Telegram-Bot-Api-Secret-Token" in caplog.text
    assert await door.bot.village.stores.directory.unhandled_updates("telegram") == []
    assert api.messages_to(ANNA) == []


async def test_received_is_said_only_once_the_update_is_kept(hook: tuple[FakeBotAPI, TelegramHarness, str]) -> None:
    api, door, local = hook
    directory = door.bot.village.stores.directory
    api.delay("sendMessage", 0.5)  # the reply is slow, but Telegram hears back at once
    assert await api.deliver_webhook(local, privacy_update(7003), secret_token=SECRET) == 200
    assert api.messages_to(ANNA) == []  # no reply yet...
    now = door.bot.village.clock.now()  # ...but the update is kept: a second delivery is recognised
    assert not await directory.record_update(door="telegram", update_id=7003, event="{}", now=now)
    await door.handled.wait(7003)
    assert "Uw gegevens bij Buurtbot" in (api.messages_to(ANNA)[-1]["text"] or "")


async def test_nonsense_is_refused_and_healthz_answers(hook: tuple[FakeBotAPI, TelegramHarness, str]) -> None:
    _, door, local = hook
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as session:
        async with session.post(local, data=b"not json", headers=headers) as response:
            assert response.status == 400
        async with session.get(f"http://{door_listen(door)}/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}

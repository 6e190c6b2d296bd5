"""The webhook at its edges, on both runtimes: what is not a Telegram update gets 400 (never 500),
refusals do not flood the log, slow connections are closed, and a stop does not wait for them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

import bot.transports.aiogram_door
import bot.transports.ptb_door  # noqa: F401 - the frameworks take seconds to import; pay it at collection
from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.transports import webhook
from tests.doors import TelegramHarness, start_door
from tests.fakebotapi import FakeBotAPI

ANNA = 2002
SECRET = "s3cret-for-tests"  # what tests/doors.py configures
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
SLOW_S = 0.3  # the header and body timeouts these tests give the server


def anna(**message: Any) -> dict[str, Any]:
    return {
        "message_id": 1,
        "date": 0,
        "chat": {"id": ANNA, "type": "private", "first_name": "Anna"},
        "from": {"id": ANNA, "is_bot": False, "first_name": "Anna", "language_code": "nl"},
        "text": "/privacy",
    } | message


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


NOT_UPDATES: dict[str, Any] = {
    "an array": [{"update_id": 1, "message": anna()}],
    "null": None,
    "a string": "update",
    "an object without update_id": {"message": anna()},
    "a text update_id": {"update_id": "abc", "message": anna()},
    "a numeric text update_id": {"update_id": "7101", "message": anna()},
    "a fractional update_id": {"update_id": 7102.5, "message": anna()},
    "a boolean update_id": {"update_id": True, "message": anna()},
    "a negative update_id": {"update_id": -4, "message": anna()},
    "a message without chat": {"update_id": 7103, "message": without(anna(), "chat")},
    "a message with a text chat id": {"update_id": 7104, "message": anna(chat={"id": "x", "type": "private"})},
    "a message that is a list": {"update_id": 7105, "message": [anna()]},
    "a message with a numeric text": {"update_id": 7106, "message": anna(text=42)},
    # What the door does not check itself, the framework finds: still 400, not 500.
    "a message with entities that are not a list": {"update_id": 7110, "message": anna(entities="bold")},
    "a sender without an id": {"update_id": 7107, "message": anna(**{"from": {"first_name": "Anna"}})},
    "a button press without a sender": {
        "update_id": 7108,
        "callback_query": {"id": "q1", "chat_instance": "1", "data": "ma:1", "message": anna()},
    },
    "a join request without a chat": {
        "update_id": 7109,
        "chat_join_request": {"from": anna()["from"], "user_chat_id": ANNA, "date": 0},
    },
}


@pytest.fixture
def body_timeout() -> float:
    return SLOW_S


@pytest.fixture(params=["aiogram-webhook", "ptb-webhook"])
async def hook(
    request: pytest.FixtureRequest,
    settings: Settings,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    body_timeout: float,
) -> AsyncIterator[tuple[FakeBotAPI, TelegramHarness, str]]:
    monkeypatch.setattr(webhook, "HEADER_TIMEOUT_S", SLOW_S)
    monkeypatch.setattr(webhook, "BODY_TIMEOUT_S", body_timeout)
    async with FakeBotAPI(token="123456:EDGE") as api:
        door = await start_door(request.param, settings, clock, api)
        assert isinstance(door, TelegramHarness)
        yield api, door, door.bot.village.settings.webhook_listen
        if not door.task.done():
            await door.stop()


async def post(listen: str, body: bytes) -> int:
    url = f"http://{listen}/telegram/hook"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=HEADERS) as response:
        return response.status


@pytest.mark.parametrize("case", NOT_UPDATES)
async def test_what_is_not_a_telegram_update_gets_400_and_is_not_kept(
    hook: tuple[FakeBotAPI, TelegramHarness, str], case: str
) -> None:
    api, door, listen = hook
    assert await post(listen, json.dumps(NOT_UPDATES[case]).encode()) == 400
    assert await door.bot.village.stores.directory.unhandled_updates("telegram") == []
    # The door still takes real updates.
    assert await post(listen, json.dumps({"update_id": 7200, "message": anna()}).encode()) == 200
    await door.handled.wait(7200)
    assert len(api.messages_to(ANNA)) == 1


IGNORED_UPDATES: dict[str, Any] = {
    "an edited message": {"update_id": 7300, "edited_message": anna(edit_date=1)},
    "a message without a sender": {"update_id": 7301, "message": without(anna(), "from")},
}


@pytest.mark.parametrize("case", IGNORED_UPDATES)
async def test_an_update_the_bot_does_not_handle_is_received_and_ignored(
    hook: tuple[FakeBotAPI, TelegramHarness, str], case: str
) -> None:
    api, door, listen = hook
    # Refused, Telegram would send it again and again.
    assert await post(listen, json.dumps(IGNORED_UPDATES[case]).encode()) == 200
    assert await door.bot.village.stores.directory.unhandled_updates("telegram") == []
    assert api.messages_to(ANNA) == []


@pytest.mark.parametrize("depth", [40, 100_000])
async def test_a_body_nested_beyond_any_update_gets_400(
    hook: tuple[FakeBotAPI, TelegramHarness, str], depth: int
) -> None:
    _, _, listen = hook
    # Under a field no framework reads: only the depth itself can be the reason to refuse it.
    nested = b'{"update_id": 7400, "x_unknown": ' + b"[" * depth + b"]" * depth + b"}"
    assert await post(listen, nested) == 400


async def test_a_body_larger_than_any_update_is_refused(hook: tuple[FakeBotAPI, TelegramHarness, str]) -> None:
    _, _, listen = hook
    huge = json.dumps({"update_id": 7500, "message": anna(text="x" * (webhook.MAX_BODY_BYTES + 1))}).encode()
    assert await post(listen, huge) == 413


async def test_refusals_are_logged_at_most_once_a_minute_with_a_count(
    hook: tuple[FakeBotAPI, TelegramHarness, str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, listen = hook
    with caplog.at_level(logging.INFO, logger=webhook.__name__):
        for _ in range(50):
            assert await post(listen, b"[]") == 400
        assert len([r for r in caplog.records if r.name == webhook.__name__ and r.levelno >= logging.WARNING]) == 1
        monkeypatch.setattr(webhook, "REFUSAL_LOG_INTERVAL_S", 0.0)  # as if the minute has passed
        assert await post(listen, b"null") == 400
    warnings = [r.getMessage() for r in caplog.records if r.name == webhook.__name__ and r.levelno >= logging.WARNING]
    assert len(warnings) == 2
    assert "50 " in warnings[1]  # the 49 kept quiet and this one


async def _drip(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Sends `data` a byte at a time, slower than the server waits for it, until it closes."""
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(SLOW_S / 3)


async def closed_within(listen: str, opening: bytes, dripped: bytes, seconds: float) -> bytes:
    """Opens a connection, sends `opening` at once and `dripped` slowly; what the server said
    before it closed the connection, which it must do within `seconds`."""
    host, _, port = listen.rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(opening)
    dripping = asyncio.create_task(_drip(writer, dripped))
    try:
        async with asyncio.timeout(seconds):
            answer = b""
            with contextlib.suppress(ConnectionError):
                while chunk := await reader.read(65536):
                    answer += chunk
            return answer
    finally:
        dripping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dripping
        writer.close()


async def test_a_connection_that_drips_its_headers_is_closed(hook: tuple[FakeBotAPI, TelegramHarness, str]) -> None:
    _, _, listen = hook
    headers = b"POST /telegram/hook HTTP/1.1\r\nHost: bot\r\n" + b"X-Slow: " + b"a" * 10_000
    answer = await closed_within(listen, b"", headers, 10 * SLOW_S)
    assert b"200" not in answer


async def test_a_connection_that_drips_its_body_is_closed(hook: tuple[FakeBotAPI, TelegramHarness, str]) -> None:
    api, door, listen = hook
    body = json.dumps({"update_id": 7600, "message": anna()}).encode()
    head = (
        f"POST /telegram/hook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    answer = await closed_within(listen, head, body, 10 * SLOW_S)
    assert not answer.startswith(b"HTTP/1.1 200")
    assert await door.bot.village.stores.directory.unhandled_updates("telegram") == []
    assert api.messages_to(ANNA) == []


@pytest.mark.parametrize("body_timeout", [60.0])  # the server would wait long for the rest of a body...
async def test_a_stop_does_not_wait_for_a_slow_connection(hook: tuple[FakeBotAPI, TelegramHarness, str]) -> None:
    _, door, listen = hook
    host, _, port = listen.rpartition(":")
    _, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /telegram/hook HTTP/1.1\r\nHost: bot\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
        "Content-Length: 1000\r\n\r\n{"
    ).encode()
    writer.write(head)
    await writer.drain()
    async with aiohttp.ClientSession() as session, session.get(f"http://{listen}/healthz") as response:
        assert response.status == 200  # by now the server has read the slow request's head too
    door.stop_event.set()
    assert await asyncio.wait_for(door.task, 10) == 0  # ...but a stop does not wait for it
    writer.close()

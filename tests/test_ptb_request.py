"""PTB's calls over aiohttp (bot/transports/ptb_request.py): what PTB gets back when the Bot API
is slow or gone, and what the server receives. The door's scenarios (tests/test_scenarios.py) run
every PTB call through it against the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut

from bot.transports.ptb_request import AiohttpRequest
from tests.doors import free_port

TOKEN = "700001:REQUEST"
ME = {"id": 700001, "is_bot": True, "first_name": "Buurtbot", "username": "buurtbot"}


def field(value: str | bytes | bytearray | web.FileField) -> str | tuple[str, bytes]:
    """A form field as the test compares it: text as is, a file as (filename, content)."""
    if isinstance(value, str):
        return value
    assert isinstance(value, web.FileField), value
    return value.filename, value.file.read()


class Recorder:
    """A tiny Bot API: answers getMe and sendDocument, and keeps what each request carried."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            seen: dict[str, Any] = {"json": await request.json()}
        else:
            form = await request.post()
            seen = {"form": {k: field(v) for k, v in form.items()}}
        self.received.append({"method": method, "content_type": request.content_type, **seen})
        if method == "getMe":
            return web.json_response({"ok": True, "result": ME})
        chat = {"id": 42, "type": "private", "first_name": "Anna"}
        document = {"file_id": "f1", "file_unique_id": "u1", "file_name": "agenda.ics"}
        message = {"message_id": 7, "date": 0, "chat": chat, "document": document}
        return web.json_response({"ok": True, "result": message})


@pytest.fixture
async def api() -> AsyncIterator[tuple[Recorder, str]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield recorder, f"http://127.0.0.1:{port}/bot"
    await runner.cleanup()


async def test_calls_go_as_json_and_files_as_multipart(api: tuple[Recorder, str]) -> None:
    recorder, base_url = api
    async with Bot(TOKEN, base_url=base_url, request=AiohttpRequest()) as bot:
        assert bot.username == "buurtbot"
        sent = await bot.send_document(42, InputFile(b"BEGIN:VCALENDAR", filename="agenda.ics"), caption="Burendag")
    assert sent.message_id == 7
    get_me, send = recorder.received
    assert get_me["method"] == "getMe"
    assert send["content_type"] == "multipart/form-data"
    assert send["form"]["chat_id"] == "42" and send["form"]["caption"] == "Burendag"
    assert send["form"]["document"] == ("agenda.ics", b"BEGIN:VCALENDAR")


async def test_parameters_arrive_as_json_values(api: tuple[Recorder, str]) -> None:
    recorder, base_url = api
    request = AiohttpRequest()
    await request.initialize()
    try:
        async with Bot(TOKEN, base_url=base_url, request=request) as bot:
            await bot.send_message(42, "Zaterdag <b>burendag</b> 🎉", parse_mode="HTML")
    finally:
        await request.shutdown()
    sent = recorder.received[-1]
    assert sent["content_type"] == "application/json"
    assert sent["json"] == {"chat_id": 42, "text": "Zaterdag <b>burendag</b> 🎉", "parse_mode": "HTML"}


async def test_a_slow_bot_api_is_a_timeout(api: tuple[Recorder, str]) -> None:
    recorder, base_url = api
    recorder.delay = 1.0
    request = AiohttpRequest(read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"{base_url}{TOKEN}/getMe")
    finally:
        await request.shutdown()


async def test_no_bot_api_is_a_network_error() -> None:
    request = AiohttpRequest(connect_timeout=2.0)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{free_port()}/bot{TOKEN}/getMe")
        assert not isinstance(raised.value, TimedOut)
        assert "aiohttp." in str(raised.value)
    finally:
        await request.shutdown()


async def test_a_request_that_was_shut_down_says_so() -> None:
    request = AiohttpRequest()
    with pytest.raises(NetworkError, match="not initialized"):  # PTB wraps what its request raises
        await request.post("http://127.0.0.1:9/botX/getMe")

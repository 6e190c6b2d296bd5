"""Fake Telegram Bot API server for tests and benchmarks, built on aiohttp.web.

It listens on 127.0.0.1 on a free port and answers ``/bot{token}/{method}`` the way
api.telegram.org does (JSON, urlencoded and multipart requests; Telegram's result and
error shapes), so aiogram 3 and python-telegram-bot talk to it unchanged::

    async with FakeBotAPI(token="123456:TEST") as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))  # aiogram
        bot = telegram.Bot(token, base_url=f"{api.base_url}/bot")                # PTB
        api.push_message(42, "/start")
        reply = await api.wait_for_message(42)

Like Telegram it validates what it can cheaply check: empty or too long texts, HTML
tags (Markdown is passed through unchecked), inline keyboards (callback_data of 1-64 bytes),
bot commands, "message is not modified" edits and double-answered callback queries.
Updates of types outside ``allowed_updates`` are dropped when pushed (see
``dropped_updates``); by default chat_member and reaction updates are not delivered.

Where things are:

- ``api.py``: FakeBotAPI, assembled from the parts below.
- ``server.py``: the aiohttp app, routing a call to its method, start/stop, base_url.
- ``methods.py``: the Bot API methods' handlers (getUpdates, sendMessage, setWebhook, ...).
- ``state.py``: chats, users, members, messages and their Records, the updates queue, call logs.
- ``updates.py``: what users do: push_message, press_button, join requests, my_chat_member.
- ``waiting.py``: wait_for_message, wait_for_sent, wait_for_call, wait_until.
- ``limits.py``: Telegram's rate limits, violations, 429s for breaking them, counted_times().
- ``faults.py``: injected errors (fail_next, fail_ratio: 429s, 5xx), stalls, delays, blocked chats.
- ``webhooks.py``: pushing queued updates to the bot's webhook listener.
- ``html.py``: the HTML parse mode's checks and UTF-16 text lengths.
- ``markup.py``: inline keyboard checks; ``params.py``: reading and typing a call's parameters.
- ``common.py``: JSON, ChatId, Record, ApiError, UploadedFile.
"""

from .api import FakeBotAPI
from .common import JSON, ApiError, ChatId, Record, UploadedFile
from .limits import COUNTED_METHODS, EDIT_METHODS, PRIVATE_BURST, SEND_METHODS

__all__ = [
    "COUNTED_METHODS",
    "EDIT_METHODS",
    "JSON",
    "PRIVATE_BURST",
    "SEND_METHODS",
    "ApiError",
    "ChatId",
    "FakeBotAPI",
    "Record",
    "UploadedFile",
]

"""Bare echo bots, one per framework, polling the same fake Bot API: what the full stack is compared to.

Each answers every text with the same text and nothing else: the framework's own polling, parsing
and one sendMessage per update. Both handle updates concurrently, as Buurtbot does (aiogram's
default tasks; PTB with 32 concurrent updates, Buurtbot's MAX_CONCURRENT_UPDATES default).

The PTB echo bot uses PTB's own networking (httpx) unless asked for the PTB door's (aiohttp,
bot/transports/ptb_request.py): then the two differ only in what Buurtbot does with an update.
"""

from __future__ import annotations

import asyncio
from typing import Any

POLL_TIMEOUT_S = 10
CONCURRENT_UPDATES = 32


class AiogramEcho:
    def __init__(self, token: str, base_url: str) -> None:
        from aiogram import Bot, Dispatcher
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer
        from aiogram.types import Message

        self.bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
        self.dispatcher = Dispatcher()

        async def echo(message: Message) -> None:
            await message.answer(message.text or "?")

        self.dispatcher.message.register(echo)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AiogramEcho:
        self._task = asyncio.create_task(
            self.dispatcher.start_polling(self.bot, handle_signals=False, polling_timeout=POLL_TIMEOUT_S)
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.dispatcher.stop_polling()
        assert self._task is not None
        await self._task
        await self.bot.session.close()


class PtbEcho:
    def __init__(self, token: str, base_url: str, networking: str = "httpx") -> None:
        from telegram import Update
        from telegram.ext import Application, ContextTypes, MessageHandler, filters

        builder = (
            Application.builder()
            .token(token)
            .base_url(f"{base_url}/bot")
            .base_file_url(f"{base_url}/file/bot")
            .concurrent_updates(CONCURRENT_UPDATES)
        )
        if networking == "aiohttp":
            from bot.transports.ptb_request import AiohttpRequest

            builder = builder.request(AiohttpRequest(connection_pool_size=64)).get_updates_request(
                AiohttpRequest(read_timeout=POLL_TIMEOUT_S + 10)
            )
        self.application = builder.build()

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.effective_message
            if message is not None:
                await context.bot.send_message(message.chat_id, message.text or "?")

        self.application.add_handler(MessageHandler(filters.TEXT, echo))

    async def __aenter__(self) -> PtbEcho:
        await self.application.initialize()
        updater = self.application.updater
        assert updater is not None
        await updater.start_polling(timeout=POLL_TIMEOUT_S)
        await self.application.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        updater = self.application.updater
        assert updater is not None
        await updater.stop()
        await self.application.stop()
        await self.application.shutdown()


def echo_bot(runtime: str, token: str, base_url: str, ptb_networking: str = "httpx") -> Any:
    return PtbEcho(token, base_url, ptb_networking) if runtime == "ptb" else AiogramEcho(token, base_url)

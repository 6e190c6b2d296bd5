"""The python-telegram-bot (v22) door: the same core, the same port, PTB underneath."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

# Ask PTB for retry_after as a timedelta (its coming default) instead of a deprecated int.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram import Chat as TgChat
from telegram import User as TgUser
from telegram._utils.types import JSONDict
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Updater

from bot.core import Buurtbot
from bot.events import ButtonPress, ChatKind, ChatRef, Event, JoinRequest, MembersJoined, Message, Sender
from bot.port import (
    BlockedByUser,
    CommandMenu,
    DoorError,
    OutboundPort,
    RateLimited,
    TransientDoorError,
)
from bot.replies import Reply
from bot.settings import Settings
from bot.transports.answers import loads_what_the_bot_reads
from bot.transports.errors import GROUP_ADMIN_STATUSES, door_error_for_bad_request
from bot.transports.ptb_request import AiohttpRequest

log = logging.getLogger(__name__)
T = TypeVar("T")
ALLOWED_UPDATES = ["message", "callback_query", "chat_join_request"]
POLL_TIMEOUT_S = 10


class PtbPort:
    """The core's outbound port, carried out with a PTB Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, reply: Reply) -> int:
        sent = await _mapped(
            lambda: self.bot.send_message(
                chat_id, reply.text, parse_mode="HTML", reply_markup=_markup(reply), disable_web_page_preview=True
            )
        )
        return sent.message_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        await _mapped(
            lambda: self.bot.edit_message_text(
                reply.text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode="HTML",
                reply_markup=_markup(reply),
                disable_web_page_preview=True,
            )
        )

    async def answer_press(self, press_id: str, text: str | None = None, *, alert: bool = False) -> None:
        await _mapped(lambda: self.bot.answer_callback_query(press_id, text=text, show_alert=alert))

    async def send_document(self, chat_id: int, filename: str, content: bytes, caption: str | None = None) -> int:
        document = InputFile(content, filename=filename)
        sent = await _mapped(lambda: self.bot.send_document(chat_id, document, caption=caption, parse_mode="HTML"))
        return sent.message_id

    async def decide_join_request(self, chat_id: int, user_id: int, *, approve: bool) -> None:
        if approve:
            await _mapped(lambda: self.bot.approve_chat_join_request(chat_id, user_id))
        else:
            await _mapped(lambda: self.bot.decline_chat_join_request(chat_id, user_id))

    async def pin(self, chat_id: int, message_id: int) -> None:
        await _mapped(lambda: self.bot.pin_chat_message(chat_id, message_id, disable_notification=True))

    async def is_group_admin(self, chat_id: int, user_id: int) -> bool:
        member = await _mapped(lambda: self.bot.get_chat_member(chat_id, user_id))
        return member.status in GROUP_ADMIN_STATUSES

    async def set_commands(self, menus: Sequence[CommandMenu]) -> None:
        for menu in menus:
            commands = [BotCommand(c.command, c.description) for c in menu.commands]
            await _mapped(functools.partial(self.bot.set_my_commands, commands, language_code=menu.language))


def _markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data, url=b.url) for b in row] for row in reply.buttons]
    )


async def _mapped(call: Callable[[], Awaitable[T]]) -> T:
    """Runs a PTB call, turning its exceptions into the core's few door errors."""
    try:
        return await call()
    except RetryAfter as error:
        retry_after: Any = error.retry_after
        seconds = retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else float(retry_after)
        raise RateLimited(seconds) from error
    except Forbidden as error:
        raise BlockedByUser(error.message) from error
    except BadRequest as error:
        raise door_error_for_bad_request(error.message) from error
    except NetworkError as error:  # includes TimedOut
        raise TransientDoorError(error.message) from error
    except TelegramError as error:
        raise DoorError(error.message) from error


def _sender(user: TgUser) -> Sender:
    return Sender(user.id, user.first_name, user.last_name, user.username, user.language_code)


def _chat(chat: TgChat) -> ChatRef:
    kind = ChatKind(chat.type) if chat.type in ChatKind._value2member_map_ else ChatKind.GROUP
    return ChatRef(chat.id, kind, chat.title)


def event_from_update(update: Update) -> Event | None:
    """The core event for a PTB update, or None for kinds the bot does not handle."""
    message = update.message
    if message is not None and message.new_chat_members and message.from_user is not None:
        newcomers = tuple(_sender(user) for user in message.new_chat_members if not user.is_bot)
        if not newcomers:
            return None
        return MembersJoined(update.update_id, _sender(message.from_user), _chat(message.chat), newcomers)
    if message is not None and message.from_user is not None and not message.from_user.is_bot:
        return Message(
            update.update_id, _sender(message.from_user), _chat(message.chat), message.text or "", message.message_id
        )
    request = update.chat_join_request
    if request is not None:
        return JoinRequest(update.update_id, _sender(request.from_user), _chat(request.chat), request.user_chat_id)
    query = update.callback_query
    if query is not None:
        if query.message is not None:
            chat, message_id = _chat(query.message.chat), query.message.message_id
        else:
            chat, message_id = ChatRef(query.from_user.id), 0
        return ButtonPress(update.update_id, _sender(query.from_user), chat, message_id, query.data or "", query.id)
    return None


class _DoorRequest(AiohttpRequest):
    """The door's calls: of a message sent or edited, and of a pressed button's message, PTB is
    handed only what the door reads (see `loads_what_the_bot_reads`); building the rest into
    PTB's objects was a sixth of the bot's CPU."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        try:  # as PTB's own does, but for what is left out
            return loads_what_the_bot_reads(payload.decode("utf-8", "replace"))  # type: ignore[no-any-return]
        except ValueError as error:
            raise TelegramError("Invalid server response") from error


class PtbRuntime:
    """Telegram through python-telegram-bot: long polling with PTB's Updater, or webhook updates."""

    name = "ptb"

    def __init__(self, settings: Settings, core: Buurtbot) -> None:
        self.core = core
        base = settings.bot_api_base_url.rstrip("/")
        self.bot = Bot(
            settings.bot_token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=_DoorRequest(
                connection_pool_size=64,
                read_timeout=settings.bot_api_timeout,
                write_timeout=settings.bot_api_timeout,
                connect_timeout=settings.bot_api_timeout,
            ),
            get_updates_request=_DoorRequest(read_timeout=POLL_TIMEOUT_S + 10),
        )
        self.port: OutboundPort = PtbPort(self.bot)
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._updater: Updater | None = None
        self._feeder: asyncio.Task[None] | None = None

    async def open(self) -> str:
        await self.bot.initialize()
        return self.bot.username

    async def close(self) -> None:
        await self.bot.shutdown()

    def event_from_json(self, data: dict[str, Any]) -> Event | None:
        update = Update.de_json(data, self.bot)
        return event_from_update(update) if update is not None else None

    async def set_webhook(self, url: str, secret: str) -> None:
        await _mapped(lambda: self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES))

    async def delete_webhook(self) -> None:
        await _mapped(lambda: self.bot.delete_webhook(drop_pending_updates=False))

    async def start_polling(self) -> None:
        self._updater = Updater(self.bot, self._queue)
        await self._updater.initialize()
        await self._updater.start_polling(timeout=POLL_TIMEOUT_S, allowed_updates=ALLOWED_UPDATES)
        self._feeder = asyncio.create_task(self._feed())

    async def _feed(self) -> None:
        """Hands what PTB fetched to the core, everything waiting at once (kept in one transaction)."""
        stopping = False
        while not stopping:
            waiting = [await self._queue.get()]
            while not self._queue.empty():
                waiting.append(self._queue.get_nowait())
            stopping = any(item is _STOP for item in waiting)
            events = [event_from_update(update) for update in waiting if isinstance(update, Update)]
            await self.core.submit_all([event for event in events if event is not None])

    async def stop_polling(self) -> None:
        if self._updater is not None:
            await self._updater.stop()
            await self._updater.shutdown()
        # Updates PTB already fetched are handed to the core before the feeder stops.
        await self._queue.put(_STOP)
        if self._feeder is not None:
            await self._feeder


_STOP = object()  # put on the queue after the last update

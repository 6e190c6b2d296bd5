"""The python-telegram-bot (v22) door: the same core, the same port, PTB underneath."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
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
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.application.settings import Settings
from bot.kernel.core import Buurtbot
from bot.kernel.events import ButtonPress, ChatKind, ChatRef, Event, JoinRequest, MembersJoined, Message, Sender
from bot.kernel.port import (
    BlockedByUser,
    CommandMenu,
    DoorError,
    OutboundPort,
    RateLimited,
    TransientDoorError,
)
from bot.kernel.replies import Reply
from bot.transports.answers import loads_what_the_bot_reads
from bot.transports.errors import GROUP_ADMIN_STATUSES, TokenRefused, door_error_for_bad_request
from bot.transports.ptb_request import AiohttpRequest

log = logging.getLogger(__name__)
T = TypeVar("T")
ALLOWED_UPDATES = ["message", "callback_query", "chat_join_request"]
POLL_TIMEOUT_S = 10
POLL_BACKOFF_S = 1.0  # after a failed poll; doubled after each failure in a row
POLL_BACKOFF_MAX_S = 30.0


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
        raise RateLimited(_seconds(error.retry_after)) from error
    except Forbidden as error:
        raise BlockedByUser(error.message) from error
    except BadRequest as error:
        raise door_error_for_bad_request(error.message) from error
    except InvalidToken as error:  # 401, and 404 for a token Telegram cannot read
        raise TokenRefused(error.message) from error
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
    """Telegram through python-telegram-bot: long polling (the door's own loop), or webhook updates."""

    name = "ptb"

    def __init__(self, settings: Settings, core: Buurtbot) -> None:
        self.core = core
        base = settings.bot_api_base_url.rstrip("/")
        self._requests = (
            _DoorRequest(
                connection_pool_size=64,
                read_timeout=settings.bot_api_timeout,
                write_timeout=settings.bot_api_timeout,
                connect_timeout=settings.bot_api_timeout,
            ),
            _DoorRequest(read_timeout=POLL_TIMEOUT_S + 10),
        )
        self.bot = Bot(
            settings.bot_token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=self._requests[0],
            get_updates_request=self._requests[1],
        )
        self.port: OutboundPort = PtbPort(self.bot)
        self._stopping = asyncio.Event()
        self._polling: asyncio.Task[None] | None = None

    async def open(self) -> str:
        await _mapped(self.bot.initialize)  # asks getMe
        return self.bot.username

    async def close(self) -> None:
        await self.bot.shutdown()
        for request in self._requests:  # PTB shuts them down only if the bot was initialized
            await request.shutdown()

    def event_from_json(self, data: dict[str, Any]) -> Event | None:
        update = Update.de_json(data, self.bot)
        return event_from_update(update) if update is not None else None

    async def set_webhook(self, url: str, secret: str) -> None:
        await _mapped(lambda: self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES))

    async def delete_webhook(self) -> None:
        await _mapped(lambda: self.bot.delete_webhook(drop_pending_updates=False))

    async def start_polling(self) -> None:
        self._stopping.clear()
        self._polling = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        """Long polling that confirms updates to Telegram only once the core has kept them.

        Telegram forgets an update when asked for those past it (the offset), so the next ask
        waits for `submit_all` to return: a bot killed at any moment loses nothing. PTB's own
        Updater asks again at once and hands the updates over on a queue."""
        offset = 0
        failures = 0
        while not self._stopping.is_set():
            fetching = asyncio.ensure_future(
                self.bot.get_updates(
                    offset=offset, timeout=timedelta(seconds=POLL_TIMEOUT_S), allowed_updates=ALLOWED_UPDATES
                )
            )
            stopping = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait((fetching, stopping), return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetching.done():  # stopping: what this poll would fetch is not confirmed yet
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await fetching
                return
            updates: tuple[Update, ...] = ()
            try:
                updates = fetching.result()
                events = [event for event in map(event_from_update, updates) if event is not None]
                await self.core.submit_all(events)
            except RetryAfter as error:
                await self._pause(_seconds(error.retry_after))
                continue
            except TelegramError as error:
                failures += 1
                log.warning("could not fetch updates (%s); trying again", error)
                await self._pause(_backoff(failures))
                continue
            except Exception:
                # Not kept, so not confirmed: asked for again, with the same offset.
                failures += 1
                log.exception("could not keep %d fetched updates; trying again", len(updates))
                await self._pause(_backoff(failures))
                continue
            failures = 0
            if updates:
                offset = updates[-1].update_id + 1

    async def _pause(self, seconds: float) -> None:
        """Waits `seconds`, or less when the runtime is stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def stop_polling(self) -> None:
        """Stops asking for updates; every update fetched has been kept when this returns."""
        self._stopping.set()
        if self._polling is not None:
            await self._polling


def _backoff(failures: int) -> float:
    return float(min(POLL_BACKOFF_S * 2 ** (failures - 1), POLL_BACKOFF_MAX_S))


def _seconds(retry_after: Any) -> float:
    return float(retry_after.total_seconds() if hasattr(retry_after, "total_seconds") else retry_after)

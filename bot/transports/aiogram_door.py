"""The aiogram 3 door: Telegram updates in, core calls out, aiogram's errors mapped to the core's."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from aiogram.types import Message as TgMessage
from aiogram.types import User as TgUser

from bot.core import Buurtbot
from bot.events import ButtonPress, ChatKind, ChatRef, Message, Sender
from bot.port import (
    BlockedByUser,
    ChatNotFound,
    CommandMenu,
    DoorError,
    MessageGone,
    MessageNotModified,
    RateLimited,
    TransientDoorError,
)
from bot.replies import Reply
from bot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot_api_base_url))
    defaults = DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True)
    return Bot(settings.bot_token, session=session, default=defaults)


class AiogramPort:
    """The core's outbound port, carried out with an aiogram Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, reply: Reply) -> int:
        sent = await _mapped(lambda: self.bot.send_message(chat_id, reply.text, reply_markup=_markup(reply)))
        return sent.message_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        await _mapped(
            lambda: self.bot.edit_message_text(
                text=reply.text, chat_id=chat_id, message_id=message_id, reply_markup=_markup(reply)
            )
        )

    async def answer_press(self, press_id: str, text: str | None = None, *, alert: bool = False) -> None:
        await _mapped(lambda: self.bot.answer_callback_query(press_id, text=text, show_alert=alert))

    async def set_commands(self, menus: Sequence[CommandMenu]) -> None:
        for menu in menus:
            commands = [BotCommand(command=c.command, description=c.description) for c in menu.commands]
            await _mapped(functools.partial(self.bot.set_my_commands, commands, language_code=menu.language))


def _markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.data, url=b.url) for b in row] for row in reply.buttons
        ]
    )


async def _mapped(call: Callable[[], Awaitable[T]]) -> T:
    """Runs an aiogram call, turning its exceptions into the core's few door errors."""
    try:
        return await call()
    except TelegramRetryAfter as error:
        raise RateLimited(error.retry_after) from error
    except TelegramForbiddenError as error:
        raise BlockedByUser(error.message) from error
    except TelegramNotFound as error:
        raise ChatNotFound(error.message) from error
    except TelegramBadRequest as error:
        raise _bad_request(error.message) from error
    except (TelegramNetworkError, TelegramServerError) as error:
        raise TransientDoorError(str(error)) from error


def _bad_request(description: str) -> DoorError:
    text = description.casefold()
    if "not modified" in text:
        return MessageNotModified(description)
    if "chat not found" in text or "user not found" in text:
        return ChatNotFound(description)
    if "message to edit not found" in text or "can't be edited" in text or "query is too old" in text:
        return MessageGone(description)
    return DoorError(description)


def _sender(user: TgUser) -> Sender:
    return Sender(user.id, user.first_name, user.last_name, user.username, user.language_code)


def _chat(message: TgMessage | InaccessibleMessage) -> ChatRef:
    chat = message.chat
    kind = ChatKind(chat.type) if chat.type in ChatKind._value2member_map_ else ChatKind.GROUP
    return ChatRef(chat.id, kind, chat.title)


class AiogramDoor:
    """Feeds aiogram's updates to the core; the core decides everything else."""

    def __init__(self, core: Buurtbot) -> None:
        self.core = core
        self.dispatcher = Dispatcher()
        self.dispatcher.message.register(self._on_message)
        self.dispatcher.callback_query.register(self._on_press)

    async def _on_message(self, message: TgMessage, event_update: Update) -> None:
        if message.from_user is None or message.from_user.is_bot:
            return
        event = Message(
            event_update.update_id, _sender(message.from_user), _chat(message), message.text or "", message.message_id
        )
        await self.core.submit(event)

    async def _on_press(self, query: CallbackQuery, event_update: Update) -> None:
        if query.message is None:
            chat = ChatRef(query.from_user.id)
            message_id = 0
        else:
            chat = _chat(query.message)
            message_id = query.message.message_id
        event = ButtonPress(
            event_update.update_id, _sender(query.from_user), chat, message_id, query.data or "", query.id
        )
        await self.core.submit(event)

    async def poll(self, bot: Bot) -> None:
        """Long polling until `stop()`; each update is handed to the core, which bounds concurrency."""
        await self.dispatcher.start_polling(
            bot,
            handle_signals=False,  # the runner handles SIGTERM so updates in hand can finish
            close_bot_session=False,  # replies still in hand need the session
            handle_as_tasks=False,  # the core's intake spawns the tasks, with a bound
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )

    async def stop(self) -> None:
        await self.dispatcher.stop_polling()

"""The aiogram 3 door: Telegram updates in, core calls out, aiogram's errors mapped to the core's."""

from __future__ import annotations

# isort: off
from bot.transports.aiogram_types import build_now  # first: aiogram's types are built on first use

# isort: on
import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from aiogram.types import Message as TgMessage
from aiogram.types import User as TgUser
from aiohttp import BytesPayload

from bot.application.settings import Settings
from bot.kernel.core import Buurtbot
from bot.kernel.events import ButtonPress, ChatKind, ChatRef, Event, JoinRequest, MembersJoined, Message, Sender
from bot.kernel.port import (
    BlockedByUser,
    ChatNotFound,
    CommandMenu,
    DoorError,
    OutboundPort,
    RateLimited,
    TransientDoorError,
)
from bot.kernel.replies import Keyboard, Reply
from bot.transports.answers import loads_what_the_bot_reads
from bot.transports.errors import GROUP_ADMIN_STATUSES, TokenRefused, door_error_for_bad_request

log = logging.getLogger(__name__)
T = TypeVar("T")
ALLOWED_UPDATES = ["message", "callback_query", "chat_join_request"]

# aiogram reads every answer as `Response[<the method's result type>]`, a pydantic generic made
# on each call. pydantic caches those classes only while something else refers to them, so
# after each garbage collection the next call builds the class again: about 10 ms of CPU, here
# on most edits and polls. Holding them keeps the cache warm (see `_keep_response_types`).
_USED_METHODS = (
    methods.GetMe,
    methods.GetUpdates,
    methods.SendMessage,
    methods.EditMessageText,
    methods.AnswerCallbackQuery,
    methods.SendDocument,
    methods.ApproveChatJoinRequest,
    methods.DeclineChatJoinRequest,
    methods.PinChatMessage,
    methods.SetMyCommands,
    methods.SetWebhook,
    methods.DeleteWebhook,
)
_RESPONSE_TYPES: list[Any] = []


def _keep_response_types() -> None:
    if not _RESPONSE_TYPES:
        response: Any = methods.Response
        _RESPONSE_TYPES.extend(response[method.__returning__] for method in _USED_METHODS)
        build_now(_RESPONSE_TYPES)


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

    async def send_document(self, chat_id: int, filename: str, content: bytes, caption: str | None = None) -> int:
        document = BufferedInputFile(content, filename=filename)
        sent = await _mapped(lambda: self.bot.send_document(chat_id, document, caption=caption))
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
            commands = [BotCommand(command=c.command, description=c.description) for c in menu.commands]
            await _mapped(functools.partial(self.bot.set_my_commands, commands, language_code=menu.language))


def _markup(reply: Reply) -> InlineKeyboardMarkup | None:
    return _markup_of(reply.buttons) if reply.buttons else None


@functools.lru_cache(maxsize=256)
def _markup_of(buttons: Keyboard) -> InlineKeyboardMarkup:
    """The buttons as aiogram's markup, made once for a keyboard many people get (a menu, a Cancel
    button), and without pydantic's validation: the core's `Button` has checked them already, and
    validating a keyboard costs a fifth of a send. Never changed after: aiogram only reads it."""
    return InlineKeyboardMarkup.model_construct(
        inline_keyboard=[
            [InlineKeyboardButton.model_construct(text=b.label, callback_data=b.data, url=b.url) for b in row]
            for row in buttons
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
    except TelegramUnauthorizedError as error:
        raise TokenRefused(error.message) from error
    except TelegramBadRequest as error:
        raise door_error_for_bad_request(error.message) from error
    except (TimeoutError, TelegramNetworkError, TelegramServerError) as error:
        raise TransientDoorError(str(error)) from error
    except TelegramAPIError as error:
        raise DoorError(error.message) from error


def _sender(user: TgUser) -> Sender:
    return Sender(user.id, user.first_name, user.last_name, user.username, user.language_code)


def _chat(message: TgMessage | InaccessibleMessage) -> ChatRef:
    chat = message.chat
    kind = ChatKind(chat.type) if chat.type in ChatKind._value2member_map_ else ChatKind.GROUP
    return ChatRef(chat.id, kind, chat.title)


def event_from_update(update: Update) -> Event | None:
    """The core event for an aiogram update, or None for kinds the bot does not handle."""
    message = update.message
    if message is not None and message.new_chat_members and message.from_user is not None:
        newcomers = tuple(_sender(user) for user in message.new_chat_members if not user.is_bot)
        if not newcomers:
            return None
        return MembersJoined(update.update_id, _sender(message.from_user), _chat(message), newcomers)
    if message is not None and message.from_user is not None and not message.from_user.is_bot:
        return Message(
            update.update_id, _sender(message.from_user), _chat(message), message.text or "", message.message_id
        )
    request = update.chat_join_request
    if request is not None:
        chat = ChatRef(
            request.chat.id,
            ChatKind.SUPERGROUP if request.chat.type == "supergroup" else ChatKind.GROUP,
            request.chat.title,
        )
        return JoinRequest(update.update_id, _sender(request.from_user), chat, request.user_chat_id)
    query = update.callback_query
    if query is not None:
        if query.message is not None:
            chat, message_id = _chat(query.message), query.message.message_id
        else:
            chat, message_id = ChatRef(query.from_user.id), 0
        return ButtonPress(update.update_id, _sender(query.from_user), chat, message_id, query.data or "", query.id)
    return None


_PLAIN = (str, int, float, bool)


class _Session(AiohttpSession):
    """aiogram's HTTP session, with two changes:

    - it asks Telegram for more updates, which confirms the ones fetched before, only after those
      are kept: so the updates of one poll are kept together, in one transaction;
    - a call without files goes as a JSON body, not as a form: URL-encoding a message's text is
      pure Python, byte by byte (0.2 ms of CPU for a 2,000-character text, against 0.01 ms for
      JSON), and the bot's texts are long. Telegram takes both."""

    def __init__(self, before_poll: Callable[[], Awaitable[None]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._before_poll = before_poll

    def build_form_data(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        files: dict[str, Any] = {}
        body = {}
        # Without the unset fields (most of a keyboard button's), as aiogram would drop them.
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = value if type(value) in _PLAIN else self.prepare_value(value, bot, files, _dumps_json=False)
            if prepared is not None and prepared != "":
                body[key] = prepared
        if files:  # a document: multipart, as aiogram sends it
            return super().build_form_data(bot, method)
        return BytesPayload(self.json_dumps(body).encode(), content_type="application/json")

    async def make_request(self, bot: Bot, method: TelegramMethod[T], timeout: int | None = None) -> T:  # noqa: ASYNC109 (aiogram's signature)
        if isinstance(method, methods.GetUpdates):
            await self._before_poll()
        return await super().make_request(bot, method, timeout)


class AiogramRuntime:
    """Telegram through aiogram: long polling with its Dispatcher, or webhook updates."""

    name = "aiogram"

    def __init__(self, settings: Settings, core: Buurtbot) -> None:
        self.core = core
        _keep_response_types()
        self._fetched: list[Event] = []  # polled, not yet handed to the core
        session = _Session(
            self._keep_fetched,
            api=TelegramAPIServer.from_base(settings.bot_api_base_url),
            timeout=settings.bot_api_timeout,
            json_loads=loads_what_the_bot_reads,
        )
        defaults = DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True)
        self.bot = Bot(settings.bot_token, session=session, default=defaults)
        self.port: OutboundPort = AiogramPort(self.bot)
        self.dispatcher = Dispatcher()
        self.dispatcher.message.register(self._on_update)
        self.dispatcher.callback_query.register(self._on_update)
        self.dispatcher.chat_join_request.register(self._on_update)
        self._polling: asyncio.Task[None] | None = None
        self._keeping: asyncio.Future[None] | None = None

    async def open(self) -> str:
        try:
            me = await _mapped(self.bot.get_me)
        except ChatNotFound as error:  # 404: Telegram's answer to a token it cannot read
            raise TokenRefused(str(error)) from error
        return me.username or ""

    async def close(self) -> None:
        await self.bot.session.close()

    def event_from_json(self, data: dict[str, Any]) -> Event | None:
        return event_from_update(Update.model_validate(data, context={"bot": self.bot}))

    async def set_webhook(self, url: str, secret: str) -> None:
        await _mapped(lambda: self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES))

    async def delete_webhook(self) -> None:
        await _mapped(lambda: self.bot.delete_webhook(drop_pending_updates=False))

    async def _on_update(self, _: object, event_update: Update) -> None:
        event = event_from_update(event_update)
        if event is not None:
            self._fetched.append(event)  # handed over, kept together, before the next poll

    async def _keep_fetched(self) -> None:
        """Hands what was fetched to the core, kept together. A stop that cancels the poll meanwhile
        does not cut this off: `stop_polling` waits for it."""
        if self._keeping is None or self._keeping.done():
            self._keeping = asyncio.ensure_future(self._keep())
        await asyncio.shield(self._keeping)

    async def _keep(self) -> None:
        events, self._fetched = self._fetched, []
        if not events:
            return
        try:
            await self.core.submit_all(events)
        except BaseException:
            # Not kept, so not confirmed: the next poll tries again first (a kept one is not
            # handled twice: the core knows its update id).
            self._fetched[:0] = events
            raise

    async def start_polling(self) -> None:
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                handle_signals=False,  # the runner handles SIGTERM so updates in hand can finish
                close_bot_session=False,  # replies still in hand need the session
                handle_as_tasks=False,  # the core's intake spawns the tasks, with a bound
                allowed_updates=ALLOWED_UPDATES,
            )
        )

    async def stop_polling(self) -> None:
        if self._polling is None:
            return
        if not self._polling.done():
            try:
                await self.dispatcher.stop_polling()
            except RuntimeError:  # asked to stop before its first poll began: nothing fetched yet
                self._polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._polling
        if self._keeping is not None:
            try:
                await self._keeping
            except Exception as error:  # what it could not keep is back in `_fetched`: tried again below
                log.warning("could not keep the fetched updates (%s); trying once more", error)
        await self._keep_fetched()  # the last poll's updates

"""Fake Telegram Bot API server for tests, built on aiohttp.web.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import math
import random
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
ChatId = int | str
Record = dict[str, Any]
PRIVATE_BURST = 3  # messages to one private chat within a second before it counts as flooding
"""A message the bot sent: chat_id, message_id, method, text, caption, parse_mode,
reply_markup, document, photo, history (earlier versions), edit_date, deleted, pinned,
message (the current Telegram Message object) and at (time.monotonic() when it was recorded,
one clock for every process on Linux, so a benchmark can time it against its own clock)."""

SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup"})
COUNTED_METHODS = SEND_METHODS | EDIT_METHODS | {"pinChatMessage"}
"""Every method that puts or changes a message in a chat: each counts against Telegram's overall
limit (30 a second across all chats). Only sends count against a chat's own limit (1 a second in
a private chat, 20 a minute in a group): a tap's edit often follows a reply in the same chat at once."""
_BLOCKABLE = SEND_METHODS | {"sendChatAction"}
_DEFAULT_SKIPPED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_TEXT_FIELDS = frozenset(
    {
        "text",
        "caption",
        "title",
        "description",
        "short_description",
        "name",
        "data",
        "url",
        "secret_token",
        "query",
        "bio",
        "invite_link",
        "callback_query_id",
        "inline_message_id",
        "parse_mode",
        "action",
        "language_code",
        "custom_title",
        "emoji",
        "ip_address",
    }
)
_INT_RE = re.compile(r"-?\d+\Z")
_FLOAT_RE = re.compile(r"-?\d+\.\d+\Z")
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_COMMAND_RE = re.compile(r"[a-z0-9_]+\Z")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "pay",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
    }
)


class ApiError(Exception):
    """A Telegram error answer: HTTP status = error_code, plus an optional retry_after."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str | None


@dataclass
class _Fault:
    error_code: int
    description: str
    retry_after: int | None
    count: int


class _Signal:
    """Wakes every waiter on fire(); waiters re-check their condition afterwards."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(seconds, 0))


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _coerce(key: str, value: Any) -> Any:
    """Turn form strings into the JSON values both bot libraries encoded them from."""
    if not isinstance(value, str) or key in _TEXT_FIELDS:
        return value
    if _INT_RE.match(value):
        return int(value)
    if _FLOAT_RE.match(value):
        return float(value)
    if value in ("true", "false"):
        return value == "true"
    if value[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _parse_html(text: str) -> str:
    """Check tags like Telegram's HTML parser does and return the plain text."""
    plain: list[str] = []
    open_tags: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) != -1:
        plain.append(text[pos:start])
        offset = len(text[:start].encode())
        is_end = text.startswith("</", start)
        end = text.find(">", start)
        if end == -1:
            kind = "end" if is_end else "start"
            raise _bad(f"can't parse entities: Unclosed {kind} tag at byte offset {offset}")
        if is_end:
            name = text[start + 2 : end].strip().lower()
            if not open_tags:
                raise _bad(f"can't parse entities: Unexpected end tag at byte offset {offset}")
            if name != open_tags[-1]:
                raise _bad(
                    f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                    f'expected "</{open_tags[-1]}>", found "</{name}>"'
                )
            open_tags.pop()
        else:
            name = re.split(r"[\s/]", text[start + 1 : end], maxsplit=1)[0].lower()
            if name not in _HTML_TAGS:
                raise _bad(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}')
            open_tags.append(name)
        pos = end + 1
    plain.append(text[pos:])
    if open_tags:
        raise _bad(f"can't parse entities: Can't find end tag corresponding to start tag \"{open_tags[0]}\"")
    return _HTML_ENTITY_RE.sub(lambda match: html.unescape(match[0]), "".join(plain))


def _formatted(text: str, parse_mode: str | None) -> str:
    """Validate text for its parse_mode and return what Telegram would show."""
    return _parse_html(text) if (parse_mode or "").lower() == "html" else text


def _inline(markup: Any) -> JSON | None:
    """The part of a reply_markup that Telegram echoes in the Message: inline keyboards only."""
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def _check_markup(markup: Any) -> None:
    if isinstance(markup, str):
        raise _bad("can't parse reply keyboard markup JSON object")
    keyboard = _inline(markup)
    if keyboard is None:
        return
    rows = keyboard["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise _bad("can't parse inline keyboard button: Text is empty")
        if not _BUTTON_ACTIONS & button.keys():
            raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= 64:
            raise _bad("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not re.match(r"(https?|tg)://\S+\Z", str(url)):
            raise _bad("BUTTON_URL_INVALID")


def _callback_data(markup: Any) -> set[str]:
    keyboard = _inline(markup) or {"inline_keyboard": []}
    return {
        button["callback_data"] for row in keyboard["inline_keyboard"] for button in row if "callback_data" in button
    }


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


class FakeBotAPI:
    """An in-process Telegram Bot API for one bot token; see the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        bot_username: str = "buurtbot_test_bot",
        bot_first_name: str = "Buurtbot",
        enforce_rate_limits: bool = False,
        first_update_id: int | None = None,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.enforce_rate_limits = enforce_rate_limits
        # What the bot did, for assertions.
        self.sent: list[Record] = []
        self.calls: list[tuple[str, JSON]] = []
        self.callback_answers: list[JSON] = []
        self.chat_actions: list[tuple[ChatId, str]] = []
        self.join_request_decisions: list[tuple[str, ChatId, int]] = []
        self.invite_links: dict[str, JSON] = {}
        self.pinned: dict[ChatId, list[int]] = {}
        self.webhook: JSON = {"url": ""}
        self.violations: list[JSON] = []
        self.too_many_requests = 0  # 429 answers given, injected or for breaking the limits
        self.served_faults: list[tuple[str, int]] = []  # (method, error code) of each fail_next fault served
        self.edits: list[tuple[ChatId, float]] = []  # (chat, time.monotonic()) of every edit made
        self.pins: list[tuple[ChatId, float]] = []  # (chat, time.monotonic()) of every pin made
        self.dropped_updates: list[JSON] = []
        self.internal_errors: list[str] = []
        self.all_commands: dict[tuple[str, str], list[JSON]] = {}
        # Internal state.
        self._next_update_id = first_update_id or random.randint(100_000_000, 800_000_000)
        self._updates: list[JSON] = []
        self._pusher: asyncio.Task[None] | None = None
        self._random_stall: tuple[float, float, frozenset[str] | None, random.Random] | None = None
        self.stalled = 0
        self._stalls: dict[str, list[float]] = {}
        self.webhook_statuses: list[int] = []
        self._allowed_updates: frozenset[str] | None = None
        self._users: dict[int, JSON] = {}
        self._chats: dict[ChatId, JSON] = {}
        self._members: dict[tuple[ChatId, int], JSON] = {}
        self._last_message_id: dict[ChatId, int] = {}
        self._records: dict[tuple[ChatId, int], Record] = {}
        self._user_messages: set[tuple[ChatId, int]] = set()
        self._callback_queries: dict[str, JSON] = {}
        self._join_requests: set[tuple[ChatId, int]] = set()
        self._files: dict[str, JSON] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._random_fault: tuple[float, int, frozenset[str] | None, random.Random] | None = None
        self._delays: dict[str, float] = {}
        self._blocked: set[ChatId] = set()
        self._send_window: deque[float] = deque()
        self._counted: list[float] = []  # time.monotonic() of every counted call made (COUNTED_METHODS)
        self._chat_windows: dict[ChatId, deque[float]] = {}
        self._poll_generation = 0
        self._closing = False
        self._update_signal = _Signal()
        self._change_signal = _Signal()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._methods: dict[str, Callable[[JSON], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": self._true,
            "close": self._true,
            "sendMessage": self._send_message,
            "sendDocument": partial(self._send_file, "sendDocument", "document"),
            "sendPhoto": partial(self._send_file, "sendPhoto", "photo"),
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "approveChatJoinRequest": partial(self._decide_join_request, "approved"),
            "declineChatJoinRequest": partial(self._decide_join_request, "declined"),
            "createChatInviteLink": self._create_invite_link,
            "revokeChatInviteLink": self._revoke_invite_link,
            "pinChatMessage": self._pin,
            "unpinChatMessage": self._unpin,
            "getChatMember": self._get_chat_member,
            "getChat": self._get_chat,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
        }
        self._canonical = {name.lower(): name for name in self._methods}

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._closing = True
        self._update_signal.fire()
        self._change_signal.fire()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    # ----------------------------------------------------------- injecting updates

    def push_update(self, update: JSON) -> int:
        """Queue any update; an update_id is assigned unless given. Returns the update_id."""
        update = dict(update)
        update_id = int(update.setdefault("update_id", self._next_update_id))
        self._next_update_id = max(self._next_update_id, update_id + 1)
        kind = _update_type(update)
        if self._allowed_updates is None:
            wanted = kind not in _DEFAULT_SKIPPED_UPDATES
        else:
            wanted = kind in self._allowed_updates
        if not wanted:
            self.dropped_updates.append(update)
        else:
            self._updates.append(update)
            self._update_signal.fire()
        return update_id

    def push_message(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Anna",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "nl",
        chat_id: ChatId | None = None,
        chat_type: str = "private",
        reply_to_message_id: int | None = None,
    ) -> int:
        """A user writes text (commands get a bot_command entity). Returns the update_id."""
        user = self._remember_user(user_id, first_name, last_name, username, language_code)
        chat_id = user_id if chat_id is None else chat_id
        if chat_type == "private" and chat_id != user_id:
            chat_type = "supergroup"
        if chat_type == "private":
            self._chats[chat_id] = {"id": chat_id, "type": "private"} | {
                k: v for k, v in user.items() if k in ("first_name", "last_name", "username")
            }
        else:
            self._chats.setdefault(chat_id, {"id": chat_id, "type": chat_type, "title": f"Group {chat_id}"})
        message = self._new_message(chat_id, user, text=text)
        self._user_messages.add((chat_id, message["message_id"]))
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        replied = self._records.get((chat_id, reply_to_message_id or 0))
        if replied is not None:
            message["reply_to_message"] = replied["message"]
        return self.push_update({"message": message})

    def press_button(
        self,
        user_id: int,
        message: Record | tuple[ChatId, int],
        data: str,
        *,
        first_name: str = "Anna",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "nl",
        strict: bool = True,
    ) -> int:
        """A user presses an inline button of a message the bot sent. Returns the update_id.

        With strict=True the data must belong to a button the message has (or had).
        """
        key = (message["chat_id"], message["message_id"]) if isinstance(message, dict) else message
        record = self._records.get(key)
        if record is None or record["deleted"]:
            raise ValueError(f"the bot sent no (undeleted) message {key}")
        known = _callback_data(record["reply_markup"]).union(
            *(_callback_data(old["reply_markup"]) for old in record["history"])
        )
        if strict and data not in known:
            raise ValueError(f"message {key} has no button with callback_data {data!r}: {known}")
        user = self._remember_user(user_id, first_name, last_name, username, language_code)
        query_id = str(random.randint(10**17, 10**19))
        self._callback_queries[query_id] = {"user_id": user_id, "data": data, "answered": False}
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": record["message"],
                    "chat_instance": str(abs(hash(key[0])) % 10**18),
                    "data": data,
                }
            }
        )

    def push_chat_join_request(
        self,
        user_id: int,
        chat_id: ChatId,
        *,
        first_name: str = "Anna",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "nl",
        bio: str | None = None,
        invite_link: str | None = None,
    ) -> int:
        """A user asks to join a group or channel. Returns the update_id."""
        user = self._remember_user(user_id, first_name, last_name, username, language_code)
        request: JSON = {"chat": self._chat(chat_id), "from": user, "user_chat_id": user_id, "date": int(time.time())}
        if bio is not None:
            request["bio"] = bio
        if invite_link is not None:
            request["invite_link"] = self.invite_links.get(invite_link) or self._link_object(
                invite_link, creates_join_request=True
            )
        self._join_requests.add((chat_id, user_id))
        return self.push_update({"chat_join_request": request})

    def push_my_chat_member(
        self,
        chat_id: ChatId,
        *,
        user_id: int,
        status: str = "member",
        old_status: str = "left",
        chat_type: str = "supergroup",
        title: str = "Buurtgroep",
        first_name: str = "Anna",
    ) -> int:
        """The bot's status in a chat changes (by default: added to a group by user_id)."""
        user = self._remember_user(user_id, first_name, None, None, "nl")
        self._chats[chat_id] = {"id": chat_id, "type": chat_type, "title": title}
        self.set_chat_member(chat_id, self.bot_id, status)
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": self._chat(chat_id),
                    "from": user,
                    "date": int(time.time()),
                    "old_chat_member": self._member(chat_id, self.bot_id, old_status),
                    "new_chat_member": self._member(chat_id, self.bot_id),
                }
            }
        )

    def set_chat(self, chat_id: ChatId, **fields: Any) -> None:
        """Set Chat fields (type, title, username, ...) returned for chat_id."""
        self._chats[chat_id] = self._chat(chat_id) | fields

    def set_chat_member(self, chat_id: ChatId, user_id: int, status: str, **fields: Any) -> None:
        """Configure what getChatMember answers (status member/administrator/creator/...)."""
        self._members[(chat_id, user_id)] = {"status": status, **fields}

    # ------------------------------------------------------ what the bot did

    def messages_to(self, chat_id: ChatId) -> list[Record]:
        return [record for record in self.sent if record["chat_id"] == chat_id]

    @property
    def commands(self) -> dict[str, list[JSON]]:
        """Commands for the default scope, keyed by language_code ("" = all languages)."""
        return {lang: cmds for (scope, lang), cmds in self.all_commands.items() if scope == '{"type":"default"}'}

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        return self.all_commands.get((self._scope_key(scope), language_code), [])

    @property
    def rate_violations(self) -> int:
        """Calls over one of Telegram's limits: sends, edits and pins (see COUNTED_METHODS)."""
        return len(self.violations)

    def counted_times(self) -> list[float]:
        """time.monotonic() of every send, edit and pin made, in order: what Telegram's overall
        limit of 30 a second counts (calls refused with 429 are not in it)."""
        return list(self._counted)

    async def wait_for_message(
        self,
        chat_id: ChatId,
        predicate: Callable[[Record], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Record:
        """The first (undeleted) message to chat_id matching predicate, sent or edited into
        shape within timeout; raises TimeoutError listing what was sent."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.messages_to(chat_id):
                if not record["deleted"] and (predicate is None or predicate(record)):
                    return record
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                texts = [r["text"] or r["caption"] for r in self.messages_to(chat_id)]
                raise TimeoutError(f"no matching message to {chat_id} in {timeout}s; got {texts}")
            await self._change_signal.wait(remaining)

    async def wait_for_sent(self, count: int, timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """Waits until `count` messages are recorded in all; False if `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while len(self.sent) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await self._change_signal.wait(remaining)
        return True

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """Waits until `condition()` holds, checked after each call the server answers; False if
        `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                return False
            await self._change_signal.wait(remaining)
        return True

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> JSON:
        """Parameters of the first handled call of method matching predicate."""
        method = self._method_name(method)
        deadline = time.monotonic() + timeout
        while True:
            for name, params in self.calls:
                if name == method and (predicate is None or predicate(params)):
                    return params
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                raise TimeoutError(f"no matching {method} call in {timeout}s")
            await self._change_signal.wait(remaining)

    # --------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Make the next count calls of method fail (429 gets parameters.retry_after)."""
        if error_code == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        fault = _Fault(error_code, description or _DESCRIPTIONS.get(error_code, "Error"), retry_after, count)
        self._faults.setdefault(self._method_name(method), deque()).append(fault)

    def fail_ratio(
        self,
        ratio: float,
        error_code: int = 502,
        methods: list[str] | None = None,
        seed: int = 0,
    ) -> None:
        """Fail this fraction of calls at random; methods=None means all but getUpdates."""
        names = None if methods is None else frozenset(self._method_name(m) for m in methods)
        self._random_fault = (ratio, error_code, names, random.Random(seed)) if ratio else None

    def stall_ratio(self, ratio: float, seconds: float, methods: list[str] | None = None, seed: int = 1) -> None:
        """Make this fraction of calls hang for `seconds` and then fail unexecuted, so a client
        with a shorter timeout sees a timeout; methods=None means all but getUpdates."""
        names = None if methods is None else frozenset(self._method_name(m) for m in methods)
        self._random_stall = (ratio, seconds, names, random.Random(seed)) if ratio else None

    def stall_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Make the next `count` calls of method hang for `seconds`, then fail unexecuted."""
        self._stalls[self._method_name(method)] = [seconds, count]

    def delay(self, method: str, seconds: float) -> None:
        """Answer method only after seconds (0 removes the delay)."""
        self._delays[self._method_name(method)] = seconds

    def block(self, chat_id: ChatId) -> None:
        """Every send to chat_id gets 403 (blocked by the user / kicked from the group)."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: ChatId) -> None:
        self._blocked.discard(chat_id)

    # ---------------------------------------------------------------- webhooks

    def push_webhooks_to(self, local_url: str) -> None:
        """Delivers queued updates to the webhook like Telegram does, but to `local_url`.

        The URL given to setWebhook must be https, so tests route its deliveries to the bot's
        local listener. One update at a time, in order, with the secret token from setWebhook;
        an update is dropped from the queue only after a 200, and retried otherwise.
        """

        async def push() -> None:
            async with aiohttp.ClientSession() as session:
                while not self._closing:
                    if not self.webhook["url"] or not self._updates:
                        await self._update_signal.wait(0.5)
                        continue
                    update = self._updates[0]
                    secret = self.webhook.get("secret_token")
                    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": str(secret)}
                    try:
                        async with session.post(local_url, json=update, headers=headers) as response:
                            status = response.status
                    except aiohttp.ClientError:
                        status = 0
                    self.webhook_statuses.append(status)
                    if status == 200:
                        if self._updates and self._updates[0] is update:
                            self._updates.pop(0)
                        self._change_signal.fire()
                    else:
                        await asyncio.sleep(0.2)

        self._pusher = asyncio.create_task(push())

    async def deliver_webhook(
        self,
        url: str,
        update: JSON,
        secret_token: str | None = None,
    ) -> int:
        """POST one update to a webhook like Telegram does; returns the HTTP status."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
        headers = {} if secret_token is None else {"X-Telegram-Bot-Api-Secret-Token": secret_token}
        async with aiohttp.ClientSession() as session, session.post(url, json=update, headers=headers) as response:
            return response.status

    # ------------------------------------------------------------ HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        name = self._canonical.get(request.match_info["method"].lower())
        if name is None:
            return self._error(ApiError(404, "Not Found"))
        try:
            params = await self._read_params(request)
        except ApiError as exc:
            return self._error(exc)
        self.calls.append((name, params))
        self._change_signal.fire()  # a long poll is "called" long before it answers
        try:
            stall = self._stalls.get(name)
            if stall is not None and stall[1] > 0:
                stall[1] -= 1
                self.stalled += 1
                await self._sleep(stall[0])
                raise ApiError(504, "Gateway Timeout")
            if self._random_stall is not None:
                ratio, seconds, methods, rng = self._random_stall
                applies = name != "getUpdates" if methods is None else name in methods
                if applies and rng.random() < ratio:
                    self.stalled += 1
                    await self._sleep(seconds)
                    raise ApiError(504, "Gateway Timeout")
            if name in self._delays:
                await self._sleep(self._delays[name])
            self._inject_faults(name, params)
            result = await self._methods[name](params)
        except ApiError as exc:
            if exc.error_code == 429:
                self.too_many_requests += 1
            return self._error(exc)
        except Exception as exc:  # a bug in the fake itself: report it, answer like Telegram
            self.internal_errors.append(f"{name}: {exc!r}")
            return self._error(ApiError(500, f"Internal Server Error: {exc!r}"))
        finally:
            self._change_signal.fire()
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        return web.json_response(error.payload(), status=error.error_code)

    async def _read_params(self, request: web.Request) -> JSON:
        params: JSON = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            text = await request.text()
            try:
                body = json.loads(text) if text.strip() else {}
            except ValueError as exc:
                raise _bad("can't parse JSON encoded request") from exc
            params.update(body if isinstance(body, dict) else {})
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
                    value.file.close()
                elif isinstance(value, bytes | bytearray):
                    params[key] = bytes(value).decode()
                else:
                    params[key] = value
        params = {key: _coerce(key, value) for key, value in params.items()}
        for key, value in params.items():  # aiogram: document="attach://<part name>"
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = files.pop(value.removeprefix("attach://"), value)
        return params | files  # PTB: the part itself is named document/photo

    def _inject_faults(self, method: str, params: JSON) -> None:
        queue = self._faults.get(method)
        if queue:
            fault = queue[0]
            fault.count -= 1
            if fault.count <= 0:
                queue.popleft()
            self.served_faults.append((method, fault.error_code))
            raise ApiError(fault.error_code, fault.description, fault.retry_after)
        if self._random_fault is not None:
            ratio, code, methods, rng = self._random_fault
            applies = method != "getUpdates" if methods is None else method in methods
            if applies and rng.random() < ratio:
                retry_after = 1 if code == 429 else None
                description = "Too Many Requests: retry after 1" if code == 429 else None
                raise ApiError(code, description or _DESCRIPTIONS.get(code, "Error"), retry_after)
        chat_id = params.get("chat_id")
        if method in _BLOCKABLE and isinstance(chat_id, int | str) and chat_id in self._blocked:
            if self._chat(chat_id)["type"] == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closing and (remaining := deadline - time.monotonic()) > 0:
            await self._update_signal.wait(remaining)

    def _method_name(self, method: str) -> str:
        try:
            return self._canonical[method.lower()]
        except KeyError:
            raise ValueError(f"FakeBotAPI does not implement {method!r}") from None

    # ----------------------------------------------------------------- helpers

    def _remember_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        extra = {"last_name": last_name, "username": username, "language_code": language_code}
        user.update({key: value for key, value in extra.items() if value is not None})
        self._users[user_id] = user
        return user

    def _user(self, user_id: int) -> JSON:
        if user_id == self.bot_id:
            return dict(self.bot_user)
        return dict(self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "User"})

    def _chat(self, chat_id: ChatId) -> JSON:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if isinstance(chat_id, str):
            fake_id = -(10**12) - abs(hash(chat_id)) % 10**9
            return {"id": fake_id, "type": "channel", "title": chat_id, "username": chat_id.lstrip("@")}
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": self._user(chat_id)["first_name"]}
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    def _member(self, chat_id: ChatId, user_id: int, status: str | None = None) -> JSON:
        configured = self._members.get((chat_id, user_id), {"status": "member"})
        status = status or configured["status"]
        fields = configured if status == configured["status"] else {}
        member: JSON = {"status": status, "user": self._user(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member |= dict.fromkeys(
                (
                    "can_be_edited",
                    "is_anonymous",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                    "can_promote_members",
                    "can_send_welcome_messages",
                ),
                False,
            ) | dict.fromkeys(
                (
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_pin_messages",
                    "can_manage_topics",
                ),
                True,
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member | {key: value for key, value in fields.items() if key != "status"}

    def _new_message(self, chat_id: ChatId, sender: JSON, **content: Any) -> JSON:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return {
            "message_id": message_id,
            "from": sender,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **{k: v for k, v in content.items() if v is not None},
        }

    @staticmethod
    def _chat_id(params: JSON) -> ChatId:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, int) or (isinstance(chat_id, str) and chat_id.startswith("@")):
            return chat_id
        raise _bad("chat not found")

    @staticmethod
    def _int(params: JSON, key: str) -> int:
        value = params.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad(f"{key} is empty" if value is None else f"invalid {key} specified")
        return value

    @staticmethod
    def _scope_key(scope: Any) -> str:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True, separators=(",", ":"))

    def _link_object(self, link: str, **fields: Any) -> JSON:
        return {
            "invite_link": link,
            "creator": dict(self.bot_user),
            "creates_join_request": False,
            "is_primary": False,
            "is_revoked": False,
        } | fields

    def _account(self, method: str, chat_id: ChatId, *, per_chat: bool = True) -> float:
        """Telegram's flood limits: 30 msg/s overall, 1 msg/s per private chat, 20/min/group.
        Returns the time.monotonic() the call is counted at.

        Telegram lets a private chat have a short burst (a reply and a menu after it); only
        more than PRIVATE_BURST messages within one second count against the 1 msg/s rule.
        Edits and pins (per_chat=False) count against the overall limit only.
        """
        now = time.monotonic()
        checks = [("global", self._send_window, 1.0, 30)]
        if per_chat:
            private = isinstance(chat_id, int) and chat_id > 0
            checks.append(
                (
                    "private_chat" if private else "group_chat",
                    self._chat_windows.setdefault(chat_id, deque()),
                    1.0 if private else 60.0,
                    PRIVATE_BURST if private else 20,
                )
            )
        found: list[JSON] = []
        wait = 0.0
        for kind, window, span, limit in checks:
            while window and now - window[0] >= span:
                window.popleft()
            if len(window) >= limit:
                found.append(
                    {
                        "kind": kind,
                        "method": method,
                        "chat_id": chat_id,
                        "limit": limit,
                        "window": span,
                        "count": len(window) + 1,
                    }
                )
                wait = max(wait, span - (now - window[0]))
        self.violations.extend(found)
        if found and self.enforce_rate_limits:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for _, window, _, _ in checks:
            window.append(now)
        self._counted.append(now)
        return now

    def _record(self, method: str, chat_id: ChatId, params: JSON, message: JSON, **extra: Any) -> Record:
        record: Record = {
            "method": method,
            "chat_id": chat_id,
            "message_id": message["message_id"],
            "text": None,
            "caption": None,
            "parse_mode": params.get("parse_mode"),
            "reply_markup": params.get("reply_markup"),
            "document": None,
            "photo": None,
            "history": [],
            "edit_date": None,
            "deleted": False,
            "pinned": False,
            "message": message,
            "at": time.monotonic(),
            **extra,
        }
        self.sent.append(record)
        self._records[(chat_id, message["message_id"])] = record
        return record

    def _caption(self, params: JSON) -> str | None:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None
        plain = _formatted(str(caption), params.get("parse_mode"))
        if _utf16_len(plain) > 1024:
            raise _bad("message caption is too long")
        return plain

    def _input_file(self, value: Any, kind: str) -> JSON:
        if isinstance(value, UploadedFile):
            if not value.content:
                raise _bad("file must be non-empty")
            file_id = f"{kind[:2].upper()}AC{secrets.token_urlsafe(24)}"
            info = {
                "file_id": file_id,
                "file_unique_id": secrets.token_urlsafe(8),
                "filename": value.filename,
                "mime_type": value.content_type,
                "content": value.content,
                "size": len(value.content),
            }
            self._files[file_id] = info
            return info
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if value is None:
            raise _bad(f"there is no {kind} in the request")
        raise _bad("wrong file identifier/HTTP URL specified")

    def _editable(self, params: JSON) -> Record:
        chat_id, message_id = self._chat_id(params), self._int(params, "message_id")
        record = self._records.get((chat_id, message_id))
        if record is None or record["deleted"]:
            if (chat_id, message_id) in self._user_messages:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return record

    def _apply_edit(self, method: str, record: Record, **changes: Any) -> JSON:
        current = {key: record[key] for key in ("text", "caption", "parse_mode", "reply_markup")}
        if all(current[key] == value for key, value in changes.items()):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        at = self._account(method, record["chat_id"], per_chat=False)
        record["history"].append(current | {"edit_date": record["edit_date"]})
        record.update(changes)
        record["edit_date"] = int(time.time())
        self.edits.append((record["chat_id"], at))
        message = record["message"] = dict(record["message"], edit_date=record["edit_date"])
        message.pop("reply_markup", None)
        if _inline(record["reply_markup"]) is not None:
            message["reply_markup"] = record["reply_markup"]
        return message

    # ----------------------------------------------------------------- methods

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._update_signal.fire()  # an older long poll now ends with 409 Conflict
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, _DESCRIPTIONS[409])
            remaining = deadline - time.monotonic()
            if self._updates or remaining <= 0 or self._closing:
                return self._updates[:limit]
            await self._update_signal.wait(remaining)

    async def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        self.webhook = {"url": url, **{k: v for k, v in params.items() if k != "url"}}
        self._poll_generation += 1
        self._update_signal.fire()
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {"url": ""}
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        for key in ("max_connections", "ip_address", "allowed_updates"):
            if self.webhook.get(key) is not None:
                info[key] = self.webhook[key]
        return info

    @staticmethod
    def _text(params: JSON) -> tuple[str, str]:
        """The text as sent and as Telegram shows it, validated like Telegram does."""
        text = str(params.get("text") or "")
        plain = _formatted(text, params.get("parse_mode"))
        if not plain.strip():
            raise _bad("message text is empty")
        if _utf16_len(plain) > 4096:
            raise _bad("message is too long")
        return text, plain

    async def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        text, plain = self._text(params)
        _check_markup(params.get("reply_markup"))
        self._account("sendMessage", chat_id)
        message = self._new_message(
            chat_id, dict(self.bot_user), text=plain, reply_markup=_inline(params.get("reply_markup"))
        )
        self._record("sendMessage", chat_id, params, message, text=text)
        return message

    async def _send_file(self, method: str, kind: str, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        info = self._input_file(params.get(kind), kind)
        caption = self._caption(params)
        _check_markup(params.get("reply_markup"))
        self._account(method, chat_id)
        base = {"file_id": info["file_id"], "file_unique_id": info["file_unique_id"], "file_size": info["size"]}
        if kind == "document":
            content: Any = base | {"file_name": info["filename"], "mime_type": info["mime_type"]}
            content = {key: value for key, value in content.items() if value is not None}
        else:
            content = [base | {"width": 90, "height": 90}, base | {"width": 1280, "height": 960}]
        message = self._new_message(
            chat_id,
            dict(self.bot_user),
            caption=caption,
            reply_markup=_inline(params.get("reply_markup")),
            **{kind: content},
        )
        self._record(method, chat_id, params, message, caption=params.get("caption"), **{kind: info})
        return message

    async def _edit_message_text(self, params: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        record = self._editable(params)
        if record["text"] is None:
            raise _bad("there is no text in the message to edit")
        text, plain = self._text(params)
        markup = _inline(params.get("reply_markup"))  # omitted: the keyboard is removed
        _check_markup(markup)
        message = self._apply_edit(
            "editMessageText", record, text=text, parse_mode=params.get("parse_mode"), reply_markup=markup
        )
        message["text"] = plain
        return message

    async def _edit_reply_markup(self, params: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        record = self._editable(params)
        markup = _inline(params.get("reply_markup"))
        _check_markup(markup)
        return self._apply_edit("editMessageReplyMarkup", record, reply_markup=markup)

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._callback_queries.get(query_id)
        if query is None or query["answered"]:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        query["answered"] = True
        self.callback_answers.append(
            {
                "callback_query_id": query_id,
                "user_id": query["user_id"],
                "data": query["data"],
                "text": params.get("text"),
                "show_alert": bool(params.get("show_alert", False)),
                "url": params.get("url"),
                "cache_time": params.get("cache_time"),
            }
        )
        return True

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        language_code = str(params.get("language_code") or "")
        if language_code and not re.fullmatch(r"[a-z]{2}", language_code):
            raise _bad("invalid language code specified")
        return self._scope_key(params.get("scope")), language_code

    async def _set_my_commands(self, params: JSON) -> bool:
        key = self._commands_key(params)
        commands = params.get("commands") or []
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[JSON] = []
        for item in commands:
            command = str(item.get("command", "")).strip().removeprefix("/")
            description = str(item.get("description", "")).strip()
            if not command:
                raise _bad("command must be non-empty")
            if len(command) > 32:
                raise _bad("command length must not exceed 32")
            if not description:
                raise _bad("command description must be non-empty")
            if len(description) > 256:
                raise _bad("command description length must not exceed 256")
            if not _COMMAND_RE.match(command):
                raise _bad("BOT_COMMAND_INVALID")
            cleaned.append({"command": command, "description": description})
        if cleaned:
            self.all_commands[key] = cleaned
        else:
            self.all_commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return self.all_commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSON) -> bool:
        self.all_commands.pop(self._commands_key(params), None)
        return True

    async def _decide_join_request(self, decision: str, params: JSON) -> bool:
        chat_id, user_id = self._chat_id(params), self._int(params, "user_id")
        if (chat_id, user_id) not in self._join_requests:
            raise _bad("HIDE_REQUESTER_MISSING")
        self._join_requests.discard((chat_id, user_id))
        self.join_request_decisions.append((decision, chat_id, user_id))
        if decision == "approved":
            self.set_chat_member(chat_id, user_id, "member")
        return True

    async def _create_invite_link(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        fields = {key: params[key] for key in ("name", "expire_date", "member_limit") if params.get(key) is not None}
        link = self._link_object(
            f"https://t.me/+{secrets.token_urlsafe(12)}",
            creates_join_request=bool(params.get("creates_join_request")),
            **fields,
        )
        self.invite_links[link["invite_link"]] = link | {"chat_id": chat_id}
        return link

    async def _revoke_invite_link(self, params: JSON) -> JSON:
        self._chat_id(params)
        url = str(params.get("invite_link") or "")
        stored = self.invite_links.get(url)
        if stored is None:
            raise _bad("INVITE_HASH_EXPIRED")
        stored["is_revoked"] = True
        return {key: value for key, value in stored.items() if key != "chat_id"}

    async def _pin(self, params: JSON) -> bool:
        chat_id, message_id = self._chat_id(params), self._int(params, "message_id")
        if message_id > self._last_message_id.get(chat_id, 0):
            raise _bad("message to pin not found")
        self.pins.append((chat_id, self._account("pinChatMessage", chat_id, per_chat=False)))
        self.pinned.setdefault(chat_id, []).append(message_id)
        if (record := self._records.get((chat_id, message_id))) is not None:
            record["pinned"] = True
        return True

    async def _unpin(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        pinned = self.pinned.get(chat_id, [])
        message_id = params.get("message_id") or (pinned[-1] if pinned else None)
        if message_id in pinned:
            pinned.remove(message_id)
            if (record := self._records.get((chat_id, message_id))) is not None:
                record["pinned"] = False
        return True

    async def _get_chat_member(self, params: JSON) -> JSON:
        return self._member(self._chat_id(params), self._int(params, "user_id"))

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._chat(self._chat_id(params))
        return chat | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(
                ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"),
                False,
            ),
        }

    async def _delete_message(self, params: JSON) -> bool:
        chat_id, message_id = self._chat_id(params), self._int(params, "message_id")
        record = self._records.get((chat_id, message_id))
        if (record is not None and record["deleted"]) or not (0 < message_id <= self._last_message_id.get(chat_id, 0)):
            raise _bad("message to delete not found")
        if record is not None:
            record["deleted"] = True
        self._user_messages.discard((chat_id, message_id))
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        chat_id, action = self._chat_id(params), str(params.get("action") or "")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat_id, action))
        return True

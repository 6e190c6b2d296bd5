"""The fake's memory: the bot, chats, users, members, messages and their Records, the updates queue, call logs."""

from __future__ import annotations

import random
import time
from typing import Any

from .common import JSON, ChatId, Record, Signal
from .params import scope_key

DEFAULT_SKIPPED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
"""Update types Telegram does not deliver unless allowed_updates asks for them."""


class State:
    """What the server knows and what the bot did; the other parts of FakeBotAPI read and change it."""

    _canonical: dict[str, str]  # lower-case method name → its name; filled by Methods

    def __init__(
        self,
        token: str,
        *,
        bot_username: str,
        bot_first_name: str,
        first_update_id: int | None,
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
        # What the bot did, for assertions.
        self.sent: list[Record] = []
        self.calls: list[tuple[str, JSON]] = []
        self.callback_answers: list[JSON] = []
        self.chat_actions: list[tuple[ChatId, str]] = []
        self.join_request_decisions: list[tuple[str, ChatId, int]] = []
        self.invite_links: dict[str, JSON] = {}
        self.pinned: dict[ChatId, list[int]] = {}
        self.webhook: JSON = {"url": ""}
        self.too_many_requests = 0  # 429 answers given, injected or for breaking the limits
        self.edits: list[tuple[ChatId, float]] = []  # (chat, time.monotonic()) of every edit made
        self.pins: list[tuple[ChatId, float]] = []  # (chat, time.monotonic()) of every pin made
        self.dropped_updates: list[JSON] = []
        self.internal_errors: list[str] = []
        self.all_commands: dict[tuple[str, str], list[JSON]] = {}
        # The updates queue.
        self._next_update_id = first_update_id or random.randint(100_000_000, 800_000_000)
        self._updates: list[JSON] = []
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        # Chats, users and messages.
        self._users: dict[int, JSON] = {}
        self._chats: dict[ChatId, JSON] = {}
        self._members: dict[tuple[ChatId, int], JSON] = {}
        self._last_message_id: dict[ChatId, int] = {}
        self._records: dict[tuple[ChatId, int], Record] = {}
        self._user_messages: set[tuple[ChatId, int]] = set()
        self._callback_queries: dict[str, JSON] = {}
        self._join_requests: set[tuple[ChatId, int]] = set()
        self._files: dict[str, JSON] = {}
        self._received: list[tuple[str, float]] = []  # (method, time.monotonic()) of every call received
        # Waking waiters.
        self._closing = False
        self._update_signal = Signal()  # an update was queued, or a long poll must end
        self._change_signal = Signal()  # a call came in or was answered

    # ------------------------------------------------------- configuring chats

    def set_chat(self, chat_id: ChatId, **fields: Any) -> None:
        """Set Chat fields (type, title, username, ...) returned for chat_id."""
        self._chats[chat_id] = self._chat(chat_id) | fields

    def set_chat_member(self, chat_id: ChatId, user_id: int, status: str, **fields: Any) -> None:
        """Configure what getChatMember answers (status member/administrator/creator/...)."""
        self._members[(chat_id, user_id)] = {"status": status, **fields}

    # ------------------------------------------------------ what the bot did

    def messages_to(self, chat_id: ChatId) -> list[Record]:
        return [record for record in self.sent if record["chat_id"] == chat_id]

    def record_of(self, chat_id: ChatId, message_id: int) -> Record | None:
        """The Record of the message the bot sent as message_id to chat_id (deleted or not), if any."""
        return self._records.get((chat_id, message_id))

    def received_times(self, method: str | None = None) -> list[float]:
        """time.monotonic() at which each call (of method, or of any method) came in, in order: every
        call with readable parameters, as in `calls`, including those answered with an error."""
        name = None if method is None else self._method_name(method)
        return [at for called, at in self._received if name is None or called == name]

    @property
    def pending_updates(self) -> list[JSON]:
        """The updates queued and not yet confirmed by the bot (a getUpdates offset or a webhook's 200)."""
        return list(self._updates)

    @property
    def commands(self) -> dict[str, list[JSON]]:
        """Commands for the default scope, keyed by language_code ("" = all languages)."""
        return {lang: cmds for (scope, lang), cmds in self.all_commands.items() if scope == '{"type":"default"}'}

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        return self.all_commands.get((scope_key(scope), language_code), [])

    # ----------------------------------------------------------------- helpers

    def _method_name(self, method: str) -> str:
        try:
            return self._canonical[method.lower()]
        except KeyError:
            raise ValueError(f"FakeBotAPI does not implement {method!r}") from None

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

    def _link_object(self, link: str, **fields: Any) -> JSON:
        return {
            "invite_link": link,
            "creator": dict(self.bot_user),
            "creates_join_request": False,
            "is_primary": False,
            "is_revoked": False,
        } | fields

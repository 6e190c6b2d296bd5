"""The Bot API methods the fake answers (getUpdates, sendMessage, editMessageText, ...), one handler each."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from .common import DESCRIPTIONS, JSON, ApiError, Record, UploadedFile, bad
from .html import formatted, utf16_len
from .limits import Limits
from .markup import check_markup, inline
from .params import chat_id_of, int_of, scope_key

COMMAND_RE = re.compile(r"[a-z0-9_]+\Z")
CHAT_ACTIONS = frozenset(
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

Handler = Callable[[JSON], Awaitable[Any]]


class Methods(Limits):
    """Each handler takes a call's parameters and returns its result or raises ApiError, checking
    what Telegram checks cheaply; sends, edits and pins are counted against the limits (limits.py)."""

    _methods: dict[str, Handler]

    def _init_methods(self) -> None:
        self._methods = {
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

    # ------------------------------------------------------------ shared checks

    def _caption(self, params: JSON) -> str | None:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None
        plain = formatted(str(caption), params.get("parse_mode"))
        if utf16_len(plain) > 1024:
            raise bad("message caption is too long")
        return plain

    def _input_file(self, value: Any, kind: str) -> JSON:
        if isinstance(value, UploadedFile):
            if not value.content:
                raise bad("file must be non-empty")
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
            raise bad(f"there is no {kind} in the request")
        raise bad("wrong file identifier/HTTP URL specified")

    def _editable(self, params: JSON) -> Record:
        chat_id, message_id = chat_id_of(params), int_of(params, "message_id")
        record = self._records.get((chat_id, message_id))
        if record is None or record["deleted"]:
            if (chat_id, message_id) in self._user_messages:
                raise bad("message can't be edited")
            raise bad("message to edit not found")
        return record

    def _apply_edit(self, method: str, record: Record, **changes: Any) -> JSON:
        current = {key: record[key] for key in ("text", "caption", "parse_mode", "reply_markup")}
        if all(current[key] == value for key, value in changes.items()):
            raise bad(
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
        if inline(record["reply_markup"]) is not None:
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
                raise ApiError(409, DESCRIPTIONS[409])
            remaining = deadline - time.monotonic()
            if self._updates or remaining <= 0 or self._closing:
                return self._updates[:limit]
            await self._update_signal.wait(remaining)

    async def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad("secret token contains unallowed characters")
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
        plain = formatted(text, params.get("parse_mode"))
        if not plain.strip():
            raise bad("message text is empty")
        if utf16_len(plain) > 4096:
            raise bad("message is too long")
        return text, plain

    async def _send_message(self, params: JSON) -> JSON:
        chat_id = chat_id_of(params)
        text, plain = self._text(params)
        check_markup(params.get("reply_markup"))
        self._account("sendMessage", chat_id)
        message = self._new_message(
            chat_id, dict(self.bot_user), text=plain, reply_markup=inline(params.get("reply_markup"))
        )
        self._record("sendMessage", chat_id, params, message, text=text)
        return message

    async def _send_file(self, method: str, kind: str, params: JSON) -> JSON:
        chat_id = chat_id_of(params)
        info = self._input_file(params.get(kind), kind)
        caption = self._caption(params)
        check_markup(params.get("reply_markup"))
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
            reply_markup=inline(params.get("reply_markup")),
            **{kind: content},
        )
        self._record(method, chat_id, params, message, caption=params.get("caption"), **{kind: info})
        return message

    async def _edit_message_text(self, params: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        record = self._editable(params)
        if record["text"] is None:
            raise bad("there is no text in the message to edit")
        text, plain = self._text(params)
        markup = inline(params.get("reply_markup"))  # omitted: the keyboard is removed
        check_markup(markup)
        message = self._apply_edit(
            "editMessageText", record, text=text, parse_mode=params.get("parse_mode"), reply_markup=markup
        )
        message["text"] = plain
        return message

    async def _edit_reply_markup(self, params: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        record = self._editable(params)
        markup = inline(params.get("reply_markup"))
        check_markup(markup)
        return self._apply_edit("editMessageReplyMarkup", record, reply_markup=markup)

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._callback_queries.get(query_id)
        if query is None or query["answered"]:
            raise bad("query is too old and response timeout expired or query ID is invalid")
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
            raise bad("invalid language code specified")
        return scope_key(params.get("scope")), language_code

    async def _set_my_commands(self, params: JSON) -> bool:
        key = self._commands_key(params)
        commands = params.get("commands") or []
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[JSON] = []
        for item in commands:
            command = str(item.get("command", "")).strip().removeprefix("/")
            description = str(item.get("description", "")).strip()
            if not command:
                raise bad("command must be non-empty")
            if len(command) > 32:
                raise bad("command length must not exceed 32")
            if not description:
                raise bad("command description must be non-empty")
            if len(description) > 256:
                raise bad("command description length must not exceed 256")
            if not COMMAND_RE.match(command):
                raise bad("BOT_COMMAND_INVALID")
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
        chat_id, user_id = chat_id_of(params), int_of(params, "user_id")
        if (chat_id, user_id) not in self._join_requests:
            raise bad("HIDE_REQUESTER_MISSING")
        self._join_requests.discard((chat_id, user_id))
        self.join_request_decisions.append((decision, chat_id, user_id))
        if decision == "approved":
            self.set_chat_member(chat_id, user_id, "member")
        return True

    async def _create_invite_link(self, params: JSON) -> JSON:
        chat_id = chat_id_of(params)
        fields = {key: params[key] for key in ("name", "expire_date", "member_limit") if params.get(key) is not None}
        link = self._link_object(
            f"https://t.me/+{secrets.token_urlsafe(12)}",
            creates_join_request=bool(params.get("creates_join_request")),
            **fields,
        )
        self.invite_links[link["invite_link"]] = link | {"chat_id": chat_id}
        return link

    async def _revoke_invite_link(self, params: JSON) -> JSON:
        chat_id_of(params)
        url = str(params.get("invite_link") or "")
        stored = self.invite_links.get(url)
        if stored is None:
            raise bad("INVITE_HASH_EXPIRED")
        stored["is_revoked"] = True
        return {key: value for key, value in stored.items() if key != "chat_id"}

    async def _pin(self, params: JSON) -> bool:
        chat_id, message_id = chat_id_of(params), int_of(params, "message_id")
        if message_id > self._last_message_id.get(chat_id, 0):
            raise bad("message to pin not found")
        self.pins.append((chat_id, self._account("pinChatMessage", chat_id, per_chat=False)))
        self.pinned.setdefault(chat_id, []).append(message_id)
        if (record := self._records.get((chat_id, message_id))) is not None:
            record["pinned"] = True
        return True

    async def _unpin(self, params: JSON) -> bool:
        chat_id = chat_id_of(params)
        pinned = self.pinned.get(chat_id, [])
        message_id = params.get("message_id") or (pinned[-1] if pinned else None)
        if message_id in pinned:
            pinned.remove(message_id)
            if (record := self._records.get((chat_id, message_id))) is not None:
                record["pinned"] = False
        return True

    async def _get_chat_member(self, params: JSON) -> JSON:
        return self._member(chat_id_of(params), int_of(params, "user_id"))

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._chat(chat_id_of(params))
        return chat | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(
                ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"),
                False,
            ),
        }

    async def _delete_message(self, params: JSON) -> bool:
        chat_id, message_id = chat_id_of(params), int_of(params, "message_id")
        record = self._records.get((chat_id, message_id))
        if (record is not None and record["deleted"]) or not (0 < message_id <= self._last_message_id.get(chat_id, 0)):
            raise bad("message to delete not found")
        if record is not None:
            record["deleted"] = True
        self._user_messages.discard((chat_id, message_id))
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        chat_id, action = chat_id_of(params), str(params.get("action") or "")
        if action not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        self.chat_actions.append((chat_id, action))
        return True

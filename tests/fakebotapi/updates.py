"""What users do: messages, button presses, join requests and chat-member changes queued as updates for the bot."""

from __future__ import annotations

import random
import time

from .common import JSON, ChatId, Record
from .html import utf16_len
from .markup import callback_data
from .state import DEFAULT_SKIPPED_UPDATES, State


def update_type(update: JSON) -> str:
    """message, callback_query, ...: the key of an update besides update_id."""
    return next((key for key in update if key != "update_id"), "")


class Updates(State):
    """Queues updates the way Telegram would produce them; each push returns the update_id."""

    def push_update(self, update: JSON) -> int:
        """Queue any update; an update_id is assigned unless given. Returns the update_id.

        Updates of types outside ``allowed_updates`` are dropped (see ``dropped_updates``)."""
        update = dict(update)
        update_id = int(update.setdefault("update_id", self._next_update_id))
        self._next_update_id = max(self._next_update_id, update_id + 1)
        kind = update_type(update)
        allowed = self._allowed_updates
        wanted = kind not in DEFAULT_SKIPPED_UPDATES if allowed is None else kind in allowed
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
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
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
        known = callback_data(record["reply_markup"]).union(
            *(callback_data(old["reply_markup"]) for old in record["history"])
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

"""Telegram's answers as JSON, without what the bot never reads of them (both doors use this)."""

from __future__ import annotations

import json
from typing import Any


def loads_what_the_bot_reads(content: str | bytes) -> Any:
    """Telegram's answer as JSON, without what the bot never reads of it. Of a message it sent or
    edited it reads only the id, and of a pressed button's message only its chat and id; the rest
    (the text's entities, the keyboard, the sender) would each become the framework's objects,
    which cost as much as the rest of the call."""
    data = json.loads(content)
    result = data.get("result") if isinstance(data, dict) else None
    if isinstance(result, dict) and "message_id" in result:
        data["result"] = _message_id_and_chat(result)
    elif isinstance(result, list):
        for update in result:
            query = update.get("callback_query") if isinstance(update, dict) else None
            if isinstance(query, dict) and isinstance(query.get("message"), dict):
                query["message"] = _message_id_and_chat(query["message"])
    return data


def _message_id_and_chat(message: dict[str, Any]) -> dict[str, Any]:
    """What the frameworks require of a message (id, date, chat), and all the bot reads of it."""
    return {key: message[key] for key in ("message_id", "date", "chat") if key in message}

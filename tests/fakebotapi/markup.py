"""Inline keyboards: what Telegram accepts in a reply_markup, what it echoes, and the buttons' callback data."""

from __future__ import annotations

import re
from typing import Any

from .common import JSON, bad

BUTTON_ACTIONS = frozenset(
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


def inline(markup: Any) -> JSON | None:
    """The part of a reply_markup that Telegram echoes in the Message: inline keyboards only."""
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def check_markup(markup: Any) -> None:
    """Refuse a reply_markup like Telegram does (callback_data of 1-64 bytes, http(s)/tg URLs, ...)."""
    if isinstance(markup, str):
        raise bad("can't parse reply keyboard markup JSON object")
    keyboard = inline(markup)
    if keyboard is None:
        return
    rows = keyboard["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise bad("can't parse inline keyboard button: Text is empty")
        if not BUTTON_ACTIONS & button.keys():
            raise bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= 64:
            raise bad("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and not re.match(r"(https?|tg)://\S+\Z", str(url)):
            raise bad("BUTTON_URL_INVALID")


def callback_data(markup: Any) -> set[str]:
    """The callback_data of every button of an inline keyboard."""
    keyboard = inline(markup) or {"inline_keyboard": []}
    return {
        button["callback_data"] for row in keyboard["inline_keyboard"] for button in row if "callback_data" in button
    }

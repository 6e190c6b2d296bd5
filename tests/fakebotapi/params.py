"""A call's parameters: read from JSON, urlencoded or multipart bodies, form strings typed, chat_id and ids checked."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from aiohttp import web

from .common import JSON, ChatId, UploadedFile, bad

TEXT_FIELDS = frozenset(
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
"""Form fields that stay strings even when they look like a number or JSON."""
_INT_RE = re.compile(r"-?\d+\Z")
_FLOAT_RE = re.compile(r"-?\d+\.\d+\Z")


def coerce(key: str, value: Any) -> Any:
    """Turn form strings into the JSON values both bot libraries encoded them from."""
    if not isinstance(value, str) or key in TEXT_FIELDS:
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


async def read_params(request: web.Request) -> JSON:
    """The parameters of a call, from its query string and its body; file parts become UploadedFiles."""
    params: JSON = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.content_type == "application/json":
        text = await request.text()
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise bad("can't parse JSON encoded request") from exc
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
    params = {key: coerce(key, value) for key, value in params.items()}
    for key, value in params.items():  # aiogram: document="attach://<part name>"
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = files.pop(value.removeprefix("attach://"), value)
    return params | files  # PTB: the part itself is named document/photo


def chat_id_of(params: JSON) -> ChatId:
    """The chat_id parameter: an int or an @channelusername."""
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise bad("chat_id is empty")
    if isinstance(chat_id, int) or (isinstance(chat_id, str) and chat_id.startswith("@")):
        return chat_id
    raise bad("chat not found")


def int_of(params: JSON, key: str) -> int:
    """An integer parameter such as message_id or user_id."""
    value = params.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad(f"{key} is empty" if value is None else f"invalid {key} specified")
    return value


def scope_key(scope: Any) -> str:
    """A BotCommandScope as a key (the default scope when none is given)."""
    scope = scope if isinstance(scope, dict) else {"type": "default"}
    return json.dumps(scope, sort_keys=True, separators=(",", ":"))

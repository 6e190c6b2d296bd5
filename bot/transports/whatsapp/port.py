"""The core's outbound port on WhatsApp: each Reply rendered within WhatsApp's limits and sent with pywa_async.

How the port's calls come out on WhatsApp:

- `send`: `render.render` makes one to a few messages (text, then ≤ 3 reply buttons or a list);
  the id returned is the last one's, the message that carries the choices, so a tap on it names
  the id the core was given (see `ids.number_of`). A list with a "Meer…" row keeps its Reply so
  the next page can be shown (in memory: after a restart that row asks again from the start).
- `edit`: WhatsApp cannot edit a message. The rule: an edit sends nothing and reports the message
  gone (`MessageGone`). Where the core shows an outcome in place of the message someone just tapped
  (`Context.replace`), it then sends that outcome as one new message: the tapper sees the answer
  to their tap. Every other edit (the live counts on an organiser's copy of an activity, "Al
  opgepakt" on the other helpers' copies of a request) sends nothing, so nobody is flooded; an old
  button tapped later is checked against the current state, as on Telegram.
- `answer_press`: WhatsApp has no pop-ups or toasts. A toast sends nothing (what the tap did is
  shown by the message that follows it); an alert (a refusal, an apology) is sent as a short text
  that quotes the tapped message.
- `send_document`: uploaded as media, then sent as a document with its caption.
- `set_commands`, `pin`, `decide_join_request` do nothing, `is_group_admin` is False: WhatsApp has
  no command menu and the bot is in no WhatsApp group.
"""

from __future__ import annotations

import logging
import mimetypes
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from pywa_async.client import WhatsApp

from bot.kernel.port import ChatNotFound, CommandMenu, MessageGone
from bot.kernel.replies import Reply, html_to_plain
from bot.language.renderer import Renderer
from bot.transports.whatsapp.errors import mapped
from bot.transports.whatsapp.ids import number_of
from bot.transports.whatsapp.render import (
    CloudMessage,
    Phrases,
    StalePage,
    length,
    read_page_id,
    render,
    render_page,
    whatsapp_text,
)
from storage.identities import WHATSAPP, AppIdentities

log = logging.getLogger(__name__)

CAPTION_MAX = 1024
PAGED_REPLIES_KEPT = 2048  # Replies whose list has a "Meer…" row, newest kept
PHRASES = ("choose", "open_list", "more", "section")  # templates/<language>/whatsapp/<phrase>.html


def phrases_from(renderer: Renderer, language: str) -> Phrases:
    """The words WhatsApp's rendering adds, from the templates of one language."""
    said = {name: html_to_plain(renderer.render(language, f"whatsapp/{name}")).strip() for name in PHRASES}
    return Phrases(**said)


PRESS_PREFIX = "wa:"  # a WhatsApp tap's press id; Telegram's are digits


def press_id(person_id: int, tapped_wamid: str | None) -> str:
    """A tap's press id: whom to answer, and the message they tapped (an alert quotes it)."""
    return f"{PRESS_PREFIX}{person_id}:{tapped_wamid or ''}"


def is_whatsapp_press(press: str) -> bool:
    return press.startswith(PRESS_PREFIX)


class WhatsAppPort:
    """Sends to a person by their person id: their wa_id and language come from the directory."""

    def __init__(
        self, client: WhatsApp, *, phone_id: str, identities: AppIdentities, renderer: Renderer, default_language: str
    ) -> None:
        self._client = client
        self._phone_id = phone_id
        self._identities = identities
        self._renderer = renderer
        self._default_language = default_language
        self._phrases: dict[str, Phrases] = {}
        self._paged: OrderedDict[int, Reply] = OrderedDict()

    async def send(self, chat_id: int, reply: Reply) -> int:
        wa_id, language = await self._recipient(chat_id)
        messages = render(reply, self._phrases_for(language))
        message_id = await self._send_all(wa_id, messages)
        if any(_has_more_row(message) for message in messages):
            self._keep_paged(message_id, reply)
        return message_id

    async def send_page(self, chat_id: int, tapped_message_id: int, row_id: str) -> int | None:
        """The page a "Meer…" row asks for, from the Reply that list was made from; None when that
        Reply is no longer known here (the bot restarted, or it is long ago)."""
        reply = self._paged.get(tapped_message_id)
        if reply is None:
            return None
        wa_id, language = await self._recipient(chat_id)
        try:
            messages = render_page(reply, row_id, self._phrases_for(language))
        except StalePage:
            return None
        message_id = await self._send_all(wa_id, messages)
        if any(_has_more_row(message) for message in messages):
            self._keep_paged(message_id, reply)
        return message_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        raise MessageGone("WhatsApp cannot edit a message")  # the rule: see the module's docstring

    async def answer_press(self, press_id: str, text: str | None = None, *, alert: bool = False) -> None:
        if not alert or not text:
            return
        person, _, tapped = press_id.removeprefix(PRESS_PREFIX).partition(":")
        wa_id, _ = await self._recipient(int(person))
        body = {"type": "text", "text": {"body": whatsapp_text(text), "preview_url": False}}
        await self._send_one(wa_id, body, reply_to=tapped or None)

    async def send_document(self, chat_id: int, filename: str, content: bytes, caption: str | None = None) -> int:
        wa_id, _ = await self._recipient(chat_id)
        mime_type = _document_type(filename)
        uploaded = await mapped(
            lambda: self._client.api.upload_media(
                phone_id=self._phone_id, media=content, mime_type=mime_type, filename=filename
            ),
            "a file upload",
        )
        document: dict[str, Any] = {"id": uploaded["id"], "filename": filename}
        if caption:
            document["caption"] = _within(whatsapp_text(caption), CAPTION_MAX)
        return await self._send_one(wa_id, {"type": "document", "document": document})

    async def set_commands(self, menus: Sequence[CommandMenu]) -> None:
        return None  # WhatsApp has no command menu: residents type plain words (see words.py)

    async def decide_join_request(self, chat_id: int, user_id: int, *, approve: bool) -> None:
        return None  # groups are Telegram's

    async def pin(self, chat_id: int, message_id: int) -> None:
        return None

    async def is_group_admin(self, chat_id: int, user_id: int) -> bool:
        return False

    # --- sending ------------------------------------------------------------------------------

    async def _recipient(self, person_id: int) -> tuple[str, str]:
        found = await self._identities.recipient(person_id, WHATSAPP)
        if found is None:
            raise ChatNotFound(f"person {person_id} is not on WhatsApp")
        return found.app_id, self._renderer.language(found.language or self._default_language)

    def _phrases_for(self, language: str) -> Phrases:
        if language not in self._phrases:
            self._phrases[language] = phrases_from(self._renderer, language)
        return self._phrases[language]

    async def _send_all(self, wa_id: str, messages: Sequence[CloudMessage]) -> int:
        message_id = 0
        for message in messages:
            message_id = await self._send_one(wa_id, message)
        return message_id

    async def _send_one(self, wa_id: str, message: CloudMessage, *, reply_to: str | None = None) -> int:
        kind = str(message["type"])
        answer = await mapped(
            lambda: self._client.api.send_message(
                sender=self._phone_id,
                to=wa_id,
                recipient=None,
                recipient_type="individual",
                typ=kind,
                msg=message[kind],
                reply_to_message_id=reply_to,
            ),
            f"a {kind} message",
        )
        return number_of(str(answer["messages"][0]["id"]))

    def _keep_paged(self, message_id: int, reply: Reply) -> None:
        self._paged[message_id] = reply
        self._paged.move_to_end(message_id)
        while len(self._paged) > PAGED_REPLIES_KEPT:
            self._paged.popitem(last=False)


def _has_more_row(message: CloudMessage) -> bool:
    interactive = message.get("interactive") or {}
    sections = (interactive.get("action") or {}).get("sections") or []
    return any(read_page_id(row.get("id", "")) for section in sections for row in section.get("rows", []))


def _document_type(filename: str) -> str:
    """The file's type as WhatsApp takes documents: text of any kind (a calendar entry, an export
    in JSON) as plain text, which WhatsApp accepts, under its own name."""
    guessed = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return "text/plain" if guessed.startswith("text/") or guessed == "application/json" else guessed


def _within(text: str, limit: int) -> str:
    while length(text) > limit:
        text = text[: -max(1, (length(text) - limit) // 2)]
    return text

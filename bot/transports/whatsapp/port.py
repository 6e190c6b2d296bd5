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

The 24-hour window: WhatsApp takes free-form messages only within 24 hours of the person's last
message (`app_identity.last_inbound_at`, kept by the door for every message they send); outside it,
only templates Meta approved. A Reply with a topic (a message composed by `Post`, which is what
reaches people unprompted) is sent free-form while the window is open (with WINDOW_MARGIN to spare),
else as its topic's template (`templates.py`) with its values, in the person's language; the Reply
itself is kept (in memory, HELD_KEPT of them) and shown when the person taps the template's button,
which opens the window again. A topic without a template is not sent outside the window:
`NotDeliverable` (the outbox marks its row failed, `Post.tell` logs it). Meta may still refuse a
free-form message with 131047 (its clock, a window that closed meanwhile): in its answer, and the
template goes at once; or in a `failed` status later, and the door sends the template then
(`again_as_template`). A person who never wrote (an identity registered, not arrived) has no known
window: free-form is tried, and 131047 brings the template.
- `set_commands`, `pin`, `decide_join_request` do nothing, `is_group_admin` is False: WhatsApp has
  no command menu and the bot is in no WhatsApp group.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from pywa_async.client import WhatsApp

from bot.kernel.clock import Clock
from bot.kernel.port import ChatNotFound, CommandMenu, MessageGone, NotDeliverable
from bot.kernel.replies import Reply, html_to_plain
from bot.language.renderer import Renderer
from bot.transports.whatsapp.errors import OUTSIDE_WINDOW, WhatsAppRefused, mapped
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
from bot.transports.whatsapp.templates import OPEN_PAYLOAD, template_for
from storage.identities import WHATSAPP, AppIdentities

log = logging.getLogger(__name__)

CAPTION_MAX = 1024
PAGED_REPLIES_KEPT = 2048  # Replies whose list has a "Meer…" row, newest kept
WINDOW = timedelta(hours=24)  # WhatsApp's customer service window
WINDOW_MARGIN = timedelta(minutes=10)  # a message sent this close to its end goes as a template
HELD_KEPT = 4096  # Replies sent as templates (for the button's tap) and free-form with a topic (for a late 131047)
SENT_WAIT_S = 5.0  # how long a failed status waits for the sends under way, to know what it failed
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
        self,
        client: WhatsApp,
        *,
        phone_id: str,
        identities: AppIdentities,
        renderer: Renderer,
        default_language: str,
        clock: Clock,
    ) -> None:
        self._client = client
        self._phone_id = phone_id
        self._identities = identities
        self._renderer = renderer
        self._default_language = default_language
        self._clock = clock
        self._phrases: dict[str, Phrases] = {}
        self._paged: OrderedDict[int, Reply] = OrderedDict()
        self._held: OrderedDict[int, Reply] = OrderedDict()  # by the id of the template sent instead
        self._sent: OrderedDict[int, Reply] = OrderedDict()  # free-form with a topic, by its id
        self._under_way: set[asyncio.Future[None]] = set()  # sends not answered yet

    async def send(self, chat_id: int, reply: Reply) -> int:
        wa_id, language = await self._recipient(chat_id)
        if reply.topic is not None and not await self._window_open(chat_id):
            return await self._as_template(chat_id, wa_id, language, reply)
        with self._sending():
            try:
                messages = render(reply, self._phrases_for(language))
                message_id = await self._send_all(wa_id, messages)
            except WhatsAppRefused as error:
                if error.code != OUTSIDE_WINDOW or reply.topic is None:
                    raise
                return await self._as_template(chat_id, wa_id, language, reply)
            if reply.topic is not None:
                _keep(self._sent, message_id, reply)
        if any(_has_more_row(message) for message in messages):
            self._keep_paged(message_id, reply)
        return message_id

    async def send_template(self, chat_id: int, reply: Reply) -> int:
        """Sends the Reply as its topic's template, whatever the window; `NotDeliverable` without one."""
        wa_id, language = await self._recipient(chat_id)
        return await self._as_template(chat_id, wa_id, language, reply)

    def held(self, message_id: int) -> Reply | None:
        """The Reply a template stood for, by the template's message id (its button was tapped)."""
        return self._held.get(message_id)

    async def sent_reply(self, message_id: int) -> Reply | None:
        """The Reply sent free-form under `message_id`, if it had a topic. Meta's status may come
        before the send's own answer: the sends under way are waited for (at most SENT_WAIT_S)."""
        if message_id not in self._sent and self._under_way:
            await asyncio.wait(set(self._under_way), timeout=SENT_WAIT_S)
        return self._sent.get(message_id)

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

    # --- the 24-hour window --------------------------------------------------------------------

    async def _window_open(self, person_id: int) -> bool:
        """Whether a free-form message may go: the person wrote within WINDOW (less the margin), or
        their last message is not known (then Meta's 131047 says so)."""
        identities = await self._identities.of_person(person_id)
        last = next((found.last_inbound_at for found in identities if found.app == WHATSAPP), None)
        return last is None or self._clock.now() - last < WINDOW - WINDOW_MARGIN

    async def _as_template(self, chat_id: int, wa_id: str, language: str, reply: Reply) -> int:
        template = template_for(reply.topic)
        if template is None:
            raise NotDeliverable(f"outside WhatsApp's 24-hour window, and {reply.topic or 'a reply'} has no template")
        missing = template.missing(reply.values)
        if missing:
            log.warning("template %s sent to %s without %s", template.name, chat_id, ", ".join(missing))
        components: list[dict[str, Any]] = []
        if template.params:
            parameters = [{"type": "text", "text": text} for text in template.parameters(reply.values)]
            components.append({"type": "body", "parameters": parameters})
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": OPEN_PAYLOAD}],
            }
        )
        message = {"name": template.name, "language": {"code": language}, "components": components}
        message_id = await self._send_one(wa_id, {"type": "template", "template": message})
        _keep(self._held, message_id, reply)
        log.info("outside the 24-hour window: %s went to %s as template %s", reply.topic, chat_id, template.name)
        return message_id

    @contextmanager
    def _sending(self) -> Iterator[None]:
        under_way: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._under_way.add(under_way)
        try:
            yield
        finally:
            self._under_way.discard(under_way)
            under_way.set_result(None)

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


def _keep(kept: OrderedDict[int, Reply], message_id: int, reply: Reply) -> None:
    kept[message_id] = reply
    kept.move_to_end(message_id)
    while len(kept) > HELD_KEPT:
        kept.popitem(last=False)


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

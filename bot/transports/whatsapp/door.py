"""The WhatsApp door: Meta's webhook in (on the shared webhook server), the core's port out.

`GET /whatsapp` answers Meta's verification handshake. `POST /whatsapp` is taken only with a
valid `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret, compared in
constant time; anything else gets 401 and a log line). Each person's message becomes a core
event under the update id its wamid stands for (`ids.number_of`), kept by the core before Meta
hears 200: a restart loses nothing Meta delivered, and a redelivery is found kept and handled
once. Statuses of the bot's own messages are read too: a `failed` one marks that message's outbox
row failed, unless it failed for being outside the 24-hour window (131047) and its topic has a
template: then the template goes instead (`again_as_template`), and the row keeps the template's id.
A tap on a template's button shows the message the template stood for (kept by the port, or for an
outbox message after a restart, its row), or the menu when neither is known. A person is found by
their wa_id in `storage.identities` (a newcomer gets a person id of their own); their phone number
stays there and never reaches an event or a log line.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import deque

import httpx
from aiohttp import web
from pywa_async.client import WhatsApp

from bot.application.settings import CannotStart, Settings
from bot.delivery.outbox import reply_of
from bot.kernel import commands
from bot.kernel.core import Buurtbot
from bot.kernel.events import ButtonPress, ChatRef, Event, Message, Sender
from bot.kernel.port import DoorError
from bot.kernel.replies import Reply
from bot.transports.webhook import MAX_BODY_BYTES, MAX_DEPTH, WebhookServer, nested_deeper_than
from bot.transports.whatsapp.errors import OUTSIDE_WINDOW
from bot.transports.whatsapp.ids import number_of
from bot.transports.whatsapp.inbound import SIGNATURE_HEADER, Inbound, Status, read_webhook, signature_ok
from bot.transports.whatsapp.port import WhatsAppPort, press_id
from bot.transports.whatsapp.render import read_page_id
from bot.transports.whatsapp.templates import OPEN_PAYLOAD, template_for
from bot.transports.whatsapp.words import as_typed
from storage.identities import WHATSAPP, AppIdentities, is_app_person
from storage.models import DeliveryStatus
from storage.outbox import OutboxRows

log = logging.getLogger(__name__)
# pywa logs every request it makes at DEBUG with its body: the recipient's phone number and the text
# sent. The log must hold neither, so pywa says only what goes wrong.
logging.getLogger("pywa").setLevel(logging.WARNING)

PATH = "/whatsapp"
TAPS_REMEMBERED = 1024  # "Meer…" and template taps answered here lately, so a redelivered one is not answered twice
# A failed status with one of these codes: the person cannot get WhatsApp messages from us.
UNREACHABLE_CODES = frozenset({131026})


def check_settings(settings: Settings) -> None:
    """What WhatsApp needs, all of it, or a `CannotStart` naming the first variable missing."""
    for variable, value in (
        ("WHATSAPP_TOKEN", settings.whatsapp_token),
        ("WHATSAPP_PHONE_ID", settings.whatsapp_phone_id),
        ("WHATSAPP_APP_SECRET", settings.whatsapp_app_secret),
        ("WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token),
    ):
        if not value:
            raise CannotStart(f"{variable}: needed for WhatsApp (the other WHATSAPP_ settings are set)")


class WhatsAppDoor:
    """One WhatsApp business number: its webhook routes, and the port the core sends through."""

    def __init__(self, settings: Settings, core: Buurtbot, *, session: httpx.AsyncClient | None = None) -> None:
        check_settings(settings)
        self._settings = settings
        self._core = core
        village = core.village
        self._identities = AppIdentities(village.stores.directory)
        self._outbox = OutboxRows(village.stores)
        self._own_session = session is None
        self._http = session or httpx.AsyncClient(timeout=settings.bot_api_timeout)
        self._client = WhatsApp(
            phone_id=settings.whatsapp_phone_id,
            token=settings.whatsapp_token,
            session=self._http,
            server=None,
            verify_token=settings.whatsapp_verify_token,
            app_secret=settings.whatsapp_app_secret,
        )
        # pywa has no base-URL setting: it points the session at graph.facebook.com/v<version>.
        version_path = self._http.base_url.path
        self._http.base_url = httpx.URL(settings.whatsapp_api_base_url.rstrip("/") + version_path)
        self.port = WhatsAppPort(
            self._client,
            phone_id=settings.whatsapp_phone_id,
            identities=self._identities,
            renderer=village.renderer,
            default_language=settings.default_language,
            clock=village.clock,
        )
        self._people: set[int] = set()  # who is reached on WhatsApp (all ids of the app range, and these)
        self._taps_answered: deque[str] = deque(maxlen=TAPS_REMEMBERED)
        self._server: WebhookServer | None = None

    async def open(self) -> None:
        """After the stores are open: learns who is on WhatsApp."""
        self._people = await self._identities.people_on(WHATSAPP)

    async def close(self) -> None:
        if self._own_session:
            await self._http.aclose()

    def reaches(self, person_id: int) -> bool:
        """Whether this person is written to on WhatsApp (not Telegram)."""
        return is_app_person(person_id) or person_id in self._people

    def serve_on(self, server: WebhookServer) -> None:
        self._server = server
        server.add("GET", PATH, self._handshake)
        server.add("POST", PATH, self._update)

    # --- the webhook ------------------------------------------------------------------------------

    async def _handshake(self, request: web.Request) -> web.Response:
        query = request.query
        given = query.get("hub.verify_token", "")
        challenge = query.get("hub.challenge", "")
        matches = hmac.compare_digest(given.encode(), self._settings.whatsapp_verify_token.encode())
        if query.get("hub.mode") == "subscribe" and challenge and matches:
            log.info("WhatsApp webhook verified by Meta")
            return web.Response(text=challenge)
        return self._refuse(request, 403, "wrong hub.mode or hub.verify_token")

    async def _update(self, request: web.Request) -> web.Response:
        server = self._server
        assert server is not None  # set with the route
        if not server.accepting:
            return web.Response(status=503, text="stopping")  # Meta delivers it again later
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return self._refuse(request, 413, f"a body of {request.content_length} bytes is not an update")
        body = await server.read_body(request)
        if isinstance(body, web.Response):
            return body
        if not signature_ok(body, request.headers.get(SIGNATURE_HEADER), self._settings.whatsapp_app_secret):
            return self._refuse(request, 401, f"wrong or missing {SIGNATURE_HEADER}")
        if nested_deeper_than(body, MAX_DEPTH):
            return self._refuse(request, 400, f"nested deeper than {MAX_DEPTH}")
        try:
            webhook = read_webhook(json.loads(body), self._settings.whatsapp_phone_id)
        except (ValueError, RecursionError) as error:
            return self._refuse(request, 400, f"not a WhatsApp webhook ({type(error).__name__})")
        try:
            events = [event for message in webhook.messages if (event := await self._event(message)) is not None]
            if events:
                await self._core.submit_all(events)  # returns once they are kept in the directory store
            for status in webhook.statuses:
                await self._status(status)
        except Exception:
            log.exception("could not keep a WhatsApp update; Meta will deliver it again")
            return web.Response(status=503, text="not kept")
        return web.Response(status=200)

    def _refuse(self, request: web.Request, status: int, reason: str) -> web.Response:
        assert self._server is not None
        return self._server.refuse(request, status, f"WhatsApp: {reason}")

    async def _event(self, message: Inbound) -> Event | None:
        """The core event for a person's message; None for a "Meer…" row (answered here)."""
        now = self._core.village.clock.now()
        arrived = await self._identities.arrived(app=WHATSAPP, app_id=message.wa_id, phone=message.wa_id, now=now)
        person_id = arrived.person_id
        self._people.add(person_id)
        sender = Sender(person_id, message.name)
        chat = ChatRef(person_id)
        update_id = number_of(message.wamid)
        if message.data is not None:
            tapped = number_of(message.answers) if message.answers else 0
            if read_page_id(message.data) is not None:
                await self._next_page(message, person_id, tapped)
                return None
            if message.data == OPEN_PAYLOAD:
                if await self._reopened(message, person_id, tapped):
                    return None
                return Message(update_id, sender, chat, f"/{commands.MENU.name}", update_id)
            return ButtonPress(update_id, sender, chat, tapped, message.data, press_id(person_id, message.answers))
        text = as_typed(message.text, first=not arrived.known)
        return Message(update_id, sender, chat, text, update_id)

    async def _next_page(self, message: Inbound, person_id: int, tapped: int) -> None:
        if message.wamid in self._taps_answered:
            return
        self._taps_answered.append(message.wamid)
        try:
            sent = await self.port.send_page(person_id, tapped, message.data or "")
        except DoorError as error:
            log.warning("could not show the next page of a list to %s: %s", person_id, error)
            return
        if sent is None:
            log.info("%s tapped 'more' under a list this run did not send; nothing to page", person_id)

    async def _reopened(self, message: Inbound, person_id: int, tapped: int) -> bool:
        """A tap on a template's button: the message it stood for, now free-form (the tap opened
        the window). False when that message is not known here: the person gets the menu."""
        if message.wamid in self._taps_answered:
            return True
        reply = self.port.held(tapped) or await self._from_outbox(person_id, tapped)
        if reply is None:
            log.info("%s tapped a template's button whose message is not known here; showing the menu", person_id)
            return False
        self._taps_answered.append(message.wamid)
        try:
            await self.port.send(person_id, reply)
        except DoorError as error:
            log.warning("could not show %s the message behind a template: %s", person_id, error)
        return True

    async def _from_outbox(self, person_id: int, message_id: int) -> Reply | None:
        """The outbox message sent to this person under `message_id`, as its Reply, if any."""
        for membership in await self._core.village.stores.directory.memberships_of(person_id):
            found = await self._outbox.sent_message(membership.network.slug, chat_id=person_id, message_id=message_id)
            if found is not None:
                return reply_of(found)
        return None

    async def again_as_template(self, person_id: int, message_id: int) -> bool:
        """A message Meta refused after taking it, for being outside the 24-hour window: its topic's
        template goes instead, and an outbox row keeps the template's id. False when it cannot (no
        template, the message not known here, or the template refused too)."""
        reply = await self.port.sent_reply(message_id) or await self._from_outbox(person_id, message_id)
        if reply is None or template_for(reply.topic) is None:
            topic = None if reply is None else reply.topic
            log.warning(
                "message %s to %s was outside the 24-hour window and has no template (%s)",
                message_id,
                person_id,
                topic or "not known here",
            )
            return False
        try:
            sent = await self.port.send_template(person_id, reply)
        except DoorError as error:
            log.warning("message %s to %s: its template could not go either: %s", message_id, person_id, error)
            return False
        for membership in await self._core.village.stores.directory.memberships_of(person_id):
            await self._outbox.sent_again(
                membership.network.slug, chat_id=person_id, message_id=message_id, new_message_id=sent
            )
        return True

    async def _status(self, status: Status) -> None:
        """A failed message marks its outbox row (if it was one: a reply has none), or goes again as
        its template when it failed for the 24-hour window; the others say only that it arrived,
        which the outbox already counts as sent."""
        if status.status != "failed":
            return
        person_id = await self._identities.person_of(WHATSAPP, status.wa_id)
        code = status.errors[0] if status.errors else 0
        if person_id is None:
            log.info("a WhatsApp message to someone no longer known failed (error %s)", code)
            return
        message_id = number_of(status.wamid)
        if code == OUTSIDE_WINDOW and await self.again_as_template(person_id, message_id):
            return
        outcome = DeliveryStatus.UNREACHABLE if code in UNREACHABLE_CODES else DeliveryStatus.FAILED
        now = self._core.village.clock.now()
        marked = 0
        for membership in await self._core.village.stores.directory.memberships_of(person_id):
            marked += await self._outbox.mark_failed_after_sending(
                membership.network.slug, chat_id=person_id, message_id=message_id, status=outcome, now=now
            )
        log.warning(
            "WhatsApp message %s to person %s failed after it was sent (error %s); outbox rows marked %s: %d",
            message_id,
            person_id,
            code,
            outcome.value,
            marked,
        )

"""The HTTP side: an aiohttp app on 127.0.0.1 answering Graph's message and media endpoints, start and stop."""

from __future__ import annotations

import re
import secrets
import time
from types import TracebackType
from typing import Any, Self

import httpx
from aiohttp import web

from .errors import JSON, GraphError
from .faults import Faults
from .limits import Limits
from .records import UploadedMedia, Violation
from .validation import parse_message
from .webhooks import Webhooks
from .window import Conversations

GRAPH_HOST = "graph.facebook.com"
VERSION = r"{version:v\d+(?:\.\d+)?}"
_DOCS = "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"


class _ToFake(httpx.AsyncBaseTransport):
    """An httpx transport that sends what is meant for graph.facebook.com to the fake instead."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == GRAPH_HOST:
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class Server(Faults, Limits, Conversations, Webhooks):
    """Answers each call like graph.facebook.com: token, phone number id, faults, Meta's checks, then the send."""

    def _init_server(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port = 0

    async def start(self) -> None:
        app = web.Application(client_max_size=110 * 1024 * 1024)  # Meta takes documents up to 100 MB
        app.router.add_post(f"/{VERSION}/{{phone_id}}/messages", self._messages)
        app.router.add_post(f"/{VERSION}/{{phone_id}}/media", self._media)
        app.router.add_route("*", "/{path:.*}", self._unknown)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        await self._start_webhooks()

    async def stop(self) -> None:
        self._closing = True
        self._change.fire()
        await self._stop_webhooks()
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
        """http://127.0.0.1:PORT, where graph.facebook.com would be."""
        if not self._port:
            raise RuntimeError("FakeGraphAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    def graph_url(self, api_version: str | float = "26.0") -> str:
        """The versioned root, as pywa sets httpx's base_url: http://127.0.0.1:PORT/v26.0."""
        return f"{self.base_url}/v{float(str(api_version))}"

    def http_session(self, **client_options: Any) -> httpx.AsyncClient:
        """An httpx.AsyncClient whose calls to graph.facebook.com reach the fake, over real HTTP; give it
        to pywa_async's WhatsApp(session=...) and close it (await session.aclose()) when done."""
        if not self._port:
            raise RuntimeError("FakeGraphAPI is not started")
        return httpx.AsyncClient(transport=_ToFake(self._port), **client_options)

    # -------------------------------------------------------------- endpoints

    async def _messages(self, request: web.Request) -> web.Response:
        refused = self._authorise(request)
        if refused is not None:
            return self._error(refused)
        try:
            payload = await request.json()
        except ValueError:
            return self._error(GraphError(100, "The request body must be a JSON object."))
        if not isinstance(payload, dict):
            return self._error(GraphError(100, "The request body must be a JSON object."))
        self.requests.append(("messages", payload))
        try:
            if payload.get("status") == "read":
                return self._mark_read(payload)
            return await self._send(payload)
        except GraphError as error:
            return self._error(error)
        except Exception as exc:  # a bug in the fake itself: report it, answer like Graph
            self.internal_errors.append(f"messages: {exc!r}")
            return self._error(GraphError(1, repr(exc), http_status=500))
        finally:
            self._change.fire()

    async def _send(self, payload: JSON) -> web.Response:
        """A message: faults, Meta's checks (each refusal the bot caused is a Violation), then accepted."""
        to = str(payload.get("to") or payload.get("recipient") or "")
        wa_id = self.wa_id_for(to)
        self._record_received("messages", wa_id or None)
        fault = await self._before_call("messages")
        if fault is not None:
            return self._error(*fault)
        try:
            message = parse_message(payload, self.media)
        except GraphError as error:
            self.violations.append(Violation("invalid", error.code, wa_id or None, error.details))
            raise
        message.wa_id = wa_id
        failure = None
        recipient_fault = self._recipient_fault(wa_id)
        if recipient_fault is not None:
            failure, via = recipient_fault
            if via == "response":
                raise failure
        self._check_rates(wa_id)
        try:
            self._check_conversation(message)
        except GraphError as error:
            kind = "window" if error.code == 131047 else "template"
            self.violations.append(Violation(kind, error.code, wa_id, error.details))
            if kind == "template" or self.window_refusal == "response":
                raise
            failure = failure or error
        message.id = self._new_wamid(wa_id)
        message.at = time.monotonic()
        message.sent_at = self.clock.now()
        self.sent.append(message)
        self._count_send(wa_id)
        if failure is not None:
            message.error = failure
            self._send_status(message, "failed", failure)
        elif self.auto_statuses:
            self._send_status(message, "sent")
            self._send_status(message, "delivered")
        contact: JSON = {"input": to, "wa_id": wa_id}
        if self.bsuid:
            contact["user_id"] = self.bsuid_for(wa_id)
        sent: JSON = {"id": message.id}
        if message.template is not None:
            sent["message_status"] = "accepted"
        return web.json_response({"messaging_product": "whatsapp", "contacts": [contact], "messages": [sent]})

    def _mark_read(self, payload: JSON) -> web.Response:
        """Marking a user's message as read (with or without a typing indicator)."""
        message_id = str(payload.get("message_id") or "")
        if payload.get("messaging_product") != "whatsapp":
            raise GraphError(100, "The parameter messaging_product is required.")
        if message_id not in self._inbound_ids:
            raise GraphError(100, f"Invalid message_id {message_id!r}: no such message from a user.")
        self.read_marks.append(message_id)
        return web.json_response({"success": True})

    async def _media(self, request: web.Request) -> web.Response:
        refused = self._authorise(request)
        if refused is not None:
            return self._error(refused)
        self._record_received("media", None)
        fault = await self._before_call("media")
        if fault is not None:
            return self._error(*fault)
        if not request.content_type.startswith("multipart/"):
            return self._error(GraphError(100, "Upload the media as multipart/form-data."))
        form = await request.post()
        upload = form.get("file")
        self.requests.append(("media", {key: str(value) for key, value in form.items() if key != "file"}))
        if form.get("messaging_product") != "whatsapp":
            return self._error(GraphError(100, "The parameter messaging_product is required."))
        if not isinstance(upload, web.FileField):
            return self._error(GraphError(100, "The parameter file is required."))
        media_id = str(10**15 + secrets.randbelow(9 * 10**15))
        mime_type = str(form.get("type") or upload.content_type)
        self.media[media_id] = UploadedMedia(media_id, upload.filename, mime_type, upload.file.read())
        self._change.fire()
        return web.json_response({"id": media_id})

    async def _unknown(self, request: web.Request) -> web.Response:
        refused = self._authorise(request)
        if refused is not None:
            return self._error(refused)
        return self._error(GraphError(2500, "", title=f"Unknown path components: {request.path}"))

    # ----------------------------------------------------------------- helpers

    def _authorise(self, request: web.Request) -> GraphError | None:
        """190 for a wrong token, 2500 for none, 100 (subcode 33) for another phone number id."""
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else request.query.get("access_token")
        if not token:
            title = "An active access token must be used to query information about the current user."
            return GraphError(2500, "", title=title)
        if token != self.token:
            return GraphError(190, "")
        phone_id = request.match_info.get("phone_id")
        if phone_id is not None and phone_id != self.phone_id:
            title = (
                f"Unsupported post request. Object with ID '{phone_id}' does not exist, cannot be loaded due to "
                f"missing permissions, or does not support this operation. {_DOCS}"
            )
            return GraphError(100, "", title=title, subcode=33)
        return None

    @staticmethod
    def _error(error: GraphError, json_body: bool = True) -> web.Response:
        if not json_body:
            reason = re.sub(r"\s+", " ", error.title)
            return web.Response(status=error.http_status, text=f"{error.http_status} {reason}")
        return web.json_response(error.body(), status=error.http_status)

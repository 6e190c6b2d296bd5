"""The webhook server: Telegram and WhatsApp post updates here; each is kept before the app is told "received".

One aiohttp server on WEBHOOK_LISTEN serves Telegram's path (when Telegram uses a webhook), the
paths other doors add (WhatsApp's `/whatsapp`), and `/healthz`. What is not a Telegram update
gets 400, never 500 (and never reaches a framework's parser half checked); bodies too large or
nested deeper than any update are refused before they are parsed; a connection that sends its
headers or body too slowly is closed; refusals are logged at most once a minute, with a count,
so a noisy sender cannot fill the log.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.application.settings import CannotStart, Settings
from bot.kernel.events import Event

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
# A real update is a few kilobytes: a message's text is at most 4,096 characters (even escaped and
# with the message it replies to, well under 100 kB).
MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 32  # objects and arrays inside each other; a real update nests about 6 deep
HEADER_TIMEOUT_S = 10.0  # from connecting (or the last answer) to a request's last header line
BODY_TIMEOUT_S = 10.0  # from the last header line to the body's last byte
SHUTDOWN_TIMEOUT_S = 30.0  # the longest a stop waits for requests whose updates are being kept
REFUSAL_LOG_INTERVAL_S = 60.0

Parse = Callable[[dict[str, Any]], Event | None]
Submit = Callable[[Event], Awaitable[bool]]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebhookServer:
    """Serves `/healthz` for whoever watches the bot, Telegram's updates at their path once
    `serve_telegram` is called, and whatever other doors `add`."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._routes: set[tuple[str, str]] = set()
        self._secret = ""
        self._parse: Parse | None = None
        self._submit: Submit | None = None
        self._runner: web.AppRunner | None = None
        self._reading: set[asyncio.Timeout] = set()  # the body reads in progress, cut short by a stop
        self._refusals = RefusalLog()
        self.accepting = True
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get(HEALTH_PATH, self._health)
        self.app = app

    def serve_telegram(self, *, path: str, secret: str, parse: Parse, submit: Submit) -> None:
        """Takes Telegram's updates at `path`, checking its secret token header."""
        self._secret, self._parse, self._submit = secret, parse, submit
        self.add("POST", path or "/", self._update)

    def add(self, method: str, path: str, handler: Handler) -> None:
        """Another door's route; a path already served (Telegram's, say) is a setting to change."""
        if (method, path) in self._routes or path == HEALTH_PATH:
            raise ValueError(f"{method} {path} is served twice")
        self._routes.add((method, path))
        if path not in self.paths:
            self.paths.append(path)
        self.app.router.add_route(method, path, handler)

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            # aiohttp closes a connection whose request has not fully arrived when its keep-alive
            # timer fires (started on connecting, and again after each answer): the header timeout.
            keepalive_timeout=HEADER_TIMEOUT_S,
            lingering_time=0,  # the rest of a refused body is not waited for: the connection closes
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError:
            await self._runner.cleanup()
            raise
        log.info("webhook listening on %s:%s (%s)", host, port, ", ".join(self.paths) or HEALTH_PATH)

    async def stop(self) -> None:
        """Refuses new updates, drops bodies still arriving (not yet kept, so Telegram sends them
        again), and waits for the updates being kept."""
        self.accepting = False
        loop = asyncio.get_running_loop()
        for reading in self._reading:
            reading.reschedule(loop.time())
        if self._runner is not None:
            await self._runner.cleanup()
        self._refusals.flush()

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response(
            {"status": "ok" if self.accepting else "stopping"}, status=200 if self.accepting else 503
        )

    def refuse(self, request: web.Request, status: int, reason: str) -> web.Response:
        """Answers `status`, logged at most once a minute (see RefusalLog)."""
        self._refusals.refused(f"{status} to {request.remote}: {reason}")
        response = web.Response(status=status, text=reason)
        if status in (408, 413):
            response.force_close()  # what is left of its body is not read
        return response

    async def _update(self, request: web.Request) -> web.Response:
        assert self._parse is not None and self._submit is not None  # set with the route
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return self.refuse(request, 401, f"wrong or missing {SECRET_HEADER}")
        if not self.accepting:
            return web.Response(status=503, text="stopping")  # Telegram will deliver it again later
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return self.refuse(request, 413, f"a body of {request.content_length} bytes is not an update")
        body = await self.read_body(request)
        if isinstance(body, web.Response):
            return body
        data, problem = parsed_update(body)
        event: Event | None = None
        if problem is None:
            try:
                event = self._parse(data)
            except Exception as error:  # whatever the framework makes of it: not an update we can take
                problem = f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
        if problem is not None:
            return self.refuse(request, 400, f"not a Telegram update ({problem})")
        if event is not None:
            try:
                await self._submit(event)  # returns once the update is kept in the directory store
            except Exception:
                log.exception("could not keep update %s; Telegram will deliver it again", event.update_id)
                return web.Response(status=503, text="not kept")
        return web.Response(status=200)

    async def read_body(self, request: web.Request) -> bytes | web.Response:
        """The request's body, or the answer for one too large, too slow, or cut off by a stop."""
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S) as reading:
                self._reading.add(reading)
                try:
                    return await request.read()
                finally:
                    self._reading.discard(reading)
        except TimeoutError:
            if not self.accepting:
                return web.Response(status=503, text="stopping")
            return self.refuse(request, 408, f"the body did not arrive within {BODY_TIMEOUT_S:g} s")
        except web.HTTPRequestEntityTooLarge:
            return self.refuse(request, 413, f"a body of more than {MAX_BODY_BYTES} bytes is not an update")


async def listen(server: WebhookServer, settings: Settings) -> None:
    """Starts `server` on WEBHOOK_LISTEN; an address it cannot listen on is a `CannotStart` naming the setting."""
    host, port = settings.listen_address
    try:
        await server.start(host, port)
    except OSError as error:
        raise CannotStart(f"WEBHOOK_LISTEN: cannot listen on {host}:{port}: {error.strerror or error}") from error


class RefusalLog:
    """Logs the first refusal at once, then at most one line a minute saying how many followed."""

    def __init__(self) -> None:
        self._quiet = 0  # refusals since the last line
        self._logged_at: float | None = None

    def refused(self, what: str) -> None:
        now = time.monotonic()
        if self._logged_at is None:
            log.warning("refused a webhook request: %s", what)
        elif now - self._logged_at >= REFUSAL_LOG_INTERVAL_S:
            log.warning(
                "refused %d webhook requests in the last %.0f s; the latest: %s",
                self._quiet + 1,
                now - self._logged_at,
                what,
            )
        else:
            self._quiet += 1
            return
        self._quiet, self._logged_at = 0, now

    def flush(self) -> None:
        if self._quiet and self._logged_at is not None:
            log.warning("refused %d more webhook requests since the last report", self._quiet)
            self._quiet = 0


# --- what a Telegram update looks like ------------------------------------------------------------

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def parsed_update(body: bytes) -> tuple[dict[str, Any], str | None]:
    """The body as a Telegram update, or why it is not one."""
    if nested_deeper_than(body, MAX_DEPTH):
        return {}, f"nested deeper than {MAX_DEPTH}"
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        return {}, f"not JSON: {type(error).__name__}"
    problem = update_problem(data)
    return (data, None) if problem is None else ({}, problem)


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON in BODY has objects and arrays more than LIMIT deep (brackets inside
    strings do not count), found without parsing it."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', body)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


def update_problem(data: object) -> str | None:
    """Why DATA is not a Telegram update, as far as the bot reads one; None if it is one.

    An update of a kind the bot does not handle needs only its update_id: it is received and
    ignored (refusing it would make Telegram send it again and again)."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    update_id = data.get("update_id")
    if type(update_id) is not int or update_id < 0:
        return "no whole, non-negative update_id"
    for kind, check in _KINDS.items():
        if kind in data:
            problem = check(data[kind])
            if problem is not None:
                return f"{kind}: {problem}"
    return None


def _integer(value: object) -> bool:
    return type(value) is int


def _user_problem(user: object) -> str | None:
    if not isinstance(user, dict):
        return "not an object"
    if not _integer(user.get("id")) or not isinstance(user.get("is_bot"), bool):
        return "no id or is_bot"
    if not isinstance(user.get("first_name"), str):
        return "no first_name"
    return None


def _chat_problem(chat: object) -> str | None:
    if not isinstance(chat, dict):
        return "not an object"
    if not _integer(chat.get("id")) or not isinstance(chat.get("type"), str):
        return "no id or type"
    return None


def _message_problem(message: object) -> str | None:
    if not isinstance(message, dict):
        return "not an object"
    if not _integer(message.get("message_id")) or not _integer(message.get("date")):
        return "no message_id or date"
    problem = _chat_problem(message.get("chat"))
    if problem is not None:
        return f"chat: {problem}"
    if "from" in message and (problem := _user_problem(message["from"])) is not None:
        return f"from: {problem}"
    if "text" in message and not isinstance(message["text"], str):
        return "text is not text"
    members = message.get("new_chat_members", [])
    if not isinstance(members, list) or any(_user_problem(member) for member in members):
        return "new_chat_members are not users"
    return None


def _button_press_problem(query: object) -> str | None:
    if not isinstance(query, dict):
        return "not an object"
    if not isinstance(query.get("id"), str) or not isinstance(query.get("chat_instance"), str):
        return "no id or chat_instance"
    problem = _user_problem(query.get("from"))
    if problem is not None:
        return f"from: {problem}"
    if "message" in query and (problem := _message_problem(query["message"])) is not None:
        return f"message: {problem}"
    if "data" in query and not isinstance(query["data"], str):
        return "data is not text"
    return None


def _join_request_problem(request: object) -> str | None:
    if not isinstance(request, dict):
        return "not an object"
    if (problem := _chat_problem(request.get("chat"))) is not None:
        return f"chat: {problem}"
    if (problem := _user_problem(request.get("from"))) is not None:
        return f"from: {problem}"
    if not _integer(request.get("user_chat_id")) or not _integer(request.get("date")):
        return "no user_chat_id or date"
    return None


# The kinds the bot handles (ALLOWED_UPDATES of both runtimes), each with what it reads of them.
_KINDS: dict[str, Callable[[object], str | None]] = {
    "message": _message_problem,
    "callback_query": _button_press_problem,
    "chat_join_request": _join_request_problem,
}

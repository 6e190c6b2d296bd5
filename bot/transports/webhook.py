"""The webhook server: Telegram posts updates here; each is kept before Telegram is told "received"."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.events import Event

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"

Parse = Callable[[dict[str, Any]], Event | None]
Submit = Callable[[Event], Awaitable[bool]]


class WebhookServer:
    """Serves `path` for Telegram's updates and `/healthz` for whoever watches the bot."""

    def __init__(self, *, path: str, secret: str, parse: Parse, submit: Submit) -> None:
        self.path = path or "/"
        self._secret = secret
        self._parse = parse
        self._submit = submit
        self._runner: web.AppRunner | None = None
        self.accepting = True
        app = web.Application()
        app.router.add_post(self.path, self._update)
        app.router.add_get(HEALTH_PATH, self._health)
        self.app = app

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        log.info("webhook listening on %s:%s%s", host, port, self.path)

    async def stop(self) -> None:
        self.accepting = False
        if self._runner is not None:
            await self._runner.cleanup()

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response(
            {"status": "ok" if self.accepting else "stopping"}, status=200 if self.accepting else 503
        )

    async def _update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning("refused a webhook request from %s: wrong or missing %s", request.remote, SECRET_HEADER)
            return web.Response(status=401, text="wrong secret token")
        if not self.accepting:
            return web.Response(status=503, text="stopping")  # Telegram will deliver it again later
        try:
            data = await request.json()
            event = self._parse(data)
        except (json.JSONDecodeError, ValueError, TypeError) as error:
            log.warning("refused a webhook request that is not a Telegram update: %s", error)
            return web.Response(status=400, text="not an update")
        if event is not None:
            await self._submit(event)  # returns once the update is kept in the directory store
        return web.Response(status=200)

"""The HTTP side: the aiohttp app on 127.0.0.1, routing /bot{token}/{method} to its handler, start and stop."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Self

from aiohttp import web

from .common import ApiError
from .faults import Faults
from .methods import Methods
from .params import read_params
from .webhooks import Webhooks


class Server(Faults, Methods, Webhooks):
    """Answers each call like api.telegram.org: its faults first (faults.py), then its method
    (methods.py); Telegram's result and error shapes, the HTTP status being the error code."""

    def _init_server(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port = 0

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._closing = True
        self._update_signal.fire()
        self._change_signal.fire()
        await self._stop_pushing()
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
        if not self._port:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        name = self._canonical.get(request.match_info["method"].lower())
        if name is None:
            return self._error(ApiError(404, "Not Found"))
        received = time.monotonic()
        try:
            params = await read_params(request)
        except ApiError as exc:
            return self._error(exc)
        self.calls.append((name, params))
        self._received.append((name, received))
        self._change_signal.fire()  # a long poll is "called" long before it answers
        try:
            await self._before_call(name, params)
            result = await self._methods[name](params)
        except ApiError as exc:
            if exc.error_code == 429:
                self.too_many_requests += 1
            return self._error(exc)
        except Exception as exc:  # a bug in the fake itself: report it, answer like Telegram
            self.internal_errors.append(f"{name}: {exc!r}")
            return self._error(ApiError(500, f"Internal Server Error: {exc!r}"))
        finally:
            self._change_signal.fire()
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        return web.json_response(error.payload(), status=error.error_code)

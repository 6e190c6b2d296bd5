"""The fake Graph API (tests/fakegraphapi) in a child process, driven from the benchmark's event loop.

As `bench.common.ServerProcess` does for the fake Bot API: the fake's own work (JSON, Meta's
checks, signing webhooks) runs on a core of its own, as Meta's would, not on the bot's. It stamps
every message it accepts with time.monotonic() (one clock for every process on Linux), so times
here compare with the benchmark's.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.common import ChildServer, answer_calls
from tests.fakegraphapi import FakeGraphAPI

Accepted = tuple[str, float, str]  # wa_id, accepted at (monotonic), text
Pushed = tuple[str, float, float, int]  # wa_id, pushed at, answered at (monotonic), the bot's HTTP status


@dataclass(frozen=True)
class GraphOptions:
    """How the fake is made; throughput or pair_interval None: that limit is not counted."""

    webhook_url: str
    enforce_rate_limits: bool = False
    throughput: float | None = 80.0
    pair_interval: float | None = 6.0
    auto_statuses: bool = True
    webhook_concurrency: int = 16


class _Control:
    """The commands the child process answers; each returns something picklable."""

    def __init__(self, graph: FakeGraphAPI) -> None:
        self.graph = graph

    async def identity(self) -> dict[str, str]:
        graph = self.graph
        return {
            "base_url": graph.base_url,
            "token": graph.token,
            "phone_id": graph.phone_id,
            "app_secret": graph.app_secret,
            "verify_token": graph.verify_token,
        }

    async def open_windows(self, wa_ids: list[str]) -> None:
        for wa_id in wa_ids:
            self.graph.open_window(wa_id)

    async def set_webhook_url(self, url: str) -> None:
        self.graph.webhook_url = url

    async def push(self, messages: list[tuple[str, str, str]]) -> list[Pushed]:
        """Each (wa_id, text, name) as a signed webhook, all at once (the fake's workers deliver
        them, webhook_concurrency at a time); returns when the bot has answered every one."""

        async def one(wa_id: str, text: str, name: str) -> Pushed:
            pushed = time.monotonic()
            delivery = await self.graph.send_text_from_user(wa_id, text, name=name)
            return wa_id, pushed, time.monotonic(), delivery.status or 0

        return list(await asyncio.gather(*(one(*message) for message in messages)))

    async def sent(self, since: int) -> list[Accepted]:
        return [(m.wa_id, m.at, m.text or "") for m in self.graph.sent[since:]]

    async def sent_count(self) -> int:
        return len(self.graph.sent)

    async def wait_sent(self, count: int, timeout: float) -> bool:  # noqa: ASYNC109
        return await self.graph.wait_until(lambda: len(self.graph.sent) >= count, timeout)

    async def wait_first_to(self, wa_ids: list[str], since: int, timeout: float) -> bool:  # noqa: ASYNC109
        """Until each of wa_ids got a message among those accepted from `since` on."""
        waiting = set(wa_ids)

        def arrived() -> bool:
            waiting.difference_update(m.wa_id for m in self.graph.sent[since:])
            return not waiting

        return await self.graph.wait_until(arrived, timeout)

    async def webhooks_done(self, timeout: float) -> bool:  # noqa: ASYNC109
        return await self.graph.wait_for_webhooks(timeout)

    async def stats(self) -> dict[str, int]:
        graph = self.graph
        kinds = Counter(v.kind for v in graph.violations)
        return {
            "sent": len(graph.sent),
            "violations": len(graph.violations),
            **{f"violations_{kind}": count for kind, count in kinds.items()},
            "internal_errors": len(graph.internal_errors),
            "webhooks": len(graph.deliveries),
            "webhooks_not_200": sum(1 for status in graph.webhook_statuses if status != 200),
        }


def _serve(conn: Connection, options: GraphOptions) -> None:
    asyncio.run(_serve_async(conn, options))


async def _serve_async(conn: Connection, options: GraphOptions) -> None:
    graph = FakeGraphAPI(
        webhook_url=options.webhook_url,
        enforce_rate_limits=options.enforce_rate_limits,
        throughput=options.throughput,
        pair_interval=options.pair_interval,
        auto_statuses=options.auto_statuses,
        webhook_concurrency=options.webhook_concurrency,
        webhook_timeout=60.0,
    )
    async with graph:
        control = _Control(graph)
        conn.send(await control.identity())
        await answer_calls(conn, control)
    conn.send(("ok", None))


class GraphProcess(ChildServer):
    """A FakeGraphAPI in a child process: `identity` holds its base URL, token, phone id and secrets."""

    name = "fakegraphapi"

    def __init__(self, options: GraphOptions) -> None:
        super().__init__()
        self.options = options
        self.identity: dict[str, str] = {}

    async def __aenter__(self) -> GraphProcess:
        self.identity = await self._spawn(_serve, self.options)
        return self

    def settings(self) -> dict[str, Any]:
        """The bot's WHATSAPP_ settings for this fake."""
        return {
            "whatsapp_token": self.identity["token"],
            "whatsapp_phone_id": self.identity["phone_id"],
            "whatsapp_app_secret": self.identity["app_secret"],
            "whatsapp_verify_token": self.identity["verify_token"],
            "whatsapp_api_base_url": self.identity["base_url"],
        }

    async def open_windows(self, wa_ids: list[str]) -> None:
        await self._call("open_windows", wa_ids)

    async def set_webhook_url(self, url: str) -> None:
        await self._call("set_webhook_url", url)

    async def push(self, messages: list[tuple[str, str, str]]) -> list[Pushed]:
        return [tuple(pushed) for pushed in await self._call("push", messages)]

    async def sent(self, since: int = 0) -> list[Accepted]:
        return [tuple(accepted) for accepted in await self._call("sent", since)]

    async def sent_count(self) -> int:
        return int(await self._call("sent_count"))

    async def wait_sent(self, count: int, timeout: float = 60.0) -> bool:  # noqa: ASYNC109
        return bool(await self._call("wait_sent", count, timeout))

    async def wait_first_to(self, wa_ids: list[str], since: int, timeout: float = 60.0) -> bool:  # noqa: ASYNC109
        return bool(await self._call("wait_first_to", wa_ids, since, timeout))

    async def webhooks_done(self, timeout: float = 60.0) -> bool:  # noqa: ASYNC109
        return bool(await self._call("webhooks_done", timeout))

    async def stats(self) -> dict[str, int]:
        return dict(await self._call("stats"))

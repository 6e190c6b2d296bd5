"""WhatsApp intake benchmark: signed webhook updates per second through the door and the core, beside a bare handler.

Whole stack: the fake Graph API (in its own process) signs each resident's message with the app
secret and POSTs it to /whatsapp, `--concurrency` at a time, as Meta delivers webhooks; the door
checks X-Hub-Signature-256 over the raw body, reads Meta's JSON, finds the person by wa_id, and
the core keeps the update before the 200, then handles it (a member's "privacy", "hulp" or
"verzoeken": plain words as commands, across 27 networks) and the reply goes out through the fake
Graph API. An update counts once its reply is accepted there. The bare handler, in the same
process on the same aiohttp, reads the body, checks the signature in constant time and answers
200: the floor of what taking a webhook costs. Each repetition runs both, side by side, on fresh
fakes with the same burst of updates (each from a resident of its own), after a warm-up that is
not counted. Meta's statuses of the replies (sent, delivered: two webhooks more per reply) are
left out unless `--statuses`; the send budgets are opened wide (the fake enforces no limit), so
what is measured is the intake, not WhatsApp's 80 messages a second.

    python -m bench.whatsapp_intake --updates 2000 --repeat 3
    python -m bench.whatsapp_intake --updates 300            # quick
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import resource
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.announcement_mixed import WHATSAPP_BASE, seed_both_apps
from bench.common import emit, make_settings, median, percentile, quiet_logging
from bench.graph_process import GraphOptions, GraphProcess, Pushed
from tests.doors import free_port, wa_id_of

NETWORKS = 27
WORDS = ("privacy", "hulp", "verzoeken")  # member commands, typed as WhatsApp residents type them
WARMUP = 300
UNLIMITED_RATE = 1000.0  # the highest BROADCAST_RATE and WHATSAPP_RATE the settings accept
ANSWER_WITHIN_S = 180.0


def cpu_seconds() -> float:
    """CPU time of this process (the bot or the bare handler, not the fake), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@asynccontextmanager
async def bare_handler(port: int, app_secret: str) -> AsyncIterator[None]:
    """An aiohttp handler that takes a webhook only with a valid signature, and does nothing else."""
    key = app_secret.encode()

    async def take(request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get("X-Hub-Signature-256", "")
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        return web.Response(status=200 if hmac.compare_digest(given, expected) else 401)

    app = web.Application()
    app.router.add_post("/whatsapp", take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


@asynccontextmanager
async def buurtbot_on_whatsapp(data_dir: Path, port: int, graph: GraphProcess) -> AsyncIterator[None]:
    """`buurtbot run` with WhatsApp alone: the webhook on WEBHOOK_LISTEN, the replies to the fake."""
    from bot.application.build import build_bot
    from bot.transports.whatsapp import run_whatsapp

    settings = make_settings(
        data_dir,
        webhook_listen=f"127.0.0.1:{port}",
        broadcast_rate=UNLIMITED_RATE,
        whatsapp_rate=UNLIMITED_RATE,
        bot_api_timeout=10.0,
        **graph.settings(),
    )
    stop = asyncio.Event()
    core = build_bot(settings, door="whatsapp")
    task = asyncio.create_task(run_whatsapp(settings, stop, core=core))
    try:
        await listening(port, task)
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def listening(port: int, task: asyncio.Task[int]) -> None:
    import aiohttp

    async with asyncio.timeout(60), aiohttp.ClientSession() as http:
        while not task.done():
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"the bot stopped while starting: {task.result()}")


def burst_of(people: list[int], words: itertools.cycle[str]) -> list[tuple[str, str, str]]:
    return [(wa_id_of(person), next(words), f"Buur {person % WHATSAPP_BASE}") for person in people]


async def replies_to(graph: GraphProcess, pushed: list[Pushed], since: int) -> dict[str, float]:
    """When the first message to each pushed resident was accepted (after `since`)."""
    await graph.wait_first_to([wa_id for wa_id, *_ in pushed], since, ANSWER_WITHIN_S)
    first: dict[str, float] = {}
    for wa_id, at, _ in await graph.sent(since):
        first.setdefault(wa_id, at)
    return first


async def measure(
    kind: str, data_dir: Path, people: list[int], warmup: list[int], *, concurrency: int, statuses: bool
) -> dict[str, Any]:
    port = free_port()
    options = GraphOptions(
        webhook_url=f"http://127.0.0.1:{port}/whatsapp",
        throughput=None,
        pair_interval=None,
        auto_statuses=statuses,
        webhook_concurrency=concurrency,
    )
    words = itertools.cycle(WORDS)
    async with GraphProcess(options) as graph:
        serving = (
            bare_handler(port, graph.identity["app_secret"])
            if kind == "bare"
            else buurtbot_on_whatsapp(data_dir, port, graph)
        )
        async with serving:
            if warmup:
                since = await graph.sent_count()
                pushed = await graph.push(burst_of(warmup, words))
                if kind == "buurtbot":
                    await replies_to(graph, pushed, since)
            since = await graph.sent_count()
            webhooks_before = (await graph.stats())["webhooks"]
            cpu_before = cpu_seconds()
            pushed = await graph.push(burst_of(people, words))
            replied = await replies_to(graph, pushed, since) if kind == "buurtbot" else {}
            await graph.webhooks_done(ANSWER_WITHIN_S)  # the statuses of the replies too, if any
            cpu_s = cpu_seconds() - cpu_before
            stats = await graph.stats()
    first_push = min(at for _, at, _, _ in pushed)
    acknowledged = max(at for _, _, at, _ in pushed)
    figures: dict[str, Any] = {
        "bot": kind,
        "updates": len(pushed),
        "concurrency": concurrency,
        "acknowledged_per_s": len(pushed) / (acknowledged - first_push),
        "cpu_ms_per_update": cpu_s * 1000 / len(pushed),
        "not_200": sum(1 for *_, status in pushed if status != 200),
    }
    if kind == "bare":
        figures["updates_per_s"] = figures["acknowledged_per_s"]
        return figures
    waited = [replied[wa_id] - at for wa_id, at, _, _ in pushed if wa_id in replied]
    figures |= {
        "updates_per_s": len(replied) / (max(replied.values()) - first_push),
        "unanswered": len(pushed) - len(replied),
        "burst_p50_ms": percentile(waited, 0.50) * 1000,
        "burst_p99_ms": percentile(waited, 0.99) * 1000,
        "webhooks": stats["webhooks"] - webhooks_before,  # the updates, and the statuses if asked for
        "statuses_not_200": stats["webhooks_not_200"],
        "server_errors": stats["internal_errors"],
    }
    return figures


async def main_async(args: argparse.Namespace) -> None:
    quiet_logging()
    residents = args.updates + args.warmup
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        # Every resident on WhatsApp (person ids from the app range); each repetition's burst is
        # from residents who wrote nothing before in it.
        on_whatsapp = [WHATSAPP_BASE + n for n in range(residents * args.repeat)]
        await seed_both_apps(data_dir, networks=NETWORKS, telegram=[], whatsapp=on_whatsapp)
        results: dict[str, list[dict[str, Any]]] = {"bare": [], "buurtbot": []}
        for repetition in range(args.repeat):
            mine = on_whatsapp[repetition * residents : (repetition + 1) * residents]
            warmup, people = mine[: args.warmup], mine[args.warmup :]
            for kind in ("bare", "buurtbot"):  # side by side in each repetition, so noise hits both
                started = time.monotonic()
                run = await measure(
                    kind, data_dir, people, warmup, concurrency=args.concurrency, statuses=args.statuses
                )
                run["wall_s"] = time.monotonic() - started
                results[kind].append(run)
    bare_rate = median(run["updates_per_s"] for run in results["bare"])
    for kind in ("bare", "buurtbot"):
        runs = results[kind]
        summary = {
            key: (median(float(run[key]) for run in runs) if isinstance(value, int | float) else value)
            for key, value in runs[0].items()
        }
        for key in ("not_200", "unanswered", "statuses_not_200", "server_errors"):
            if key in summary:
                summary[key] = max(int(run[key]) for run in runs)
        summary["ratio_to_bare"] = summary["updates_per_s"] / bare_rate
        summary["statuses"] = args.statuses
        summary["repetitions"] = len(runs)
        emit(f"whatsapp-intake-{kind}", **summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=2000, help="updates in the burst (default 2,000)")
    parser.add_argument("--warmup", type=int, default=WARMUP, help=f"updates before measuring (default {WARMUP})")
    parser.add_argument("--concurrency", type=int, default=16, help="webhooks the fake delivers at once (default 16)")
    parser.add_argument("--statuses", action="store_true", help="Meta's sent and delivered statuses of each reply too")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; figures are medians")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

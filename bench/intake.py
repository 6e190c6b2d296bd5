"""Intake benchmark: updates per second and latency through the whole stack, beside a bare echo bot.

Whole stack: the fake Bot API over real HTTP, the runtime's long polling, the core (update kept,
person seen, flow looked up, permission checked), handlers, SQLite stores and templates. The mix:
of every eight updates, six are a member's /privacy, /hulp or /verzoeken and two are a newcomer's
join step (/aanmelden, then typing "Eikenstraat 12"). Each update gets exactly one message back.

Two phases per bot, each on a fresh fake server in its own process:
  burst  all updates pushed at once: updates/s = updates / (last reply - first push);
  paced  updates pushed at --paced-rate a second: latency from update pushed to reply recorded.

    python -m bench.intake --updates 2000 --runtime aiogram
    python -m bench.intake --runtime both --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from bench.common import (
    MEMBER_BASE,
    STREET_KINDS,
    TREES,
    VERBINDER_BASE,
    Push,
    RunningBot,
    Seeded,
    ServerProcess,
    bot_settings,
    emit,
    latencies,
    median,
    percentile,
    quiet_logging,
    seed_village,
)
from bench.echo import echo_bot
from storage.network import NetworkStore

NETWORKS = 27
MEMBERS = 1350  # 50 a network: enough that a burst rarely has two updates of one person
TAPPERS_PER_NETWORK = 5  # members who answer the network's coming activity (RSVP taps)
MEMBER_COMMANDS = ("/privacy", "/hulp", "/verzoeken")
RSVP_LABELS = ("Ik kom", "Misschien", "Kan niet")  # taken in turn, so every tap changes the answer
UNLIMITED_RATE = 1000.0  # the highest BROADCAST_RATE settings allow
JOINER_BASE = 5_000_000
ANSWER_WITHIN_S = 120.0
# A bot that has been running a while: each of the 27 stores has compiled its statements (a
# fresh engine compiles each once, about a millisecond). Not counted, on the echo bot too.
WARMUP = 300

# One update of the mix: ("say", user, text, first name) or ("tap", user, button label, first name).
Item = tuple[str, int, str, str]


def cpu_seconds() -> float:
    """CPU time of this process (the bot, not the fake server), all threads, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def name_of(member: int) -> str:
    return f"Buur {member - MEMBER_BASE}"  # the name they were seeded with; it rarely changes


class Mix:
    """Hands out the realistic mix, never reusing a newcomer. Of every eight updates: four member
    commands (/privacy, /hulp, /verzoeken), two RSVP taps on the agenda line of the network's
    coming activity, and a newcomer's two join steps (/aanmelden, then "Eikenstraat 12")."""

    def __init__(self, members: list[int], tappers: list[int]) -> None:
        self._members = itertools.cycle(members)
        self._commands = itertools.cycle(MEMBER_COMMANDS)
        self._tappers = itertools.cycle(tappers)
        self._taps_of: dict[int, int] = {}
        self._joiners = itertools.count(JOINER_BASE)
        self._streets = itertools.cycle(f"{tree}{STREET_KINDS[1]} 12" for tree in TREES)

    def take(self, count: int) -> list[Item]:
        updates: list[Item] = []
        while len(updates) < count:
            for _ in range(4):
                member = next(self._members)
                updates.append(("say", member, next(self._commands), name_of(member)))
            for _ in range(2):
                tapper = next(self._tappers)
                taps = self._taps_of[tapper] = self._taps_of.get(tapper, -1) + 1
                updates.append(("tap", tapper, RSVP_LABELS[taps % len(RSVP_LABELS)], name_of(tapper)))
            joiner = next(self._joiners)
            updates += [("say", joiner, "/aanmelden", "Nieuw"), ("say", joiner, next(self._streets), "Nieuw")]
        return updates[:count]


async def push_all(
    server: ServerProcess, items: list[Item], *, echo: bool, rate: float | None = None
) -> list[tuple[str, Push]]:
    """Pushes the items, all at once or `rate` a second; returns (kind, push) for each. The echo
    bot gets each tap as the text of its button (it has no buttons to press)."""
    if echo:
        return [("say", push) for push in await server.push([(u, text, name) for _, u, text, name in items], rate)]
    if rate is None:
        says = [(user, text, name) for kind, user, text, name in items if kind == "say"]
        taps = [(user, text, name) for kind, user, text, name in items if kind == "tap"]
        return [("say", push) for push in await server.push(says)] + [
            ("tap", push) for push in await server.press_all(taps)
        ]
    pushed: list[tuple[str, Push]] = []
    started = time.monotonic()
    for index, (kind, user, text, name) in enumerate(items):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if kind == "say":
            pushed += [("say", push) for push in await server.push([(user, text, name)])]
        else:
            pushed.append(("tap", await server.press(user, text, name)))
    return pushed


async def answered(server: ServerProcess, pushed: list[tuple[str, Push]], since: tuple[int, int]) -> dict[str, float]:
    """Waits until every update has its answer (a message; for a tap, its agenda line edited),
    then works out the figures."""
    says = [push for kind, push in pushed if kind == "say"]
    taps = [push for kind, push in pushed if kind == "tap"]
    sent_since, edits_since = since
    await server.wait_sent(sent_since + len(says), ANSWER_WITHIN_S)
    deadline = time.monotonic() + ANSWER_WITHIN_S
    # The server is another process: asking it again is the way to wait for its edits.
    while len(edits := await server.edits(edits_since)) < len(taps) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    sent = await server.sent(sent_since)
    waited, unanswered = latencies(says, sent)
    tap_waited, tap_unanswered = latencies(taps, [(chat, at, "sendMessage", "") for chat, at in edits])
    waited += tap_waited
    unanswered_taps = tap_unanswered
    unanswered += tap_unanswered
    first_push = min(at for _, (_, _, at) in pushed)
    last_answer = max([at for _, at, _, _ in sent] + [at for _, at in edits], default=float("nan"))
    return {
        "updates": len(pushed),
        "updates_per_s": (len(pushed) - unanswered) / (last_answer - first_push),
        "p50_ms": percentile(waited, 0.50) * 1000,
        "p95_ms": percentile(waited, 0.95) * 1000,
        "p99_ms": percentile(waited, 0.99) * 1000,
        "unanswered": unanswered,
        "unanswered_taps": unanswered_taps,
        "extra_messages": max(0, len(sent) - len(says)),
    }


class StoreWrites:
    """Times every network-store transaction that writes, from asking for it (waiting for the
    store's turn included) to its commit: the per-network writes the handlers make, through an
    ORM session or on a connection in SQLAlchemy Core."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._originals = (NetworkStore.transaction, NetworkStore.connection)

    def __enter__(self) -> StoreWrites:
        transaction, connection = self._originals
        seconds = self.seconds

        @asynccontextmanager
        async def timed_transaction(store: NetworkStore) -> AsyncIterator[Any]:
            started = time.perf_counter()
            async with transaction(store) as session:
                yield session
                wrote = (await session.connection()).info.pop("wrote", False)
                wrote = wrote or bool(session.new or session.dirty or session.deleted)
            if wrote:
                seconds.append(time.perf_counter() - started)

        @asynccontextmanager
        async def timed_connection(store: NetworkStore) -> AsyncIterator[Any]:
            started = time.perf_counter()
            async with connection(store) as core:
                yield core
                wrote = core.info.pop("wrote", False)
            if wrote:
                seconds.append(time.perf_counter() - started)

        NetworkStore.transaction = timed_transaction  # type: ignore[method-assign,assignment]
        NetworkStore.connection = timed_connection  # type: ignore[method-assign,assignment]
        event.listen(Engine, "after_cursor_execute", _note_write)
        return self

    def __exit__(self, *_: object) -> None:
        NetworkStore.transaction, NetworkStore.connection = self._originals  # type: ignore[method-assign]
        event.remove(Engine, "after_cursor_execute", _note_write)


def _note_write(connection: Connection, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool) -> None:
    if context.isinsert or context.isupdate or context.isdelete:
        connection.info["wrote"] = True


@asynccontextmanager
async def running(
    kind: str, runtime: str, server: ServerProcess, data_dir: Path, ptb_echo: str = "httpx", **overrides: Any
) -> AsyncIterator[list[float]]:
    """The bot under test; yields a list the core fills with its own handling time per update."""
    handling: list[float] = []
    if kind == "echo":
        async with echo_bot(runtime, server.token, server.base_url, ptb_echo):
            yield handling
        return
    # The intake is measured against a server that enforces no limits, as the echo bot is: the
    # bot's send budget is opened as wide as it goes, so what is measured is the core's own speed.
    # Telegram's 30 messages a second (which holds replies back under a burst) is what the
    # announcement rows measure.
    overrides = {"broadcast_rate": UNLIMITED_RATE, **overrides}
    bot = RunningBot(bot_settings(data_dir, server, runtime, **overrides))
    bot.core.listeners.append(lambda _event, seconds: handling.append(seconds))
    async with bot:
        yield handling


async def open_agendas(server: ServerProcess, tappers: list[int]) -> None:
    """Each tapper asks for the agenda first, so their taps land on a line the bot really sent."""
    since = await server.sent_count()
    await server.push([(tapper, "/agenda", name_of(tapper)) for tapper in tappers])
    await server.wait_sent(since + 3 * len(tappers), ANSWER_WITHIN_S)  # heading, the line, reminders toggle


async def measure(
    kind: str,
    runtime: str,
    data_dir: Path,
    mix: Mix,
    tappers: list[int],
    *,
    burst: int,
    paced: int,
    paced_rate: float,
    overrides: dict[str, Any],
    warmup: int = 0,
    ptb_echo: str = "httpx",
) -> dict[str, Any]:
    echo = kind == "echo"
    server = ServerProcess(token="700001:INTAKE", enforce_rate_limits=False)
    with StoreWrites() as writes:
        async with server, running(kind, runtime, server, data_dir, ptb_echo, **overrides) as handling:
            await server.wait_call("getUpdates")
            if not echo:
                await open_agendas(server, tappers)
            if warmup:  # a running bot, not one just started: every store has run its statements once
                items = mix.take(warmup)
                since = (await server.sent_count(), len(await server.edits()))
                await answered(server, await push_all(server, items, echo=echo), since)
            writes.seconds.clear()
            cpu_before = cpu_seconds()
            items = mix.take(burst)
            since = (await server.sent_count(), len(await server.edits()))
            burst_figures = await answered(server, await push_all(server, items, echo=echo), since)
            cpu_per_update_ms = (cpu_seconds() - cpu_before) / burst * 1000
            burst_writes = list(writes.seconds)
            await server.forget_calls()
            handling.clear()
            items = mix.take(paced)
            since = (await server.sent_count(), len(await server.edits()))
            paced_pushes = await push_all(server, items, echo=echo, rate=paced_rate)
            paced_figures = await answered(server, paced_pushes, since)
            handled_p99 = percentile(handling, 0.99) * 1000
    figures: dict[str, Any] = {
        "runtime": runtime,
        "bot": kind,
        "updates": burst,
        "updates_per_s": burst_figures["updates_per_s"],
        "burst_p50_ms": burst_figures["p50_ms"],
        "burst_p99_ms": burst_figures["p99_ms"],
        "cpu_ms_per_update": cpu_per_update_ms,
        "paced_rate": paced_rate,
        "paced_updates": paced,
        "p50_ms": paced_figures["p50_ms"],
        "p95_ms": paced_figures["p95_ms"],
        "p99_ms": paced_figures["p99_ms"],
        "unanswered": burst_figures["unanswered"] + paced_figures["unanswered"],
        "unanswered_taps": burst_figures["unanswered_taps"] + paced_figures["unanswered_taps"],
        "extra_messages": burst_figures["extra_messages"] + paced_figures["extra_messages"],
    }
    if kind == "buurtbot":
        figures["core_handling_p99_ms"] = handled_p99  # in the core: update taken to handled, at the paced rate
        figures["store_writes"] = len(burst_writes)
        figures["store_write_p50_ms"] = percentile(burst_writes, 0.50) * 1000
        figures["store_write_p99_ms"] = percentile(burst_writes, 0.99) * 1000
    return figures


async def seed_activities(data_dir: Path, seeded: Seeded) -> None:
    """One coming activity in every network, for the RSVP taps."""
    from bench.common import make_settings
    from bot.application.build import build_bot
    from storage.models import Event

    seeding = build_bot(make_settings(data_dir), door="cli")
    await seeding.start(background=False)
    now = datetime.now(UTC)
    try:
        for index, (_, slug) in enumerate(seeded.networks):
            async with seeding.village.stores.network(slug) as store, store.transaction() as session:
                session.add(
                    Event(
                        title="Burendag",
                        starts_at=now + timedelta(days=7),
                        place="Het buurthuis",
                        created_by=VERBINDER_BASE + index,
                        created_at=now,
                        updated_at=now,
                    )
                )
    finally:
        await seeding.stop()


async def main_async(args: argparse.Namespace) -> None:
    quiet_logging()
    runtimes = ["aiogram", "ptb"] if args.runtime == "both" else [args.runtime]
    overrides = {"max_concurrent_updates": args.max_concurrent} if args.max_concurrent else {}
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        seeded = await seed_village(data_dir, networks=NETWORKS, members=args.members)
        await seed_activities(data_dir, seeded)
        tappers = [person for people in seeded.members.values() for person in people[:TAPPERS_PER_NETWORK]]
        members = [person for people in seeded.members.values() for person in people[TAPPERS_PER_NETWORK:]]
        # One mix per kind of bot: a tap takes the answer after the one the bot holds, and the
        # echo bot's taps must not move Buurtbot's answers on (the same answer again is no edit).
        mixes = {kind: Mix(members, tappers) for kind in ("echo", "buurtbot")}
        for runtime in runtimes:
            results: dict[str, list[dict[str, Any]]] = {"echo": [], "buurtbot": []}
            for _ in range(args.repeat):
                for kind in ("echo", "buurtbot"):  # side by side in each repetition, so noise hits both
                    results[kind].append(
                        await measure(
                            kind,
                            runtime,
                            data_dir,
                            mixes[kind],
                            tappers,
                            burst=args.updates,
                            paced=args.paced_updates,
                            paced_rate=args.paced_rate,
                            overrides=overrides,
                            warmup=args.warmup,
                            ptb_echo=args.ptb_echo,
                        )
                    )
            echo_rate = median(run["updates_per_s"] for run in results["echo"])
            for kind in ("echo", "buurtbot"):
                runs = results[kind]
                summary = {
                    key: (median(float(run[key]) for run in runs) if isinstance(value, int | float) else value)
                    for key, value in runs[0].items()
                }
                summary["unanswered"] = max(run["unanswered"] for run in runs)
                summary["ratio_to_echo"] = summary["updates_per_s"] / echo_rate
                summary["repetitions"] = len(runs)
                if runtime == "ptb":
                    summary["ptb_echo_networking"] = args.ptb_echo
                emit(f"intake-{runtime}-{kind}", **summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=2000, help="updates in the burst phase (default 2,000)")
    parser.add_argument("--paced-updates", type=int, default=1000, help="updates in the paced phase (default 1,000)")
    parser.add_argument("--paced-rate", type=float, default=100.0, help="updates/s in the paced phase (default 100)")
    parser.add_argument(
        "--warmup", type=int, default=WARMUP, help=f"updates handled before measuring, not counted (default {WARMUP})"
    )
    parser.add_argument("--members", type=int, default=MEMBERS, help=f"members seeded (default {MEMBERS:,})")
    parser.add_argument("--runtime", choices=["aiogram", "ptb", "both"], default="both")
    parser.add_argument("--max-concurrent", type=int, default=0, help="MAX_CONCURRENT_UPDATES (default: the bot's)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; figures are medians")
    parser.add_argument(
        "--ptb-echo",
        choices=["httpx", "aiohttp"],
        default="httpx",
        help="the PTB echo bot's networking: PTB's own (default) or the PTB door's",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench.common import (
    MEMBER_BASE,
    STREET_KINDS,
    TREES,
    Push,
    RunningBot,
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

NETWORKS = 27
MEMBERS = 1350  # 50 a network: enough that a burst rarely has two updates of one person
MEMBER_COMMANDS = ("/privacy", "/hulp", "/verzoeken")
JOINER_BASE = 5_000_000
ANSWER_WITHIN_S = 120.0


def cpu_seconds() -> float:
    """CPU time of this process (the bot, not the fake server), all threads, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Mix:
    """Hands out the realistic mix, never reusing a newcomer."""

    def __init__(self, members: list[int]) -> None:
        self._members = itertools.cycle(members)
        self._commands = itertools.cycle(MEMBER_COMMANDS)
        self._joiners = itertools.count(JOINER_BASE)
        self._streets = itertools.cycle(f"{tree}{STREET_KINDS[1]} 12" for tree in TREES)

    def take(self, count: int) -> list[tuple[int, str, str]]:
        updates: list[tuple[int, str, str]] = []
        while len(updates) < count:
            for _ in range(6):
                member = next(self._members)
                # The name they were seeded with: a resident's name rarely changes between messages.
                updates.append((member, next(self._commands), f"Buur {member - MEMBER_BASE}"))
            joiner = next(self._joiners)
            updates += [(joiner, "/aanmelden", "Nieuw"), (joiner, next(self._streets), "Nieuw")]
        return updates[:count]


async def answered(server: ServerProcess, pushes: list[Push], since: int) -> dict[str, float | int]:
    """Waits until every pushed update has its message, then works out the figures."""
    await server.wait_sent(since + len(pushes), ANSWER_WITHIN_S)
    sent = await server.sent(since)
    waited, unanswered = latencies(pushes, sent)
    first_push = min(at for _, _, at in pushes)
    last_reply = max((at for _, at, _, _ in sent), default=float("nan"))
    return {
        "updates": len(pushes),
        "updates_per_s": (len(pushes) - unanswered) / (last_reply - first_push),
        "p50_ms": percentile(waited, 0.50) * 1000,
        "p95_ms": percentile(waited, 0.95) * 1000,
        "p99_ms": percentile(waited, 0.99) * 1000,
        "unanswered": unanswered,
        "extra_messages": max(0, len(sent) - len(pushes) + unanswered),
    }


@asynccontextmanager
async def running(
    kind: str, runtime: str, server: ServerProcess, data_dir: Path, **overrides: Any
) -> AsyncIterator[list[float]]:
    """The bot under test; yields a list the core fills with its own handling time per update."""
    handling: list[float] = []
    if kind == "echo":
        async with echo_bot(runtime, server.token, server.base_url):
            yield handling
        return
    bot = RunningBot(bot_settings(data_dir, server, runtime, **overrides))
    bot.core.listeners.append(lambda _event, seconds: handling.append(seconds))
    async with bot:
        yield handling


async def measure(
    kind: str,
    runtime: str,
    data_dir: Path,
    mix: Mix,
    *,
    burst: int,
    paced: int,
    paced_rate: float,
    overrides: dict[str, Any],
) -> dict[str, Any]:
    server = ServerProcess(token="700001:INTAKE", enforce_rate_limits=False)
    async with server, running(kind, runtime, server, data_dir, **overrides) as handling:
        await server.wait_call("getUpdates")
        cpu_before = cpu_seconds()
        pushes = await server.push(mix.take(burst))
        burst_figures = await answered(server, pushes, 0)
        cpu_per_update_ms = (cpu_seconds() - cpu_before) / burst * 1000
        await server.forget_calls()
        handling.clear()
        since = await server.sent_count()
        pushes = await server.push(mix.take(paced), rate=paced_rate)
        paced_figures = await answered(server, pushes, since)
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
        "extra_messages": burst_figures["extra_messages"] + paced_figures["extra_messages"],
    }
    if kind == "buurtbot":
        figures["core_handling_p99_ms"] = handled_p99  # in the core: update taken to handled, at the paced rate
    return figures


async def main_async(args: argparse.Namespace) -> None:
    quiet_logging()
    runtimes = ["aiogram", "ptb"] if args.runtime == "both" else [args.runtime]
    overrides = {"max_concurrent_updates": args.max_concurrent} if args.max_concurrent else {}
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        seeded = await seed_village(data_dir, networks=NETWORKS, members=args.members)
        members = [person for people in seeded.members.values() for person in people]
        mix = Mix(members)
        for runtime in runtimes:
            results: dict[str, list[dict[str, Any]]] = {"echo": [], "buurtbot": []}
            for _ in range(args.repeat):
                for kind in ("echo", "buurtbot"):  # side by side in each repetition, so noise hits both
                    results[kind].append(
                        await measure(
                            kind,
                            runtime,
                            data_dir,
                            mix,
                            burst=args.updates,
                            paced=args.paced_updates,
                            paced_rate=args.paced_rate,
                            overrides=overrides,
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
                emit(f"intake-{runtime}-{kind}", **summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=2000, help="updates in the burst phase (default 2,000)")
    parser.add_argument("--paced-updates", type=int, default=1000, help="updates in the paced phase (default 1,000)")
    parser.add_argument("--paced-rate", type=float, default=100.0, help="updates/s in the paced phase (default 100)")
    parser.add_argument("--members", type=int, default=MEMBERS, help=f"members seeded (default {MEMBERS:,})")
    parser.add_argument("--runtime", choices=["aiogram", "ptb", "both"], default="both")
    parser.add_argument("--max-concurrent", type=int, default=0, help="MAX_CONCURRENT_UPDATES (default: the bot's)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; figures are medians")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

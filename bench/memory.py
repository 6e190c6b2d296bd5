"""Memory benchmark: the issue's two figures, each measured in a process of its own.

village  `buurtbot run` as it is deployed (`python -m bot run`, a process of its own, settings from
         the environment), on aiogram and then on PTB, against the fake Bot API (another process)
         with 27 networks, 6,500 members and a year of help requests and events (the seeding runs
         in a process of its own too). A member of every network asks /privacy, /hulp and
         /verzoeken. Reads the bot's RSS from /proc: at rest (polling, every store opened by the
         start-up), after the traffic, and its peak (VmHWM). The benchmark's own imports (the
         fake server, aiohttp) are not in these figures.
         Target: ≤ 150 MB.
stores   the store layer alone: touches --stores network stores one after another through the
         bounded cache (Stores, max_open = OPEN_NETWORK_STORES, 64), each touch a read and a
         write (an audit entry), and samples the RSS. Growth beyond the bounded cache is the RSS
         after touching all of them minus the RSS after touching the first max_open; the second
         half's growth shows whether it still climbs. (This process also holds the benchmark's
         imports, so the growth is the figure, not the absolute RSS.) Target: no growth beyond
         the cache.

  python -m bench.memory --stores 2000            # both figures at the issue's size
  python -m bench.memory --phase stores --stores 400
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import MEMBER_BASE, ServerProcess, current_rss_mb, emit, peak_rss_mb, quiet_logging, seed_village

NETWORKS = 27
HISTORY = 100  # help requests and as many events per network: about two a week for a year
MAX_OPEN = 64  # the default of OPEN_NETWORK_STORES
COMMANDS = ("/privacy", "/hulp", "/verzoeken")


async def seed(args: argparse.Namespace) -> None:
    await seed_village(Path(args.data_dir), networks=NETWORKS, members=args.members, history_per_network=HISTORY)


def process_memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0]) / 1024
    return figures


async def village(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir)
    async with ServerProcess(enforce_rate_limits=False) as server:
        environment = {
            **os.environ,
            "BOT_TOKEN": server.token,
            "BOT_RUNTIME": args.runtime,
            "BOT_API_BASE_URL": server.base_url,
            "BOT_API_TIMEOUT": "10",
            "DATA_DIR": str(data_dir),
            "LOG_LEVEL": "WARNING",
        }
        log = data_dir.parent / f"bot-{args.runtime}.log"
        # Run from the data's folder so a developer's .env is not read.
        with log.open("w") as stderr:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=environment, cwd=data_dir.parent, stderr=stderr
            )
        try:
            started = time.monotonic()
            await server.wait_call("getUpdates", 120)
            seconds_to_polling = time.monotonic() - started
            at_rest = process_memory_mb(bot.pid)["VmRSS"]
            askers = [MEMBER_BASE + index for index in range(NETWORKS)]  # one member of each network
            await server.push([(person, command, "Buur") for command in COMMANDS for person in askers])
            await server.wait_sent(len(COMMANDS) * len(askers), 120)
            after_traffic = process_memory_mb(bot.pid)
        except BaseException:
            bot.kill()
            sys.stderr.write(log.read_text())
            raise
        bot.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(bot.wait(), 60)
    if status:
        sys.stderr.write(log.read_text())
        raise SystemExit(f"the bot ({args.runtime}) stopped with status {status}")
    emit(
        f"memory-village-{args.runtime}",
        runtime=args.runtime,
        networks=NETWORKS,
        members=args.members,
        history_per_network=HISTORY,
        seconds_to_polling=seconds_to_polling,
        rss_at_rest_mb=at_rest,
        rss_after_traffic_mb=after_traffic["VmRSS"],
        peak_rss_mb=after_traffic["VmHWM"],
    )


async def stores(args: argparse.Namespace) -> None:
    from storage.engine import sqlite_url
    from storage.network import NetworkStore
    from storage.stores import Stores

    data_dir = Path(args.data_dir) / "many"
    template = data_dir / "template.db"
    data_dir.mkdir(parents=True)
    first = NetworkStore(sqlite_url(template), "template")
    await first.open()  # migrated once; every other store is a copy, so opening it migrates nothing
    await first.close()
    village_stores = Stores(data_dir, max_open=MAX_OPEN)
    await village_stores.open()
    for number in range(args.stores):
        shutil.copyfile(template, village_stores.network_path(f"netwerk-{number}"))
    marks = sorted({MAX_OPEN, 2 * MAX_OPEN, args.stores // 2, args.stores} - {0})
    samples: dict[int, float] = {}
    started = time.perf_counter()
    for number in range(args.stores):
        async with village_stores.network(f"netwerk-{number}") as store:
            await store.settings()
            await store.audit(actor_id=None, action="touched", subject_id=None, now=datetime.now(UTC))
        if number + 1 in marks:
            samples[number + 1] = current_rss_mb()
    touch_ms = (time.perf_counter() - started) * 1000 / args.stores
    open_at_end = village_stores.open_count
    await village_stores.close()
    cache_full = samples[min(MAX_OPEN, args.stores)]
    half = samples[max(args.stores // 2, min(MAX_OPEN, args.stores))]
    emit(
        "memory-stores",
        stores=args.stores,
        max_open=MAX_OPEN,
        open_at_end=open_at_end,
        touch_ms_mean=touch_ms,
        rss_after_cache_size_touched_mb=cache_full,
        rss_after_all_touched_mb=samples[args.stores],
        growth_beyond_cache_mb=samples[args.stores] - cache_full,
        growth_second_half_mb=samples[args.stores] - half,
        rss_samples_mb={str(touched): round(rss, 1) for touched, rss in sorted(samples.items())},
        peak_rss_mb=peak_rss_mb(),
    )


def in_fresh_process(phase: str, args: argparse.Namespace, data_dir: str, runtime: str = "aiogram") -> None:
    command = [sys.executable, "-m", "bench.memory", "--phase", phase, "--data-dir", data_dir, "--runtime", runtime]
    command += ["--members", str(args.members), "--stores", str(args.stores)]
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=["all", "seed", "village", "stores"], default="all")
    parser.add_argument("--members", type=int, default=6500, help="members over 27 networks (default 6,500)")
    parser.add_argument("--stores", type=int, default=2000, help="network stores touched in turn (default 2,000)")
    parser.add_argument("--runtime", choices=["aiogram", "ptb", "both"], default="both", help="for the village phase")
    parser.add_argument("--data-dir", default="", help="(used by --phase all for the phases it starts)")
    args = parser.parse_args()
    quiet_logging()
    if args.phase != "all":
        phases: dict[str, Any] = {"seed": seed, "village": village, "stores": stores}
        if args.data_dir:
            asyncio.run(phases[args.phase](args))
            return
        with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:  # a phase run alone
            args.data_dir = str(Path(tmp) / "data")
            asyncio.run(phases[args.phase](args))
        return
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = str(Path(tmp) / "data")
        in_fresh_process("seed", args, data_dir)
        for runtime in ("aiogram", "ptb") if args.runtime == "both" else (args.runtime,):
            in_fresh_process("village", args, data_dir, runtime)
        in_fresh_process("stores", args, data_dir)


if __name__ == "__main__":
    main()

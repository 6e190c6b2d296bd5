"""Memory benchmark: peak RSS at village scale, and RSS while touching many network stores in turn.

Each phase runs in a fresh Python process, so one phase's peak (or the seeding's) does not show
in another's:
  village  Buurtbot on aiogram, then on PTB (the fake Bot API in a process of its own), on 27
           networks with 6,500 members and a year of help requests and events; a member of every network asks
           /privacy, /hulp and /verzoeken. Reports the RSS after imports, the RSS after the
           traffic and the peak (ru_maxrss).
  stores   the store layer alone (no chat framework): opens --stores network stores one after
           another through the bounded cache (Stores, max_open = OPEN_NETWORK_STORES, 64), each
           with one read, and samples the RSS along the way.

    python -m bench.memory --phase all --members 6500 --stores 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    MEMBER_BASE,
    RunningBot,
    ServerProcess,
    bot_settings,
    current_rss_mb,
    emit,
    peak_rss_mb,
    quiet_logging,
    seed_village,
)

NETWORKS = 27
HISTORY = 100  # help requests and as many events per network: about two a week for a year
MAX_OPEN = 64  # the default of OPEN_NETWORK_STORES


async def seed(args: argparse.Namespace) -> None:
    await seed_village(Path(args.data_dir), networks=NETWORKS, members=args.members, history_per_network=HISTORY)


async def village(args: argparse.Namespace) -> None:
    # The imports a running bot has, before the floor is read.
    if args.runtime == "ptb":
        import bot.transports.ptb_door
    else:
        import bot.transports.aiogram_door  # noqa: F401
    from bot.app import build_bot  # noqa: F401

    floor = current_rss_mb()
    data_dir = Path(args.data_dir)
    server = ServerProcess(enforce_rate_limits=False)
    async with server, RunningBot(bot_settings(data_dir, server, args.runtime)):
        await server.wait_call("getUpdates")
        askers = [MEMBER_BASE + index for index in range(NETWORKS)]  # one member of each network
        commands = [(person, command, "Buur") for command in ("/privacy", "/hulp", "/verzoeken") for person in askers]
        await server.push(commands)
        await server.wait_sent(len(commands), 120)
        after_traffic = current_rss_mb()
    emit(
        f"memory-village-{args.runtime}",
        runtime=args.runtime,
        networks=NETWORKS,
        members=args.members,
        history_per_network=HISTORY,
        rss_after_imports_mb=floor,
        rss_after_traffic_mb=after_traffic,
        peak_rss_mb=peak_rss_mb(),
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
    samples: dict[int, float] = {}
    marks = {MAX_OPEN, args.stores // 4, args.stores // 2, args.stores}
    for number in range(args.stores):
        async with village_stores.network(f"netwerk-{number}") as store:
            await store.settings()
        if number + 1 in marks:
            samples[number + 1] = current_rss_mb()
    open_at_end = village_stores.open_count
    await village_stores.close()
    full = samples[min(samples)]
    emit(
        "memory-stores",
        stores=args.stores,
        max_open=MAX_OPEN,
        open_at_end=open_at_end,
        rss_when_cache_full_mb=full,
        rss_after_all_mb=samples[args.stores],
        growth_after_cache_full_mb=samples[args.stores] - full,
        rss_samples_mb=json.dumps({str(k): round(v, 1) for k, v in sorted(samples.items())}),
        peak_rss_mb=peak_rss_mb(),
    )


def in_fresh_process(phase: str, args: argparse.Namespace, data_dir: str, runtime: str) -> None:
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
        asyncio.run(phases[args.phase](args))
        return
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = str(Path(tmp) / "data")
        in_fresh_process("seed", args, data_dir, "aiogram")
        for runtime in ("aiogram", "ptb") if args.runtime == "both" else (args.runtime,):
            in_fresh_process("village", args, data_dir, runtime)
        in_fresh_process("stores", args, data_dir, "aiogram")


if __name__ == "__main__":
    main()

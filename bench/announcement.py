"""Announcement benchmark: one announcement to N members, through the real /bericht flow and outbox.

Modes:
  rate      BROADCAST_RATE as configured (30/s), the fake server enforcing Telegram's limits with 429s;
  capacity  BROADCAST_RATE raised to 1,000/s and the limits not enforced: how fast the sender itself goes;
  during    the rate mode while residents ask /privacy: how long a reply takes while the outbox is busy,
            and the announcement's rate against what the replies leave of BROADCAST_RATE
            (`fraction_of_rate_left`, 1.0 = every slot the replies leave);
  kill      `buurtbot run` as its own process, SIGKILLed once `--kill-after` messages went out, then
            started again on the same stores: how many members got the announcement twice, or never.

    python -m bench.announcement --members 6500 --mode rate
    python -m bench.announcement --members 2000 --mode capacity --repeat 3
    python -m bench.announcement --members 500 --mode during --repeat 3
    python -m bench.announcement --members 500 --mode kill --repeat 6
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import (
    VERBINDER_BASE,
    BotProcess,
    RunningBot,
    ServerProcess,
    bot_settings,
    emit,
    latencies,
    median,
    percentile,
    queue_announcement,
    quiet_logging,
    seed_village,
)

JAN = VERBINDER_BASE  # the buurtverbinder of the one network
TEXT = "Zaterdag is de Eikenlaan afgesloten voor het straatfeest. Kom ook!"
CAPACITY_RATE = 1000.0  # the highest BROADCAST_RATE the settings accept
RESIDENT_RATE = 1.0  # /privacy per second per asking resident, in the "during" mode


async def announce_once(
    members: int, *, rate: float, enforce: bool, runtime: str, residents: int = 0
) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        seeded = await seed_village(data_dir, networks=1, members=members)
        recipients = set(next(iter(seeded.members.values())))
        async with ServerProcess(enforce_rate_limits=enforce) as server:
            settings = bot_settings(data_dir, server, runtime, broadcast_rate=rate)
            async with RunningBot(settings):
                await server.wait_call("getUpdates")
                await server.push([(JAN, "/bericht", "Jan")])
                await server.wait_message(JAN, "Typ uw bericht")
                await server.push([(JAN, TEXT, "Jan")])
                await server.wait_message(JAN, "Zo ziet uw bericht eruit")
                before = await server.stats()
                _, _, tapped = await server.press(JAN, "Versturen")
                cpu_before = time.process_time()
                expected_s = members / rate
                asking: list[tuple[int, str, str]] = []
                if residents:
                    # Residents ask for most of the broadcast's expected length, once a second each.
                    rounds = max(1, int(expected_s * 0.8 * RESIDENT_RATE))
                    people = sorted(recipients)[:residents]
                    asking = [(person, "/privacy", "Buur") for _ in range(rounds) for person in people]
                    await server.wait_message(min(recipients), TEXT[:20], 60)  # the broadcast has begun
                pushes = await server.push(asking, rate=residents * RESIDENT_RATE) if asking else []
                reported = await server.wait_message(JAN, "Verslag", timeout=expected_s * 3 + 60)
                cpu_s = time.process_time() - cpu_before  # the bot's, in this process (the server has its own)
                after = await server.stats()
                sent = await server.sent()
                edits = await server.edits()
    deliveries = [(chat, at) for chat, at, method, text in sent if TEXT in text and chat != JAN]
    received = Counter(chat for chat, _ in deliveries)
    times = sorted(at for _, at in deliveries)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    achieved = (len(times) - 1) / span if len(times) > 1 else float("nan")
    figures: dict[str, float | int | str] = {
        "runtime": runtime,
        "members": members,
        "configured_rate": rate,
        "achieved_rate": achieved,
        "fraction_of_configured": achieved / rate,
        "seconds_to_last_delivery": times[-1] - tapped if times else float("nan"),
        "seconds_to_report": reported - tapped,
        "bot_cpu_ms_per_message": cpu_s * 1000 / members,
        "delivered": len(received),
        "lost": len(recipients - set(received)),
        "duplicated": sum(count - 1 for count in received.values()),
        "too_many_requests": after["too_many_requests"] - before["too_many_requests"],
        "violations": after["violations"] - before["violations"],
        **{  # which limit: global (30/s), private_chat or group_chat
            key: after[key] - before.get(key, 0) for key in after if key.startswith("violations_")
        },
        "server_errors": after["internal_errors"],
        # Every message sent or edited (replies and the report too), as Telegram counts its limit.
        "most_in_one_second": most_in_one_second([at for _, at, _, _ in sent] + [at for _, at in edits]),
    }
    if residents:
        replies = [record for record in sent if TEXT not in record[3]]
        waited, unanswered = latencies(pushes, replies)
        replies_per_s = sum(1 for _, at, _, _ in replies if times[0] <= at <= times[-1]) / span
        figures |= {
            "residents": residents,
            "questions": len(pushes),
            "replies_per_s": replies_per_s,  # while the announcement went out
            "rate_left_by_replies": rate - replies_per_s,
            "fraction_of_rate_left": achieved / (rate - replies_per_s),
            "unanswered": unanswered,
            "reply_p50_ms": percentile(waited, 0.50) * 1000,
            "reply_p95_ms": percentile(waited, 0.95) * 1000,
            "reply_max_ms": max(waited, default=float("nan")) * 1000,
        }
    return figures


def most_in_one_second(times: list[float]) -> int:
    """The most messages within any one second (a second ending at each message)."""
    ordered = sorted(times)
    return max((i + 1 - bisect.bisect_right(ordered, at - 1.0) for i, at in enumerate(ordered)), default=0)


async def kill_once(members: int, *, rate: float, kill_after: int) -> dict[str, float | int | str]:
    """An announcement queued, `buurtbot run` SIGKILLed after `kill_after` messages, run again."""
    token = "123456:BENCH"
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        seeded = await seed_village(data_dir, networks=1, members=members)
        slug, recipients = next(iter(seeded.members.items()))
        await queue_announcement(data_dir, slug, author=JAN, text=TEXT, recipients=recipients)
        async with ServerProcess(token, enforce_rate_limits=True) as server:
            environment = {"BROADCAST_RATE": str(rate)}
            async with BotProcess(data_dir, server.base_url, token, **environment) as first:
                await server.wait_sent(kill_after, timeout=kill_after / rate * 3 + 60)
                first.kill()
                await first.wait()
            at_the_kill = await server.sent_count()
            async with BotProcess(data_dir, server.base_url, token, **environment) as again:
                await server.wait_message(JAN, "Verslag", timeout=members / rate * 3 + 60)
                await again.stop()
            stats = await server.stats()
            sent = await server.sent()
    received = Counter(chat for chat, _, _, text in sent if TEXT in text)
    return {
        "members": members,
        "configured_rate": rate,
        "killed_after": at_the_kill,
        "delivered": len(received),
        "lost": len(set(recipients) - set(received)),
        "duplicated": sum(count - 1 for count in received.values()),
        "violations": stats["violations"],
        "too_many_requests": stats["too_many_requests"],
    }


WORST_CASE = {"lost", "duplicated", "too_many_requests", "server_errors", "unanswered", "most_in_one_second"}


def summarise(runs: list[dict[str, float | int | str]]) -> dict[str, float | int | str]:
    """The median of every numeric figure over the repetitions; worst case for loss and limits."""
    keys = list(dict.fromkeys(key for run in runs for key in run))  # a kind of violation may show in one run only
    summary: dict[str, float | int | str] = {}
    for key in keys:
        value = runs[0].get(key, 0)
        if isinstance(value, str):
            summary[key] = value
        elif key in WORST_CASE or key.startswith("violations"):
            summary[key] = max(int(run.get(key, 0)) for run in runs)
        else:
            summary[key] = median(float(run[key]) for run in runs)
    summary["repetitions"] = len(runs)
    return summary


async def main_async(args: argparse.Namespace) -> None:
    quiet_logging()
    modes = ["rate", "capacity", "during", "kill"] if args.mode == "all" else [args.mode]
    for mode in modes:
        runs = []
        for _ in range(args.repeat):
            started = time.monotonic()
            if mode == "capacity":
                run = await announce_once(args.members, rate=CAPACITY_RATE, enforce=False, runtime=args.runtime)
            elif mode == "kill":
                kill_after = args.kill_after or args.members // 3
                run = await kill_once(args.members, rate=args.rate, kill_after=kill_after)
            else:
                residents = args.residents if mode == "during" else 0
                run = await announce_once(
                    args.members, rate=args.rate, enforce=True, runtime=args.runtime, residents=residents
                )
            run["wall_s"] = time.monotonic() - started
            runs.append(run)
        summary = summarise(runs)
        if mode == "kill":  # the worst case above; each run's here
            summary["duplicated_per_run"] = ",".join(str(run["duplicated"]) for run in runs)
        emit(f"announcement-{mode}", **summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=6500, help="members of the network (default 6,500)")
    parser.add_argument("--rate", type=float, default=30.0, help="BROADCAST_RATE in the rate and during modes")
    parser.add_argument("--mode", choices=["rate", "capacity", "during", "kill", "all"], default="all")
    parser.add_argument("--kill-after", type=int, default=0, help="kill mode: messages sent before SIGKILL (members/3)")
    parser.add_argument("--residents", type=int, default=5, help="residents asking /privacy in the during mode")
    parser.add_argument("--runtime", choices=["aiogram", "ptb"], default="aiogram")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; figures are medians")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

"""Announcement to a network on both apps: Telegram over the fake Bot API and WhatsApp over the fake Graph API, at once.

One announcement through the real /bericht flow (the buurtverbinder on Telegram) to N members,
half on each app; their names interleave the two apps, as a real street's would. `buurtbot run`
with both apps (one core, the WhatsApp webhook beside Telegram's polling), each fake in its own
process and enforcing its app's limits: Telegram's 30 messages a second and one a second per chat
(429), WhatsApp's throughput (130429) and pair rate (131056). Each app's rate is taken over its
own deliveries, first to last, against the rate configured for it (BROADCAST_RATE, WHATSAPP_RATE).
Targets: each app at least 95 % of its rate; 0 violations, 0 lost, 0 duplicated.

    python -m bench.announcement_mixed                    # 6,500 members, half on each app
    python -m bench.announcement_mixed --quick            # 600 members
    python -m bench.announcement_mixed --members 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.announcement import most_in_one_second, summarise
from bench.common import (
    SEED_TIME,
    VERBINDER_BASE,
    ServerProcess,
    bot_settings,
    emit,
    make_settings,
    quiet_logging,
    seed_village,
)
from bench.graph_process import GraphOptions, GraphProcess
from tests.doors import free_port, wa_id_of

JAN = VERBINDER_BASE  # the buurtverbinder, on Telegram
TELEGRAM_BASE = 100_000  # members on Telegram: 100,000 up
WHATSAPP_BASE = 2**53  # members on WhatsApp: person ids from the range only app people get
TEXT = "Zaterdag is de Eikenlaan afgesloten voor het straatfeest. Kom ook!"
QUICK_MEMBERS = 600
META_THROUGHPUT = 80.0  # what the fake Graph API allows, as Meta does by default
TELEGRAM_RATE = 30.0


@dataclass(frozen=True)
class MixedStreet:
    slug: str
    telegram: list[int]
    whatsapp: list[int]


async def seed_both_apps(
    data_dir: Path, *, networks: int, telegram: list[int], whatsapp: list[int]
) -> dict[str, list[int]]:
    """`networks` networks, each with a buurtverbinder on Telegram, and the people given, on Telegram
    or on WhatsApp (their wa_id: `tests.doors.wa_id_of`), spread over the networks in turn and named
    "Buur N" after their number, so that sorted by name the two apps mix as a street's names would.
    Returns each network's people by its slug."""
    from sqlalchemy import insert

    from bot.application.build import build_bot
    from storage.identities import WHATSAPP
    from storage.models import AppIdentity, MemberRole, Membership, MembershipStatus, Person

    seeded = await seed_village(data_dir, networks=networks, members=0)
    people = sorted(telegram + whatsapp, key=lambda person: person % WHATSAPP_BASE)
    by_network: dict[str, list[int]] = {slug: [] for _, slug in seeded.networks}
    memberships = []
    for index, person in enumerate(people):
        network_id, slug = seeded.networks[index % len(seeded.networks)]
        by_network[slug].append(person)
        memberships.append(
            {"person_id": person, "network_id": network_id, "role": MemberRole.MEMBER}
            | {"status": MembershipStatus.ACTIVE, "created_at": SEED_TIME, "decided_at": SEED_TIME}
        )
    seeding = build_bot(make_settings(data_dir), door="cli")
    await seeding.start(background=False)
    try:
        async with seeding.village.stores.directory.transaction() as session:
            connection = await session.connection()
            if people:
                await connection.execute(
                    insert(Person),
                    [
                        {"id": p, "name": f"Buur {p % WHATSAPP_BASE % TELEGRAM_BASE}", "language": "nl"}
                        | {"created_at": SEED_TIME}
                        for p in people
                    ],
                )
                await connection.execute(insert(Membership), memberships)
            if whatsapp:
                await connection.execute(
                    insert(AppIdentity),
                    [
                        {"person_id": p, "app": WHATSAPP, "app_id": wa_id_of(p), "phone": wa_id_of(p)}
                        | {"created_at": SEED_TIME}
                        for p in whatsapp
                    ],
                )
    finally:
        await seeding.stop()
    return by_network


async def seed_mixed(data_dir: Path, members: int) -> MixedStreet:
    """One network with Jan (Telegram) and `members` residents, every other one on WhatsApp."""
    telegram = [TELEGRAM_BASE + n for n in range(0, members, 2)]
    whatsapp = [WHATSAPP_BASE + n for n in range(1, members, 2)]
    [slug] = await seed_both_apps(data_dir, networks=1, telegram=telegram, whatsapp=whatsapp)
    return MixedStreet(slug, telegram, whatsapp)


@asynccontextmanager
async def running_both(settings: Any) -> AsyncIterator[None]:
    """`buurtbot run` with both apps configured: Telegram polling, WhatsApp's webhook on WEBHOOK_LISTEN."""
    from bot.application.build import build_bot
    from bot.transports.telegram import run_telegram

    stop = asyncio.Event()
    core = build_bot(settings, door="telegram")
    task = asyncio.create_task(run_telegram(settings, stop, core=core, with_whatsapp=True))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


def rate_of(times: list[float]) -> tuple[float, float]:
    """(messages a second from first to last, the span in seconds)."""
    if len(times) < 2:
        return float("nan"), float("nan")
    span = max(times) - min(times)
    return (len(times) - 1) / span, span


async def announce_once(members: int, *, telegram_rate: float, whatsapp_rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        street = await seed_mixed(data_dir, members)
        port = free_port()
        options = GraphOptions(
            webhook_url=f"http://127.0.0.1:{port}/whatsapp", enforce_rate_limits=True, throughput=META_THROUGHPUT
        )
        async with ServerProcess(enforce_rate_limits=True) as server, GraphProcess(options) as graph:
            await graph.open_windows([wa_id_of(person) for person in street.whatsapp])  # they wrote today
            settings = bot_settings(
                data_dir,
                server,
                "aiogram",
                broadcast_rate=telegram_rate,
                whatsapp_rate=whatsapp_rate,
                webhook_listen=f"127.0.0.1:{port}",
                **graph.settings(),
            )
            async with running_both(settings):
                await server.wait_call("getUpdates")
                await server.push([(JAN, "/bericht", "Jan")])
                await server.wait_message(JAN, "Typ uw bericht")
                await server.push([(JAN, TEXT, "Jan")])
                await server.wait_message(JAN, "Zo ziet uw bericht eruit")
                before = await server.stats()
                _, _, tapped = await server.press(JAN, "Versturen")
                cpu_before = time.process_time()
                expected_s = max(len(street.telegram) / telegram_rate, len(street.whatsapp) / whatsapp_rate)
                reported = await server.wait_message(JAN, "Verslag", timeout=expected_s * 3 + 60)
                cpu_s = time.process_time() - cpu_before
                await graph.webhooks_done()  # the last statuses, taken by the bot
                after = await server.stats()
                on_whatsapp = await graph.stats()
                sent = await server.sent()
                edits = await server.edits()
                accepted = await graph.sent()
    telegram = [(chat, at) for chat, at, _, text in sent if TEXT in text and chat != JAN]
    whatsapp = [(wa_id, at) for wa_id, at, text in accepted if TEXT in text]
    figures: dict[str, Any] = {"members": members, "seconds_to_report": reported - tapped}
    for app, deliveries, expected, rate in (
        ("telegram", telegram, {int(p) for p in street.telegram}, telegram_rate),
        ("whatsapp", whatsapp, {wa_id_of(p) for p in street.whatsapp}, whatsapp_rate),
    ):
        received = Counter(who for who, _ in deliveries)
        achieved, span = rate_of([at for _, at in deliveries])
        figures |= {
            f"{app}_members": len(expected),
            f"{app}_configured_rate": rate,
            f"{app}_achieved_rate": achieved,
            f"{app}_fraction_of_configured": achieved / rate,
            f"{app}_span_s": span,
            f"{app}_delivered": len(received),
            f"{app}_lost": len(expected - set(received)),
            f"{app}_duplicated": sum(count - 1 for count in received.values()),
        }
    figures |= {
        "telegram_too_many_requests": after["too_many_requests"] - before["too_many_requests"],
        "telegram_violations": after["violations"] - before["violations"],
        "telegram_most_in_one_second": most_in_one_second([at for _, at, _, _ in sent] + [at for _, at in edits]),
        "whatsapp_violations": on_whatsapp["violations"],
        **{f"whatsapp_{key}": value for key, value in on_whatsapp.items() if key.startswith("violations_")},
        "whatsapp_most_in_one_second": most_in_one_second([at for _, at, _ in accepted]),
        "whatsapp_webhooks_not_200": on_whatsapp["webhooks_not_200"],
        "server_errors": after["internal_errors"] + on_whatsapp["internal_errors"],
        "bot_cpu_ms_per_message": cpu_s * 1000 / max(1, members),
    }
    return figures


async def main_async(args: argparse.Namespace) -> None:
    quiet_logging()
    members = QUICK_MEMBERS if args.quick else args.members
    runs = []
    for _ in range(args.repeat):
        started = time.monotonic()
        run = await announce_once(members, telegram_rate=args.telegram_rate, whatsapp_rate=args.whatsapp_rate)
        run["wall_s"] = time.monotonic() - started
        runs.append(run)
    summary = summarise(runs)
    for key in [k for k in summary if k.endswith(("_lost", "_duplicated", "_violations", "_not_200"))]:
        summary[key] = max(int(run.get(key, 0)) for run in runs)  # the worst run's
    emit("announcement-mixed", **summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=6500, help="members, half on each app (default 6,500)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_MEMBERS} members, for a quick look")
    parser.add_argument("--telegram-rate", type=float, default=TELEGRAM_RATE, help="BROADCAST_RATE (default 30)")
    parser.add_argument("--whatsapp-rate", type=float, default=META_THROUGHPUT, help="WHATSAPP_RATE (default 80)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; figures are medians (worst for losses)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

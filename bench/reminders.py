"""Reminders benchmark: many reminders due in one minute, and the scheduler picking up after a restart.

Each part runs on a fresh village (seed_village) and a fresh fake Bot API server in its own process,
the server enforcing Telegram's limits. Every job is a real EVENT_REMIND job about a real activity
with one resident who said yes, so with `--runner real` the bot's own runner reads the activity and
its answers, renders the reminder in Dutch and hands it over for sending. `--runner scheduler-only`
registers a runner that does nothing instead: what the scheduler itself costs.

  due      N reminder jobs fall due spread evenly over --spread-s seconds (the issue: 10,000 in one
           minute), interleaved across the networks. Lateness of a job = when the scheduler marked it
           done (its runner has handed the reminder over) minus when it was due, both read back from
           the job table (finished_at, due_at). Delivery to Telegram is paced at about 30/s and is
           reported apart: messages recorded by the fake server when the last job was done, and with
           --delivery the time until every reminder was recorded.
  restart  the stores hold M pending reminder jobs when the bot starts: the bot was down for an hour,
           so the first ones were missed (those within the 30-minute grace run late, older ones are
           skipped) and the rest fall due over the next 30 days. The jobs stay in the stores; the
           directory's next_job_at per network is the index the scheduler reads. Measured from
           building the bot (its framework imported beforehand, reported apart as a new process pays
           it too) to: the scheduler's first pass beginning (stores opened and migrated, nightly
           clean-ups planned), the first missed job run, and the first pass done (every missed job
           run or skipped, the next due job of every network known again).

    python -m bench.reminders --reminders 10000 --networks 27 --pickup-jobs 100000
    python -m bench.reminders --part due --reminders 1000 --spread-s 6 --runner scheduler-only
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    VERBINDER_BASE,
    RunningBot,
    Seeded,
    ServerProcess,
    bot_settings,
    emit,
    median,
    percentile,
    quiet_logging,
    seed_village,
)

REMIND_HOURS = 24  # the reminder a day before: the activity starts this long after the job is due
LEAD_S = 2.0  # the first job falls due this long after the jobs are written
DOWN = timedelta(hours=1)  # restart part: how long the bot was down
HORIZON = timedelta(days=30)  # restart part: the jobs fall due over this stretch
PICKUP_TIMEOUT_S = 120.0


def runner_kind(name: str) -> str:
    return "real: Activities reminder runner, direct send or outbox as the bot has it" if name == "real" else name


# --- seeding ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One reminder job about one activity in one network, with the resident it reminds."""

    slug: str
    event_id: int
    member: int
    due_at: datetime


def plan(seeded: Seeded, count: int, due: Callable[[int], datetime]) -> list[Planned]:
    """`count` reminders, the k-th due at due(k), dealt round the networks in turn."""
    slugs = [slug for _, slug in seeded.networks]
    made: dict[str, int] = dict.fromkeys(slugs, 0)
    planned = []
    for k in range(count):
        slug = slugs[k % len(slugs)]
        made[slug] += 1
        members = seeded.members[slug]
        planned.append(Planned(slug, made[slug], members[made[slug] % len(members)], due(k)))
    return planned


def ref(item: Planned) -> str:
    return f"{item.event_id}:{REMIND_HOURS}"


async def write_activities(stores: Any, planned: Sequence[Planned], now: datetime) -> None:
    """One published activity per reminder, starting REMIND_HOURS after it is due, and one yes."""
    from sqlalchemy import insert

    from storage.models import Event, Rsvp

    for slug, items in by_network(planned).items():
        async with stores.network(slug) as store, store.transaction() as session:
            connection = await session.connection()
            await connection.execute(
                insert(Event),
                [
                    {
                        "id": item.event_id,
                        "title": f"Buurtborrel {item.event_id}",
                        "starts_at": item.due_at + timedelta(hours=REMIND_HOURS),
                        "place": "Het buurthuis",
                        "description": "Een drankje en een praatje.",
                        "created_by": VERBINDER_BASE,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for item in items
                ],
            )
            await connection.execute(
                insert(Rsvp),
                [
                    {"event_id": item.event_id, "person_id": item.member, "answer": "yes", "answered_at": now}
                    for item in items
                ],
            )


async def write_jobs(stores: Any, planned: Sequence[Planned], now: datetime) -> None:
    """The jobs in bulk, as Activities.schedule_reminders would have planned them one by one."""
    from sqlalchemy import insert

    from bot.delivery.scheduler import JobKind
    from storage.models import JobStatus, ScheduledJob

    for slug, items in by_network(planned).items():
        async with stores.network(slug) as store, store.transaction() as session:
            connection = await session.connection()
            await connection.execute(
                insert(ScheduledJob),
                [
                    {
                        "kind": JobKind.EVENT_REMIND,
                        "ref": ref(item),
                        "due_at": item.due_at,
                        "status": JobStatus.PENDING,
                        "created_at": now,
                    }
                    for item in items
                ],
            )


def by_network(planned: Sequence[Planned]) -> dict[str, list[Planned]]:
    grouped: dict[str, list[Planned]] = {}
    for item in planned:
        grouped.setdefault(item.slug, []).append(item)
    return grouped


async def job_rows(stores: Any, slugs: Sequence[str]) -> list[Any]:
    rows = []
    for slug in slugs:
        async with stores.network(slug) as store:
            rows.extend(await store.jobs())
    return rows


@contextmanager
def profiled(on: bool) -> Iterator[None]:
    """With --profile: pyinstrument over the measured stretch, printed on stderr."""
    if not on:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        sys.stderr.write(profiler.output_text(unicode=True, show_all=False))


# --- watching the scheduler ------------------------------------------------------------------------


class Passes:
    """What the scheduler's passes did, as they end (monotonic time, jobs run, skipped, failed)."""

    def __init__(self) -> None:
        self.ended: list[tuple[float, int, int, int]] = []
        self.began: list[float] = []
        self._changed = asyncio.Event()

    def __call__(self, ran: Any) -> None:
        now = time.monotonic()
        self.ended.append((now, ran.done, ran.skipped, ran.failed))
        self.began.append(now - ran.seconds)
        self._changed.set()

    @property
    def handled(self) -> int:
        return sum(done + skipped + failed for _, done, skipped, failed in self.ended)

    async def wait(self, condition: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return condition()
        return True


def watched_bot(settings: Any, runner: str) -> tuple[RunningBot, Passes]:
    from bot.activities import Activities

    if runner == "scheduler-only":  # the reminder runner hands nothing over: the scheduler's own cost

        async def hand_over_nothing(_self: Any, _network: Any, refs: Any) -> dict[str, Exception]:
            return {}

        Activities.remind_all = hand_over_nothing  # type: ignore[method-assign,assignment]
    bot = RunningBot(settings)
    passes = Passes()
    bot.core.village.scheduler.listeners.append(passes)
    return bot, passes


# --- due: many reminders in one minute ---------------------------------------------------------------


async def due_once(args: argparse.Namespace) -> dict[str, Any]:
    from bot.delivery.scheduler import JobKind
    from storage.models import JobStatus

    count, spread = args.reminders, args.spread_s
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        seeded = await seed_village(data_dir, networks=args.networks, members=args.members)
        slugs = [slug for _, slug in seeded.networks]
        async with ServerProcess(enforce_rate_limits=True) as server:
            bot, passes = watched_bot(bot_settings(data_dir, server, args.runtime), args.runner)
            village = bot.core.village
            async with bot:
                await server.wait_call("getUpdates")
                await passes.wait(lambda: bool(passes.ended), 60)  # the start-up pass is behind us
                # Activities first; the due moments are set once they are written, so no job is late
                # because of the seeding.
                placeholder = datetime.now(UTC) + timedelta(days=1)
                planned = plan(seeded, count, lambda _k: placeholder)
                await write_activities(village.stores, planned, datetime.now(UTC))
                first_due = datetime.now(UTC) + timedelta(seconds=LEAD_S)
                planned = [
                    Planned(p.slug, p.event_id, p.member, first_due + timedelta(seconds=spread * k / count))
                    for k, p in enumerate(planned)
                ]
                write_started = time.monotonic()
                await write_jobs(village.stores, planned, datetime.now(UTC))
                for slug, items in by_network(planned).items():
                    network = await village.stores.directory.network_by_slug(slug)
                    assert network is not None
                    # The earliest job again through the scheduler: the index notes it and the
                    # sleeping scheduler wakes, as after any schedule().
                    await village.jobs.schedule(network, JobKind.EVENT_REMIND, ref(items[0]), items[0].due_at)
                write_s = time.monotonic() - write_started
                before = passes.handled
                with profiled(args.profile):
                    all_ran = await passes.wait(lambda: passes.handled - before >= count, spread + args.timeout_s)
                sent_when_ran = await server.sent_count()
                delivered_s = float("nan")
                if args.delivery:
                    await server.wait_sent(count, count / 25 + 60)
                    sent = await server.sent()
                    if len(sent) >= count:
                        last = max(at for _, at, _, _ in sent)
                        # monotonic → wall: the two clocks read together now
                        wall_minus_mono = time.time() - time.monotonic()
                        delivered_s = last + wall_minus_mono - first_due.timestamp()
                jobs = await job_rows(village.stores, slugs)
                stats = await server.stats()
    # The only EVENT_REMIND jobs in these stores are the benchmark's own.
    reminders = [job for job in jobs if job.kind == JobKind.EVENT_REMIND]
    finished = [job for job in reminders if job.status == JobStatus.DONE and job.finished_at is not None]
    late = [(job.finished_at - job.due_at).total_seconds() for job in finished]
    return {
        "runner": runner_kind(args.runner),
        "runtime": args.runtime,
        "reminders": count,
        "networks": args.networks,
        "members": args.members,
        "spread_s": spread,
        "jobs_written_s": write_s,
        "all_ran_in_time": all_ran,
        "done": len(finished),
        "skipped": sum(job.status == JobStatus.SKIPPED for job in reminders),
        "failed": sum(job.status == JobStatus.FAILED for job in reminders),
        "still_pending": sum(job.status in (JobStatus.PENDING, JobStatus.RUNNING) for job in reminders),
        "lateness_p50_s": percentile(late, 0.50),
        "lateness_p99_s": percentile(late, 0.99),
        "lateness_max_s": max(late, default=float("nan")),
        "passes": len(passes.ended),
        "delivered_when_all_ran": sent_when_ran,
        "seconds_due_to_all_delivered": delivered_s,
        "too_many_requests": stats["too_many_requests"],
        "violations": stats["violations"],
    }


# --- restart: pick up M pending jobs -----------------------------------------------------------------


async def restart_once(args: argparse.Namespace) -> dict[str, Any]:
    from bench.common import make_settings
    from bot.application.build import build_bot
    from bot.delivery.scheduler import GRACE, JobKind
    from storage.models import JobStatus

    count = args.pickup_jobs
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        seeded = await seed_village(data_dir, networks=args.networks, members=args.members)
        slugs = [slug for _, slug in seeded.networks]
        seeding = build_bot(make_settings(data_dir), door="cli")
        await seeding.start(background=False)
        try:
            now = datetime.now(UTC)
            # The bot went down an hour ago; what fell due since is missed, the rest is ahead.
            # The seeding takes a few seconds more, so the split is counted after the start.
            step = HORIZON / count
            planned = plan(seeded, count, lambda k: now - DOWN + k * step)
            seed_started = time.monotonic()
            await write_activities(seeding.village.stores, planned, now)
            await write_jobs(seeding.village.stores, planned, now)
            for network_id, slug in seeded.networks:
                earliest = min(p.due_at for p in planned if p.slug == slug)
                await seeding.village.stores.directory.set_next_job(network_id, earliest, only_if_earlier=False)
            seed_s = time.monotonic() - seed_started
        finally:
            await seeding.stop()
        import_started = time.monotonic()
        runtime_module = "bot.transports.ptb_door" if args.runtime == "ptb" else "bot.transports.aiogram_door"
        imported_before = runtime_module in sys.modules  # by the due part, run first
        importlib.import_module(runtime_module)  # a new process pays this too; reported apart
        import_s = float("nan") if imported_before else time.monotonic() - import_started
        async with ServerProcess(enforce_rate_limits=True) as server:
            started_wall = datetime.now(UTC)
            started = time.monotonic()
            bot, passes = watched_bot(bot_settings(data_dir, server, args.runtime), args.runner)
            village = bot.core.village
            missed = [p for p in planned if p.due_at <= started_wall]
            with profiled(args.profile):
                async with bot:
                    await passes.wait(lambda: bool(passes.ended), PICKUP_TIMEOUT_S)
                    first_pass_s = passes.ended[0][0] - started if passes.ended else float("nan")
                    scheduler_began_s = passes.began[0] - started if passes.began else float("nan")
                    await passes.wait(lambda: passes.handled >= len(missed), PICKUP_TIMEOUT_S)
                    all_missed_s = time.monotonic() - started
                    asking_started = time.monotonic()
                    for slug in slugs:
                        async with village.stores.network(slug) as store:
                            await store.next_due()
                    every_next_due_s = time.monotonic() - asking_started
                    jobs = await job_rows(village.stores, slugs)
    reminders = [job for job in jobs if job.kind == JobKind.EVENT_REMIND]
    ran = [job for job in reminders if job.status == JobStatus.DONE and job.finished_at is not None]
    first_run = min((job.finished_at for job in ran), default=None)
    grace = GRACE[JobKind.EVENT_REMIND]
    return {
        "runner": runner_kind(args.runner),
        "runtime": args.runtime,
        "pickup_jobs": count,
        "networks": args.networks,
        "seeding_s": seed_s,
        "pending_at_start": len(reminders),
        "missed_at_start": len(missed),
        "missed_within_grace": sum(started_wall - p.due_at <= grace for p in missed),
        "runtime_import_s": import_s,
        "seconds_to_scheduler_running": scheduler_began_s,
        "seconds_to_first_pass": first_pass_s,
        "seconds_to_first_missed_run": (first_run - started_wall).total_seconds() if first_run else float("nan"),
        "seconds_to_all_missed_handled": all_missed_s,
        "ran": len(ran),
        "skipped": sum(job.status == JobStatus.SKIPPED for job in reminders),
        "failed": sum(job.status == JobStatus.FAILED for job in reminders),
        "seconds_to_ask_every_store_next_due": every_next_due_s,
    }


# --- main --------------------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every numeric figure over the repetitions; the worst case for what went wrong."""
    worst = {"failed", "still_pending", "violations", "too_many_requests"}
    summary: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, str | bool):
            summary[key] = value if isinstance(value, str) else all(run[key] for run in runs)
        elif key in worst:
            summary[key] = max(run[key] for run in runs)
        else:
            middle = median(float(run[key]) for run in runs)
            summary[key] = round(middle) if isinstance(value, int) else middle
    summary["repetitions"] = len(runs)
    return summary


async def main_async(args: argparse.Namespace) -> None:
    quiet_logging()
    parts = ["due", "restart"] if args.part == "both" else [args.part]
    for part in parts:
        runs = []
        for _ in range(args.repeat):
            started = time.monotonic()
            run = await (due_once(args) if part == "due" else restart_once(args))
            run["wall_s"] = time.monotonic() - started
            runs.append(run)
        emit(f"reminders-{part}", **summarise(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["due", "restart", "both"], default="both")
    parser.add_argument("--reminders", type=int, default=10_000, help="reminder jobs due in the window (10,000)")
    parser.add_argument("--spread-s", type=float, default=60.0, help="the window they fall due in (60 s)")
    parser.add_argument("--networks", type=int, default=27)
    parser.add_argument("--members", type=int, default=6_500, help="residents, spread over the networks")
    parser.add_argument("--pickup-jobs", type=int, default=100_000, help="pending jobs at the restart (100,000)")
    parser.add_argument("--runner", choices=["real", "scheduler-only"], default="real")
    parser.add_argument("--runtime", choices=["aiogram", "ptb"], default="aiogram")
    parser.add_argument("--delivery", action="store_true", help="also wait until every reminder is delivered")
    parser.add_argument("--timeout-s", type=float, default=300.0, help="how long after the window to wait")
    parser.add_argument("--profile", action="store_true", help="pyinstrument over the measured stretch (stderr)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; figures are medians")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

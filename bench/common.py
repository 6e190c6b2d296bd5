"""What the benchmarks share: the fake Bot API in its own process, seeding a village, figures out.

The fake Bot API server (the tests/fakebotapi package) runs in a child process, so its own work (JSON,
HTML checks, records) does not eat the bot's core, as Telegram's would not. The child stamps
every update it is given with time.monotonic(), and the server stamps every message it records
(`Record["at"]`); on Linux that is one clock for every process, so latency is measured from
"update pushed" to "reply recorded".
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import resource
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.fakebotapi import FakeBotAPI

if TYPE_CHECKING:
    from bot.application.settings import Settings

Push = tuple[int, int, float]  # update_id, chat_id, pushed at (monotonic)
Sent = tuple[int, float, str, str]  # chat_id, recorded at (monotonic), method, text


# --- the fake Bot API in a child process ----------------------------------------------------------


class _Control:
    """The commands the child process answers; each returns something picklable."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api

    async def push(self, messages: list[tuple[int, str, str]], rate: float | None) -> list[Push]:
        """Pushes (user_id, text, first_name) messages, all at once or `rate` a second."""
        pushed: list[Push] = []
        started = time.monotonic()
        for index, (user_id, text, name) in enumerate(messages):
            if rate is not None:
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            update_id = self.api.push_message(user_id, text, first_name=name, language_code="nl")
            pushed.append((update_id, user_id, time.monotonic()))
        return pushed

    async def press(self, user_id: int, label: str, name: str = "Jan") -> Push:
        """Presses the button whose label contains `label` on the latest message to `user_id` that has it."""
        for record in reversed(self.api.messages_to(user_id)):
            rows = (record.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in (button for row in rows for button in row):
                if label.casefold() in button["text"].casefold():
                    update_id = self.api.press_button(user_id, record, button["callback_data"], first_name=name)
                    return update_id, user_id, time.monotonic()
        raise LookupError(f"no button {label!r} for {user_id}")

    async def wait_message(self, chat_id: int, fragment: str, timeout: float) -> float:  # noqa: ASYNC109
        record = await self.api.wait_for_message(chat_id, lambda r: fragment in (r.get("text") or ""), timeout)
        return float(record["at"])

    async def wait_call(self, method: str, timeout: float) -> None:  # noqa: ASYNC109
        await self.api.wait_for_call(method, timeout=timeout)

    async def sent(self, since: int) -> list[Sent]:
        return [(r["chat_id"], r["at"], r["method"], r.get("text") or "") for r in self.api.sent[since:]]

    async def sent_count(self) -> int:
        return len(self.api.sent)

    async def press_all(self, presses: list[tuple[int, str, str]]) -> list[Push]:
        return [await self.press(user_id, label, name) for user_id, label, name in presses]

    async def edits(self, since: int) -> list[tuple[int, float]]:
        return [(int(chat), at) for chat, at in self.api.edits[since:]]

    async def wait_sent(self, count: int, timeout: float) -> None:  # noqa: ASYNC109
        await self.api.wait_for_sent(count, timeout)

    async def stats(self) -> dict[str, int]:
        kinds = Counter(str(violation["kind"]) for violation in self.api.violations)
        return {
            "violations": self.api.rate_violations,
            **{f"violations_{kind}": count for kind, count in kinds.items()},
            "too_many_requests": self.api.too_many_requests,
            "calls": len(self.api.calls),
            "internal_errors": len(self.api.internal_errors),
        }

    async def forget_calls(self) -> None:
        """Drops the log of calls (a long benchmark would otherwise keep every getUpdates)."""
        self.api.calls.clear()


def _serve(conn: Connection, token: str, enforce_rate_limits: bool) -> None:
    asyncio.run(_serve_async(conn, token, enforce_rate_limits))


async def _serve_async(conn: Connection, token: str, enforce_rate_limits: bool) -> None:
    async with FakeBotAPI(token, enforce_rate_limits=enforce_rate_limits) as api:
        conn.send(api.base_url)
        await answer_calls(conn, _Control(api))
    conn.send(("ok", None))


async def answer_calls(conn: Connection, control: object) -> None:
    """In a child server: runs each call the parent sends on `control`, until "stop"."""
    loop = asyncio.get_running_loop()
    while True:
        name, args = await loop.run_in_executor(None, conn.recv)
        if name == "stop":
            return
        try:
            conn.send(("ok", await getattr(control, name)(*args)))
        except Exception as error:  # handed back to the benchmark, which raises it
            conn.send(("error", repr(error)))


class ChildServer:
    """A fake server in a child process (spawned), driven over a pipe from the benchmark's event
    loop: the child first sends what the parent needs to reach it, then answers calls by name."""

    name = "fake server"

    def __init__(self) -> None:
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._lock = asyncio.Lock()

    async def _spawn(self, target: Callable[..., None], *args: Any) -> Any:
        """Starts `target(child_end, *args)` in a child process; returns what it sends first."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(target=target, args=(child, *args), daemon=True, name=self.name)
        self._process.start()
        self._conn = parent
        return await asyncio.to_thread(parent.recv)

    async def __aexit__(self, *_: object) -> None:
        await self._call("stop")
        assert self._process is not None
        await asyncio.to_thread(self._process.join, 10)

    async def _call(self, name: str, *args: Any) -> Any:
        assert self._conn is not None
        conn = self._conn
        async with self._lock:
            conn.send((name, args))
            status, result = await asyncio.to_thread(conn.recv)
        if status != "ok":
            raise RuntimeError(f"{self.name}: {name}: {result}")
        return result


class ServerProcess(ChildServer):
    """A FakeBotAPI in a child process, driven from the benchmark's event loop."""

    name = "fakebotapi"

    def __init__(self, token: str = "123456:BENCH", *, enforce_rate_limits: bool = True) -> None:
        super().__init__()
        self.token = token
        self.enforce_rate_limits = enforce_rate_limits
        self.base_url = ""

    async def __aenter__(self) -> ServerProcess:
        self.base_url = await self._spawn(_serve, self.token, self.enforce_rate_limits)
        return self

    async def push(self, messages: Sequence[tuple[int, str, str]], rate: float | None = None) -> list[Push]:
        return list(await self._call("push", list(messages), rate))

    async def press(self, user_id: int, label: str, name: str = "Jan") -> Push:
        return tuple(await self._call("press", user_id, label, name))

    async def wait_message(self, chat_id: int, fragment: str, timeout: float = 30.0) -> float:  # noqa: ASYNC109
        return float(await self._call("wait_message", chat_id, fragment, timeout))

    async def wait_call(self, method: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        await self._call("wait_call", method, timeout)

    async def sent(self, since: int = 0) -> list[Sent]:
        return list(await self._call("sent", since))

    async def sent_count(self) -> int:
        return int(await self._call("sent_count"))

    async def press_all(self, presses: Sequence[tuple[int, str, str]]) -> list[Push]:
        """`press` for each (user_id, label, first name), in one call to the server process."""
        return list(await self._call("press_all", list(presses)))

    async def edits(self, since: int = 0) -> list[tuple[int, float]]:
        """(chat, monotonic time) of each message edit the bot made, from the `since`-th on."""
        return list(await self._call("edits", since))

    async def wait_sent(self, count: int, timeout: float) -> None:  # noqa: ASYNC109
        """Waits until the server has recorded `count` messages in all, or `timeout` has passed."""
        await self._call("wait_sent", count, timeout)

    async def stats(self) -> dict[str, int]:
        return dict(await self._call("stats"))

    async def forget_calls(self) -> None:
        await self._call("forget_calls")


# --- seeding a village ----------------------------------------------------------------------------

TREES = [  # 27 networks, each with a laan, a straat and a hof named after a tree
    *("Eiken", "Beuken", "Linden", "Wilgen", "Berken", "Essen", "Populieren", "Kastanje", "Iepen"),
    *("Esdoorn", "Hazelaar", "Vlier", "Meidoorn", "Lijsterbes", "Els", "Hulst", "Taxus", "Jeneverbes"),
    *("Acacia", "Platanen", "Notelaar", "Kersen", "Appel", "Peren", "Pruimen", "Moerbei", "Vlinder"),
]
STREET_KINDS = ("laan", "straat", "hof")
VERBINDER_BASE = 1_000  # the buurtverbinder of network i has Telegram id VERBINDER_BASE + i
MEMBER_BASE = 100_000  # members have ids MEMBER_BASE, MEMBER_BASE + 1, ...
SEED_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
BENCH_CM_ID = 4242  # the community manager's Telegram id, as in the tests


def network_name(index: int) -> str:
    round_ = index // len(TREES)
    return f"{TREES[index % len(TREES)]}buurt" + (f" {round_ + 1}" if round_ else "")


def streets_of(index: int) -> list[str]:
    tree = TREES[index % len(TREES)]
    suffix = "" if index < len(TREES) else f" {index // len(TREES) + 1}"
    return [f"{tree}{kind}{suffix}" for kind in STREET_KINDS]


@dataclass(frozen=True)
class Seeded:
    networks: list[tuple[int, str]]  # (network id, slug)
    members: dict[str, list[int]]  # slug → member ids


async def seed_village(data_dir: Path, *, networks: int, members: int, history_per_network: int = 0) -> Seeded:
    """Networks with three streets and a buurtverbinder each, and `members` residents spread over them.

    Members are written in one transaction (the services write one at a time, which takes minutes
    for 6,500). `history_per_network` help requests and as many events go into each network store.
    """
    from sqlalchemy import insert

    from bot.application.build import build_bot
    from storage.models import Event, HelpRequest, MemberRole, Membership, MembershipStatus, Person

    seeding = build_bot(make_settings(data_dir), door="cli")
    await seeding.start(background=False)
    village = seeding.village
    made: list[tuple[int, str]] = []
    try:
        for index in range(networks):
            network = await village.networks.add(network_name(index), streets_of(index), SEED_TIME)
            await village.memberships.appoint(network, VERBINDER_BASE + index, by=None, now=SEED_TIME, name="Jan")
            made.append((network.id or 0, network.slug))
        people: list[dict[str, Any]] = []
        memberships: list[dict[str, Any]] = []
        by_network: dict[str, list[int]] = {slug: [] for _, slug in made}
        for number in range(members):
            person_id = MEMBER_BASE + number
            network_id, slug = made[number % len(made)]
            by_network[slug].append(person_id)
            people.append({"id": person_id, "name": f"Buur {number}", "language": "nl", "created_at": SEED_TIME})
            memberships.append(
                {
                    "person_id": person_id,
                    "network_id": network_id,
                    "role": MemberRole.MEMBER,
                    "status": MembershipStatus.ACTIVE,
                    "created_at": SEED_TIME,
                    "decided_at": SEED_TIME,
                }
            )
        async with village.stores.directory.transaction() as session:
            connection = await session.connection()
            if people:
                await connection.execute(insert(Person), people)
                await connection.execute(insert(Membership), memberships)
        for _, slug in made if history_per_network else ():
            async with village.stores.network(slug) as store, store.transaction() as session:
                connection = await session.connection()
                await connection.execute(
                    insert(HelpRequest),
                    [
                        {
                            "requester_id": by_network[slug][n % len(by_network[slug])] if by_network[slug] else None,
                            "category": "groceries",
                            "description": f"Boodschappen halen bij de Jumbo, week {n % 52 + 1}",
                            "needed_at": SEED_TIME,
                            "status": "done",
                            "created_at": SEED_TIME,
                        }
                        for n in range(history_per_network)
                    ],
                )
                await connection.execute(
                    insert(Event),
                    [
                        {
                            "title": f"Koffieochtend {n + 1}",
                            "starts_at": SEED_TIME,
                            "place": "Het buurthuis",
                            "description": "Koffie, thee en een praatje.",
                            "created_by": VERBINDER_BASE,
                            "created_at": SEED_TIME,
                            "updated_at": SEED_TIME,
                        }
                        for n in range(history_per_network)
                    ],
                )
    finally:
        await seeding.stop()
    return Seeded(made, by_network)


async def queue_announcement(data_dir: Path, slug: str, *, author: int, text: str, recipients: Sequence[int]) -> int:
    """An announcement by `author` queued in the outbox for `recipients`, as /bericht queues one,
    by a process that does not send (as a CLI command): the running bot sends it. Returns its id."""
    from bot.application.build import build_bot
    from bot.kernel.replies import Reply
    from storage.models import Announcement, OutboxKind

    queuing = build_bot(make_settings(data_dir), door="cli")
    await queuing.start(background=False)
    village = queuing.village
    try:
        network = await village.networks.by_slug(slug)
        assert network is not None, slug
        async with village.stores.network(slug) as store, store.transaction() as session:
            announcement = Announcement(author_id=author, text=text, created_at=datetime.now(UTC))
            session.add(announcement)
            await session.flush()
            announcement_id = announcement.id or 0
        await village.outbox.queue(
            network,
            [(chat, Reply(text)) for chat in recipients],
            kind=OutboxKind.ANNOUNCEMENT,
            ref=str(announcement_id),
            announcement_id=announcement_id,
        )
    finally:
        await queuing.stop()
    return announcement_id


# --- running the bot against the server ------------------------------------------------------------


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a bot on `data_dir`, read from nothing else (no .env, no environment's BOT_*), as the
    tests make them: no token, community manager 4242, username buurtbot_test; `overrides` on top."""
    from bot.application.settings import Settings

    values: dict[str, Any] = {
        "data_dir": data_dir,
        "bot_token": "",
        "community_manager_ids": frozenset({BENCH_CM_ID}),
        "bot_username": "buurtbot_test",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


def bot_settings(data_dir: Path, server: ServerProcess, runtime: str, **overrides: Any) -> Settings:
    return make_settings(
        data_dir,
        bot_token=server.token,
        bot_api_base_url=server.base_url,
        bot_runtime=runtime,
        bot_api_timeout=10.0,
        bot_username="",
        **overrides,
    )


class RunningBot:
    """Buurtbot itself, through `run_telegram` with a core from `build_bot`, as `buurtbot run` does."""

    def __init__(self, settings: Any) -> None:
        from bot.application.build import build_bot

        self.settings = settings
        self.core = build_bot(settings, door="telegram")
        self._stop = asyncio.Event()
        self._task: asyncio.Task[int] | None = None

    async def __aenter__(self) -> RunningBot:
        from bot.transports.telegram import run_telegram

        self._task = asyncio.create_task(run_telegram(self.settings, self._stop, core=self.core))
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, 60)


REPOSITORY = Path(__file__).resolve().parents[1]


class BotProcess:
    """`buurtbot run` in a process of its own, on a data folder, against a (fake) Bot API: what a
    crash test kills with SIGKILL, or arms with failpoints (BUURTBOT_FAILPOINTS) to die by itself."""

    def __init__(self, data_dir: Path, base_url: str, token: str, *, failpoints: str = "", **environment: str) -> None:
        self.data_dir = data_dir
        self.environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("BOT_", "BUURTBOT_", "WEBHOOK_", "BROADCAST_", "DATA_DIR"))
        } | {
            "BOT_TOKEN": token,
            "BOT_API_BASE_URL": base_url,
            "DATA_DIR": str(data_dir),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPOSITORY),
            **({"BUURTBOT_FAILPOINTS": failpoints} if failpoints else {}),
            **environment,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.stderr_path = data_dir.parent / f"bot-{id(self)}.stderr"

    async def start(self) -> BotProcess:
        with self.stderr_path.open("wb") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=self.data_dir.parent,  # no .env of the repository's
                env=self.environment,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
            )
        return self

    async def wait(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """Its exit status (negative: the signal that ended it)."""
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    async def stop(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """SIGTERM, as a service manager stops it: it finishes what it has in hand."""
        self.signal(signal.SIGTERM)
        try:
            return await self.wait(timeout)
        finally:
            self.kill()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    async def __aenter__(self) -> BotProcess:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        self.kill()  # whatever the test did, no process is left behind
        if self.process is not None:
            await self.process.wait()


# --- figures --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Iterable[float]) -> float:
    listed = list(values)
    return statistics.median(listed) if listed else float("nan")


def latencies(pushes: Sequence[Push], sent: Sequence[Sent]) -> tuple[list[float], int]:
    """Seconds from each update pushed to the first message recorded for its chat after it.

    Each update in these benchmarks gets exactly one message back and a chat's updates are
    answered in order, so the k-th message to a chat answers the k-th update to it.
    Returns the latencies and the number of updates that got no message.
    """
    waiting: dict[int, list[float]] = {}
    for _, chat, at in sorted(pushes, key=lambda push: push[2]):
        waiting.setdefault(chat, []).append(at)
    found: list[float] = []
    for chat, at, method, _ in sorted(sent, key=lambda record: record[1]):
        queue = waiting.get(chat)
        if method == "sendMessage" and queue:
            found.append(at - queue.pop(0))
    return found, sum(len(queue) for queue in waiting.values())


def peak_rss_mb() -> float:
    """The peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with Path("/proc/self/statm").open() as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def emit(benchmark: str, **figures: Any) -> None:
    """One JSON line on stdout: what `bench.run` reads and what a person running one benchmark sees."""
    rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    print(json.dumps({"benchmark": benchmark, **rounded}), flush=True)


def quiet_logging() -> None:
    """Warnings and worse on stderr: the benchmark's JSON lines stay readable on stdout."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiogram").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.ERROR)

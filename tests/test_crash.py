"""The crash suite: `buurtbot run` as a real process, killed at a failpoint, restarted on the same stores.

Each scenario drives the bot over real HTTP through the fake Bot API, with BUURTBOT_FAILPOINTS
set to one point. The process dies there (exit 77); the test starts it again without failpoints
and goes on where it was. After a clean stop the stores and what Telegram received are checked:
every update handled, every step applied once, every message received once (twice at most,
for a message truly in flight at the crash).

`make test` runs a quick set of points; `BUURTBOT_CRASH_SWEEP=full` (`make crash`) runs every
point of every scenario on both runtimes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import insert

from bot import failpoints
from bot.app import build_bot
from bot.replies import html_to_plain
from storage.models import Event, HelpOffer, MemberRole, Membership, MembershipStatus, Person
from tests.conftest import make_settings
from tests.fakebotapi import FakeBotAPI, Record
from tests.test_cli import environment_for

TOKEN = "123456:ABC"
JAN = 1001  # the buurtverbinder of Breugel-Noord
ANNA, PIET, KEES = 2002, 3003, 4004  # residents: Anna asks, Piet helps, Kees wants to join
NEIGHBOURS = range(5001, 5029)  # 28 more residents: with Anna and Piet, 30 hear an announcement
STEP_TIMEOUT_S = 20.0  # a step's reply, a process start included, on a busy two-core machine
SWEEP = os.environ.get("BUURTBOT_CRASH_SWEEP", "") == "full"
RUNTIMES = ("aiogram", "ptb")
T = TypeVar("T")


def says(fragment: str) -> Callable[[Record], bool]:
    return lambda record: fragment in html_to_plain(record.get("text") or "")


def button(record: Record, label: str) -> str:
    markup = record.get("reply_markup") or {}
    found = [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row if label in b["text"]]
    assert found, f"no button {label!r} in {markup}"
    return str(found[0])


# --- the village, seeded before the first start ---------------------------------------------


async def seed(data_dir: Path) -> None:
    """Breugel-Noord: Jan its buurtverbinder; Anna, Piet and 28 neighbours members; Piet offers
    to do groceries; Kees waits for Jan's approval; a coffee morning next month."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    bot = build_bot(make_settings(data_dir), door="cli")
    await bot.start(background=False)
    village = bot.village
    now = village.clock.now()
    try:
        network = await village.networks.add("Breugel-Noord", ["Nieuwstraat", "Kerkstraat"], now)
        await village.memberships.appoint(network, JAN, by=None, now=now, name="Jan")
        residents = {ANNA: "Anna", PIET: "Piet", KEES: "Kees"} | {n: f"Buur {n}" for n in NEIGHBOURS}
        people = [{"id": i, "name": name, "language": "nl", "created_at": now} for i, name in residents.items()]
        memberships = [
            {
                "person_id": person_id,
                "network_id": network.id,
                "role": MemberRole.MEMBER,
                "status": MembershipStatus.PENDING if person_id == KEES else MembershipStatus.ACTIVE,
                "created_at": now,
                "decided_at": None if person_id == KEES else now,
            }
            for person_id in residents
        ]
        async with village.stores.directory.transaction() as session:
            connection = await session.connection()
            await connection.execute(insert(Person), people)
            await connection.execute(insert(Membership), memberships)
        async with village.stores.network(network.slug) as store, store.transaction() as session:
            connection = await session.connection()
            await connection.execute(
                insert(HelpOffer),
                [{"person_id": PIET, "categories": "boodschappen", "notify": True, "updated_at": now}],
            )
            starts = now.replace(microsecond=0) + timedelta(days=30)
            await connection.execute(
                insert(Event),
                [
                    {
                        "title": "Koffieochtend",
                        "starts_at": starts,
                        "place": "Het buurthuis",
                        "description": "Koffie en een praatje.",
                        "status": "published",
                        "created_by": JAN,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
    finally:
        await bot.stop()


# --- the bot as a process -------------------------------------------------------------------


@dataclass
class Bot:
    """`buurtbot run` on DATA_DIR, restarted without failpoints when it dies at its failpoint."""

    api: FakeBotAPI
    workdir: Path
    runtime: str
    armed: str
    process: asyncio.subprocess.Process | None = None
    crashes: list[str] = field(default_factory=list)

    async def start(self, armed: str = "") -> None:
        env = environment_for(
            self.workdir,
            BOT_TOKEN=TOKEN,
            BOT_API_BASE_URL=self.api.base_url,
            BOT_RUNTIME=self.runtime,
            LOG_LEVEL="WARNING",
            BOT_USERNAME="buurtbot_test",
        )
        env.pop(failpoints.ENVIRONMENT_VARIABLE, None)
        if armed:
            env[failpoints.ENVIRONMENT_VARIABLE] = armed
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    async def until(self, condition: Callable[[], Awaitable[T]]) -> T:
        """Waits for `condition`; if the bot dies at its failpoint meanwhile, starts it again
        without failpoints (on the same stores) and waits for the condition again."""
        assert self.process is not None
        waiting = asyncio.ensure_future(condition())
        dying = asyncio.ensure_future(self.process.wait())
        try:
            done, _ = await asyncio.wait({waiting, dying}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not dying.done():
                dying.cancel()
        if waiting in done:
            return waiting.result()
        waiting.cancel()
        stderr = await self._stderr()
        assert self.process.returncode == failpoints.FAILPOINT_EXIT, f"the bot died: {stderr}"
        self.crashes.append(stderr)
        await self.start()
        return await self.until(condition)

    async def stop(self) -> None:
        """A clean stop (SIGTERM): the updates in hand are finished and marked handled."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), STEP_TIMEOUT_S)
        stderr = await self._stderr()
        assert code == 0, f"exit {code}: {stderr}"

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def _stderr(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        return (await self.process.stderr.read()).decode(errors="replace")[-4000:]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as server:
        yield server


async def started(api: FakeBotAPI, tmp_path: Path, runtime: str, armed: str) -> Bot:
    await seed(tmp_path / "data")
    bot = Bot(api, tmp_path, runtime, armed)
    await bot.start(armed)
    return bot


# --- what the stores say afterwards ---------------------------------------------------------


def rows(path: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(query, params).fetchall()


def network_db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "networks" / "breugel-noord.db"


def assert_every_update_handled(tmp_path: Path, update_ids: list[int]) -> None:
    found = dict(rows(tmp_path / "data" / "directory.db", "SELECT update_id, handled_at FROM processed_update"))
    assert set(update_ids) <= set(found), f"updates never kept: {set(update_ids) - set(found)}"
    assert [u for u in update_ids if found[u] is None] == [], "updates kept but never handled"


def received(api: FakeBotAPI, chat_id: int, fragment: str) -> int:
    """How many messages with `fragment` reached this chat (sent, not counting edits)."""
    return sum(1 for record in api.messages_to(chat_id) if fragment in html_to_plain(record.get("text") or ""))


# --- scenario: an announcement to 30 members ------------------------------------------------

ANNOUNCEMENT = "Zaterdag is de straat afgesloten voor het buurtfeest."


async def announce(bot: Bot) -> list[int]:
    api, updates = bot.api, []
    updates.append(api.push_message(JAN, "/bericht", first_name="Jan"))
    await bot.until(lambda: api.wait_for_message(JAN, says("Typ uw bericht"), STEP_TIMEOUT_S))
    updates.append(api.push_message(JAN, ANNOUNCEMENT, first_name="Jan"))
    preview = await bot.until(lambda: api.wait_for_message(JAN, says("Versturen"), STEP_TIMEOUT_S))
    # (the preview's own text is what Jan reads before sending; its button says what it does)
    updates.append(api.press_button(JAN, preview, button(preview, "Versturen"), first_name="Jan"))
    everyone = [ANNA, PIET, *NEIGHBOURS]

    async def all_told() -> None:
        for member in everyone:
            await api.wait_for_message(member, says(ANNOUNCEMENT), STEP_TIMEOUT_S)
        await api.wait_for_message(JAN, says("✅ 30 verstuurd"), STEP_TIMEOUT_S)

    await bot.until(all_told)
    return updates


def assert_announced_once(bot: Bot, tmp_path: Path) -> None:
    db = network_db(tmp_path)
    assert rows(db, "SELECT count(*) FROM announcement") == [(1,)], "the announcement was queued more than once"
    outbox = rows(db, "SELECT chat_id, count(*) FROM outbox_message WHERE kind = 'announcement' GROUP BY chat_id")
    assert sorted(outbox) == sorted((member, 1) for member in [ANNA, PIET, *NEIGHBOURS])
    for member in [ANNA, PIET, *NEIGHBOURS]:
        assert 1 <= received(bot.api, member, ANNOUNCEMENT) <= 2, member
    assert sum(received(bot.api, member, ANNOUNCEMENT) for member in [ANNA, PIET, *NEIGHBOURS]) <= 30 + 16


# --- the sweep ------------------------------------------------------------------------------

Scenario = Callable[[Bot], Awaitable[list[int]]]
Check = Callable[[Bot, Path], None]
SCENARIOS: dict[str, tuple[Scenario, Check]] = {
    "announce": (announce, assert_announced_once),
}
# (scenario, failpoint) pairs: the quick set runs in `make test`; the sweep adds the rest.
QUICK = [
    ("announce", failpoints.ANNOUNCEMENT_QUEUED, "aiogram"),
    ("announce", failpoints.ANNOUNCEMENT_QUEUED, "ptb"),
]
POINTS_OF = {
    "announce": [
        f"{failpoints.UPDATE_KEPT}@3",
        f"{failpoints.FLOW_SAVED}@1",
        f"{failpoints.FLOW_SAVED}@2",
        failpoints.ANNOUNCEMENT_QUEUED,
        f"{failpoints.OUTBOX_CLAIMED}@1",
        f"{failpoints.OUTBOX_HANDED_OVER}@5",
        f"{failpoints.OUTBOX_RECORDED}@1",
        f"{failpoints.UPDATE_HANDLED}@3",
    ],
}
FULL = [(name, point, runtime) for name, points in POINTS_OF.items() for point in points for runtime in RUNTIMES]
CASES = FULL if SWEEP else QUICK


@pytest.mark.parametrize(("scenario", "point", "runtime"), CASES, ids=["-".join(case) for case in CASES])
async def test_the_bot_dies_at_a_failpoint_and_its_restart_applies_every_step_once(
    api: FakeBotAPI, tmp_path: Path, scenario: str, point: str, runtime: str
) -> None:
    drive, check = SCENARIOS[scenario]
    bot = await started(api, tmp_path, runtime, point)
    try:
        updates = await drive(bot)
        if point.partition("@")[0] in {failpoints.OUTBOX_CLAIMED, failpoints.OUTBOX_HANDED_OVER}:
            pass  # the outbox's own points may not be placed yet; then the bot never dies there
        else:
            assert len(bot.crashes) == 1, f"the bot never reached {point}"
        await bot.stop()
    finally:
        await bot.kill()
    assert_every_update_handled(tmp_path, updates)
    check(bot, tmp_path)

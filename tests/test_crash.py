"""The crash suite: `buurtbot run` as a real process, killed at a failpoint, restarted on the same stores.

Each scenario drives the bot over real HTTP through the fake Bot API, with BUURTBOT_FAILPOINTS
set. The process dies at the point (exit 77); the test starts it again on the same stores, with
the points it has not reached yet, and goes on where it was. After a clean stop the stores and
what Telegram received are checked: every update handled, every step applied once, every
message received at least once and at most twice (a message truly in flight at the crash).

`make test` runs one story per runtime (every scenario, dying at a few points in turn, one
restart each); `BUURTBOT_CRASH_SWEEP=full` (`make crash`) runs every point of every scenario
alone, on both runtimes.
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

from bot.application.build import build_bot
from bot.kernel import failpoints
from bot.kernel.replies import html_to_plain
from storage.models import Event, HelpOffer, MemberRole, Membership, MembershipStatus, Person, Rsvp
from tests.conftest import make_settings
from tests.fakebotapi import FakeBotAPI, Record
from tests.test_cli import environment_for

TOKEN = "123456:ABC"
JAN = 1001  # the buurtverbinder of Breugel-Noord
ANNA, PIET, KEES = 2002, 3003, 4004  # residents: Anna asks, Piet helps, Kees wants to join
ELS = 6006  # talked to the bot once, joined no network, and asks to be forgotten
NEIGHBOURS = range(5001, 5029)  # 28 more residents: with Anna and Piet, 30 hear an announcement
WAITING = NEIGHBOURS[0]  # on the waiting list for the coffee morning
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
        everyone = residents | {ELS: "Els"}
        people = [{"id": i, "name": name, "language": "nl", "created_at": now} for i, name in everyone.items()]
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
                        "capacity": 1,
                        "status": "published",
                        "created_by": JAN,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            answers = [(ANNA, False, now), (WAITING, True, now + timedelta(minutes=1))]
            await connection.execute(
                insert(Rsvp),
                [
                    {"event_id": 1, "person_id": who, "answer": "yes", "waiting": waiting, "answered_at": at}
                    for who, waiting, at in answers
                ],
            )
    finally:
        await bot.stop()


# --- the bot as a process -------------------------------------------------------------------


@dataclass
class Bot:
    """`buurtbot run` on DATA_DIR. When it dies at a failpoint it is started again, on the same
    stores, with the failpoints it has not reached yet (none, for a test of one point)."""

    api: FakeBotAPI
    workdir: Path
    runtime: str
    armed: list[str]  # failpoints not reached yet, as BUURTBOT_FAILPOINTS names them
    process: asyncio.subprocess.Process | None = None
    fired: list[str] = field(default_factory=list)  # the failpoints it died at, in turn
    calls_before_start: int = 0
    _stderr: list[bytes] = field(default_factory=list)
    _reading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = environment_for(
            self.workdir,
            BOT_TOKEN=TOKEN,
            BOT_API_BASE_URL=self.api.base_url,
            BOT_RUNTIME=self.runtime,
            LOG_LEVEL="WARNING",
            BOT_USERNAME="buurtbot_test",
        )
        env.pop(failpoints.ENVIRONMENT_VARIABLE, None)
        if self.armed:
            env[failpoints.ENVIRONMENT_VARIABLE] = ",".join(self.armed)
        self.calls_before_start = len(self.api.calls)
        self._stderr = []
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
        self._reading = asyncio.create_task(self._read_stderr(self.process))

    async def _read_stderr(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while chunk := await process.stderr.read(65536):  # read as it comes: a full pipe would block the bot
            self._stderr.append(chunk)

    async def stderr(self) -> str:
        if self._reading is not None:
            await self._reading
        return b"".join(self._stderr).decode(errors="replace")[-4000:]

    async def until(self, condition: Callable[[], Awaitable[T]]) -> T:
        """Waits for `condition`; if the bot dies at a failpoint meanwhile, starts it again and
        waits for the condition again."""
        while True:
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
            await self._restart_after_death()

    async def dies(self) -> None:
        """The bot dies at a failpoint that comes after the last reply the test waited for."""
        assert self.process is not None
        await asyncio.wait_for(self.process.wait(), STEP_TIMEOUT_S)
        await self._restart_after_death()

    async def _restart_after_death(self) -> None:
        assert self.process is not None
        stderr = await self.stderr()
        assert self.process.returncode == failpoints.FAILPOINT_EXIT, f"the bot died: {stderr}"
        reached = next(point for point in self.armed if f"failpoint {point.partition('@')[0]}: dying" in stderr)
        self.armed.remove(reached)
        self.fired.append(reached)
        await self.start()

    async def polling(self) -> None:
        """Waits until the bot, since it last started, asks Telegram for updates: it is up, and
        the updates it kept before a crash are in hand."""
        before = {id(params) for _, params in self.api.calls[: self.calls_before_start]}
        await self.until(
            lambda: self.api.wait_for_call("getUpdates", lambda params: id(params) not in before, STEP_TIMEOUT_S)
        )

    async def stop(self) -> None:
        """A clean stop (SIGTERM): the updates in hand are finished and marked handled."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), STEP_TIMEOUT_S)
        stderr = await self.stderr()
        assert code == 0, f"exit {code}: {stderr}"

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._reading is not None:
            await self._reading


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as server:
        yield server


async def started(api: FakeBotAPI, tmp_path: Path, runtime: str, armed: list[str]) -> Bot:
    await seed(tmp_path / "data")
    bot = Bot(api, tmp_path, runtime, list(armed))
    await bot.start()
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
    """How many messages with `fragment` reached this chat: sent messages, whatever they were
    edited into later (an edit is not a message)."""
    return sum(
        any(fragment in html_to_plain(version.get("text") or "") for version in [*record["history"], record])
        for record in api.messages_to(chat_id)
    )


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


# --- scenario: Anna asks for help, Piet takes it, they write, Anna says it worked -----------

REQUEST = "Boodschappen halen bij de Jumbo"
NOTE = "Komt zaterdag om twee uur uit?"


def has_button(label: str) -> Callable[[Record], bool]:
    return lambda record: label in str(record.get("reply_markup") or "")


async def help_each_other(bot: Bot) -> list[int]:
    api, updates = bot.api, []

    async def anna_taps(label: str, then: Callable[[Record], bool]) -> None:
        message = await bot.until(lambda: api.wait_for_message(ANNA, has_button(label), STEP_TIMEOUT_S))
        updates.append(api.press_button(ANNA, message, button(message, label), first_name="Anna"))
        await bot.until(lambda: api.wait_for_message(ANNA, then, STEP_TIMEOUT_S))

    updates.append(api.push_message(ANNA, "/vraag", first_name="Anna"))
    await anna_taps("Boodschappen", says("Vertel in een paar woorden"))
    updates.append(api.push_message(ANNA, REQUEST, first_name="Anna"))
    await anna_taps("Vandaag", has_button("Iedereen"))
    await anna_taps("Iedereen", has_button("Plaatsen"))
    await anna_taps("Plaatsen", says("Uw vraag staat in het buurtnetwerk"))
    post = await bot.until(lambda: api.wait_for_message(PIET, says("Een buur vraagt om hulp"), STEP_TIMEOUT_S))
    updates.append(api.press_button(PIET, post, button(post, "Ik help"), first_name="Piet"))
    await anna_taps("Bericht aan Piet", says("Typ uw bericht aan Piet"))
    updates.append(api.push_message(ANNA, NOTE, first_name="Anna"))
    await bot.until(lambda: api.wait_for_message(PIET, says(NOTE), STEP_TIMEOUT_S))
    await anna_taps("Gelukt", says("Fijn dat het gelukt is"))
    await bot.until(lambda: api.wait_for_message(PIET, says("Hartelijk dank"), STEP_TIMEOUT_S))
    return updates


def assert_helped_once(bot: Bot, tmp_path: Path) -> None:
    db = network_db(tmp_path)
    assert rows(db, "SELECT description, status, helper_id FROM help_request") == [(REQUEST, "done", PIET)]
    assert rows(db, "SELECT from_id, to_id, text FROM relay_message") == [(ANNA, PIET, NOTE)]
    assert rows(db, "SELECT chat_id FROM outbox_message WHERE kind = 'help_request'") == [(PIET,)]
    assert 1 <= received(bot.api, PIET, "Een buur vraagt om hulp") <= 2
    assert 1 <= received(bot.api, ANNA, "gaat u helpen") <= 2
    assert 1 <= received(bot.api, PIET, NOTE) <= 2
    assert 1 <= received(bot.api, PIET, "Hartelijk dank") <= 2
    assert 1 <= received(bot.api, ANNA, "Fijn dat het gelukt is") <= 2


# --- scenario: Anna cannot come after all, and her place goes to the first one waiting ------


async def rsvp(bot: Bot) -> list[int]:
    api, updates = bot.api, []
    updates.append(api.push_message(ANNA, "/agenda", first_name="Anna"))
    line = await bot.until(lambda: api.wait_for_message(ANNA, says("Koffieochtend"), STEP_TIMEOUT_S))
    updates.append(api.press_button(ANNA, line, button(line, "Kan niet"), first_name="Anna"))
    await bot.until(lambda: api.wait_for_message(WAITING, says("plaats vrijgekomen"), STEP_TIMEOUT_S))
    return updates


def assert_answered_once(bot: Bot, tmp_path: Path) -> None:
    answers = rows(network_db(tmp_path), "SELECT person_id, answer, waiting FROM rsvp ORDER BY person_id")
    assert answers == [(ANNA, "no", 0), (WAITING, "yes", 0)]
    assert 1 <= received(bot.api, WAITING, "plaats vrijgekomen") <= 2


# --- scenario: Jan lets Kees in ------------------------------------------------------------


async def approve_a_join(bot: Bot) -> list[int]:
    api, updates = bot.api, []
    updates.append(api.push_message(JAN, "/aanmeldingen", first_name="Jan"))
    request = await bot.until(lambda: api.wait_for_message(JAN, says("Kees"), STEP_TIMEOUT_S))
    updates.append(api.press_button(JAN, request, button(request, "Toelaten"), first_name="Jan"))
    await bot.until(lambda: api.wait_for_message(KEES, says("heeft u toegelaten"), STEP_TIMEOUT_S))
    return updates


def assert_let_in_once(bot: Bot, tmp_path: Path) -> None:
    found = rows(tmp_path / "data" / "directory.db", "SELECT status FROM membership WHERE person_id = ?", KEES)
    assert found == [("active",)]
    assert 1 <= received(bot.api, KEES, "heeft u toegelaten") <= 2


# --- scenario: Els asks to be forgotten ----------------------------------------------------


async def forget_me(bot: Bot) -> list[int]:
    api, updates = bot.api, []
    updates.append(api.push_message(ELS, "/vergeetmij", first_name="Els"))
    question = await bot.until(lambda: api.wait_for_message(ELS, says("vergeet?"), STEP_TIMEOUT_S))
    updates.append(api.press_button(ELS, question, button(question, "Ja, vergeet mij"), first_name="Els"))
    await bot.until(lambda: api.wait_for_message(ELS, says("U bent vergeten"), STEP_TIMEOUT_S))
    return updates


def assert_forgotten(bot: Bot, tmp_path: Path) -> None:
    assert rows(tmp_path / "data" / "directory.db", "SELECT count(*) FROM person WHERE id = ?", ELS) == [(0,)]
    assert received(bot.api, ELS, "U bent vergeten") == 1


# --- the sweep ------------------------------------------------------------------------------

Scenario = Callable[[Bot], Awaitable[list[int]]]
Check = Callable[[Bot, Path], None]
SCENARIOS: dict[str, tuple[Scenario, Check]] = {
    "announce": (announce, assert_announced_once),
    "help": (help_each_other, assert_helped_once),
    "rsvp": (rsvp, assert_answered_once),
    "join": (approve_a_join, assert_let_in_once),
    "forget": (forget_me, assert_forgotten),
}
# The quick set (`make test`): one story per runtime, all five scenarios one after the other,
# dying at each of these points in turn (restarted each time with the points still ahead), so
# each point costs one restart. The sweep (`make crash`) runs every point of every scenario on
# its own, on both runtimes.
STORY = ("announce", "help", "rsvp", "join", "forget")
QUICK = {
    "aiogram": [failpoints.ANNOUNCEMENT_QUEUED, failpoints.HELP_CLAIMED, failpoints.RSVP_SAVED, failpoints.FORGOTTEN],
    "ptb": [failpoints.ANNOUNCEMENT_QUEUED, failpoints.HELP_ASKED, failpoints.HELP_RELAYED, failpoints.JOIN_DECIDED],
}
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
    "help": [
        f"{failpoints.FLOW_SAVED}@3",
        failpoints.HELP_ASKED,
        f"{failpoints.UPDATE_HANDLED}@6",
        f"{failpoints.UPDATE_KEPT}@7",
        failpoints.HELP_CLAIMED,
        f"{failpoints.UPDATE_HANDLED}@7",
        failpoints.HELP_RELAYED,
        f"{failpoints.UPDATE_HANDLED}@9",
        failpoints.HELP_CLOSED,
        f"{failpoints.UPDATE_HANDLED}@10",
    ],
    "rsvp": [failpoints.RSVP_SAVED, f"{failpoints.UPDATE_HANDLED}@2"],
    "join": [failpoints.JOIN_DECIDED, f"{failpoints.UPDATE_HANDLED}@2"],
    "forget": [failpoints.FORGOTTEN, f"{failpoints.UPDATE_HANDLED}@2"],
}
SWEEP_CASES = [(name, point, runtime) for name, points in POINTS_OF.items() for point in points for runtime in RUNTIMES]


async def run_to_the_end(bot: Bot, scenarios: tuple[str, ...], tmp_path: Path) -> None:
    """Plays the scenarios, then stops the bot cleanly once it died at every armed point, and
    checks what each scenario promises."""
    try:
        updates = [update for name in scenarios for update in await SCENARIOS[name][0](bot)]
        while bot.armed:  # a point after the last reply the test waited for
            await bot.dies()
        await bot.polling()
        await bot.stop()
    finally:
        await bot.kill()
    assert_every_update_handled(tmp_path, updates)
    for name in scenarios:
        SCENARIOS[name][1](bot, tmp_path)


@pytest.mark.timeout(240)  # six process starts, on a machine the rest of the suite shares
@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_a_village_story_survives_a_crash_at_each_step_that_writes(
    api: FakeBotAPI, tmp_path: Path, runtime: str
) -> None:
    bot = await started(api, tmp_path, runtime, QUICK[runtime])
    await run_to_the_end(bot, STORY, tmp_path)
    assert bot.fired == QUICK[runtime]


if SWEEP:  # collected only for the sweep, so `make test` lists no skipped cases

    @pytest.mark.parametrize(("scenario", "point", "runtime"), SWEEP_CASES, ids=["-".join(c) for c in SWEEP_CASES])
    async def test_the_bot_dies_at_a_failpoint_and_its_restart_applies_every_step_once(
        api: FakeBotAPI, tmp_path: Path, scenario: str, point: str, runtime: str
    ) -> None:
        bot = await started(api, tmp_path, runtime, [point])
        await run_to_the_end(bot, (scenario,), tmp_path)
        assert bot.fired == [point]

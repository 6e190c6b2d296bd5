"""Backup while the village is busy, restore into an empty folder, and the same village comes back."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.kernel.clock import ManualClock
from bot.transports.memory import SimulatedPerson
from tests.conftest import make_settings, start_village
from tests.test_activity_scenarios import jan_plans_the_street_party
from tests.test_cli import environment_for
from tests.test_help_scenarios import asks_for_groceries, member, offers_groceries


async def buurtbot(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in WORKDIR on WORKDIR/data, without blocking the event loop the bot runs in."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=workdir,
        env=environment_for(workdir),
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    return subprocess.CompletedProcess(args, process.returncode or 0, stdout.decode(), stderr.decode())


def rows(database: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(query).fetchall()


def person_ids(people: list[tuple[object, ...]]) -> list[int]:
    """The ids from PEOPLE's rows."""
    ids = []
    for person_id, _ in people:
        assert isinstance(person_id, int), person_id
        ids.append(person_id)
    return ids


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


PEOPLE = "SELECT id, name FROM person ORDER BY id"
MEMBERS = "SELECT person_id, network_id, status, role FROM membership ORDER BY person_id, network_id"
REQUESTS = "SELECT id, requester_id, category, description, status, helper_id FROM help_request ORDER BY id"
EVENTS = "SELECT id, title, place, starts_at, status FROM event ORDER BY id"


@dataclass(frozen=True)
class Busy:
    """Breugel-Noord with Anna's request and Jan's street party, backed up while neighbours kept joining."""

    workdir: Path
    backup: subprocess.CompletedProcess[str]
    before: dict[str, list[tuple[object, ...]]]  # as it was when the backup started
    joiners: list[int]  # who joined while the backup ran, in order
    after: dict[str, list[tuple[object, ...]]]  # as it was when the bot stopped

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    @property
    def backup_dir(self) -> Path:
        return self.workdir / "backup"


def snapshot(data: Path) -> dict[str, list[tuple[object, ...]]]:
    directory, noord = data / "directory.db", data / "networks" / "breugel-noord.db"
    return {
        "people": rows(directory, PEOPLE),
        "members": rows(directory, MEMBERS),
        "requests": rows(noord, REQUESTS),
        "events": rows(noord, EVENTS),
    }


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Busy:
    workdir = tmp_path_factory.mktemp("busy")
    return asyncio.run(_make_busy_village(workdir))


async def _make_busy_village(workdir: Path) -> Busy:
    clock = ManualClock(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    village = await start_village(make_settings(workdir / "data"), clock)
    try:
        anna, piet = await member(village, "Anna"), await member(village, "Piet")
        await offers_groceries(piet)
        await asks_for_groceries(anna)
        await jan_plans_the_street_party(village.jan)
        await member(village, "Els", village.centrum)
        before = snapshot(workdir / "data")

        backup = asyncio.create_task(buurtbot(workdir, "backup", str(workdir / "backup")))
        joiners: list[SimulatedPerson] = []
        while not backup.done() or len(joiners) < 3:  # neighbours keep joining while the copy is made
            joiners.append(await member(village, f"Buur {len(joiners) + 1}"))
        result = await backup
    finally:
        await village.bot.stop()
    return Busy(workdir, result, before, [j.id for j in joiners], snapshot(workdir / "data"))


def test_the_backup_of_a_busy_village_succeeds_and_every_copy_is_sound(busy: Busy) -> None:
    assert busy.backup.returncode == 0, busy.backup.stderr
    stores = [busy.backup_dir / "directory.db", *sorted((busy.backup_dir / "networks").glob("*.db"))]
    assert f"backed up {len(stores)} stores" in busy.backup.stdout
    assert busy.backup_dir / "networks" / "breugel-noord.db" in stores
    for store in stores:
        assert rows(store, "PRAGMA integrity_check") == [("ok",)], store


def test_the_backup_holds_the_village_as_it_was_and_some_neighbours_who_joined_meanwhile(busy: Busy) -> None:
    copy = snapshot(busy.backup_dir)
    assert copy["requests"] == busy.before["requests"] and len(copy["requests"]) == 1
    assert copy["events"] == busy.before["events"] and len(copy["events"]) == 1
    known = set(person_ids(busy.before["people"]))
    joined = [person_id for person_id in person_ids(copy["people"]) if person_id not in known]
    # One consistent moment: everyone from before, then the first few who joined while copying, no gaps.
    assert known <= {person_id for person_id, _ in copy["people"]}
    assert sorted(joined) == sorted(busy.joiners[: len(joined)])
    assert len(busy.after["people"]) == len(busy.before["people"]) + len(busy.joiners)


@pytest.fixture(scope="module")
def restored(busy: Busy, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    workdir = tmp_path_factory.mktemp("restored")
    return workdir, asyncio.run(buurtbot(workdir, "restore", str(busy.backup_dir)))


def test_restore_into_an_empty_folder_brings_back_every_store(
    busy: Busy, restored: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    workdir, result = restored
    assert result.returncode == 0, result.stderr
    stores = sorted(p.relative_to(busy.backup_dir) for p in busy.backup_dir.rglob("*.db"))
    assert sorted(p.relative_to(workdir / "data") for p in (workdir / "data").rglob("*.db")) == stores
    assert f"restored {len(stores)} stores" in result.stdout
    assert snapshot(workdir / "data") == snapshot(busy.backup_dir)


async def test_the_restored_bot_shows_the_same_members_requests_and_party(
    busy: Busy, restored: tuple[Path, subprocess.CompletedProcess[str]], clock: ManualClock
) -> None:
    workdir, _ = restored
    listing = await buurtbot(workdir, "network", "list")
    assert listing.returncode == 0, listing.stderr
    [(active,)] = rows(
        busy.backup_dir / "directory.db",
        "SELECT count(*) FROM membership JOIN network ON network.id = membership.network_id"
        " WHERE network.slug = 'breugel-noord' AND membership.status = 'active'",
    )
    assert isinstance(active, int)
    assert active >= 3  # Jan, Anna, Piet, and whoever had joined when the copy was made
    noord = next(line for line in listing.stdout.splitlines() if line.startswith("breugel-noord\t"))
    assert f"members={active} pending=0" in noord and "verbinders=Jan" in noord

    village = await start_village(make_settings(workdir / "data"), clock, seed=False, first_update_id=900_000)
    try:
        anna, jan = village.person("Anna"), village.jan
        await anna.says("/verzoeken")
        assert any("Boodschappen halen bij de Jumbo" in sent.text for sent in anna.inbox)
        await jan.says("/agenda")
        assert any("Straatfeest" in sent.text and "Speeltuin Kerkstraat" in sent.text for sent in jan.inbox)
        memberships = await village.bot.village.stores.directory.memberships_of(anna.id)
        assert [(view.network.slug, view.membership.status) for view in memberships] == [("breugel-noord", "active")]
    finally:
        await village.bot.stop()


async def test_restore_refuses_a_folder_that_already_has_stores_and_changes_nothing(busy: Busy) -> None:
    before = fingerprint(busy.data)
    result = await buurtbot(busy.workdir, "restore", str(busy.backup_dir))
    assert result.returncode == 1
    assert "already has stores" in result.stderr and "--force" in result.stderr
    assert fingerprint(busy.data) == before


async def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path: Path) -> None:
    (tmp_path / "not-a-backup" / "networks").mkdir(parents=True)
    result = await buurtbot(tmp_path, "restore", str(tmp_path / "not-a-backup"))
    assert result.returncode == 1
    assert "has no directory.db" in result.stderr
    assert not (tmp_path / "data").exists()


async def test_restore_refuses_a_damaged_backup_before_touching_anything(busy: Busy, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(busy.backup_dir, damaged)
    (damaged / "networks" / "breugel-noord.db").write_bytes(b"this is not a database" * 100)
    result = await buurtbot(tmp_path, "restore", str(damaged))
    assert result.returncode == 1
    assert "breugel-noord.db cannot be restored" in result.stderr
    assert not (tmp_path / "data").exists()


async def test_restore_with_force_moves_the_old_stores_aside_and_brings_the_backup(busy: Busy, tmp_path: Path) -> None:
    shutil.copytree(busy.data, tmp_path / "data")
    (tmp_path / "data" / "networks" / "opgeheven.db").write_bytes(b"")  # a network that is not in the backup
    result = await buurtbot(tmp_path, "restore", "--force", str(busy.backup_dir))
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path / "data") == snapshot(busy.backup_dir)
    assert not (tmp_path / "data" / "networks" / "opgeheven.db").exists()
    [aside] = [p for p in (tmp_path / "data").iterdir() if p.name.startswith("before-restore-")]
    assert str(aside) in result.stdout
    assert snapshot(aside) == busy.after  # nothing lost: the replaced stores are kept
    assert (aside / "networks" / "opgeheven.db").exists()


async def test_restore_refuses_to_restore_data_dir_onto_itself(busy: Busy) -> None:
    before = fingerprint(busy.data)
    result = await buurtbot(busy.workdir, "restore", "--force", str(busy.data))
    assert result.returncode == 1
    assert "is DATA_DIR itself" in result.stderr
    assert fingerprint(busy.data) == before


async def test_restore_refuses_while_a_bot_runs_on_data_dir_and_changes_nothing(busy: Busy, tmp_path: Path) -> None:
    from bot.application.data_lock import DataLock

    shutil.copytree(busy.data, tmp_path / "data")
    running = DataLock(tmp_path / "data")  # as `buurtbot run` holds it
    running.acquire()
    try:
        before = fingerprint(tmp_path / "data")
        result = await buurtbot(tmp_path, "restore", "--force", str(busy.backup_dir))
        assert result.returncode == 1
        assert "another Buurtbot" in result.stderr and "Nothing was changed" in result.stderr
        assert fingerprint(tmp_path / "data") == before
    finally:
        running.release()

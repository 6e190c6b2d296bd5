"""A store that is missing, empty, damaged, read-only or of an unknown schema is never silently
replaced: start-up stops, naming the file and how to restore it; a store damaged while the bot
runs costs one apology and an ERROR naming the file, and nothing kept before is lost."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.kernel.clock import ManualClock
from storage.errors import StoreProblem
from storage.stores import Stores
from tests.conftest import make_settings, start_village
from tests.test_cli import environment_for, finish
from tests.test_help_scenarios import asks_for_groceries, member

NOORD = Path("networks") / "breugel-noord.db"
CENTRUM = Path("networks") / "son-centrum.db"
DIRECTORY = Path("directory.db")


def rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(query).fetchall()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A village, stopped: Breugel-Noord with Anna's request for groceries, and Son-Centrum."""
    data = tmp_path_factory.mktemp("template") / "data"

    async def make() -> None:
        village = await start_village(make_settings(data), ManualClock(datetime(2026, 11, 28, 10, 0, tzinfo=UTC)))
        try:
            await asks_for_groceries(await member(village, "Anna"))
        finally:
            await village.bot.stop()

    asyncio.run(make())
    return data


def copy_of(template: Path, workdir: Path) -> Path:
    data = workdir / "data"
    shutil.copytree(template, data)
    return data


def empty(path: Path) -> None:
    path.write_bytes(b"")


def delete(path: Path) -> None:
    path.unlink()


def garbage(path: Path) -> None:
    path.write_bytes(b"these are not the pages of a database " * 200)


def drop_help_requests(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("DROP TABLE help_posting")
        connection.execute("DROP TABLE help_request")
        connection.commit()


def from_the_future(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE schema_version SET version = 99")
        connection.commit()


def scribble_over_a_page(path: Path) -> None:
    """The header is sound, but the page that holds Anna's request is not."""
    with closing(sqlite3.connect(path)) as connection:  # fold the write-ahead log into the file first
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = int(connection.execute("PRAGMA page_size").fetchone()[0])
        page = int(connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'help_request'").fetchone()[0])
    with path.open("r+b") as store:
        store.seek((page - 1) * page_size + 8)  # past the page's header: its cell pointers and cells
        store.write(b"\xff" * (page_size - 8))


async def opening(data: Path) -> StoreProblem:
    """Opens the village's stores as start-up does; returns what stopped it."""
    stores = Stores(data)
    try:
        with pytest.raises(StoreProblem) as stopped:
            await stores.open()
    finally:
        await stores.close()
    return stopped.value


@dataclass(frozen=True)
class Damage:
    store: Path
    harm: Callable[[Path], None]
    problem: str  # a word the one line says about it


DAMAGES = {
    "network store emptied to 0 bytes": Damage(NOORD, empty, "empty"),
    "network store deleted": Damage(NOORD, delete, "missing"),
    "network store not a database": Damage(NOORD, garbage, "not a database"),
    "network store with a damaged page": Damage(NOORD, scribble_over_a_page, "damaged"),
    "network store missing a table": Damage(NOORD, drop_help_requests, "schema"),
    "network store of a newer version": Damage(NOORD, from_the_future, "version 99"),
    "directory emptied to 0 bytes": Damage(DIRECTORY, empty, "empty"),
    "directory not a database": Damage(DIRECTORY, garbage, "not a database"),
    "directory deleted while network stores are there": Damage(DIRECTORY, delete, "missing"),
    "directory missing a table": Damage(DIRECTORY, lambda p: _drop(p, "invite"), "schema"),
}


def _drop(path: Path, table: str) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(f"DROP TABLE {table}")
        connection.commit()


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
async def test_a_damaged_store_stops_start_up_naming_the_file_and_is_left_as_it_was(
    template: Path, tmp_path: Path, damage: Damage
) -> None:
    data = copy_of(template, tmp_path)
    damaged = data / damage.store
    damage.harm(damaged)
    before = damaged.read_bytes() if damaged.exists() else None

    stopped = await opening(data)

    assert stopped.path == damaged
    assert damage.problem in stopped.problem
    assert "buurtbot restore" in stopped.remedy and "buurtbot backup" in stopped.remedy
    assert str(damaged) in str(stopped) and "\n" not in str(stopped)
    assert (damaged.read_bytes() if damaged.exists() else None) == before  # not replaced, not created


async def test_a_brand_new_data_dir_is_a_fresh_start(tmp_path: Path) -> None:
    stores = Stores(tmp_path / "data")
    await stores.open()
    await stores.close()
    assert (tmp_path / "data" / "directory.db").stat().st_size > 0


async def test_a_network_store_is_created_by_creating_the_network_not_by_using_it(tmp_path: Path) -> None:
    stores = Stores(tmp_path)
    await stores.open()
    try:
        with pytest.raises(StoreProblem) as stopped:
            async with stores.network("nergenshuizen"):
                pass
        assert stopped.value.path == stores.network_path("nergenshuizen")
        assert not stores.network_path("nergenshuizen").exists()

        await stores.create_network("breugel-noord")
        async with stores.network("breugel-noord") as store:
            assert await store.settings() == {}
    finally:
        await stores.close()


async def test_a_network_store_deleted_while_the_bot_runs_is_not_recreated(template: Path, tmp_path: Path) -> None:
    data = copy_of(template, tmp_path)
    stores = Stores(data, max_open=1)
    await stores.open()
    try:
        async with stores.network("son-centrum"):
            pass  # Breugel-Noord is closed now (one store open at most)
        (data / NOORD).unlink()
        with pytest.raises(StoreProblem) as stopped:
            async with stores.network("breugel-noord"):
                pass
        assert stopped.value.path == data / NOORD and "missing" in stopped.value.problem
        assert not (data / NOORD).exists()
    finally:
        await stores.close()


async def test_a_full_disk_while_running_is_logged_naming_the_store_and_nothing_kept_is_lost(
    template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = copy_of(template, tmp_path)
    stores = Stores(data)
    await stores.open()
    try:
        async with stores.network("breugel-noord") as store:
            await store.set_setting("escalation_hours", "48")
            async with store.connection() as connection:  # the store's one connection: the disk is full
                pages = (await connection.exec_driver_sql("PRAGMA page_count")).scalar_one()
                await connection.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
            caplog.set_level(logging.ERROR)
            with pytest.raises(OperationalError, match="full"):  # the handler's caller apologises
                await store.set_setting("welcome", "Welkom in de straat! " * 2_000)
            assert await store.settings() == {"escalation_hours": "48"}
    finally:
        await stores.close()
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(str(data / NOORD) in line and "full" in line for line in logged), logged
    assert rows(data / NOORD, "PRAGMA quick_check") == [("ok",)]
    assert rows(data / NOORD, "SELECT count(*) FROM help_request") == [(1,)]


# --- the real command, as a separate process -------------------------------------------------

CLI_DAMAGES = {
    "0-byte network store": (Damage(NOORD, empty, "empty"), "run"),
    "deleted network store": (Damage(NOORD, delete, "missing"), "console"),
    "garbage directory.db": (Damage(DIRECTORY, garbage, "not a database"), "network"),
    "dropped table": (Damage(NOORD, drop_help_requests, "schema"), "run"),
}
COMMANDS = {"run": ["run"], "console": ["console"], "network": ["network", "list"]}


def _start(
    workdir: Path, *args: str, prefix: tuple[str, ...] = (), files_up_to: int | None = None
) -> subprocess.Popen[str]:
    """`python -m bot ARGS` in WORKDIR; FILES_UP_TO bytes is as far as it may grow a file (as on
    a full disk: the write that crosses it fails)."""

    def limit_file_size() -> None:
        if files_up_to is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (files_up_to, files_up_to))

    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "bot", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=workdir,
        env=environment_for(workdir),
        preexec_fn=limit_file_size,  # only sets a resource limit, before the command starts
    )


def read_only(path: Path) -> tuple[str, ...]:
    """Makes PATH read-only; the command prefix that makes that bind root too (who may write anyway)."""
    path.chmod(0o444)
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only file cannot be made")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner")


@dataclass(frozen=True)
class Started:
    store: Path
    problem: str
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def started(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Started]]:
    """Each damage in its own folder, every command started side by side to save time."""
    runs = {}
    for name, (damage, command) in CLI_DAMAGES.items():
        workdir = tmp_path_factory.mktemp("cli-damage")
        data = copy_of(template, workdir)
        damage.harm(data / damage.store)
        runs[name] = Started(data / damage.store, damage.problem, _start(workdir, *COMMANDS[command]))
    workdir = tmp_path_factory.mktemp("cli-read-only")
    data = copy_of(template, workdir)
    prefix = read_only(data / NOORD)
    runs["read-only network store"] = Started(data / NOORD, "read-only", _start(workdir, "run", prefix=prefix))
    workdir = tmp_path_factory.mktemp("cli-full-disk")  # a brand-new DATA_DIR: the directory is made
    process = _start(workdir, "console", files_up_to=64_000)
    runs["full disk"] = Started(workdir / "data" / DIRECTORY, "disk", process)
    yield runs
    for run in runs.values():  # a test not run (deselected) leaves its command waiting for input
        if run.process.poll() is None:
            run.process.kill()
        run.process.communicate()


@pytest.mark.parametrize("name", [*CLI_DAMAGES, "read-only network store", "full disk"])
def test_buurtbot_refuses_to_start_on_a_damaged_store_in_one_line_naming_it(
    started: dict[str, Started], name: str
) -> None:
    run = started[name]
    result = finish(run.process)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(run.store) in lines[0] and run.problem in lines[0]
    assert ("write access" if run.problem == "read-only" else "buurtbot restore") in lines[0]


def made_but_cut_short(path: Path) -> None:
    """What SQLite leaves when a store's making stops before its first migration is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


async def test_a_first_start_cut_short_before_the_directory_had_tables_is_finished_at_the_next(
    tmp_path: Path,
) -> None:
    made_but_cut_short(tmp_path / "data" / DIRECTORY)
    stores = Stores(tmp_path / "data")
    await stores.open()
    try:
        assert await stores.directory.networks() == []
    finally:
        await stores.close()
    assert ("invite",) in rows(tmp_path / "data" / DIRECTORY, "SELECT name FROM sqlite_master WHERE type = 'table'")


async def test_an_emptied_directory_is_refused_even_before_any_network_was_made(tmp_path: Path) -> None:
    stores = Stores(tmp_path / "data")
    await stores.open()
    await stores.close()
    empty(tmp_path / "data" / DIRECTORY)  # people may have written to the bot: it held them
    stopped = await opening(tmp_path / "data")
    assert stopped.path == tmp_path / "data" / DIRECTORY and "empty" in stopped.problem


@pytest.mark.parametrize("leftover", [empty, made_but_cut_short], ids=["empty", "without tables"])
async def test_creating_a_network_finishes_a_store_its_last_creation_left_unfinished(
    tmp_path: Path, leftover: Callable[[Path], None]
) -> None:
    stores = Stores(tmp_path)
    await stores.open()
    try:
        leftover(stores.network_path("breugel-noord"))
        with pytest.raises(StoreProblem):  # using it is no way to make it
            async with stores.network("breugel-noord"):
                pass
        await stores.create_network("breugel-noord")
        async with stores.network("breugel-noord") as store:
            await store.set_setting("escalation_hours", "48")
            assert await store.settings() == {"escalation_hours": "48"}
    finally:
        await stores.close()

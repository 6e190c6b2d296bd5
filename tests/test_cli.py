"""The `buurtbot` command line, run as a real process the way a community manager types it."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.application.settings import Settings

INVITE_CODE = re.compile(r"/start ([A-Za-z0-9_-]+)")


def environment_for(workdir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any Buurtbot setting, then DATA_DIR=WORKDIR/data."""
    names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    env["DATA_DIR"] = str(workdir / "data")
    env.update(settings)
    return env


def start_buurtbot(workdir: Path, *args: str, **settings: str) -> subprocess.Popen[str]:
    """Starts `python -m bot ARGS` in WORKDIR (so no .env is read) on WORKDIR/data, without a token."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=workdir,
        env=environment_for(workdir, **settings),
    )


def finish(process: subprocess.Popen[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Types STDIN into a started command, then waits for it to end."""
    try:
        stdout, stderr = process.communicate(stdin, timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def buurtbot(workdir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return finish(start_buurtbot(workdir, *args), stdin)


def rows(database: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(query).fetchall()


@dataclass(frozen=True)
class Setup:
    """A community manager sets up Breugel-Noord from the terminal, one command after another."""

    workdir: Path
    add: subprocess.CompletedProcess[str]
    add_again: subprocess.CompletedProcess[str]
    appoint: subprocess.CompletedProcess[str]
    appoint_elsewhere: subprocess.CompletedProcess[str]
    listing: subprocess.CompletedProcess[str]
    invite: subprocess.CompletedProcess[str]
    piet_opens_invite: subprocess.CompletedProcess[str]
    backup: subprocess.CompletedProcess[str]

    @property
    def backup_dir(self) -> Path:
        return self.workdir / "backup"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    workdir = tmp_path_factory.mktemp("cli")
    add = buurtbot(workdir, "network", "add", "Breugel-Noord", "--streets", "Nieuwstraat,Kerkstraat")
    # both of these are refused, so they may run side by side
    elsewhere = start_buurtbot(workdir, "verbinder", "add", "nergenshuizen", "654321")
    add_again = buurtbot(workdir, "network", "add", "Breugel-Noord", "--streets", "Nieuwstraat,Dorpsstraat")
    appoint_elsewhere = finish(elsewhere)
    appoint = buurtbot(workdir, "verbinder", "add", "breugel-noord", "123456", "--name", "Jan")
    listing = buurtbot(workdir, "network", "list")
    invite = buurtbot(workdir, "invite", "breugel-noord")
    found = INVITE_CODE.search(invite.stdout)
    code = found.group(1) if found else "no-code-printed"
    piet_opens_invite = buurtbot(workdir, "console", stdin=f"/as Piet\n/start {code}\n")
    backup = buurtbot(workdir, "backup", str(workdir / "backup"))
    return Setup(workdir, add, add_again, appoint, appoint_elsewhere, listing, invite, piet_opens_invite, backup)


def test_network_add_creates_breugel_noord_with_its_slug(setup: Setup) -> None:
    assert setup.add.returncode == 0, setup.add.stderr
    assert "created Breugel-Noord (breugel-noord)" in setup.add.stdout


def test_network_list_shows_slug_both_streets_and_jan(setup: Setup) -> None:
    assert setup.listing.returncode == 0, setup.listing.stderr
    lines = setup.listing.stdout.splitlines()
    assert len(lines) == 1
    fields = lines[0].split("\t")
    assert fields[:2] == ["breugel-noord", "Breugel-Noord"]
    assert "verbinders=Jan" in fields
    assert "members=1 pending=0" in fields
    streets = next(field for field in fields if field.startswith("streets="))
    assert sorted(streets.removeprefix("streets=").split(", ")) == ["Kerkstraat", "Nieuwstraat"]


def test_adding_breugel_noord_twice_is_refused_and_changes_nothing(setup: Setup) -> None:
    assert setup.add_again.returncode != 0
    assert "Er bestaat al een buurtnetwerk „Breugel-Noord”" in setup.add_again.stderr
    assert "created" not in setup.add_again.stdout
    assert "Dorpsstraat" not in setup.listing.stdout
    assert setup.listing.stdout.count("breugel-noord") == 1


def test_verbinder_add_appoints_jan(setup: Setup) -> None:
    assert setup.appoint.returncode == 0, setup.appoint.stderr
    assert "Jan (123456) is now buurtverbinder of Breugel-Noord" in setup.appoint.stdout


def test_verbinder_add_for_an_unknown_network_is_refused(setup: Setup) -> None:
    assert setup.appoint_elsewhere.returncode != 0
    assert "Er is geen buurtnetwerk „nergenshuizen”" in setup.appoint_elsewhere.stderr
    assert "654321" not in setup.listing.stdout


def test_invite_link_lets_piet_join_at_once_in_the_console(setup: Setup) -> None:
    assert setup.invite.returncode == 0, setup.invite.stderr
    assert INVITE_CODE.search(setup.invite.stdout) is not None, setup.invite.stdout
    # Without a token or BOT_USERNAME the bot's name is unknown: no link to a made-up bot, but how to get one.
    assert "t.me" not in setup.invite.stdout
    assert "set BOT_USERNAME" in setup.invite.stdout

    console = setup.piet_opens_invite
    assert console.returncode == 0, console.stderr
    assert "Welkom bij buurtnetwerk Breugel-Noord! U bent nu lid." in console.stdout
    assert "Deze uitnodiging" not in console.stdout  # neither unknown nor used up


def test_with_bot_username_the_invite_is_a_telegram_link(setup: Setup) -> None:
    invite = finish(start_buurtbot(setup.workdir, "invite", "breugel-noord", BOT_USERNAME="buurtbot_son"))
    assert invite.returncode == 0, invite.stderr
    found = re.search(r"https://t\.me/buurtbot_son\?start=([A-Za-z0-9_-]+)", invite.stdout)
    assert found is not None, invite.stdout
    assert f"/start {found.group(1)}" in invite.stdout


def test_backup_copies_every_store_and_the_copy_opens(setup: Setup) -> None:
    assert setup.backup.returncode == 0, setup.backup.stderr
    assert "backed up 2 stores" in setup.backup.stdout
    directory = setup.backup_dir / "directory.db"
    network = setup.backup_dir / "networks" / "breugel-noord.db"
    assert rows(directory, "SELECT slug, name FROM network") == [("breugel-noord", "Breugel-Noord")]
    assert sorted(rows(directory, "SELECT name FROM person")) == [("Jan",), ("Piet",)]
    assert rows(network, "PRAGMA integrity_check") == [("ok",)]
    actions = [action for (action,) in rows(network, "SELECT action FROM audit_entry")]
    assert "joined_by_invite" in actions  # Piet's join, made after the last command before backup


def test_demo_seeds_the_village_once(tmp_path: Path) -> None:
    first = buurtbot(tmp_path, "demo")
    assert first.returncode == 0, first.stderr
    assert "added: Breugel-Noord, Son-Centrum, 't Zand" in first.stdout

    second = buurtbot(tmp_path, "demo")
    assert second.returncode == 0, second.stderr
    assert "the demo village is already there" in second.stdout
    assert "added" not in second.stdout
    networks = rows(tmp_path / "data" / "directory.db", "SELECT name FROM network ORDER BY name")
    assert networks == [("'t Zand",), ("Breugel-Noord",), ("Son-Centrum",)]


BAD_SETTINGS = {"TIMEZONE": "Mars/Olympus", "BROADCAST_RATE": "-1", "BOT_TOKEN": "nonsense"}


@dataclass(frozen=True)
class BadStart:
    workdir: Path
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def bad_starts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, BadStart]]:
    """`buurtbot run` with one bad setting each, in its own folder, started side by side to save time."""
    starts = {}
    for variable, value in BAD_SETTINGS.items():
        workdir = tmp_path_factory.mktemp(variable.lower())
        starts[variable] = BadStart(workdir, start_buurtbot(workdir, "run", **{variable: value}))
    yield starts
    for start in starts.values():
        if start.process.poll() is None:
            start.process.kill()
        start.process.communicate()


@pytest.mark.parametrize("variable", BAD_SETTINGS)
def test_a_bad_setting_stops_start_up_naming_the_variable(bad_starts: dict[str, BadStart], variable: str) -> None:
    start = bad_starts[variable]
    result = finish(start.process)
    assert result.returncode == 2
    assert f"bad setting: {variable}:" in result.stderr
    assert result.stdout == ""
    assert not (start.workdir / "data").exists()  # stopped before opening any store

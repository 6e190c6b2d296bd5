"""Start-up at its edges: every bad setting is one line and exit 2, a cosmetic call that fails
does not stop the bot."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import bot.transports.aiogram_door
import bot.transports.ptb_door  # noqa: F401 - the frameworks take seconds to import; pay it at collection
from bot.kernel.replies import html_to_plain
from bot.transports import telegram
from bot.transports.telegram import run_telegram
from tests.conftest import make_settings
from tests.doors import free_port
from tests.fakebotapi import FakeBotAPI
from tests.test_cli import environment_for, finish, start_buurtbot

RUNTIMES = ["aiogram", "ptb"]
ANNA = 2002
TOKEN = "123456:EDGES"


@dataclass(frozen=True)
class BadStart:
    workdir: Path
    process: subprocess.Popen[str]


def _bad_settings(root: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """A case name: the variable the message must name, and the settings that are wrong."""
    a_file = root / "a-file"
    a_file.write_text("not a folder")
    webhook = {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://buurtbot.example/hook"}
    return {
        "listen-nonsense": ("WEBHOOK_LISTEN", {**webhook, "WEBHOOK_LISTEN": "nonsense"}),
        "listen-port-out-of-range": ("WEBHOOK_LISTEN", {**webhook, "WEBHOOK_LISTEN": "0.0.0.0:70000"}),
        "webhook-not-https": ("WEBHOOK_URL", {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "http://buurtbot.example/hook"}),
        "data-dir-dev-null": ("DATA_DIR", {"DATA_DIR": "/dev/null"}),
        "data-dir-a-file": ("DATA_DIR", {"DATA_DIR": str(a_file)}),
        "data-dir-in-a-file": ("DATA_DIR", {"DATA_DIR": str(a_file / "data")}),
        "data-dir-read-only": ("DATA_DIR", {"DATA_DIR": "/proc/sys/buurtbot-data"}),
        "api-base-not-a-url": ("BOT_API_BASE_URL", {"BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": "api.telegram.org"}),
    }


@pytest.fixture(scope="module")
def bad_starts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, BadStart]]]:
    """`buurtbot run` with one bad setting each, started side by side to save time."""
    root = tmp_path_factory.mktemp("bad")
    starts = {}
    for case, (variable, values) in _bad_settings(root).items():
        workdir = tmp_path_factory.mktemp(case)
        starts[case] = (variable, BadStart(workdir, start_buurtbot(workdir, "run", **values)))
    yield starts
    for _, start in starts.values():
        if start.process.poll() is None:
            start.process.kill()
        start.process.communicate()


def assert_one_line_naming(result: subprocess.CompletedProcess[str], variable: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("buurtbot: ") and f"{variable}: " in lines[0], lines[0]


@pytest.mark.parametrize("case", list(_bad_settings(Path("/tmp"))))
def test_a_bad_setting_is_one_line_naming_the_variable_and_exit_2(
    bad_starts: dict[str, tuple[str, BadStart]], case: str
) -> None:
    variable, start = bad_starts[case]
    if case == "data-dir-read-only" and not Path("/proc/sys").is_dir():
        pytest.skip("no read-only /proc/sys here")
    assert_one_line_naming(finish(start.process), variable)
    assert not (start.workdir / "data").exists()


async def run_buurtbot(workdir: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=workdir,
        env=environment_for(workdir, **settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return subprocess.CompletedProcess(["run"], process.returncode or 0, stdout.decode(), stderr.decode())


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as server:
        yield server


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_a_token_telegram_refuses_is_one_line_and_exit_2(api: FakeBotAPI, tmp_path: Path, runtime: str) -> None:
    result = await run_buurtbot(
        tmp_path, BOT_TOKEN="654321:REVOKED", BOT_API_BASE_URL=api.base_url, BOT_RUNTIME=runtime
    )
    assert_one_line_naming(result, "BOT_TOKEN")
    assert "Telegram refused this token" in result.stderr


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_an_api_server_that_does_not_answer_is_one_line_and_exit_2(tmp_path: Path, runtime: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = await run_buurtbot(tmp_path, BOT_TOKEN=TOKEN, BOT_API_BASE_URL=nowhere, BOT_RUNTIME=runtime)
    assert_one_line_naming(result, "BOT_API_BASE_URL")
    assert "does not answer" in result.stderr


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_a_failing_command_menu_is_set_later_while_the_bot_serves(
    api: FakeBotAPI, tmp_path: Path, runtime: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(telegram, "COSMETIC_RETRY_DELAYS_S", (0.2, 0.2, 0.2), raising=True)
    api.fail_next("setMyCommands", error_code=500, count=2)  # the first try, and the first retry
    settings = make_settings(
        tmp_path / "data", bot_token=api.token, bot_api_base_url=api.base_url, bot_runtime=runtime, bot_username=""
    )
    stop = asyncio.Event()
    with caplog.at_level(logging.WARNING):
        running = asyncio.create_task(run_telegram(settings, stop))
        try:
            api.push_message(ANNA, "/privacy", first_name="Anna")
            answer = await api.wait_for_message(ANNA, timeout=15)
            assert "Uw gegevens bij Buurtbot" in html_to_plain(answer["text"] or "")
            assert await api.wait_until(lambda: {"", "nl", "en"} <= set(api.commands), timeout=15)
        finally:
            stop.set()
            assert await asyncio.wait_for(running, 20) == 0
    failures = [r for r in caplog.records if "command menu" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(failures) == 1, [r.getMessage() for r in failures]  # logged once, not at each retry
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_a_webhook_address_already_in_use_is_one_line_and_exit_2(
    api: FakeBotAPI, tmp_path: Path, runtime: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await run_buurtbot(
            tmp_path,
            BOT_TOKEN=TOKEN,
            BOT_API_BASE_URL=api.base_url,
            BOT_RUNTIME=runtime,
            WEBHOOK_URL="https://buurtbot.example/hook",
            WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        )
    assert_one_line_naming(result, "WEBHOOK_LISTEN")
    assert "cannot listen on 127.0.0.1" in result.stderr

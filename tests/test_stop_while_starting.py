"""A SIGTERM while `buurtbot run` is still starting stops it cleanly: exit 0, no traceback."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from tests.fakebotapi import FakeBotAPI
from tests.test_cli import environment_for


@pytest.mark.timeout(90)
@pytest.mark.parametrize("runtime", ["aiogram", "ptb"])
async def test_a_stop_asked_for_before_polling_began_ends_the_bot_cleanly(tmp_path: Path, runtime: str) -> None:
    async with FakeBotAPI(token="123456:EARLY") as api:
        api.delay("deleteWebhook", 1.0)  # the last call before polling begins: the stop comes meanwhile
        environment = environment_for(
            tmp_path, BOT_TOKEN=api.token, BOT_API_BASE_URL=api.base_url, BOT_RUNTIME=runtime, LOG_LEVEL="INFO"
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=environment, stderr=asyncio.subprocess.PIPE
        )
        await api.wait_for_call("deleteWebhook", timeout=60)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    said = stderr.decode()
    assert process.returncode == 0, said
    assert "Traceback" not in said and "stopped" in said

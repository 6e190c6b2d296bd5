"""One sender per village: only the running bot sends; a second one is refused at start and
touches nothing; what a CLI command queues, the running bot sends within seconds."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bench.common import REPOSITORY, VERBINDER_BASE, BotProcess, queue_announcement, seed_village
from bot.application.build import build_bot
from bot.application.settings import CannotStart, Settings
from bot.kernel.replies import Reply
from storage.models import DeliveryStatus, OutboxKind, OutboxMessage
from tests.fakebotapi import FakeBotAPI

TOKEN = "123:ABC"
TEXT = "De container voor het grofvuil staat er vanaf vrijdag."


async def test_a_second_bot_on_the_same_data_is_refused_before_it_resets_anything(settings: Settings) -> None:
    running = build_bot(settings, door="telegram")
    await running.start()
    village = running.village
    noord = await village.networks.add("Breugel-Noord", ["Kerkstraat"], village.clock.now())
    await village.outbox.queue(noord, [(7001, Reply("Herinnering"))], kind=OutboxKind.EVENT_REMINDER)
    async with village.stores.network(noord.slug) as store, store.transaction() as session:
        await session.exec(update(OutboxMessage).values(status=DeliveryStatus.SENDING))  # the running bot is sending it

    second = build_bot(settings, door="console")
    with pytest.raises(CannotStart, match="another Buurtbot") as refused:
        await second.start()
    assert str(settings.data_dir) in str(refused.value)
    await second.stop()  # as `run` does after a failed start: it must not let go of the first one's lock
    async with village.stores.network(noord.slug) as store, store.transaction() as session:
        assert (await session.exec(select(OutboxMessage.status))).all() == [DeliveryStatus.SENDING]
    with pytest.raises(CannotStart):
        await build_bot(settings, door="telegram").start()

    await running.stop()
    after = build_bot(settings, door="telegram")
    await after.start()  # the first one stopped: its lock is free
    await after.stop()


async def test_a_cli_command_and_a_test_driving_the_bot_take_no_lock(settings: Settings) -> None:
    running = build_bot(settings, door="telegram")
    await running.start()
    command = build_bot(settings, door="cli")
    await command.start(background=False)  # `buurtbot network add` while the bot runs
    await command.stop()
    await running.stop()


@pytest.mark.timeout(120)
async def test_a_second_buurtbot_run_says_another_runs_on_the_data_folder_and_exits_2(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await seed_village(data_dir, networks=1, members=3)
    async with FakeBotAPI(token=TOKEN) as api, BotProcess(data_dir, api.base_url, TOKEN) as first:
        await api.wait_for_call("getUpdates", timeout=60)
        async with BotProcess(data_dir, api.base_url, TOKEN) as second:
            assert await second.wait(60) == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("buurtbot: another Buurtbot"), second.stderr
        assert str(data_dir) in lines[0]
        assert first.process is not None and first.process.returncode is None  # the first runs on
        assert await first.stop() == 0


@pytest.mark.timeout(180)
async def test_what_a_cli_command_queues_the_running_bot_sends_and_a_cli_command_sends_nothing(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    seeded = await seed_village(data_dir, networks=1, members=120)
    slug, members = next(iter(seeded.members.items()))
    async with FakeBotAPI(token=TOKEN) as api, BotProcess(data_dir, api.base_url, TOKEN) as running:
        await api.wait_for_call("getUpdates", timeout=60)
        # Queued by another process, which cannot wake the running bot's sender.
        await queue_announcement(data_dir, slug, author=VERBINDER_BASE, text=TEXT, recipients=members)
        await api.wait_for_message(members[0], lambda r: TEXT in (r.get("text") or ""), timeout=20)
        # A CLI command in the middle of the announcement neither sends nor resets anything.
        command = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "network",
            "add",
            "Lindenbuurt",
            "--streets",
            "Lindelaan,Lindehof",
            cwd=tmp_path,
            env=running.environment | {"PYTHONPATH": str(REPOSITORY)},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, errors = await asyncio.wait_for(command.communicate(), 60)
        assert command.returncode == 0, errors.decode()
        assert len(received(api)) < len(members)  # it came in the middle
        await api.wait_for_message(VERBINDER_BASE, lambda r: "Verslag" in (r.get("text") or ""), timeout=60)
        assert await running.stop() == 0
    everyone = received(api)
    assert set(everyone) == set(members) and set(everyone.values()) == {1}
    async with _store(data_dir, slug) as statuses:
        assert statuses == {DeliveryStatus.SENT: len(members)}


def received(api: FakeBotAPI) -> Counter[int]:
    return Counter(int(r["chat_id"]) for r in api.sent if TEXT in (r.get("text") or ""))


class _store:
    """The outbox's statuses in one network's store, read after the bot stopped."""

    def __init__(self, data_dir: Path, slug: str) -> None:
        from tests.conftest import make_settings

        self.bot = build_bot(make_settings(data_dir), door="cli")
        self.slug = slug

    async def __aenter__(self) -> Counter[str]:
        await self.bot.start(background=False)
        async with self.bot.village.stores.network(self.slug) as store, store.transaction() as session:
            return Counter((await session.exec(select(col(OutboxMessage.status)))).all())

    async def __aexit__(self, *_: object) -> None:
        await self.bot.stop()

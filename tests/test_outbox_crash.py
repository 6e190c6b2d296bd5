"""The bot killed mid-announcement (SIGKILL, or a failpoint in the sender), restarted on the same
stores: every member has it, and only the messages truly in flight at the kill arrive twice.

A real `buurtbot run` process against the fake Bot API served here, over real HTTP, at the
default 30 messages a second.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.common import VERBINDER_BASE, BotProcess, queue_announcement, seed_village
from bot.kernel.failpoints import FAILPOINT_EXIT
from tests.fakebotapi import FakeBotAPI

TOKEN = "123:ABC"
MEMBERS = 150
TEXT = "Zaterdag is de Eikenlaan afgesloten voor het straatfeest."
IN_FLIGHT_AT_30 = 2  # handed to Telegram, answer not yet recorded: what a kill may repeat


def received(api: FakeBotAPI) -> Counter[int]:
    return Counter(int(r["chat_id"]) for r in api.sent if TEXT in (r.get("text") or ""))


async def announcement_queued(data_dir: Path) -> list[int]:
    """A village with one network of MEMBERS members, and an announcement to all of them waiting."""
    seeded = await seed_village(data_dir, networks=1, members=MEMBERS)
    slug, members = next(iter(seeded.members.items()))
    await queue_announcement(data_dir, slug, author=VERBINDER_BASE, text=TEXT, recipients=members)
    return members


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "kill",
    ["sigkill", "outbox.recorded@40", "outbox.handed_over@40", "outbox.claimed@3"],
)
async def test_killed_mid_announcement_and_restarted_every_member_has_it_and_at_most_two_twice(
    tmp_path: Path, kill: str
) -> None:
    data_dir = tmp_path / "data"
    members = await announcement_queued(data_dir)
    async with FakeBotAPI(token=TOKEN) as api:
        failpoint = "" if kill == "sigkill" else kill
        async with BotProcess(data_dir, api.base_url, TOKEN, failpoints=failpoint) as first:
            if kill == "sigkill":
                assert await api.wait_for_sent(60, timeout=60), first.stderr
                first.kill()
                assert await first.wait() < 0
            else:
                assert await first.wait(90) == FAILPOINT_EXIT, first.stderr
                assert f"failpoint {kill.partition('@')[0]}: dying" in first.stderr
        at_the_kill = received(api)
        assert 0 < len(at_the_kill) < MEMBERS  # it died half-way

        async with BotProcess(data_dir, api.base_url, TOKEN) as again:
            report = await api.wait_for_message(VERBINDER_BASE, lambda r: "Verslag" in (r.get("text") or ""), 90)
            assert await again.stop() == 0, again.stderr
        violations = api.violations
    everyone = received(api)
    assert set(everyone) == set(members)  # nothing lost
    twice = sum(count - 1 for count in everyone.values())
    assert twice <= IN_FLIGHT_AT_30, f"{twice} members got it twice (a batch of 16 was repeated before)"
    assert f"{MEMBERS} verstuurd" in (report["text"] or "")
    assert violations == []

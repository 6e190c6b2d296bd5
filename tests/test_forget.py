"""/forgetme (/vergeetmij): afterwards no store file holds the person's id, name or username."""

from __future__ import annotations

import struct
from pathlib import Path

from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.kernel.events import Sender
from storage.models import HelpStatus
from tests.conftest import start_village
from tests.test_activity_scenarios import jan_plans_the_street_party
from tests.test_help_scenarios import asks_for_groceries, member, offers_groceries, requests_in


def store_files(data_dir: Path) -> list[Path]:
    return [path for path in data_dir.rglob("*") if path.is_file() and ".db" in path.name]


async def test_forgetme_leaves_no_trace_in_any_store_file(settings: Settings, clock: ManualClock) -> None:
    village = await start_village(settings, clock)
    app = village.bot.village
    invite = await app.memberships.invite(village.noord, created_by=None, now=app.clock.now())
    annabel = village.person("Annabel")
    annabel.sender = Sender(annabel.id, "Annabel", "Zonnebloem", "annabel_sb", "nl")
    await annabel.says(f"/start {invite.code}")
    piet = await member(village, "Piet")
    await offers_groceries(annabel)
    await offers_groceries(piet)
    await asks_for_groceries(annabel)
    await piet.taps("Ik help")
    await annabel.taps("Bericht aan Piet")
    await annabel.says("Mijn deur is de blauwe, Zonnebloem staat erop")
    await jan_plans_the_street_party(village.jan)
    await annabel.taps("Ik kom")
    await village.jan.says("/bericht")
    await village.jan.says("Vergeet het straatfeest niet!")
    await village.jan.taps("Versturen")
    await app.sender.flush()

    await annabel.says("/vergeetmij")
    assert "Wilt u dat Buurtbot u vergeet?" in annabel.last_text
    await annabel.taps("Ja, vergeet mij")
    assert "U bent vergeten" in annabel.last_text
    assert await app.stores.directory.get_person(annabel.id) is None
    assert await requests_in(village, village.noord) == []
    traces = [b"Zonnebloem", b"annabel_sb", str(annabel.id).encode(), struct.pack(">q", annabel.id)]
    # While the bot runs on, right after she was told: not even the kept update of her own tap
    # (nor a page of the directory's log) still holds her.
    for path in store_files(settings.data_dir):
        content = path.read_bytes()
        for trace in traces:
            assert trace not in content, ("while running", path.name, trace)
    await village.jan.says("/leden")
    assert "Annabel Zonnebloem" not in village.jan.last.labels
    await village.bot.stop()

    for path in store_files(settings.data_dir):
        content = path.read_bytes()
        for trace in traces:
            assert trace not in content, (path.name, trace)


async def test_what_others_need_stays_without_the_name(settings: Settings, clock: ManualClock) -> None:
    village = await start_village(settings, clock)
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")
    await piet.says("/vergeetmij")
    await piet.taps("Ja, vergeet mij")
    [request] = await requests_in(village, village.noord)  # Anna's request is hers: it stays
    assert request.status == HelpStatus.CLAIMED and request.helper_id is None
    await village.jan.says("/vergeetmij")
    await village.jan.taps("Ja, vergeet mij")
    assert "U bent de enige buurtverbinder" in village.jan.answers[-1]
    assert await village.bot.village.stores.directory.get_person(village.jan.id) is not None
    await village.bot.stop()

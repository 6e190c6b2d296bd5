"""Steps handled again after a crash, in-process: the bot stops before marking an update handled,
starts again on the same stores, and handles it again. Nothing is applied twice; the messages
that follow a step go out again only if the crash came before them. (The crash suite,
tests/test_crash.py, does the same with a real process killed at each failpoint.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.kernel.events import Event, event_to_json
from tests.conftest import Village, start_village
from tests.test_help_scenarios import asks_for_groceries, member, offers_groceries


def _directory(settings: Settings) -> Path:
    return settings.data_dir / "directory.db"


def _network(settings: Settings) -> Path:
    return settings.data_dir / "networks" / "breugel-noord.db"


def _query(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql, params).fetchall()


class Remembered:
    """The updates a bot handled, as the core kept them (it forgets their content once handled)."""

    def __init__(self, village: Village) -> None:
        self.last: tuple[int, str] | None = None
        village.bot.listeners.append(self.handled)

    def handled(self, event: Event, _: float) -> None:
        if event.update_id is not None:
            self.last = (event.update_id, event_to_json(event))


async def handled_again(
    village: Village, settings: Settings, clock: ManualClock, remembered: Remembered, *, unsent: bool = False
) -> Village:
    """The last update was handled, but the bot stopped before marking it so (a crash): started
    again, it handles that update again. With `unsent`, the crash came before the messages that
    follow its step went out."""
    await village.bot.stop()
    assert remembered.last is not None
    update_id, event = remembered.last
    _query(
        _directory(settings),
        "UPDATE processed_update SET handled_at = NULL, event = ? WHERE update_id = ?",
        event,
        update_id,
    )
    if unsent:
        for store in (_directory(settings), _network(settings)):
            _query(store, "UPDATE applied_step SET told_at = NULL")
    again = await start_village(settings, clock, seed=False, first_update_id=90_000)
    again.bot.listeners.append(remembered.handled)
    await again.bot.drain()
    await again.bot.village.sender.flush()
    return again


def sent_to(village: Village, chat_id: int, fragment: str) -> int:
    return sum(fragment in message.text for message in village.door.chat(chat_id))


async def test_jans_send_tap_handled_again_queues_the_announcement_once(
    village: Village, settings: Settings, clock: ManualClock
) -> None:
    remembered = Remembered(village)
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await village.jan.says("/bericht")
    await village.jan.says("Zaterdag is de straat afgesloten.")
    await village.jan.taps("Versturen")
    await village.bot.village.sender.flush()
    assert sent_to(village, anna.id, "Zaterdag is de straat afgesloten") == 1

    again = await handled_again(village, settings, clock, remembered)
    try:
        assert _query(_network(settings), "SELECT count(*) FROM announcement") == [(1,)]
        assert _query(_network(settings), "SELECT count(*) FROM outbox_message WHERE kind = 'announcement'") == [(2,)]
        for person in (anna, piet):
            assert sent_to(again, person.id, "Zaterdag is de straat afgesloten") == 0
    finally:
        await again.bot.stop()


async def test_text_handled_again_after_its_step_was_saved_starts_from_where_it_started(
    village: Village, settings: Settings, clock: ManualClock
) -> None:
    remembered = Remembered(village)
    """Jan's text moved his announcement to its preview; handled again, it is read as the text
    it was, not as something typed at the preview."""
    await member(village, "Anna")
    await village.jan.says("/bericht")
    await village.jan.says("Zaterdag is de straat afgesloten.")
    assert "Zo ziet uw bericht eruit" in village.jan.last_text

    again = await handled_again(village, settings, clock, remembered)
    try:
        assert "Zo ziet uw bericht eruit" in again.jan.last_text
        await again.jan.taps("Versturen")
        assert "Uw bericht gaat naar 1 lid van Breugel-Noord" in again.jan.last_text
        assert _query(_network(settings), "SELECT text FROM announcement") == [("Zaterdag is de straat afgesloten.",)]
    finally:
        await again.bot.stop()


async def test_piets_claim_handled_again_tells_anna_nothing_more(
    village: Village, settings: Settings, clock: ManualClock
) -> None:
    remembered = Remembered(village)
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")
    assert "Piet gaat u helpen" in anna.last_text

    again = await handled_again(village, settings, clock, remembered)
    try:
        assert sent_to(again, anna.id, "gaat u helpen") == 0
        assert _query(_network(settings), "SELECT status, helper_id FROM help_request") == [("claimed", piet.id)]
    finally:
        await again.bot.stop()


async def test_piets_claim_handled_again_before_anna_was_told_tells_her_once(
    village: Village, settings: Settings, clock: ManualClock
) -> None:
    remembered = Remembered(village)
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")

    again = await handled_again(village, settings, clock, remembered, unsent=True)
    try:
        assert sent_to(again, anna.id, "gaat u helpen") == 1
        assert "Dank u! U helpt Anna" in again.door.chat(piet.id)[-1].text
    finally:
        await again.bot.stop()


async def test_jans_approval_handled_again_welcomes_kees_once(
    village: Village, settings: Settings, clock: ManualClock
) -> None:
    remembered = Remembered(village)
    kees = village.person("Kees")
    await kees.says("/start")
    await kees.says("Kerkstraat 3")
    await kees.taps("Ja")
    await village.jan.says("/aanmeldingen")
    await village.jan.taps("Toelaten")
    assert "toegelaten" in kees.last_text

    again = await handled_again(village, settings, clock, remembered)
    try:
        assert sent_to(again, kees.id, "toegelaten") == 0
    finally:
        await again.bot.stop()

    told_late = await handled_again(again, settings, clock, remembered, unsent=True)
    try:
        assert sent_to(told_late, kees.id, "toegelaten") == 1
    finally:
        await told_late.bot.stop()

"""The log never holds a name, username, phone number or message text: a failing handler's line
names the update, its kind and the handler, and nothing its sender wrote or is called."""

from __future__ import annotations

import logging

import pytest

from bot.kernel.events import Sender
from tests.conftest import Village
from tests.test_help_scenarios import member


async def test_a_handler_that_fails_on_purpose_logs_the_update_and_the_handler_but_not_the_person(
    village: Village, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    anna = await member(village, "Anna")
    anna.sender = Sender(anna.id, "Annabel", "Zonnebloem", "annabel_sb", "nl")
    typed = "Mijn nummer is 06-12345678, bel na vijven"

    async def fails(*_: object, **__: object) -> object:
        # As a real bug might: an error whose message quotes what she typed and who she is.
        raise ValueError(f"cannot read {typed!r} from {anna.sender.first_name} {anna.sender.username}")

    monkeypatch.setattr(village.bot.village.help, "visible_to", fails)
    caplog.set_level(logging.DEBUG)
    await anna.says(f"/verzoeken {typed}")
    assert "Sorry" in anna.last_text or "sorry" in anna.last_text.casefold()

    [line] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    logged = caplog.text
    assert "(Message) failed in handlers.neighbour_help.requests" in line.getMessage()
    assert "update " in line.getMessage() and "ValueError" in line.getMessage()
    for secret in ("Annabel", "Zonnebloem", "annabel_sb", "06-12345678", "bel na vijven"):
        assert secret not in logged, secret

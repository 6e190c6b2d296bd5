"""One street network of both apps, over the fake Bot API and the fake Graph API at once: Anna on
WhatsApp, Piet and Jan (the buurtverbinder) on Telegram. An activity both answer, an announcement
both get once, and each person reached only through their own app, Anna's number shown to nobody.
(The help story of a WhatsApp asker and a Telegram helper is in tests/test_whatsapp_scenarios.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlmodel import select

from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from storage.models import Answer, Rsvp
from tests.doors import WhatsAppHarness, Who, start_door, wa_id_of, whatsapp_plain
from tests.fakebotapi import FakeBotAPI
from tests.test_scenarios import INVITES, JAN, PIET, seed

ANNA_PHONE = "31655501234"
ANNOUNCED = "Zaterdag is de straat *afgesloten* voor het straatfeest!"


@dataclass
class Mixed:
    door: WhatsAppHarness
    api: FakeBotAPI
    jan: Who  # buurtverbinder of Breugel-Noord, on Telegram
    anna: Who  # on WhatsApp, new to the bot: a person id of WhatsApp's range
    piet: Who  # on Telegram

    def telegram_texts(self) -> str:
        """Everything the bot sent on Telegram, to anyone."""
        return "\n".join(record.get("text") or "" for record in self.api.sent)

    def whatsapp_sent_to(self, who: Who) -> list[str]:
        return [whatsapp_plain(message.text or "") for message in self.door.graph.messages_to(self.door.wa_id(who))]


@pytest.fixture
async def mixed(settings: Settings, clock: ManualClock) -> AsyncIterator[Mixed]:
    fast = settings.model_copy(update={"broadcast_rate": 1000.0})  # the outbox never waits in these tests
    async with FakeBotAPI(token="123456:MIXED") as api:
        door = await start_door("whatsapp", fast, clock, api, seed)
        assert isinstance(door, WhatsAppHarness)
        try:
            village = door.bot.village
            noord = await village.networks.by_slug("breugel-noord")
            second = (await village.memberships.invite(noord, created_by=JAN, now=village.clock.now())).code
            anna = await door.newcomer("Anna", ANNA_PHONE, f"/start {INVITES[-1]}")
            door.on_telegram.add(PIET)
            piet = Who(door, "Piet", PIET)
            await piet.says(f"/start {second}")
            for member in (anna, piet):
                assert "Welkom bij buurtnetwerk Breugel-Noord" in member.last.text
            yield Mixed(door, api, Who(door, "Jan", JAN), anna, piet)
        finally:
            await door.stop()
        # Jan and Piet act several times a second, faster than people do: only a private chat's burst
        # of a few a second is ever exceeded, never the bot's overall limit.
        assert {violation["kind"] for violation in api.violations} <= {"private_chat"}


async def jan_plans_the_street_party(jan: Who) -> None:
    await jan.says("/menu")
    await jan.taps("Nieuwe activiteit")
    await jan.says("Straatfeest")
    await jan.says("zaterdag 5 december 15:00")
    await jan.taps("Ja, dat klopt")
    await jan.says("Speeltuin Kerkstraat")
    await jan.taps("Overslaan")
    await jan.taps("Geen maximum")
    await jan.taps("Publiceren")
    assert "Gepubliceerd!" in jan.last.text
    await jan.door.bot.village.sender.flush()  # the invitations go through the outbox


async def test_anna_on_whatsapp_and_piet_on_telegram_answer_one_invitation_and_jan_counts_both(
    mixed: Mixed,
) -> None:
    anna, piet, jan = mixed.anna, mixed.piet, mixed.jan
    await jan_plans_the_street_party(jan)
    for member in (anna, piet):
        assert "Uitnodiging" in member.last.text and "Straatfeest" in member.last.text
        assert member.last.labels[:3] == ["Ik kom", "Misschien", "Kan niet"]
    invited = len(anna.inbox)

    await anna.taps("Ik kom")  # a row of a WhatsApp list
    # WhatsApp cannot edit: her answer comes as one new message, the invitation stays as it was.
    assert len(anna.inbox) == invited + 1
    assert "✅ U komt." in anna.last.text and "✅ Ik kom" in anna.last.labels
    assert "Komt u?" in anna.inbox[invited - 1].text
    before = len(piet.inbox)
    await piet.taps("Misschien")  # an inline button on Telegram: his invitation changes in place
    assert len(piet.inbox) == before
    assert "🤔 U komt misschien." in piet.last.text and "👍 1 komen · 🤔 1 misschien" in piet.last.text

    copies = [seen for seen in jan.inbox if "👍" in seen.text and "Straatfeest" in seen.text]
    assert len(copies) == 1  # the organiser's copy, edited on Telegram for each answer, not resent
    assert "👍 1 komen · 🤔 1 misschien" in copies[0].text  # both apps' answers, counted together

    village = mixed.door.bot.village
    async with village.stores.network("breugel-noord") as store, store.transaction() as session:
        answers = {rsvp.person_id: rsvp.answer for rsvp in (await session.exec(select(Rsvp))).all()}
    assert answers == {anna.id: Answer.YES, piet.id: Answer.MAYBE}
    assert ANNA_PHONE not in mixed.telegram_texts()  # her number is in no message on Telegram


async def test_jans_announcement_reaches_anna_on_whatsapp_and_piet_on_telegram_exactly_once(mixed: Mixed) -> None:
    anna, piet, jan = mixed.anna, mixed.piet, mixed.jan
    await jan.says("/bericht")
    await jan.says(ANNOUNCED)
    await jan.taps("Versturen")
    assert "Uw bericht gaat naar 2 leden van Breugel-Noord" in jan.last.text
    await jan.door.bot.village.sender.flush()

    for member in (anna, piet):
        got = [seen.text for seen in member.inbox if "Bericht van Breugel-Noord" in seen.text]
        assert len(got) == 1, (member.name, got)
        assert ANNOUNCED in got[0]  # as Jan typed it: on WhatsApp his *…* is text, not bold
    on_whatsapp = [text for text in mixed.whatsapp_sent_to(anna) if "Bericht van Breugel-Noord" in text]
    assert len(on_whatsapp) == 1  # over the wire too: one message to her number
    assert mixed.api.messages_to(anna.id) == []  # nothing of hers went to Telegram...
    assert mixed.door.graph.messages_to(wa_id_of(PIET)) == []  # ...and nothing of Piet's to WhatsApp
    assert "Verslag van uw bericht aan Breugel-Noord" in jan.last.text and "2 verstuurd" in jan.last.text


async def test_jan_sees_both_neighbours_among_his_members_and_never_annas_number(mixed: Mixed) -> None:
    jan = mixed.jan
    await jan.says("/leden")
    assert "Leden van Breugel-Noord" in jan.last.text
    members = " ".join(jan.last.labels)
    assert "Anna" in members and "Piet" in members  # one list, whichever app each is on
    await jan.taps("Anna")
    assert "Anna" in jan.last.text
    assert ANNA_PHONE not in jan.last.text and ANNA_PHONE not in mixed.telegram_texts()
    # Each person is written to through their own app only, by both fakes in one run.
    assert mixed.api.messages_to(mixed.anna.id) == []
    assert mixed.door.graph.messages_to(wa_id_of(PIET)) == [] and mixed.door.graph.messages_to(wa_id_of(JAN)) == []
    assert mixed.whatsapp_sent_to(mixed.anna) and mixed.api.messages_to(PIET) and mixed.api.messages_to(JAN)

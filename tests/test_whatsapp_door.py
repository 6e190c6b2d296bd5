"""The WhatsApp door over real HTTP against the fake Graph API: Meta's handshake and signatures,
redelivery, a first "Hallo", taps on reply buttons and list rows, plain words, statuses, the rule
for edits, and a phone number that appears in no log line."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import text

from bot.application.settings import Settings
from bot.kernel.clock import ManualClock
from bot.kernel.replies import Button, Reply, keyboard
from bot.transports.whatsapp.inbound import signature_ok
from bot.transports.whatsapp.words import as_typed
from storage.identities import FIRST_APP_PERSON_ID, WHATSAPP, AppIdentities
from storage.models import OutboxKind
from tests.doors import WhatsAppHarness, Who, start_door, wa_id_of, whatsapp_plain
from tests.fakegraphapi import OutboundMessage
from tests.test_scenarios import INVITES, JAN, seed

ANNA_PHONE = "31612345678"  # a newcomer: not in the directory, not registered by the harness


@pytest.fixture
async def door(settings: Settings, clock: ManualClock) -> AsyncIterator[WhatsAppHarness]:
    harness = await start_door("whatsapp-only", settings, clock, None, seed)
    assert isinstance(harness, WhatsAppHarness)
    yield harness
    await harness.stop()


def url(door: WhatsAppHarness) -> str:
    assert door.graph.webhook_url is not None
    return door.graph.webhook_url


async def person_of(door: WhatsAppHarness, wa_id: str) -> int | None:
    return await AppIdentities(door.bot.village.stores.directory).person_of(WHATSAPP, wa_id)


def texts(messages: list[OutboundMessage]) -> list[str]:
    return [whatsapp_plain(message.text or "") for message in messages]


# --- Meta's handshake and signatures -----------------------------------------------------------


async def test_meta_verifies_the_webhook_only_with_the_right_verify_token(door: WhatsAppHarness) -> None:
    assert await door.graph.verify_webhook(challenge="1158201444") == (200, "1158201444")
    status, _ = await door.graph.verify_webhook(verify_token="guessed", challenge="1158201444")
    assert status == 403
    async with aiohttp.ClientSession() as http, http.get(url(door), params={"hub.challenge": "1"}) as response:
        assert response.status == 403  # no hub.mode=subscribe


@pytest.mark.parametrize("signing", ["wrong", "missing"])
async def test_an_update_signed_wrongly_or_not_at_all_is_refused_logged_and_not_handled(
    door: WhatsAppHarness, signing: str, caplog: pytest.LogCaptureFixture
) -> None:
    door.graph.signing = signing  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING):
        delivery = await door.graph.send_text_from_user(ANNA_PHONE, "Hallo", name="Anna")
    assert delivery.status == 401
    assert "X-Hub-Signature-256" in caplog.text
    assert door.graph.messages_to(ANNA_PHONE) == []
    assert await person_of(door, ANNA_PHONE) is None  # not even recorded

    door.graph.signing = "valid"
    assert await door.graph.redeliver(delivery) == 200  # Meta tries again, signed: now it is taken
    await door.graph.wait_for_messages(ANNA_PHONE, 1)


def test_the_signature_is_the_hmac_of_the_raw_body() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    import hashlib
    import hmac

    good = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert signature_ok(body, good, "secret")
    assert signature_ok(body, good.upper().replace("SHA256=", "sha256="), "secret")
    assert not signature_ok(body + b" ", good, "secret")  # re-serialised JSON is another body
    assert not signature_ok(body, good, "other secret")
    assert not signature_ok(body, "sha256=ü", "secret")
    assert not signature_ok(body, None, "secret")


# --- a resident's first message, redelivery, privacy -----------------------------------------


async def test_annas_first_hallo_starts_the_conversation_with_buttons_and_her_number_is_logged_nowhere(
    door: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await door.graph.send_text_from_user(ANNA_PHONE, "Hallo", name="Anna")
    [welcome] = await door.graph.wait_for_messages(ANNA_PHONE, 1)
    assert "Welkom, Anna!" in whatsapp_plain(welcome.text or "")
    assert welcome.type == "interactive" and (welcome.buttons or welcome.rows)

    anna = await person_of(door, ANNA_PHONE)
    assert anna is not None and anna >= FIRST_APP_PERSON_ID  # beyond every Telegram user id
    person = await door.bot.village.stores.directory.get_person(anna)
    assert person is not None and person.name == "Anna"
    async with door.bot.village.stores.directory.connection() as connection:
        kept = (await connection.execute(text("SELECT event FROM processed_update"))).scalars().all()
    assert kept and not any(ANNA_PHONE in (event or "") for event in kept)  # events carry the person id only

    await door.graph.send_text_from_user(ANNA_PHONE, "Kerkstraat 12")
    await door.graph.wait_for_messages(ANNA_PHONE, 2)
    await door.stop()  # everything logged until the end
    assert ANNA_PHONE not in caplog.text
    assert "Anna" not in caplog.text


async def test_a_message_meta_delivers_twice_is_handled_once(door: WhatsAppHarness) -> None:
    delivery = await door.graph.send_text_from_user(ANNA_PHONE, "Hallo", name="Anna")
    await door.graph.wait_for_messages(ANNA_PHONE, 1)
    assert await door.graph.redeliver(delivery) == 200
    assert await door.graph.redeliver(delivery) == 200
    await door.graph.send_text_from_user(ANNA_PHONE, "/privacy")  # handled after the redeliveries
    await door.graph.wait_for_messages(ANNA_PHONE, 2)
    assert len(door.graph.messages_to(ANNA_PHONE)) == 2
    assert sum("Welkom" in t for t in texts(door.graph.messages_to(ANNA_PHONE))) == 1


# --- taps and words ------------------------------------------------------------------------


async def test_a_list_row_and_a_reply_button_reach_the_handlers_they_reach_on_telegram(door: WhatsAppHarness) -> None:
    anna, jan = Who(door, "Anna", 2002), Who(door, "Jan", JAN)
    await anna.says("Hallo")
    await anna.says("Kerkstraat 12")
    [asked] = door.graph.messages_to(wa_id_of(anna.id))[-1:]
    assert asked.interactive == "list"  # "Ja, dat is mijn straat" is over 20 characters: a list
    assert [row.title for row in asked.rows] == ["Ja, dat is mijn straat", "Nee, een andere straat"]
    await anna.taps("Ja, dat is mijn straat")
    assert anna.saw("doorgestuurd naar de buurtverbinder")

    [request] = door.graph.messages_to(wa_id_of(JAN))[-1:]
    assert request.interactive == "button" and request.button_titles == ["✅ Toelaten", "❌ Afwijzen"]
    await jan.taps("Toelaten")
    assert jan.saw("U heeft Anna toegelaten tot Breugel-Noord")
    assert "Jan heeft u toegelaten tot buurtnetwerk Breugel-Noord" in anna.last.text


async def test_plain_words_work_as_the_commands_do(door: WhatsAppHarness) -> None:
    piet = Who(door, "Piet", 3003)
    await piet.says(f"/start {INVITES[-1]}")
    assert "Welkom bij buurtnetwerk Breugel-Noord" in piet.last.text
    await piet.says("Taal")
    assert "In welke taal wilt u berichten krijgen?" in piet.last.text
    assert piet.last.labels[:2] == ["Nederlands", "English"]
    await piet.taps("English")
    await piet.says("stop!")
    assert "nothing to" in piet.last.text.casefold() or "cancel" in piet.last.text.casefold()
    await piet.says("hulp")
    help_by_word = piet.last.text
    await piet.says("/hulp")
    assert piet.last.text == help_by_word
    await piet.says("ik zoek hulp")  # a sentence is a sentence
    assert piet.last.text != help_by_word


def test_which_words_are_commands() -> None:
    assert as_typed("Hallo", first=True) == "/start"
    assert as_typed("Hallo", first=False) == "Hallo"
    assert as_typed("  Menu ", first=False) == "/menu"
    assert as_typed("hulp?", first=True) == "/help"
    assert as_typed("Vergeet mij", first=False) == "/forgetme"
    assert as_typed("mijn gegevens", first=False) == "/mydata"
    assert as_typed("/start abc123", first=True) == "/start abc123"
    assert as_typed("Kerkstraat 12", first=False) == "Kerkstraat 12"
    assert as_typed("hulp bij boodschappen", first=False) == "hulp bij boodschappen"


# --- statuses and edits ------------------------------------------------------------------------


async def test_a_failed_status_marks_the_outbox_row_and_delivered_and_read_change_nothing(
    door: WhatsAppHarness,
) -> None:
    piet = Who(door, "Piet", 3003)
    await piet.says(f"/start {INVITES[-1]}")
    village = door.bot.village
    noord = await village.networks.by_slug("breugel-noord")
    door.graph.fail_to(wa_id_of(piet.id), 131026, via="status", count=1)
    await village.outbox.queue(noord, [(piet.id, Reply("Straatfeest zaterdag!"))], kind=OutboxKind.ANNOUNCEMENT)
    await village.outbox.queue(noord, [(piet.id, Reply("Het feest gaat door."))], kind=OutboxKind.ANNOUNCEMENT)
    await village.sender.flush()
    assert await door.graph.wait_for_webhooks()

    async def statuses() -> list[str]:
        async with village.stores.network(noord.slug) as store, store.connection() as connection:
            query = text("SELECT status FROM outbox_message WHERE chat_id = :chat ORDER BY id")
            return list((await connection.execute(query, {"chat": piet.id})).scalars().all())

    assert await statuses() == ["unreachable", "sent"]  # the first failed after Meta took it
    [arrived] = door.graph.messages_to(wa_id_of(piet.id))[-1:]
    assert "Het feest gaat door." in (arrived.text or "")
    delivery = await door.graph.read_by_user(arrived)
    assert delivery.status == 200
    assert await statuses() == ["unreachable", "sent"]


async def test_an_edit_sends_a_new_message_only_to_the_one_who_tapped(door: WhatsAppHarness) -> None:
    piet = Who(door, "Piet", 3003)
    await piet.says(f"/start {INVITES[-1]}")
    village = door.bot.village
    sent_before = len(door.graph.messages_to(wa_id_of(piet.id)))
    message_id = await village.messenger.send(piet.id, Reply("Kies", keyboard(Button("Ja", "x:1"))))
    assert message_id is not None
    # Someone else's action changes Piet's message (live counts, "Al opgepakt"): nothing is sent.
    assert await village.messenger.edit(piet.id, message_id, Reply("Kies (al gekozen)")) is False
    assert len(door.graph.messages_to(wa_id_of(piet.id))) == sent_before + 1
    # A tap whose outcome replaces the tapped message (the language menu): the outcome comes as one
    # new message, then the main menu the handler sends after it, as on Telegram.
    await piet.says("taal")
    before_tap = len(door.graph.messages_to(wa_id_of(piet.id)))
    await piet.taps("Nederlands")
    outcome, menu = texts(door.graph.messages_to(wa_id_of(piet.id))[before_tap:])
    assert outcome == "Ik schrijf u voortaan in het Nederlands." and outcome not in menu


async def test_the_bots_own_calls_to_meta_are_well_formed(door: WhatsAppHarness) -> None:
    await door.graph.send_text_from_user(ANNA_PHONE, "Hallo", name="Anna")
    await door.graph.wait_for_messages(ANNA_PHONE, 1)
    [(endpoint, body)] = [request for request in door.graph.requests if request[0] == "messages"]
    assert endpoint == "messages" and body["to"] == ANNA_PHONE and body["recipient_type"] == "individual"
    assert json.dumps(body)  # plain JSON, as Meta takes it
    assert door.graph.violations == []


def test_meta_pair_rate_holds_back_one_person_and_throughput_the_whole_app() -> None:
    from bot.kernel.port import PairRateLimited, RateLimited
    from bot.transports.whatsapp.errors import door_error

    assert isinstance(door_error(131056), PairRateLimited)  # too many to one person: only they wait
    throughput = door_error(130429)
    assert isinstance(throughput, RateLimited) and not isinstance(throughput, PairRateLimited)


def test_both_apps_at_once_a_chat_takes_the_budget_of_its_own_app() -> None:
    from bot.delivery.budget import TELEGRAM
    from bot.transports.whatsapp.routing import RoutingPort
    from storage.identities import WHATSAPP

    class Reaches:
        port = None

        def reaches(self, chat_id: int) -> bool:
            return chat_id == 2**53 + 7

    routing = RoutingPort(telegram=None, whatsapp=Reaches())  # type: ignore[arg-type]
    assert routing.app_of(2**53 + 7) == WHATSAPP
    assert routing.app_of(123456) == TELEGRAM and routing.app_of(-100123) == TELEGRAM

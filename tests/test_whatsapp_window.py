"""WhatsApp's 24-hour window over the fake Graph API: inside it messages go as they are; outside it each
unprompted message goes as its approved template (names, network and request filled in), whose button
opens the window and shows the message itself; Meta's 131047 brings the template too; a message with
no template is not sent and its outbox row fails. And the templates themselves: each in the file to
submit to Meta, in both languages, with as many placeholders as the registry fills."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.application.settings import LANGUAGES, Settings
from bot.delivery.messenger import Messenger
from bot.delivery.outbox import Outbox
from bot.delivery.post import Post
from bot.kernel.clock import ManualClock
from bot.kernel.replies import Reply
from bot.language.renderer import Renderer
from bot.transports.whatsapp.ids import number_of
from bot.transports.whatsapp.port import WhatsAppPort
from bot.transports.whatsapp.render import WORD_JOINER, length
from bot.transports.whatsapp.submission import BODY_MAX, BUTTON_MAX, body, button_text, submission_json
from bot.transports.whatsapp.templates import EMPTY, PARAM_MAX, TEMPLATES, parameter
from storage.models import DeliveryStatus, OutboxKind, OutboxMessage, Person
from tests.doors import WhatsAppHarness, Who, start_door, whatsapp_plain
from tests.fakegraphapi import FakeGraphAPI, OutboundMessage
from tests.test_scenarios import JAN, seed
from tests.test_templates import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
SUBMISSION = ROOT / "docs" / "whatsapp-templates.json"
ANNA_PHONE, PIET_PHONE = "31611110001", "31611110002"
LATER = timedelta(hours=25)
REQUEST = "Boodschappen halen bij de Jumbo, ik heb een lijstje"


def register_templates(graph: FakeGraphAPI) -> None:
    """What Meta would have approved: every template of the registry, in both languages."""
    renderer = Renderer()
    for template in TEMPLATES.values():
        for language in LANGUAGES:
            button = button_text(renderer, language, template.button)
            graph.register_template(template.name, language, body_params=len(template.params), buttons=[button])


@pytest.fixture
async def door(settings: Settings, clock: ManualClock) -> AsyncIterator[WhatsAppHarness]:
    harness = await start_door("whatsapp-only", settings, clock, None, seed)
    assert isinstance(harness, WhatsAppHarness)
    register_templates(harness.graph)
    yield harness
    await harness.stop()  # and no message Meta refused as malformed, nor a template that does not fit


async def newcomer(door: WhatsAppHarness, name: str, phone: str) -> Who:
    """Someone new writes from WhatsApp with an invite of Breugel-Noord and is a member at once."""
    village = door.bot.village
    noord = await village.networks.by_slug("breugel-noord")
    code = (await village.memberships.invite(noord, created_by=JAN, now=village.clock.now())).code
    who = await door.newcomer(name, phone, f"/start {code}")
    assert "Welkom bij buurtnetwerk Breugel-Noord" in who.last.text
    return who


async def offers_groceries(helper: Who) -> None:
    await helper.says("aanbod")
    await helper.taps("Boodschappen")
    await helper.taps("Opslaan")


async def asks_for_groceries(asker: Who) -> None:
    await asker.says("vraag")
    await asker.taps("Boodschappen")
    await asker.says(REQUEST)
    await asker.says("woensdag 14:00")
    await asker.taps("Ja, dat klopt")
    await asker.taps("Iedereen")
    await asker.taps("Plaatsen")
    await asker.door.bot.village.sender.flush()


def sent_to(door: WhatsAppHarness, who: Who) -> list[OutboundMessage]:
    return door.graph.messages_to(door.wa_id(who))


def port_of(door: WhatsAppHarness) -> WhatsAppPort:
    port = door.bot.village.messenger.port
    assert isinstance(port, WhatsAppPort)
    return port


async def anna_asks_and_piet_offers(door: WhatsAppHarness) -> tuple[Who, Who]:
    anna, piet = await newcomer(door, "Anna", ANNA_PHONE), await newcomer(door, "Piet", PIET_PHONE)
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    assert "Een buur vraagt om hulp" in piet.last.text
    return anna, piet


# --- inside and outside the window ------------------------------------------------------------------


async def test_inside_the_window_anna_hears_piet_helps_as_a_message_with_its_buttons(door: WhatsAppHarness) -> None:
    anna, piet = await anna_asks_and_piet_offers(door)
    await piet.taps("Ik help")
    news = sent_to(door, anna)[-1]
    assert news.template is None and "Piet gaat u helpen" in whatsapp_plain(news.text or "")
    assert any("Bericht aan Piet" in label for label in whatsapp_seen_labels(news))
    assert not any(message.template for message in sent_to(door, anna))


async def test_25_hours_later_the_news_goes_as_its_template_and_its_button_opens_the_conversation(
    door: WhatsAppHarness, clock: ManualClock
) -> None:
    anna, piet = await anna_asks_and_piet_offers(door)
    clock.advance(LATER)  # Anna asked on Saturday morning; Piet answers on Sunday
    await piet.taps("Ik help")  # his tap on the request of yesterday opens his own window
    assert "Dank u! U helpt" in piet.last.text

    news = sent_to(door, anna)[-1]
    assert news.template is not None
    assert (news.template.name, news.template.language) == ("buurtbot_help_helper_found", "nl")
    assert news.template.body_params == ("Piet", REQUEST)
    assert news.template.button_payloads == {0: "wa:open"}
    assert not [v for v in door.graph.violations if v.wa_id == ANNA_PHONE]  # no free-form was even tried

    # Anna taps "Bekijk het": the message itself comes, with its buttons, and her window is open again.
    before = len(sent_to(door, anna))
    delivery = await door.graph.tap_template_button(ANNA_PHONE, news, 0)
    assert delivery.status == 200
    [shown] = sent_to(door, anna)[before:]
    assert shown.template is None and "Piet gaat u helpen" in whatsapp_plain(shown.text or "")
    assert any("Bericht aan Piet" in label for label in whatsapp_seen_labels(shown))

    # The next message reaching her unprompted goes free-form: Piet writes to her through the bot.
    await piet.taps("Bericht aan Anna")
    await piet.says("Ik kom woensdag om twee uur.")
    relayed = sent_to(door, anna)[-1]
    assert relayed.template is None and "Ik kom woensdag om twee uur." in whatsapp_plain(relayed.text or "")


async def test_a_second_tap_after_a_restart_shows_the_outbox_message_and_without_it_the_menu(
    door: WhatsAppHarness, clock: ManualClock
) -> None:
    village = door.bot.village
    anna = await newcomer(door, "Anna", ANNA_PHONE)
    jan = Who(door, "Jan", JAN)
    clock.advance(LATER)
    await announces(jan, "Zaterdag straatfeest!\nNeem een stoel mee.")
    [template] = [message for message in sent_to(door, anna) if message.template]

    port_of(door)._held.clear()  # as after a restart: only the outbox row knows the message now
    await door.graph.tap_template_button(ANNA_PHONE, template, 0)
    assert "Zaterdag straatfeest!" in anna.last.text and anna.last.text.startswith("📣")

    # A direct message's template (not kept in the outbox) tapped after a restart: the menu.
    clock.advance(LATER)
    anna_person = await village.people.get(anna.id)
    assert anna_person is not None
    await village.post.tell(anna_person, "help/follow_up", description=REQUEST)
    follow_up = sent_to(door, anna)[-1]
    assert follow_up.template is not None and follow_up.template.name == "buurtbot_help_follow_up"
    port_of(door)._held.clear()
    delivery = await door.graph.tap_template_button(ANNA_PHONE, follow_up, 0)
    await door.handled.wait(number_of(delivery.message_id or ""))
    assert sent_to(door, anna)[-1].template is None  # the menu, free-form: the tap opened the window
    assert anna.last.labels, "the menu's buttons"


# --- Meta's 131047 --------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["response", "status"])
async def test_a_message_meta_refuses_for_the_window_goes_again_as_its_template(
    door: WhatsAppHarness, via: str
) -> None:
    anna, piet = await anna_asks_and_piet_offers(door)
    door.graph.window_refusal = via  # type: ignore[assignment]
    door.graph.close_window(ANNA_PHONE)  # Meta's clock says her window closed; the bot's does not yet
    await piet.taps("Ik help")
    assert await door.graph.wait_for_webhooks()

    refused = [v for v in door.graph.violations if v.wa_id == ANNA_PHONE]
    assert [v.code for v in refused] == [131047]  # the free-form one, once
    news = sent_to(door, anna)[-1]
    assert news.template is not None and news.template.name == "buurtbot_help_helper_found"
    assert news.template.body_params == ("Piet", REQUEST)
    if via == "status":  # taken, then failed by a status webhook: it is among the failed ones
        assert [m.error.code for m in door.graph.failed_messages if m.wa_id == ANNA_PHONE and m.error] == [131047]


async def test_an_outbox_message_refused_later_for_the_window_keeps_its_row_sent_under_the_templates_id(
    door: WhatsAppHarness,
) -> None:
    anna = await newcomer(door, "Anna", ANNA_PHONE)
    jan = Who(door, "Jan", JAN)
    door.graph.window_refusal = "status"
    door.graph.close_window(ANNA_PHONE)
    await announces(jan, "Het straatfeest gaat door!")
    assert await door.graph.wait_for_webhooks()
    template = sent_to(door, anna)[-1]
    assert template.template is not None and template.template.name == "buurtbot_announcement"
    [row] = await outbox_rows(door, anna.id)
    assert row.status == DeliveryStatus.SENT and row.message_id == number_of(template.id)


# --- announcements, and what has no template --------------------------------------------------------


async def test_an_announcement_to_anna_outside_her_window_arrives_as_the_announcement_template(
    door: WhatsAppHarness, clock: ManualClock
) -> None:
    anna = await newcomer(door, "Anna", ANNA_PHONE)
    jan = Who(door, "Jan", JAN)
    clock.advance(LATER)
    await announces(jan, "Zaterdag   straatfeest!\n\nNeem een\tstoel *mee*.")
    news = sent_to(door, anna)[-1]
    assert news.template is not None
    assert (news.template.name, news.template.language) == ("buurtbot_announcement", "nl")
    network, author, text = news.template.body_params
    assert (network, author) == ("Breugel-Noord", "Jan")
    assert text.replace(WORD_JOINER, "") == "Zaterdag straatfeest! Neem een stoel *mee*."  # one line, as typed
    assert "\n" not in text and "\t" not in text and "  " not in text
    [row] = await outbox_rows(door, anna.id)
    assert row.status == DeliveryStatus.SENT and row.topic == "announcement/message"
    assert json.loads(row.template_values or "{}")["author"] == "Jan"


async def test_in_english_the_template_goes_in_english(door: WhatsAppHarness, clock: ManualClock) -> None:
    anna = await newcomer(door, "Anna", ANNA_PHONE)
    await anna.says("taal")
    await anna.taps("English")
    clock.advance(LATER)
    await announces(Who(door, "Jan", JAN), "Street party on Saturday!")
    news = sent_to(door, anna)[-1]
    assert news.template is not None and news.template.language == "en"


async def test_a_message_with_no_template_is_not_sent_outside_the_window_and_its_row_fails(
    door: WhatsAppHarness, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    village = door.bot.village
    anna = await newcomer(door, "Anna", ANNA_PHONE)
    noord = await village.networks.by_slug("breugel-noord")
    person = await village.people.get(anna.id)
    assert noord is not None and person is not None
    clock.advance(LATER)
    before = len(sent_to(door, anna))
    unprompted = village.post.compose(person, "admin/you_are_verbinder", network=noord.name)
    caplog.set_level(logging.INFO)
    await village.outbox.queue(noord, [(anna.id, unprompted)], kind=OutboxKind.ANNOUNCEMENT)
    await village.sender.flush()
    [row] = await outbox_rows(door, anna.id)
    assert row.status == DeliveryStatus.FAILED
    assert "admin/you_are_verbinder has no template" in caplog.text
    # Told directly (not through the outbox): not sent either, and whoever caused it goes on.
    assert await village.post.tell(person, "admin/you_are_verbinder", network=noord.name) is None
    assert len(sent_to(door, anna)) == before
    assert ANNA_PHONE not in caplog.text


# --- the registry and the file for Meta -------------------------------------------------------------

UNPROMPTED = (
    "announcement/message",  # an announcement
    "activity/posted",  # an activity's invitation
    "activity/reminder",
    "help/posted",  # a request for help, to the helpers
    "help/helper_found",  # "a neighbour helps you"
    "help/escalated",
    "help/follow_up",  # "is het gelukt?"
    "onboarding/approved",  # the join decision
    "onboarding/declined",
    "contacts/notice",  # a contact request, to a buurtverbinder
    "contacts/escalated",
    "help/relayed",  # a message passed on
    "admin/join_reminder",  # a waiting member's reminder
)


def test_every_unprompted_message_has_a_template_made_from_a_template_the_core_renders() -> None:
    assert set(UNPROMPTED) <= set(TEMPLATES)
    renderer = Renderer()
    post = Post(renderer, Messenger(), cast(Outbox, None), zone=ZoneInfo("Europe/Amsterdam"))
    names = set(renderer.message_names("nl"))
    for topic, template in TEMPLATES.items():
        assert topic in names, f"{topic} is no template of the core"
        assert re.fullmatch(r"[a-z0-9_]{1,512}", template.name), template.name
        reply = post.compose(
            Person(id=1, name="Anna", language="nl", created_at=datetime(2026, 11, 1, tzinfo=UTC)), topic, **SAMPLES
        )
        assert reply.topic == topic
        assert template.missing(reply.values) == [], f"{topic} gives no {template.missing(reply.values)}"
    assert len({template.name for template in TEMPLATES.values()}) == len(TEMPLATES)


def test_every_template_is_in_the_file_for_meta_in_both_languages_with_the_registrys_placeholders() -> None:
    assert SUBMISSION.read_text() == submission_json(Renderer()), (
        "docs/whatsapp-templates.json is out of date: "
        ".venv/bin/python -m bot.transports.whatsapp.submission > docs/whatsapp-templates.json"
    )
    entries = json.loads(SUBMISSION.read_text())["templates"]
    described = {(entry["template"]["name"], entry["template"]["language"]): entry["template"] for entry in entries}
    for template in TEMPLATES.values():
        for language in LANGUAGES:
            found = described[(template.name, language)]
            assert found["category"] == "UTILITY"
            text = next(c["text"] for c in found["components"] if c["type"] == "BODY")
            numbers = [int(number) for number in re.findall(r"\{\{(\d+)\}\}", text)]
            assert numbers == list(range(1, len(template.params) + 1)), f"{template.name}/{language}: {text!r}"
            assert not text.startswith("{{") and not text.endswith("}}"), "Meta refuses a body that starts or ends so"
            assert length(text) - 5 * len(numbers) + PARAM_MAX * len(numbers) <= BODY_MAX
            [example] = next(c["example"]["body_text"] for c in found["components"] if c["type"] == "BODY")
            assert len(example) == len(template.params)
            [button] = next(c["buttons"] for c in found["components"] if c["type"] == "BUTTONS")
            assert button["type"] == "QUICK_REPLY" and 1 <= length(button["text"]) <= BUTTON_MAX
            assert button["text"] in text  # the body says which button to tap
    assert len(entries) == len(TEMPLATES) * len(LANGUAGES)


def test_a_body_uses_exactly_the_values_the_registry_fills() -> None:
    renderer = Renderer()
    for template in TEMPLATES.values():
        for language in LANGUAGES:
            assert body(renderer, language, template).count("{{") == len(template.params)


def test_a_value_becomes_a_parameter_whatsapp_takes() -> None:
    assert parameter("Zaterdag\n\nstraatfeest\t bij    ons") == "Zaterdag straatfeest bij ons"
    assert parameter("") == EMPTY and parameter(None) == EMPTY and parameter(" \n ") == EMPTY
    long = parameter("woord " * 100)
    assert length(long) <= PARAM_MAX and long.endswith("…")
    marked = parameter("*vet* en _schuin_ " * 30)
    assert length(marked) <= PARAM_MAX and "*" in marked.replace(WORD_JOINER, "")
    assert WORD_JOINER + "*" in marked  # shown as typed, never bold


def test_a_composed_message_says_what_it_is_about_in_plain_text() -> None:
    renderer = Renderer()
    post = Post(renderer, Messenger(), cast(Outbox, None), zone=ZoneInfo("Europe/Amsterdam"))
    anna = Person(id=1, name="Anna", language="nl", created_at=datetime(2026, 11, 1, tzinfo=UTC))
    at = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)
    reply = post.compose(anna, "activity/place_for_you", title="Snertavond", starts_at=at)
    assert reply.values == {"title": "Snertavond", "starts_at": "zaterdag 5 december om 14:00"}
    no_hour = post.plain_values("en", {"needed_at": at, "needed_has_time": False, "hours": 3, "asker": None})
    assert no_hour == {"needed_at": "Saturday 5 December", "hours": "3"}
    assert Reply("x").topic is None and Reply("x").values is None


# --- helpers -------------------------------------------------------------------------------------------


def whatsapp_seen_labels(message: OutboundMessage) -> list[str]:
    return [title for _, title in message.buttons] + [row.description or row.title for row in message.rows]


async def announces(jan: Who, text: str) -> None:
    await jan.says("bericht")
    await jan.says(text)
    await jan.taps("Versturen")
    await jan.door.bot.village.sender.flush()


async def outbox_rows(door: WhatsAppHarness, chat_id: int) -> list[OutboxMessage]:
    village = door.bot.village
    async with village.stores.network("breugel-noord") as store, store.transaction() as session:
        query = select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)  # type: ignore[arg-type]
        return list((await session.exec(query)).all())

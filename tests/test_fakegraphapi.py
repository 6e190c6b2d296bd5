"""Tests for the fake WhatsApp Cloud API, driven by pywa_async's real client and its webhook handling."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from aiohttp import web
from pywa.handlers import CallbackButtonHandler, CallbackSelectionHandler, MessageHandler, MessageStatusHandler
from pywa.types.callback import CallbackButton, CallbackSelection
from pywa.types.message import Message
from pywa.types.message_status import MessageStatus
from pywa_async.client import WhatsApp
from pywa_async.errors import (
    ExpiredAccessToken,
    InvalidParameter,
    MessageUndeliverable,
    RateLimitHit,
    ReEngagementMessage,
    TemplateNotExists,
    TemplateParamCountMismatch,
    TooManyMessages,
    UnknownError,
    UnsupportedMessageType,
    WhatsAppError,
)
from pywa_async.types.callback import Button, Section, SectionList, SectionRow
from pywa_async.types.templates import TemplateLanguage

from bot.kernel.clock import ManualClock
from tests.fakegraphapi import WINDOW_SECONDS, FakeGraphAPI

ANNA = "31612345678"
PIET = "31687654321"


class BotListener:
    """The bot's side in these tests: pywa_async's WhatsApp behind a plain aiohttp route, no web framework.
    It keeps each raw body and signature header, and the updates pywa's handlers were given."""

    def __init__(self, wa: WhatsApp) -> None:
        self.wa = wa
        self.received: list[tuple[bytes, str | None]] = []
        self.messages: list[Message] = []
        self.taps: list[CallbackButton[str]] = []
        self.choices: list[CallbackSelection[str]] = []
        self.statuses: list[MessageStatus[str]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

        wa.add_handlers(
            MessageHandler(lambda _, message: self.messages.append(message)),
            CallbackButtonHandler(lambda _, tap: self.taps.append(tap)),
            CallbackSelectionHandler(lambda _, choice: self.choices.append(choice)),
            MessageStatusHandler(lambda _, status: self.statuses.append(status)),
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/whatsapp", self._update)
        app.router.add_get("/whatsapp", self._challenge)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/whatsapp"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _update(self, request: web.Request) -> web.Response:
        body = await request.read()
        signature = request.headers.get("X-Hub-Signature-256")
        self.received.append((body, signature))
        refused = await self.wa.webhook_update_validator(body, signature)
        if refused is not None:
            return web.Response(status=refused[1], text=refused[0])
        text, status = await self.wa.webhook_update_handler(body)
        return web.Response(status=status, text=text)

    async def _challenge(self, request: web.Request) -> web.Response:
        challenge, status = await self.wa.webhook_challenge_handler(
            vt=request.query.get("hub.verify_token"), ch=request.query.get("hub.challenge")
        )
        return web.Response(status=status, text=challenge or "")


@pytest.fixture
async def graph(clock: ManualClock) -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(clock=clock) as server:
        yield server


@pytest.fixture
async def wa(graph: FakeGraphAPI) -> AsyncIterator[WhatsApp]:
    session = graph.http_session()
    yield WhatsApp(
        phone_id=graph.phone_id,
        token=graph.token,
        session=session,
        app_secret=graph.app_secret,
        verify_token=graph.verify_token,
    )
    await session.aclose()


@pytest.fixture
async def bot(graph: FakeGraphAPI, wa: WhatsApp) -> AsyncIterator[BotListener]:
    listener = BotListener(wa)
    await listener.start()
    graph.webhook_url = listener.url
    yield listener
    await listener.stop()


def rows(count: int, *, section: str = "a", title: str = "Rij", description: str | None = None) -> list[SectionRow]:
    return [
        SectionRow(title=f"{title}{n}"[:24], callback_data=f"{section}-{n}", description=description)
        for n in range(count)
    ]


# ------------------------------------------------------------------ sending through pywa


async def test_anna_writes_and_the_bot_answers_her_with_text(
    graph: FakeGraphAPI, wa: WhatsApp, bot: BotListener
) -> None:
    delivery = await graph.send_text_from_user(ANNA, "Wie helpt met boodschappen?", name="Anna")
    assert delivery.status == 200
    assert bot.messages[0].text == "Wie helpt met boodschappen?"
    assert bot.messages[0].from_user.wa_id == ANNA
    assert bot.messages[0].from_user.name == "Anna"

    sent = await wa.send_message(ANNA, "Piet helpt je zaterdag.")
    record = (await graph.wait_for_messages(ANNA, 1))[0]
    assert (sent.id, sent.chat.id, sent.input) == (record.id, ANNA, ANNA)
    assert record.id.startswith("wamid.")
    assert (record.type, record.text) == ("text", "Piet helpt je zaterdag.")
    assert graph.requests[-1] == (
        "messages",
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "type": "text",
            "to": ANNA,
            "text": {"body": "Piet helpt je zaterdag.", "preview_url": False},
        },
    )
    assert graph.violations == []


async def test_reply_buttons_arrive_and_piets_tap_comes_back(
    graph: FakeGraphAPI, wa: WhatsApp, bot: BotListener
) -> None:
    await graph.send_text_from_user(PIET, "hoi", name="Piet")
    sent = await wa.send_message(
        PIET,
        "Anna vraagt hulp met boodschappen.",
        header="Hulpvraag",
        footer="Buurtbot",
        buttons=[Button("Ik help", "help:7"), Button("Niet nu", "skip:7")],
    )
    record = graph.message(sent.id)
    assert (record.type, record.interactive) == ("interactive", "button")
    assert record.buttons == [("help:7", "Ik help"), ("skip:7", "Niet nu")]
    assert (record.header, record.text, record.footer) == (
        "Hulpvraag",
        "Anna vraagt hulp met boodschappen.",
        "Buurtbot",
    )

    delivery = await graph.tap_button(PIET, record, "help:7")
    assert delivery.status == 200
    tap = bot.taps[0]
    assert (tap.data, tap.title, tap.from_user.wa_id) == ("help:7", "Ik help", PIET)
    assert tap.reply_to_message is not None and tap.reply_to_message.id == sent.id
    with pytest.raises(ValueError, match="no reply button"):
        await graph.tap_button(PIET, record, "help:8")


async def test_a_list_message_and_annas_choice(graph: FakeGraphAPI, wa: WhatsApp, bot: BotListener) -> None:
    graph.open_window(ANNA)
    sections = [
        Section("Deze week", [SectionRow("Boodschappen", "task:1", "Zaterdag, Albert Heijn")]),
        Section("Later", [SectionRow("Tuin", "task:2")]),
    ]
    sent = await wa.send_message(ANNA, "Waar heb je hulp bij?", buttons=SectionList("Kies", sections))
    record = graph.message(sent.id)
    assert (record.interactive, record.list_button) == ("list", "Kies")
    assert record.row_ids == ["task:1", "task:2"]
    assert (record.rows[0].section, record.rows[0].description) == ("Deze week", "Zaterdag, Albert Heijn")

    await graph.choose_row(ANNA, record, "task:1")
    choice = bot.choices[0]
    assert (choice.data, choice.title, choice.description) == ("task:1", "Boodschappen", "Zaterdag, Albert Heijn")
    assert choice.reply_to_message.id == sent.id


async def test_a_document_is_uploaded_then_sent_by_media_id(graph: FakeGraphAPI, wa: WhatsApp) -> None:
    graph.open_window(ANNA)
    content = b"%PDF-1.4 rooster van de buurtmaaltijd"
    sent = await wa.send_document(
        ANNA, content, filename="rooster.pdf", caption="Het rooster", mime_type="application/pdf"
    )
    (upload,) = graph.media.values()
    assert (upload.filename, upload.mime_type, upload.content) == ("rooster.pdf", "application/pdf", content)
    record = graph.message(sent.id)
    assert record.document is not None
    assert (record.document.media_id, record.document.filename, record.text) == (
        upload.id,
        "rooster.pdf",
        "Het rooster",
    )
    assert record.document.content == content
    assert [endpoint for endpoint, _ in graph.requests] == ["media", "messages"]


async def test_templates_need_registering_and_the_right_parameters(
    graph: FakeGraphAPI, wa: WhatsApp, bot: BotListener
) -> None:
    graph.register_template("herinnering", "nl", body_params=1, buttons=["Ik kom", "Afmelden"])
    body = {"type": "body", "parameters": [{"type": "text", "text": "Anna"}]}
    button = {
        "type": "button",
        "sub_type": "quick_reply",
        "index": 1,
        "parameters": [{"type": "payload", "payload": "af:3"}],
    }
    sent = await wa.send_template(
        ANNA, "herinnering", TemplateLanguage.DUTCH, params=[body, button]
    )  # no window needed
    record = graph.message(sent.id)
    assert record.template is not None
    assert (record.template.name, record.template.language, record.template.body_params) == (
        "herinnering",
        "nl",
        ("Anna",),
    )

    with pytest.raises(TemplateNotExists):
        await wa.send_template(ANNA, "herinnering", TemplateLanguage.ENGLISH_US, params=[body])
    with pytest.raises(TemplateParamCountMismatch):
        await wa.send_template(ANNA, "herinnering", TemplateLanguage.DUTCH, params=[])
    assert [v.code for v in graph.violations] == [132001, 132000]

    await graph.tap_template_button(ANNA, record, 1)
    assert bot.taps[0].is_quick_reply
    assert (bot.taps[0].data, bot.taps[0].title) == ("af:3", "Afmelden")


# ----------------------------------------------------------------------- the 24-hour window


async def test_the_window_closes_24_hours_after_annas_last_message(
    graph: FakeGraphAPI, wa: WhatsApp, bot: BotListener, clock: ManualClock
) -> None:
    with pytest.raises(ReEngagementMessage) as refused:
        await wa.send_message(ANNA, "Hallo?")
    assert refused.value.status_code == 400
    assert graph.messages_to(ANNA) == []

    await graph.send_text_from_user(ANNA, "Hoi")
    clock.advance(timedelta(seconds=WINDOW_SECONDS - 1))
    await wa.send_message(ANNA, "Nog net op tijd")
    clock.advance(timedelta(seconds=1))
    assert not graph.window_open(ANNA)
    with pytest.raises(ReEngagementMessage):
        await wa.send_message(ANNA, "Te laat")

    graph.open_window(ANNA, at=clock.now() - timedelta(hours=23))
    await wa.send_message(ANNA, "Weer open")
    assert [m.text for m in graph.messages_to(ANNA)] == ["Nog net op tijd", "Weer open"]
    assert [(v.kind, v.code) for v in graph.violations] == [("window", 131047), ("window", 131047)]


async def test_a_window_refusal_can_come_as_a_failed_status_like_meta_often_sends_it(
    graph: FakeGraphAPI, wa: WhatsApp, bot: BotListener
) -> None:
    graph.window_refusal = "status"
    sent = await wa.send_message(ANNA, "Hallo?")  # answered with a wamid...
    assert await graph.wait_for_webhooks()
    (status,) = bot.statuses  # ...then failed, with the error pywa types
    assert (status.id, status.status.value) == (sent.id, "failed")
    assert isinstance(status.error, ReEngagementMessage)
    assert graph.messages_to(ANNA) == [] and graph.failed_messages[0].id == sent.id


# ---------------------------------------------------------------------------- Meta's checks


def _send(text: str = "x", **kwargs: object) -> Callable[[WhatsApp], Awaitable[object]]:
    async def send(wa: WhatsApp) -> object:
        return await wa.send_message(ANNA, text, **kwargs)  # type: ignore[arg-type]

    return send


REFUSED = [
    pytest.param(_send("x" * 4097), 100, id="text-4097"),
    pytest.param(_send("x" * 1025, buttons=[Button("Ja", "ja")]), 100, id="interactive-body-1025"),
    pytest.param(_send(buttons=[Button(f"B{n}", f"b{n}") for n in range(4)]), 131009, id="four-buttons"),
    pytest.param(_send(buttons=[Button("x" * 21, "ja")]), 131009, id="button-title-21"),
    pytest.param(_send(buttons=[Button("Ja", "ja"), Button("Ook ja", "ja")]), 131009, id="duplicate-button-ids"),
    pytest.param(_send(buttons=[Button("Ja", "x" * 257)]), 131009, id="button-id-257"),
    pytest.param(_send(header="x" * 61, buttons=[Button("Ja", "ja")]), 100, id="header-61"),
    pytest.param(_send(footer="x" * 61, buttons=[Button("Ja", "ja")]), 100, id="footer-61"),
    pytest.param(
        _send(buttons=SectionList("Kies", [Section("A", rows(6)), Section("B", rows(5, section="b"))])),
        131009,
        id="11-rows",
    ),
    pytest.param(_send(buttons=SectionList("x" * 21, [Section("A", rows(1))])), 131009, id="list-button-21"),
    pytest.param(_send(buttons=SectionList("Kies", [Section("x" * 25, rows(1))])), 131009, id="section-title-25"),
    pytest.param(_send(buttons=SectionList("Kies", [Section("A", [SectionRow("x" * 25, "r")])])), 131009, id="row-25"),
    pytest.param(
        _send(buttons=SectionList("Kies", [Section("A", rows(1, description="x" * 73))])), 131009, id="description-73"
    ),
]


@pytest.mark.parametrize(("send", "code"), REFUSED)
async def test_meta_refuses_what_breaks_its_limits(
    graph: FakeGraphAPI, wa: WhatsApp, send: Callable[[WhatsApp], Awaitable[object]], code: int
) -> None:
    graph.open_window(ANNA)
    with pytest.raises(WhatsAppError) as refused:
        await send(wa)
    assert refused.value.code == code
    assert refused.value.status_code == 400
    if code == 131009:
        assert isinstance(refused.value, InvalidParameter)
    assert [(v.kind, v.code) for v in graph.violations] == [("invalid", code)]
    assert graph.sent == []


async def test_messages_at_every_limit_pass(graph: FakeGraphAPI, wa: WhatsApp) -> None:
    graph.open_window(ANNA)
    await wa.send_message(ANNA, "x" * 4096)
    await wa.send_message(
        ANNA, "x" * 1024, header="h" * 60, footer="f" * 60, buttons=[Button("t" * 20, f"{n}" * 256) for n in range(3)]
    )
    full = [Section("s" * 24, rows(5, title="r" * 24, description="d" * 72)), Section("Twee", rows(5, section="b"))]
    await wa.send_message(ANNA, "Kies", buttons=SectionList("b" * 20, full))
    assert graph.violations == []
    assert len(graph.messages_to(ANNA)[2].rows) == 10


async def test_a_wrong_token_or_phone_number_id_gets_graphs_error(graph: FakeGraphAPI) -> None:
    async with graph.http_session() as session:
        wrong = WhatsApp(phone_id=graph.phone_id, token="not-the-token", session=session)
        with pytest.raises(ExpiredAccessToken) as refused:
            await wrong.send_message(ANNA, "Hoi")
    assert refused.value.status_code == 401
    assert refused.value.type == "OAuthException"
    assert refused.value.raw["fbtrace_id"]

    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{graph.graph_url()}/999/messages",
            json={"messaging_product": "whatsapp", "to": ANNA, "text": {"body": "Hoi"}},
            headers={"Authorization": f"Bearer {graph.token}"},
        )
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["error_subcode"]) == (400, 100, 33)
    assert graph.sent == []


# ------------------------------------------------------------------------------ rate limits


async def test_the_pair_rate_refuses_a_burst_to_one_user_until_time_is_paid_back(
    graph: FakeGraphAPI, wa: WhatsApp, clock: ManualClock
) -> None:
    graph.enforce_rate_limits, graph.pair_burst = True, 3
    graph.open_window(ANNA)
    graph.open_window(PIET)
    for n in range(3):
        await wa.send_message(ANNA, f"Bericht {n}")
    with pytest.raises(TooManyMessages):
        await wa.send_message(ANNA, "Een te veel")
    await wa.send_message(PIET, "Piet heeft zijn eigen tempo")
    clock.advance(timedelta(seconds=6))
    await wa.send_message(ANNA, "Na zes seconden mag er weer een")
    with pytest.raises(TooManyMessages):
        await wa.send_message(ANNA, "Maar niet nog een")
    assert [(v.kind, v.code) for v in graph.violations] == [("pair_rate", 131056)] * 2
    assert len(graph.received_times(ANNA)) == 6 and len(graph.accepted_times(ANNA)) == 4


async def test_throughput_refuses_more_than_the_numbers_messages_a_second(
    graph: FakeGraphAPI, wa: WhatsApp, clock: ManualClock
) -> None:
    graph.enforce_rate_limits, graph.throughput = True, 5
    neighbours = [f"316000000{n:02d}" for n in range(6)]
    for wa_id in neighbours:
        graph.open_window(wa_id)
    for wa_id in neighbours[:5]:
        await wa.send_message(wa_id, "Buurtmaaltijd vanavond")
    with pytest.raises(RateLimitHit):
        await wa.send_message(neighbours[5], "Buurtmaaltijd vanavond")
    clock.advance(timedelta(seconds=1))
    await wa.send_message(neighbours[5], "Buurtmaaltijd vanavond")
    assert [v.code for v in graph.rate_violations] == [130429]
    times = graph.received_times()
    assert len(times) == 7 and times == sorted(times)


async def test_unenforced_limits_let_messages_through_and_count_the_breach(graph: FakeGraphAPI, wa: WhatsApp) -> None:
    graph.pair_burst = 2
    graph.open_window(ANNA)
    for n in range(3):
        await wa.send_message(ANNA, f"Bericht {n}")
    assert len(graph.messages_to(ANNA)) == 3
    assert [v.kind for v in graph.violations] == ["pair_rate"]


# ---------------------------------------------------------------------------------- faults


async def test_injected_server_errors_arrive_as_pywa_errors(graph: FakeGraphAPI, wa: WhatsApp) -> None:
    graph.open_window(ANNA)
    graph.fail_next(status=500)
    graph.fail_next(status=503)
    graph.fail_next(status=502, json_body=False)
    with pytest.raises(UnknownError) as first:
        await wa.send_message(ANNA, "1")
    with pytest.raises(WhatsAppError) as second:
        await wa.send_message(ANNA, "2")
    with pytest.raises(WhatsAppError) as third:
        await wa.send_message(ANNA, "3")
    assert (first.value.status_code, first.value.is_transient) == (500, True)
    assert (second.value.code, second.value.status_code) == (2, 503)
    assert (third.value.code, third.value.message) == (502, "502 An unknown error occurred")
    await wa.send_message(ANNA, "4")
    assert [m.text for m in graph.messages_to(ANNA)] == ["4"]
    assert graph.served_faults == [("messages", 131000), ("messages", 2), ("messages", 1)]
    assert graph.violations == []


async def test_a_stalled_call_times_out_and_may_still_reach_the_user(graph: FakeGraphAPI) -> None:
    graph.open_window(ANNA)
    graph.stall_next(0.05, then_send=True)
    async with graph.http_session(timeout=0.01) as session:
        wa = WhatsApp(phone_id=graph.phone_id, token=graph.token, session=session)
        with pytest.raises(httpx.ReadTimeout):
            await wa.send_message(ANNA, "Dubbel?")
    (message,) = await graph.wait_for_messages(ANNA, 1)
    assert message.text == "Dubbel?" and graph.stalled == 1


async def test_faults_for_one_recipient(graph: FakeGraphAPI, wa: WhatsApp, bot: BotListener) -> None:
    graph.open_window(ANNA)
    graph.open_window(PIET)
    graph.fail_to(ANNA, 131026, count=1)
    graph.fail_to(PIET, 131051, via="status")
    with pytest.raises(MessageUndeliverable):
        await wa.send_message(ANNA, "Hoi")
    await wa.send_message(ANNA, "Hoi")
    sent = await wa.send_message(PIET, "Hoi")
    assert await graph.wait_for_webhooks()
    failed = [s for s in bot.statuses if s.status.value == "failed"]
    assert [s.id for s in failed] == [sent.id]
    assert isinstance(failed[0].error, UnsupportedMessageType)
    assert graph.served_faults == [(ANNA, 131026), (PIET, 131051)]


# -------------------------------------------------------------------------------- webhooks


async def test_every_webhook_is_signed_with_the_app_secret(graph: FakeGraphAPI, bot: BotListener) -> None:
    await graph.send_text_from_user(ANNA, "Café om 10:00/11:00?", name="Anaïs")
    body, signature = bot.received[0]
    expected = "sha256=" + hmac.new(graph.app_secret.encode(), body, hashlib.sha256).hexdigest()
    assert signature == expected
    assert b"Ana\\u00efs" in body and b"10:00\\/11:00" in body  # escaped as Meta writes it
    payload = json.loads(body)
    value = payload["entry"][0]["changes"][0]["value"]
    assert payload["object"] == "whatsapp_business_account" and payload["entry"][0]["id"] == graph.waba_id
    assert value["metadata"] == {"display_phone_number": graph.display_phone_number, "phone_number_id": graph.phone_id}
    assert value["contacts"][0]["profile"] == {"name": "Anaïs"}
    assert value["messages"][0]["text"] == {"body": "Café om 10:00/11:00?"}
    assert bot.messages[0].text == "Café om 10:00/11:00?"


async def test_a_wrong_or_missing_signature_is_refused_by_the_bot(graph: FakeGraphAPI, bot: BotListener) -> None:
    graph.signing = "wrong"
    wrong = await graph.send_text_from_user(ANNA, "Hoi")
    graph.signing = "missing"
    missing = await graph.send_text_from_user(ANNA, "Hoi")
    assert (wrong.status, missing.status) == (403, 401)
    assert missing.signatures == [None]
    assert bot.messages == []
    assert graph.webhook_statuses == [403, 401]


async def test_sent_delivered_and_read_statuses(graph: FakeGraphAPI, wa: WhatsApp, bot: BotListener) -> None:
    await graph.send_text_from_user(ANNA, "Hoi")
    sent = await wa.send_message(ANNA, "Dag Anna")
    assert await graph.wait_for_webhooks()
    await graph.read_by_user(graph.message(sent.id))
    assert [(s.id, s.status.value) for s in bot.statuses] == [
        (sent.id, "sent"),
        (sent.id, "delivered"),
        (sent.id, "read"),
    ]
    assert bot.statuses[0].from_user.wa_id == ANNA
    assert graph.message(sent.id).statuses == ["sent", "delivered", "read"]

    graph.auto_statuses = False
    await wa.send_message(ANNA, "Stil")
    assert await graph.wait_for_webhooks()
    assert len(bot.statuses) == 3


async def test_redelivery_sends_the_same_bytes_and_pywa_skips_the_duplicate(
    graph: FakeGraphAPI, bot: BotListener
) -> None:
    delivery = await graph.send_text_from_user(ANNA, "Hoi")
    assert await graph.redeliver(delivery) == 200
    assert delivery.statuses == [200, 200]
    assert bot.received[0] == bot.received[1]
    assert len(bot.messages) == 1


async def test_the_verification_handshake(graph: FakeGraphAPI, bot: BotListener) -> None:
    assert await graph.verify_webhook(challenge="1158201444") == (200, "1158201444")
    assert await graph.verify_webhook(verify_token="wrong", challenge="1158201444") == (403, "Forbidden")


async def test_without_business_scoped_ids_pywa_drops_the_update(graph: FakeGraphAPI, bot: BotListener) -> None:
    graph.bsuid = False  # the webhook shape before 2026: pywa 4.5 logs a KeyError, answers 200 and drops it
    delivery = await graph.send_text_from_user(ANNA, "Hoi")
    assert delivery.status == 200
    assert bot.messages == []


async def test_marking_annas_message_as_read(graph: FakeGraphAPI, wa: WhatsApp, bot: BotListener) -> None:
    delivery = await graph.send_text_from_user(ANNA, "Hoi")
    assert delivery.message_id is not None
    assert (await wa.mark_message_as_read(delivery.message_id)).success
    assert (await wa.indicate_typing(delivery.message_id)).success
    assert graph.read_marks == [delivery.message_id, delivery.message_id]
    with pytest.raises(WhatsAppError) as refused:
        await wa.mark_message_as_read("wamid.unknown")
    assert refused.value.code == 100


async def test_waiting_for_messages_that_never_come_says_what_came(graph: FakeGraphAPI, wa: WhatsApp) -> None:
    graph.open_window(ANNA)
    await wa.send_message(ANNA, "Eén")
    with pytest.raises(TimeoutError, match="Eén"):
        await graph.wait_for_messages(ANNA, 2, timeout=0.01)

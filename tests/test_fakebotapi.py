"""Tests for the fake Telegram Bot API server, driven by aiogram 3 and python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import telegram
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiohttp import web

from tests.fakebotapi import FakeBotAPI

TOKEN = "123456:TEST"
LONG_POLL_S = 30  # a long poll's own timeout...
PUSHED_DEADLINE_S = 10  # ...and how long one woken by a push may take at most (only a guard)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as server:
        yield server


@pytest.fixture
async def aiobot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()


@pytest.fixture
async def ptb(api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[telegram.Bot]:
    # Without it PTB 22 warns (PTBDeprecationWarning) as soon as it builds a RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    async with telegram.Bot(TOKEN, base_url=f"{api.base_url}/bot") as bot:
        yield bot


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=d.title(), callback_data=d) for d in data]])


async def test_get_me_with_both_libraries(api: FakeBotAPI, aiobot: Bot, ptb: telegram.Bot) -> None:
    me = await aiobot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, api.bot_username)
    assert me.can_join_groups is True
    assert ptb.username == api.bot_username  # PTB's `async with` already called getMe
    assert [name for name, _ in api.calls] == ["getMe", "getMe"]


async def test_http_errors_tokens_and_method_names(api: FakeBotAPI) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api.base_url}/bot{TOKEN}/GETME") as response:
            assert response.status == 200
            assert (await response.json())["result"]["username"] == api.bot_username
        async with http.post(f"{api.base_url}/bot{TOKEN}/noSuchMethod") as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.post(f"{api.base_url}/bot999:WRONG/getMe") as response:
            assert (response.status, (await response.json())["description"]) == (401, "Unauthorized")
    wrong = Bot("999:WRONG", session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    with pytest.raises(TelegramUnauthorizedError):
        await wrong.get_me()
    await wrong.session.close()


async def test_json_and_urlencoded_bodies_are_coerced(api: FakeBotAPI) -> None:
    markup = '{"inline_keyboard": [[{"text": "Ja", "callback_data": "yes"}]]}'
    async with aiohttp.ClientSession() as http:
        url = f"{api.base_url}/bot{TOKEN}/sendMessage"
        form = {"chat_id": "42", "text": "[1] 007", "reply_markup": markup}
        async with http.post(url, data=form) as response:
            sent = (await response.json())["result"]
        async with http.post(url, json={"chat_id": 42, "text": "tweede"}) as response:
            second = (await response.json())["result"]
    assert sent["chat"] == {"id": 42, "type": "private", "first_name": "User"}
    assert sent["text"] == "[1] 007"  # text is never JSON-decoded
    assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"
    assert sent["from"]["id"] == 123456
    assert second["message_id"] == sent["message_id"] + 1
    assert api.calls[0] == (
        "sendMessage",
        {"chat_id": 42, "text": "[1] 007", "reply_markup": api.sent[0]["reply_markup"]},
    )


async def test_aiogram_send_and_edit_inline_keyboard(api: FakeBotAPI, aiobot: Bot) -> None:
    message = await aiobot.send_message(
        -1001, "Kies <b>een</b> optie", parse_mode="HTML", reply_markup=keyboard("ja", "nee")
    )
    assert message.chat.type == "supergroup"
    assert message.text == "Kies een optie"
    assert message.reply_markup is not None
    assert [b.callback_data for b in message.reply_markup.inline_keyboard[0]] == ["ja", "nee"]
    record = api.messages_to(-1001)[0]
    assert record["text"] == "Kies <b>een</b> optie"
    assert record["parse_mode"] == "HTML"

    edited = await aiobot.edit_message_text(
        "Gekozen: ja", chat_id=-1001, message_id=message.message_id, reply_markup=keyboard("terug")
    )
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    assert record["text"] == "Gekozen: ja"
    assert record["history"][0]["text"] == "Kies <b>een</b> optie"

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await aiobot.edit_message_text(
            "Gekozen: ja", chat_id=-1001, message_id=message.message_id, reply_markup=keyboard("terug")
        )
    # Like Telegram: editing the text without reply_markup drops the keyboard.
    await aiobot.edit_message_text("Klaar", chat_id=-1001, message_id=message.message_id)
    assert record["reply_markup"] is None
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await aiobot.edit_message_text("x", chat_id=-1001, message_id=99)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await aiobot.edit_message_reply_markup(chat_id=-1001, message_id=message.message_id)


async def test_ptb_send_edit_and_callback(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    markup = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("Ja", callback_data="ja")]])
    first = await ptb.send_message(42, "Hallo", reply_markup=markup)
    second = await ptb.send_message(42, "Nog eens")
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.chat.type == "private"
    assert first.reply_markup == markup

    new_markup = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("Nee", callback_data="nee")]])
    edited = await ptb.edit_message_reply_markup(42, first.message_id, reply_markup=new_markup)
    assert isinstance(edited, telegram.Message)
    assert api.sent[0]["reply_markup"] == new_markup.to_dict()

    update_id = api.press_button(7, api.sent[0], "ja")  # an old keyboard's button is still ok
    (update,) = await ptb.get_updates(offset=update_id)
    assert update.callback_query is not None
    assert update.callback_query.data == "ja"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == first.message_id
    assert await update.callback_query.answer("Genoteerd", show_alert=True)
    assert api.callback_answers[0]["text"] == "Genoteerd"
    assert api.callback_answers[0]["show_alert"] is True
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)query is too old"):
        await update.callback_query.answer()
    with pytest.raises(ValueError, match="no button"):
        api.press_button(7, (42, first.message_id), "bestaat-niet")


async def test_html_is_checked_like_telegram(api: FakeBotAPI, aiobot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br" at byte offset 5'):
        await aiobot.send_message(1, "Hallo<br>daar", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Can't find end tag"):
        await aiobot.send_message(1, "<b>vet", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await aiobot.send_message(1, "<b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await aiobot.send_message(1, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await aiobot.send_message(1, "hoi", reply_markup=keyboard("x" * 65))
    message = await aiobot.send_message(1, "a &lt; b &amp; c", parse_mode="HTML")
    assert message.text == "a < b & c"
    assert api.sent == [api.messages_to(1)[0]]


async def test_long_poll_returns_when_update_is_pushed(api: FakeBotAPI, aiobot: Bot, ptb: telegram.Bot) -> None:
    poll = asyncio.create_task(aiobot.get_updates(timeout=LONG_POLL_S))
    await api.wait_for_call("getUpdates")  # the poll is in, waiting for an update
    assert not poll.done()
    update_id = api.push_message(42, "/start welkom", username="anna")
    async with asyncio.timeout(PUSHED_DEADLINE_S):  # answered on the push, long before its own timeout
        updates = await poll
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start welkom"
    assert message.from_user is not None
    assert (message.from_user.username, message.from_user.language_code) == ("anna", "nl")
    assert message.entities is not None
    assert message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start")

    # Unconfirmed updates come again; offset confirms them.
    assert len(await aiobot.get_updates()) == 1
    assert await aiobot.get_updates(offset=update_id + 1) == []
    started = time.monotonic()  # PTB sends a fractional timedelta as a float: "0.3"
    assert await ptb.get_updates(offset=update_id + 1, timeout=dt.timedelta(seconds=0.3)) == ()
    assert time.monotonic() - started >= 0.3


async def test_ptb_get_updates_offset_limit(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    ids = [api.push_message(5, f"bericht {n}") for n in range(3)]
    assert ids == sorted(ids) and ids[1] == ids[0] + 1
    updates = await ptb.get_updates(limit=2)
    assert [u.update_id for u in updates] == ids[:2]
    updates = await ptb.get_updates(offset=ids[1] + 1, timeout=3)
    assert [u.message.text for u in updates if u.message] == ["bericht 2"]
    updates = await ptb.get_updates(offset=-1)  # the last one; earlier ones are forgotten
    assert [u.update_id for u in updates] == ids[2:]


async def test_second_poller_gets_conflict(api: FakeBotAPI, aiobot: Bot) -> None:
    first = asyncio.create_task(aiobot.get_updates(timeout=5))
    await api.wait_for_call("getUpdates")  # the first poll is in and waiting
    second = asyncio.create_task(aiobot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    assert await second == []


async def test_aiogram_fault_injection(api: FakeBotAPI, aiobot: Bot) -> None:
    api.fail_next("sendMessage", error_code=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as retry:
        await aiobot.send_message(42, "hoi")
    assert retry.value.retry_after == 7
    api.block(42)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await aiobot.send_message(42, "hoi")
    api.unblock(42)
    api.fail_next("sendmessage", error_code=400, count=2)
    for _ in range(2):
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await aiobot.send_message(42, "hoi")
    api.fail_next("getMe", error_code=502)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await aiobot.get_me()
    await aiobot.send_message(42, "eindelijk")
    assert [r["text"] for r in api.sent] == ["eindelijk"]
    assert len(api.calls) == 6


async def test_ptb_fault_injection(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    api.fail_next("sendMessage", error_code=429, retry_after=3)
    with pytest.raises(telegram.error.RetryAfter) as retry:
        await ptb.send_message(42, "hoi")
    assert retry.value.retry_after == dt.timedelta(seconds=3)
    api.block(-100500)
    with pytest.raises(telegram.error.Forbidden, match="kicked"):
        await ptb.send_message(-100500, "hoi")
    api.fail_next("sendMessage", error_code=500)
    with pytest.raises(telegram.error.NetworkError, match="Internal Server Error"):
        await ptb.send_message(42, "hoi")


async def test_fail_ratio_and_delay(api: FakeBotAPI, aiobot: Bot) -> None:
    api.fail_ratio(0.5, methods=["sendChatAction"], seed=1)
    outcomes = []
    for _ in range(20):
        try:
            outcomes.append(await aiobot.send_chat_action(1, "typing"))
        except TelegramServerError:
            outcomes.append(False)
    assert 3 < outcomes.count(False) < 17
    assert len(api.chat_actions) == outcomes.count(True)
    api.fail_ratio(0)

    api.delay("getMe", 0.2)
    started = time.monotonic()
    await aiobot.get_me()
    assert time.monotonic() - started >= 0.2


async def test_rate_limit_accounting(api: FakeBotAPI, aiobot: Bot) -> None:
    for text in ("een", "twee", "drie"):  # a short burst to one private chat is allowed...
        await aiobot.send_message(1, text)
    assert api.rate_violations == 0
    await aiobot.send_message(1, "vier")  # ...a fourth within the second is flooding
    assert api.rate_violations == 1
    assert api.violations[0]["kind"] == "private_chat"
    for n in range(20):
        await aiobot.send_message(-100, f"groep {n}")
    assert api.rate_violations == 1
    await aiobot.send_message(-100, "21e deze minuut")
    kinds = [v["kind"] for v in api.violations]
    assert kinds == ["private_chat", "group_chat"]
    # 25 sends so far in this second: the 31st, to yet another chat, breaks the 30/s limit.
    for chat_id in range(10, 16):
        await aiobot.send_message(chat_id, "broadcast")
    assert [v["kind"] for v in api.violations][2:] == ["global"]
    assert len(api.sent) == 31  # counting never rejects


async def test_enforced_rate_limit_rejects(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    api.enforce_rate_limits = True
    for text in ("een", "twee", "drie"):
        await ptb.send_message(1, text)
    with pytest.raises(telegram.error.RetryAfter) as retry:
        await ptb.send_message(1, "vier")
    assert retry.value.retry_after == dt.timedelta(seconds=1)
    assert len(api.sent) == 3


async def test_wait_for_message_sees_edits(api: FakeBotAPI, aiobot: Bot) -> None:
    waiting = asyncio.create_task(api.wait_for_message(3, lambda r: r["text"] == "Klaar!", timeout=5))
    message = await aiobot.send_message(3, "Bezig...")
    assert not waiting.done()  # a message to chat 3 came, but not yet in the shape waited for
    await aiobot.edit_message_text("Klaar!", chat_id=3, message_id=message.message_id)
    record = await waiting
    assert record["history"][0]["text"] == "Bezig..."
    with pytest.raises(TimeoutError, match="Klaar!"):
        await api.wait_for_message(3, lambda r: r["text"] == "nooit", timeout=0.05)


async def test_commands_per_scope_and_language(api: FakeBotAPI, aiobot: Bot) -> None:
    await aiobot.set_my_commands([BotCommand(command="start", description="Beginnen")], language_code="nl")
    await aiobot.set_my_commands([BotCommand(command="/help", description=" Help ")])
    await aiobot.set_my_commands(
        [BotCommand(command="hulp", description="Hulp vragen")], scope=BotCommandScopeAllPrivateChats()
    )
    assert api.commands == {
        "nl": [{"command": "start", "description": "Beginnen"}],
        "": [{"command": "help", "description": "Help"}],
    }
    private = await aiobot.get_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert [c.command for c in private] == ["hulp"]
    assert await aiobot.get_my_commands(language_code="de") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await aiobot.set_my_commands([BotCommand(command="Start", description="x")])
    with pytest.raises(TelegramBadRequest, match="invalid language code"):
        await aiobot.get_my_commands(language_code="nld")
    await aiobot.delete_my_commands(language_code="nl")
    assert list(api.commands) == [""]


async def test_documents_and_photos(api: FakeBotAPI, aiobot: Bot, ptb: telegram.Bot) -> None:
    # aiogram sends document="attach://<random>" plus a part with that random name.
    sent = await aiobot.send_document(9, BufferedInputFile(b"%PDF-1.4", filename="agenda.pdf"), caption="De agenda")
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.file_size) == ("agenda.pdf", 8)
    assert api.sent[0]["document"]["content"] == b"%PDF-1.4"
    # PTB names the multipart part after the parameter itself.
    photo = await ptb.send_photo(9, telegram.InputFile(b"\x89PNG...", filename="kaart.png"))
    assert len(photo.photo) == 2
    assert api.sent[1]["photo"]["filename"] == "kaart.png"
    assert api.sent[1]["photo"]["content"] == b"\x89PNG..."
    again = await ptb.send_document(9, sent.document.file_id)
    assert again.document is not None
    assert again.document.file_name == "agenda.pdf"
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await aiobot.edit_message_text("x", chat_id=9, message_id=sent.message_id)


async def test_join_requests_invite_links_and_members(api: FakeBotAPI, aiobot: Bot, ptb: telegram.Bot) -> None:
    link = await aiobot.create_chat_invite_link(-100777, name="Straat", creates_join_request=True)
    assert link.invite_link.startswith("https://t.me/+")
    assert (link.name, link.creates_join_request, link.is_revoked) == ("Straat", True, False)
    api.push_chat_join_request(11, -100777, bio="Buurman", invite_link=link.invite_link)
    api.push_chat_join_request(12, -100777)
    first, _ = await ptb.get_updates()
    assert first.chat_join_request is not None
    assert first.chat_join_request.invite_link is not None
    assert first.chat_join_request.invite_link.name == "Straat"
    assert await ptb.approve_chat_join_request(-100777, 11)
    assert await aiobot.decline_chat_join_request(-100777, 12)
    with pytest.raises(TelegramBadRequest, match="HIDE_REQUESTER_MISSING"):
        await aiobot.approve_chat_join_request(-100777, 12)
    assert api.join_request_decisions == [("approved", -100777, 11), ("declined", -100777, 12)]
    revoked = await ptb.revoke_chat_invite_link(-100777, link.invite_link)
    assert revoked.is_revoked

    member = await aiobot.get_chat_member(-100777, 11)
    assert member.status == "member"
    api.set_chat_member(-100777, 13, "administrator", can_invite_users=False)
    admin = await ptb.get_chat_member(-100777, 13)
    assert isinstance(admin, telegram.ChatMemberAdministrator)
    assert admin.can_invite_users is False
    owner_status = await aiobot.get_chat_member(-100777, 14)
    assert owner_status.status == "member"
    chat = await ptb.get_chat(-100777)
    assert chat.type == "supergroup"
    assert (await aiobot.get_chat(5)).type == "private"


async def test_my_chat_member_pin_delete(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    api.push_my_chat_member(-100200, user_id=21, status="administrator", title="Dorpsplein")
    (update,) = await ptb.get_updates(allowed_updates=["message", "my_chat_member"])
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "administrator"
    assert update.my_chat_member.chat.title == "Dorpsplein"
    api.push_update({"chat_member": {}})  # not in allowed_updates: dropped, like Telegram
    assert len(api.dropped_updates) == 1

    message = await ptb.send_message(-100200, "Welkom")
    assert message.chat.title == "Dorpsplein"
    assert await ptb.pin_chat_message(-100200, message.message_id)
    assert api.sent[0]["pinned"] is True
    assert await ptb.unpin_chat_message(-100200)
    assert await ptb.delete_message(-100200, message.message_id)
    assert api.sent[0]["deleted"] is True
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)message to delete not found"):
        await ptb.delete_message(-100200, message.message_id)


async def test_webhook_settings_and_delivery(api: FakeBotAPI, ptb: telegram.Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/tg", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        with pytest.raises(telegram.error.BadRequest, match=r"(?i)https url must be provided"):
            await ptb.set_webhook("http://example.org/tg")
        assert await ptb.set_webhook("https://buurt.example/tg", secret_token="geheim_1")
        assert api.webhook["secret_token"] == "geheim_1"
        info = await ptb.get_webhook_info()
        assert info.url == "https://buurt.example/tg"
        with pytest.raises(telegram.error.Conflict, match="webhook is active"):
            await ptb.get_updates()
        port = runner.addresses[0][1]
        status = await api.deliver_webhook(
            f"http://127.0.0.1:{port}/tg", {"message": {"text": "x"}}, secret_token="geheim_1"
        )
        assert status == 200
        assert received[0][0] == "geheim_1"
        assert "update_id" in received[0][1]
        assert await ptb.delete_webhook()
        assert await ptb.get_updates() == ()
    finally:
        await runner.cleanup()


async def test_aiogram_dispatcher_end_to_end(api: FakeBotAPI, aiobot: Bot) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"Je zei: {message.text}")

    polling = asyncio.create_task(dispatcher.start_polling(aiobot, handle_signals=False, close_bot_session=False))
    try:
        api.push_message(77, "hallo")
        record = await api.wait_for_message(77, timeout=3)
        assert record["text"] == "Je zei: hallo"
    finally:
        await dispatcher.stop_polling()
        await polling


async def test_edits_and_pins_count_against_the_overall_rate_but_not_a_chats(api: FakeBotAPI, aiobot: Bot) -> None:
    message = await aiobot.send_message(7, "versie 0", reply_markup=keyboard("ja"))
    for n in range(1, 29):  # a send and 28 edits of it: 29 messages within the second
        await aiobot.edit_message_text(f"versie {n}", chat_id=7, message_id=message.message_id)
    await aiobot.edit_message_reply_markup(chat_id=7, message_id=message.message_id, reply_markup=keyboard("nee"))
    assert api.rate_violations == 0  # 30 in one second, all in one private chat: edits are not sends to it
    await aiobot.edit_message_text("versie 29", chat_id=7, message_id=message.message_id)
    assert [(v["kind"], v["method"]) for v in api.violations] == [("global", "editMessageText")]
    await aiobot.pin_chat_message(7, message.message_id)
    assert [(v["kind"], v["method"]) for v in api.violations][1:] == [("global", "pinChatMessage")]
    assert api.violations[1]["count"] == 32
    times = api.counted_times()
    assert len(times) == 32 and times == sorted(times) and times[-1] - times[0] < 1.0
    assert [at for _, at in api.edits] == times[1:31]
    assert [chat for chat, _ in api.pins] == [7] and api.pins[0][1] == times[-1]

    api.enforce_rate_limits = True  # enforced, an edit over the overall limit is refused and not made
    with pytest.raises(TelegramRetryAfter):
        await aiobot.edit_message_text("versie 30", chat_id=7, message_id=message.message_id)
    assert api.sent[0]["text"] == "versie 29" and len(api.counted_times()) == 32

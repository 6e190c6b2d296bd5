"""aiogram's types are built when first used (bot/transports/aiogram_types.py): every kind of
update Telegram may send still reads, and so does every answer aiogram may get back."""

from __future__ import annotations

import subprocess
import sys
import textwrap

READ_LAZILY = textwrap.dedent(
    """
    import logging, sys
    logging.basicConfig(level=logging.WARNING)
    import bot.transports.aiogram_door  # imports aiogram the lazy way
    import aiogram.types, aiogram.methods
    from aiogram.types import Update

    assert not aiogram.types.Sticker.__pydantic_complete__, "types were built at import"
    user = {"id": 7, "is_bot": False, "first_name": "Anna", "language_code": "nl"}
    group = {"id": -100, "type": "supergroup", "title": "Kerkstraat"}
    private = {"id": 7, "type": "private"}
    message = {"message_id": 5, "date": 1700000000, "chat": private, "from": user, "text": "Hallo"}
    updates = [
        {"update_id": 1, "message": message},
        {"update_id": 2, "message": {**message, "reply_to_message": message, "sticker": {
            "file_id": "s", "file_unique_id": "u", "type": "regular", "width": 1, "height": 1,
            "is_animated": False, "is_video": False}}},
        {"update_id": 3, "message": {**message, "chat": group, "new_chat_members": [user]}},
        {"update_id": 4, "callback_query": {"id": "q", "from": user, "chat_instance": "c",
            "data": "rsvp:1", "message": {"message_id": 5, "date": 0, "chat": private}}},
        {"update_id": 5, "chat_join_request": {"chat": group, "from": user, "user_chat_id": 7,
            "date": 1700000000, "invite_link": {"invite_link": "https://t.me/+x", "creator": user,
            "creates_join_request": True, "is_primary": False, "is_revoked": False}}},
        {"update_id": 6, "message": {**message, "photo": [{"file_id": "p", "file_unique_id": "u",
            "width": 1, "height": 1}], "caption": "Straatfeest"}},
    ]
    read = [Update.model_validate(update) for update in updates]
    assert read[1].message.reply_to_message.text == "Hallo" and read[1].message.sticker.type == "regular"
    assert read[2].message.new_chat_members[0].first_name == "Anna"
    assert read[3].callback_query.data == "rsvp:1"
    assert read[4].chat_join_request.invite_link.creator.id == 7
    assert read[5].message.photo[0].file_id == "p"
    link = {"invite_link": "https://t.me/+x", "creator": user, "creates_join_request": False,
            "is_primary": False, "is_revoked": False}
    for method, result in [(aiogram.methods.SendMessage, message),
                           (aiogram.methods.CreateChatInviteLink, link),
                           (aiogram.methods.GetChatMember, {"status": "member", "user": user})]:
        answer = aiogram.methods.Response[method.__returning__].model_validate({"ok": True, "result": result})
        assert answer.result is not None
    print("read")
    """
)


def test_every_kind_of_update_and_answer_reads_with_types_built_on_first_use() -> None:
    # A process of its own: in this one, another test may have imported aiogram already.
    done = subprocess.run([sys.executable, "-c", READ_LAZILY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "read"
    assert "could not be built lazily" not in done.stderr

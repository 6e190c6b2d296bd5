"""Telegram's errors the core does not know, and its "Bad Request" descriptions mapped to the core's
door errors, for every runtime."""

from __future__ import annotations

from bot.kernel.port import ChatNotFound, DoorError, MessageGone, MessageNotModified

# What getChatMember says of a group's administrators, in every runtime.
GROUP_ADMIN_STATUSES = frozenset({"creator", "administrator"})


def door_error_for_bad_request(description: str) -> DoorError:
    text = description.casefold()
    if "not modified" in text:
        return MessageNotModified(description)
    if "chat not found" in text or "user not found" in text:
        return ChatNotFound(description)
    if "message to edit not found" in text or "can't be edited" in text or "query is too old" in text:
        return MessageGone(description)
    return DoorError(description)


class TokenRefused(DoorError):
    """Telegram does not know the bot's token (401, or 404 for one it cannot read)."""

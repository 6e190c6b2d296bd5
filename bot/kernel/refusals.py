"""A refusal: something a user asked that the rules do not allow; they get a clear reply."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Each reason has a template `refusal/<value>.html` in every language."""

    NOT_ALLOWED = "not_allowed"
    NOT_YOUR_NETWORK = "not_your_network"
    ALREADY_DECIDED = "already_decided"
    STALE_BUTTON = "stale_button"
    UNKNOWN_INVITE = "unknown_invite"
    INVITE_USED_UP = "invite_used_up"
    TOO_LONG = "too_long"
    LAST_VERBINDER = "last_verbinder"
    NOT_MEMBER = "not_member"
    UNKNOWN_NETWORK = "unknown_network"
    DUPLICATE_NETWORK = "duplicate_network"
    NO_STREETS = "no_streets"
    PRIVATE_ONLY = "private_only"
    EMPTY_TEXT = "empty_text"
    WHEN_IN_PAST = "when_in_past"
    WHEN_NOT_UNDERSTOOD = "when_not_understood"
    OWN_REQUEST = "own_request"
    ALREADY_TAKEN = "already_taken"
    ALREADY_CLOSED = "already_closed"
    NOT_A_NUMBER = "not_a_number"
    EVENT_CLOSED = "event_closed"
    EVENT_FULL = "event_full"
    GROUP_ONLY = "group_only"
    SAY_WHICH_NETWORK = "say_which_network"
    NOT_LINKED = "not_linked"
    NOT_GROUP_ADMIN = "not_group_admin"
    LINKED_ELSEWHERE = "linked_elsewhere"
    TOO_MANY_REQUESTS = "too_many_requests"
    TOO_MANY_EVENTS = "too_many_events"
    ALREADY_REMINDED = "already_reminded"


class Refusal(Exception):
    """Raised by a service; the router renders `refusal/<reason>` for the user, nothing changes."""

    def __init__(self, reason: Reason, **values: Any) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.values = values


def checked_text(text: str, limit: int) -> str:
    """What a user typed, without the spaces around it; refused if that is nothing or longer than `limit`."""
    text = text.strip()
    if not text:
        raise Refusal(Reason.EMPTY_TEXT)
    if len(text) > limit:
        raise Refusal(Reason.TOO_LONG, limit=limit)
    return text

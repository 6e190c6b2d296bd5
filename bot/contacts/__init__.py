"""The offline route: a resident asks for a person, a buurtverbinder (or community manager) gets in touch."""

from __future__ import annotations

from bot.contacts.jobs import ContactJobs
from bot.contacts.messages import ContactMessages, reach_text, request_values, taker_keyboard
from bot.contacts.phone import read_phone, show_phone
from bot.contacts.service import (
    ESCALATE_AFTER,
    RETENTION,
    Asked,
    Beginning,
    CallTime,
    Contacts,
    ContactView,
    Reach,
    Taking,
)

__all__ = [
    "ESCALATE_AFTER",
    "RETENTION",
    "Asked",
    "Beginning",
    "CallTime",
    "ContactJobs",
    "ContactMessages",
    "ContactView",
    "Contacts",
    "Reach",
    "Taking",
    "reach_text",
    "read_phone",
    "request_values",
    "show_phone",
    "taker_keyboard",
]

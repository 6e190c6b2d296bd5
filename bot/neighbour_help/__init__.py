"""Help between neighbours: asking, offering, taking up, writing to each other, closing."""

from __future__ import annotations

from bot.neighbour_help.jobs import HelpJobs
from bot.neighbour_help.messages import HelpMessages
from bot.neighbour_help.service import DESCRIPTION_MAX, RELAY_MAX, Help, HelpStatus, NameShownTo
from bot.neighbour_help.views import (
    Category,
    Draft,
    RequestView,
    asker_keyboard,
    claim_button,
    help_ref,
    helper_keyboard,
    refs,
    request_values,
)

__all__ = [
    "DESCRIPTION_MAX",
    "RELAY_MAX",
    "Category",
    "Draft",
    "Help",
    "HelpJobs",
    "HelpMessages",
    "HelpStatus",
    "NameShownTo",
    "RequestView",
    "asker_keyboard",
    "claim_button",
    "help_ref",
    "helper_keyboard",
    "refs",
    "request_values",
]

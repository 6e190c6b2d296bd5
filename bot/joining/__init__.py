"""Joining and people: networks and their streets, memberships, invites, who someone is to the bot."""

from __future__ import annotations

from bot.joining.membership import REMIND_EVERY, JoinOutcome, JoinResult, Memberships, Reminder
from bot.joining.networks import Networks, split_streets
from bot.joining.people import People, Standing, language_for
from bot.joining.streets import StreetChoice, StreetSearch, find_street
from storage.models import Network, Person

__all__ = [
    "REMIND_EVERY",
    "JoinOutcome",
    "JoinResult",
    "Memberships",
    "Network",
    "Networks",
    "People",
    "Person",
    "Reminder",
    "Standing",
    "StreetChoice",
    "StreetSearch",
    "find_street",
    "language_for",
    "split_streets",
]

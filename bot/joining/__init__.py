"""Joining and people: networks and their streets, memberships, invites, who someone is to the bot."""

from __future__ import annotations

from bot.joining.membership import JoinOutcome, JoinResult, Memberships
from bot.joining.networks import Networks, split_streets
from bot.joining.people import People, Standing, language_for
from bot.joining.streets import StreetChoice, StreetSearch, find_street
from storage.models import Network

__all__ = [
    "JoinOutcome",
    "JoinResult",
    "Memberships",
    "Network",
    "Networks",
    "People",
    "Standing",
    "StreetChoice",
    "StreetSearch",
    "find_street",
    "language_for",
    "split_streets",
]

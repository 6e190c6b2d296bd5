"""The directory store: what spans networks, in one SQLite file, its methods kept by what they are about.

`DirectoryStore` is made of one part per kind of record, each in a module of its own:

    storage/people.py        people: who wrote, their language, consent, whether they can be reached
    storage/arrivals.py      who just wrote: person, memberships and flow read in one go, kept a minute
    storage/networks.py      networks and their streets
    storage/memberships.py   memberships and roles, joins waiting for a buurtverbinder
    storage/flows.py         conversations: the flow a person is in with a chat
    storage/invites.py       invite codes
    storage/kept_updates.py  updates kept before they are handled, and the steps they applied
    storage/groups.py        linked Telegram groups and their join requests
    storage/jobs.py          (JobIndex) when each network's next job is due

Every part writes through the directory's sessions, whose events keep the read cache of
storage/known.py true. Callers use the one store: `stores.directory.get_person(...)`.
"""

from __future__ import annotations

from typing import Any

from storage.arrivals import Arrival, Arrivals, Arriving
from storage.engine import sqlite_url
from storage.flows import FlowRecords
from storage.groups import GroupRecords
from storage.invites import InviteRecords
from storage.jobs import JobIndex
from storage.kept_updates import KeptUpdates
from storage.known import DirectorySession, Known
from storage.memberships import MembershipRecords
from storage.migrations.directory import MIGRATIONS
from storage.networks import DuplicateNetworkError, NetworkRecords
from storage.people import PeopleRecords

__all__ = ["Arrival", "Arriving", "DirectoryStore", "DuplicateNetworkError"]


class DirectoryStore(
    Arrivals,
    PeopleRecords,
    NetworkRecords,
    MembershipRecords,
    FlowRecords,
    InviteRecords,
    KeptUpdates,
    GroupRecords,
    JobIndex,
):
    session_class = DirectorySession

    def __init__(self, url: str) -> None:
        super().__init__(url, MIGRATIONS)
        self._known = Known()  # standings and flows read lately; see storage/known.py

    def session_info(self) -> dict[str, Any]:
        return {"known": self._known}

    @classmethod
    def at(cls, path: Any) -> DirectoryStore:
        return cls(sqlite_url(path))

"""Who just wrote, read in one go: the person, their memberships and their flow in that chat.

The read every update begins with. What it reads is kept a minute in the directory's `Known`
(storage/known.py), so the next update of a conversation needs no transaction at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from storage.base import Store
from storage.flows import copy_flow, flow_in, flows_of_people
from storage.known import Known
from storage.memberships import memberships_in, memberships_of_people
from storage.models import Person
from storage.people import people_by_id, seen
from storage.views import FlowState, MembershipView


@dataclass(frozen=True)
class Arriving:
    """Someone whose update was just fetched, as `arrive` will be told about them."""

    person_id: int
    chat_id: int
    name: str
    username: str | None
    language: str


@dataclass(frozen=True)
class Arrival:
    """Someone who just wrote: the person, their memberships, their flow in that chat."""

    person: Person
    memberships: list[MembershipView]
    flow: FlowState | None


class Arrivals(Store):
    """The directory's read of who just wrote (part of `DirectoryStore`)."""

    _known: Known

    async def arrive(
        self, *, person_id: int, name: str, username: str | None, language: str, chat_id: int, now: datetime
    ) -> Arrival:
        """Everything the core needs when someone writes, in one transaction: the person (recorded
        as with `upsert_person`), their memberships, and the flow they are in with this chat.
        Read lately and unchanged since (see storage/known.py): no transaction at all."""
        standing = self._known.standing(person_id)
        flow_known, flow = self._known.flow(person_id, chat_id)
        if (
            standing is not None
            and flow_known
            and standing.person.name == name
            and standing.person.username == username
            and standing.person.unreachable_at is None
        ):
            return Arrival(standing.person, standing.memberships, copy_flow(flow))
        async with self.transaction() as session:
            person = await seen(session, person_id, name, username, language, now)
            newcomer = person in session.new  # recorded just now: no memberships yet
            await session.flush()  # written (and so forgotten) before it is kept again below
            memberships = [] if newcomer else await memberships_in(session, person_id)
            if not flow_known:
                flow = await flow_in(session, person_id, chat_id)
            self._known.keep(person, memberships)
            self._known.keep_flow(person_id, chat_id, flow)
            return Arrival(person, memberships, copy_flow(flow))

    async def recall(self, arrivals: Iterable[Arriving], now: datetime) -> None:
        """Reads ahead, in one transaction, the people and flows that updates fetched together
        will need: each `arrive` then finds them known. Someone not in the directory yet is
        recorded here, all of a poll's newcomers in one statement, so that their first update
        makes no transaction of its own either."""
        arrivals = list(arrivals)
        flows_wanted = {(a.person_id, a.chat_id) for a in arrivals if not self._known.flow(a.person_id, a.chat_id)[0]}
        people_wanted = {person_id for person_id, _ in flows_wanted} | {
            a.person_id for a in arrivals if self._known.standing(a.person_id) is None
        }
        if not people_wanted:
            return
        async with self.transaction() as session:
            people = await people_by_id(session, people_wanted)
            found = {person.id for person in people}
            new_ids = people_wanted - found
            newcomers = {a.person_id: a for a in arrivals if a.person_id in new_ids}
            memberships: dict[int, list[MembershipView]] = {person_id: [] for person_id in people_wanted}
            flows: dict[tuple[int, int], FlowState] = {}
            if found:
                for view in await memberships_of_people(session, found):
                    memberships[view.membership.person_id].append(view)
                flows = await flows_of_people(session, found)
            if newcomers:
                newcomer_rows = [
                    Person(id=a.person_id, name=a.name, username=a.username, language=a.language, created_at=now)
                    for a in newcomers.values()
                ]
                session.add_all(newcomer_rows)
                await session.flush()  # one INSERT for all of them
                people += newcomer_rows
            for person in people:
                self._known.keep(person, memberships[person.id])
            for chat in flows_wanted:
                self._known.keep_flow(*chat, flows.get(chat))

"""What the directory remembers between one person's updates: their standing and their flows.

Someone walking through a conversation sends an update every few seconds, and each needs the
person, their memberships and their flow in that chat. Those are kept here for a minute after
they were read. Every write to people, memberships, networks, streets or conversations made
through the directory's sessions forgets what it touches (an ORM change: that person or that
conversation; a bulk statement: everything of that kind), so this process never sees a stale
standing. Another process (a CLI command) may change the store unseen: for at most a minute.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from storage.models import Conversation, Membership, Network, Person, Street
from storage.views import FlowState, MembershipView

KEPT_FOR_S = 60.0
KEPT_MAX = 10_000  # people; a village has 6,500 households
STANDING_TABLES = frozenset({"person", "membership", "network", "street"})
FLOW_TABLES = frozenset({"conversation"})
# A statement given this execution option changes nothing a standing holds (a network's next job).
STANDING_UNAFFECTED = "standing_unaffected"
# A statement on conversations given this option, (person, chat), touches that conversation only.
ONE_FLOW = "one_flow"


@dataclass(frozen=True)
class KeptStanding:
    person: Person
    memberships: list[MembershipView]
    until: float


class Known:
    """Standings by person and flows by (person, chat), each for KEPT_FOR_S, at most KEPT_MAX."""

    def __init__(self) -> None:
        self._standings: OrderedDict[int, KeptStanding] = OrderedDict()
        self._flows: OrderedDict[tuple[int, int], tuple[FlowState | None, float]] = OrderedDict()

    def standing(self, person_id: int) -> KeptStanding | None:
        kept = self._standings.get(person_id)
        if kept is None or kept.until < time.monotonic():
            return None
        return kept

    def flow(self, person_id: int, chat_id: int) -> tuple[bool, FlowState | None]:
        """(known, flow): known is False when it must be read."""
        kept = self._flows.get((person_id, chat_id))
        if kept is None or kept[1] < time.monotonic():
            return False, None
        return True, kept[0]

    def keep(self, person: Person, memberships: list[MembershipView]) -> None:
        self._standings[person.id] = KeptStanding(person, memberships, time.monotonic() + KEPT_FOR_S)
        self._standings.move_to_end(person.id)
        while len(self._standings) > KEPT_MAX:
            self._standings.popitem(last=False)

    def keep_flow(self, person_id: int, chat_id: int, flow: FlowState | None) -> None:
        key = (person_id, chat_id)
        self._flows[key] = (flow, time.monotonic() + KEPT_FOR_S)
        self._flows.move_to_end(key)
        while len(self._flows) > KEPT_MAX:
            self._flows.popitem(last=False)

    def forget(self, person_ids: Iterable[int]) -> None:
        for person_id in person_ids:
            self._standings.pop(person_id, None)

    def forget_flows(self, keys: Iterable[tuple[int, int]]) -> None:
        for key in keys:
            self._flows.pop(key, None)

    def forget_all(self) -> None:
        self._standings.clear()

    def forget_all_flows(self) -> None:
        self._flows.clear()


class DirectorySession(Session):
    """The directory's sessions: what they write is forgotten by the directory's `Known`."""


def _known_of(session: Session) -> Known | None:
    known = session.info.get("known")
    return known if isinstance(known, Known) else None


@event.listens_for(DirectorySession, "before_flush")
def _forget_flushed(session: Session, _context: Any, _instances: Any) -> None:
    known = _known_of(session)
    if known is None:
        return
    for changed in (*session.new, *session.dirty, *session.deleted):
        if isinstance(changed, Person):
            known.forget([changed.id])
        elif isinstance(changed, Membership):
            known.forget([changed.person_id])
        elif isinstance(changed, Network | Street):
            known.forget_all()
        elif isinstance(changed, Conversation):
            known.forget_flows([(changed.person_id, changed.chat_id)])


@event.listens_for(DirectorySession, "do_orm_execute")
def _forget_written(state: Any) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    known = _known_of(state.session)
    table = getattr(state.statement, "table", None)
    if known is None or table is None:
        return
    if table.name in STANDING_TABLES and not state.execution_options.get(STANDING_UNAFFECTED):
        known.forget_all()
    if table.name in FLOW_TABLES:
        one = state.execution_options.get(ONE_FLOW)
        if one is not None:
            known.forget_flows([one])
        else:
            known.forget_all_flows()

"""Activities in a network's store: the activities, their answers and waiting lists, postings, preferences.

An RSVP tap is the busiest write the bot makes: its statements are SQLAlchemy Core, made once
(the ORM's bookkeeping for its rows cost more than the statements themselves), and a tap reads,
checks and writes in one `RsvpTurn`, one transaction of the network's store, together with the
step that gave someone on the waiting list a place. `ActivityRows` opens the right store for
the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, func, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select

from storage import steps
from storage.models import (
    Event,
    EventPosting,
    EventStatus,
    MemberPreference,
    Membership,
    MembershipStatus,
    OutboxKind,
    Person,
    Rsvp,
)
from storage.outbox import OUTBOX
from storage.stores import Stores

_EVENT: Table = Event.__table__  # type: ignore[attr-defined]
_RSVP: Table = Rsvp.__table__  # type: ignore[attr-defined]
_POSTING: Table = EventPosting.__table__  # type: ignore[attr-defined]

# The event with every answer to it (a row per answer; the answer's columns are NULL if none).
_EVENT_AND_ANSWERS = (
    sa_select(_EVENT, _RSVP.c.person_id, _RSVP.c.answer, _RSVP.c.waiting, _RSVP.c.answered_at)
    .select_from(_EVENT.outerjoin(_RSVP, _RSVP.c.event_id == _EVENT.c.id))
    .where(_EVENT.c.id == bindparam("event_id"))
)
_EVENT_KEYS = tuple(_EVENT.c.keys())
_EVENT_COLUMNS = len(_EVENT_KEYS)
_ADD_ANSWER = _RSVP.insert()
_ONE_ANSWER = (_RSVP.c.event_id == bindparam("event"), _RSVP.c.person_id == bindparam("person"))
_CHANGE_ANSWER = (
    _RSVP.update()
    .where(*_ONE_ANSWER)
    .values(answer=bindparam("new_answer"), waiting=bindparam("new_waiting"), answered_at=bindparam("at"))
)
_OFF_THE_WAITING_LIST = _RSVP.update().where(*_ONE_ANSWER).values(waiting=False)
# The organiser's messages about an activity in their chat: copies kept by hand, and the
# invitations the outbox sent.
_COPIES = union_all(
    sa_select(_POSTING.c.message_id).where(
        _POSTING.c.event_id == bindparam("event_id"), _POSTING.c.chat_id == bindparam("chat_id")
    ),
    sa_select(OUTBOX.c.message_id).where(
        OUTBOX.c.kind == OutboxKind.EVENT_INVITATION,
        OUTBOX.c.ref == bindparam("ref"),
        OUTBOX.c.chat_id == bindparam("chat_id"),
        OUTBOX.c.message_id.is_not(None),
    ),
)

_IN_LIST_MAX = 500  # ids in one IN (...): well under any database's limit on parameters


def invitation_ref(event_id: int) -> str:
    """How the outbox names an activity's invitations (OutboxMessage.ref)."""
    return str(event_id)


@dataclass
class RsvpRow:
    """One person's answer to an activity, as read for an RSVP (a row of `Rsvp`, without the ORM)."""

    person_id: int
    answer: str
    waiting: bool
    answered_at: datetime


@dataclass(frozen=True)
class ToRemind:
    """What a batch of reminders reads of a network's store, in one transaction."""

    activities: dict[int, tuple[Event, list[Rsvp]]]  # those that exist, each with all its answers
    quiet: set[int]  # members who turned reminders off


class RsvpTurn:
    """One transaction in a network's store for an activity's answers: read them, then write one."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def event_and_answers(self, event_id: int) -> tuple[Event, list[RsvpRow]] | None:
        """The event and its answers, in one statement; None if there is no such event."""
        found = (await self._connection.execute(_EVENT_AND_ANSWERS, {"event_id": event_id})).all()
        if not found:
            return None
        event = Event(**dict(zip(_EVENT_KEYS, found[0][:_EVENT_COLUMNS], strict=True)))
        return event, [RsvpRow(*row[_EVENT_COLUMNS:]) for row in found if row.person_id is not None]

    async def add(self, event_id: int, row: RsvpRow) -> None:
        """A first answer."""
        await self._connection.execute(
            _ADD_ANSWER,
            {
                "event_id": event_id,
                "person_id": row.person_id,
                "answer": row.answer,
                "waiting": row.waiting,
                "answered_at": row.answered_at,
            },
        )

    async def change(self, event_id: int, row: RsvpRow) -> None:
        """An answer given before, now as `row` says."""
        change = {"new_answer": row.answer, "new_waiting": row.waiting, "at": row.answered_at}
        await self._connection.execute(_CHANGE_ANSWER, {"event": event_id, "person": row.person_id, **change})

    async def give_place(
        self, event_id: int, person_id: int, *, key: str | None, step_kind: str, now: datetime
    ) -> None:
        """Someone on the waiting list has a place, kept with the step under `key` (the tap's update)."""
        await self._connection.execute(_OFF_THE_WAITING_LIST, {"event": event_id, "person": person_id})
        await steps.record(self._connection, key, kind=step_kind, ref=str(person_id), now=now)

    async def applied(self, key: str | None) -> steps.Applied | None:
        """The step this tap's update applied before (handled again after a crash), or None."""
        return await steps.applied(self._connection, key)

    async def copies(self, event_id: int, chat_id: int) -> list[int]:
        """The ids of the messages about this event in this chat: copies kept by hand and
        invitations the outbox sent."""
        found = await self._connection.execute(
            _COPIES, {"event_id": event_id, "chat_id": chat_id, "ref": invitation_ref(event_id)}
        )
        return [message_id for (message_id,) in found]


class ActivityRows:
    """The activities of every network, one store each."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    @asynccontextmanager
    async def rsvp_turn(self, slug: str) -> AsyncIterator[RsvpTurn]:
        """A transaction of the network's store for reading an activity's answers and writing one."""
        async with self._stores.network(slug) as store, store.connection() as connection:
            yield RsvpTurn(connection)

    # --- activities -----------------------------------------------------------------------

    async def created_since(self, slug: str, person_id: int, since: datetime) -> int:
        """How many activities this person created after `since`."""
        query = select(func.count()).where(Event.created_by == person_id, col(Event.created_at) > since)
        async with self._stores.network(slug) as store, store.transaction() as session:
            return (await session.exec(query)).one()

    async def add(self, slug: str, event: Event) -> Event:
        """Keeps a new activity; it has its id on return."""
        async with self._stores.network(slug) as store, store.transaction() as session:
            session.add(event)
            await session.flush()
        return event

    async def decide(self, slug: str, event_id: int, status: str, now: datetime) -> bool:
        """A proposed activity published or declined. Compare-and-set: of two buurtverbinders
        deciding at once, the second finds it decided (False)."""
        statement = (
            update(Event)
            .where(col(Event.id) == event_id, col(Event.status) == EventStatus.PROPOSED)
            .values(status=status, updated_at=now)
        )
        async with self._stores.network(slug) as store, store.transaction() as session:
            decided = await session.exec(statement)
        return bool(decided.rowcount)

    async def move(self, slug: str, event_id: int, starts_at: datetime, now: datetime) -> None:
        async with self._stores.network(slug) as store, store.transaction() as session:
            event = await session.get(Event, event_id)
            assert event is not None
            event.starts_at, event.updated_at = starts_at, now

    async def set_status(self, slug: str, event_id: int, status: str, now: datetime) -> None:
        async with self._stores.network(slug) as store, store.transaction() as session:
            event = await session.get(Event, event_id)
            assert event is not None
            event.status, event.updated_at = status, now

    async def upcoming(self, slug: str, now: datetime, *, status: str) -> list[int]:
        """The ids of the activities with this status that start after `now`, soonest first."""
        query = (
            select(Event.id).where(Event.status == status, col(Event.starts_at) > now).order_by(col(Event.starts_at))
        )
        async with self._stores.network(slug) as store, store.transaction() as session:
            return [event_id for event_id in (await session.exec(query)).all() if event_id]

    # --- answers and postings -------------------------------------------------------------

    async def responders(self, slug: str, event_id: int, answers: Sequence[str]) -> list[int]:
        """Who gave one of these answers."""
        query = select(Rsvp.person_id).where(Rsvp.event_id == event_id, col(Rsvp.answer).in_(list(answers)))
        async with self._stores.network(slug) as store, store.transaction() as session:
            return list((await session.exec(query)).all())

    async def record_posting(self, slug: str, event_id: int, chat_id: int, message_id: int) -> None:
        async with self._stores.network(slug) as store, store.transaction() as session:
            session.add(EventPosting(event_id=event_id, chat_id=chat_id, message_id=message_id))

    async def told(self, slug: str, key: str, now: datetime) -> None:
        """The one who got a place was told: the step under `key` sends no more."""
        async with self._stores.network(slug) as store, store.connection() as connection:
            await steps.told(connection, key, now)

    # --- preferences ----------------------------------------------------------------------

    async def without_event_news(self, slug: str) -> set[int]:
        """Members who said they want no news of activities."""
        query = select(MemberPreference.person_id).where(col(MemberPreference.event_news).is_(False))
        async with self._stores.network(slug) as store, store.transaction() as session:
            return set((await session.exec(query)).all())

    async def reminders_wanted(self, slug: str, person_id: int) -> bool | None:
        """Whether this member wants reminders; None if they never said."""
        async with self._stores.network(slug) as store, store.transaction() as session:
            pref = await session.get(MemberPreference, person_id)
        return None if pref is None else pref.event_reminders

    async def set_reminders(self, slug: str, person_id: int, on: bool) -> None:
        async with self._stores.network(slug) as store, store.transaction() as session:
            pref = await session.get(MemberPreference, person_id)
            if pref is None:
                session.add(MemberPreference(person_id=person_id, event_reminders=on))
            else:
                pref.event_reminders = on

    # --- reminders ------------------------------------------------------------------------

    async def to_remind(self, slug: str, event_ids: Iterable[int]) -> ToRemind:
        """The activities among `event_ids` that exist with their answers, and who turned
        reminders off: in one transaction."""
        ids = sorted(event_ids)
        found: dict[int, tuple[Event, list[Rsvp]]] = {}
        quiet_query = select(MemberPreference.person_id).where(col(MemberPreference.event_reminders).is_(False))
        async with self._stores.network(slug) as store, store.transaction() as session:
            for start in range(0, len(ids), _IN_LIST_MAX):
                chunk = ids[start : start + _IN_LIST_MAX]
                for event in (await session.exec(select(Event).where(col(Event.id).in_(chunk)))).all():
                    found[event.id or 0] = (event, [])
                for row in (await session.exec(select(Rsvp).where(col(Rsvp.event_id).in_(chunk)))).all():
                    found[row.event_id][1].append(row)
            quiet = set((await session.exec(quiet_query)).all())
        return ToRemind(found, quiet)

    async def active_members(self, network_id: int, person_ids: Iterable[int]) -> dict[int, Person]:
        """Those of `person_ids` who are active members of the network and have not blocked the
        bot (read in the directory store)."""
        ids = sorted(person_ids)
        found: dict[int, Person] = {}
        if not ids:
            return found
        async with self._stores.directory.transaction() as session:
            for start in range(0, len(ids), _IN_LIST_MAX):
                query = (
                    select(Person)
                    .join(Membership, col(Membership.person_id) == col(Person.id))
                    .where(
                        col(Person.id).in_(ids[start : start + _IN_LIST_MAX]),
                        Membership.network_id == network_id,
                        Membership.status == MembershipStatus.ACTIVE,
                        col(Person.unreachable_at).is_(None),
                    )
                )
                found.update((person.id or 0, person) for person in (await session.exec(query)).all())
        return found

"""What running a network reads and writes: its members, settings, audit, export, figures and history.

The directory holds who is a member; each network's own store holds its help requests and
activities. Figures and history are read as rows and counted by the caller, which knows the
village's time zone (a month begins at midnight in Son en Breugel, not in UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_
from sqlmodel import col, select

from storage.models import (
    Answer,
    Event,
    EventStatus,
    HelpRequest,
    HelpStatus,
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    Network,
    Person,
    Rsvp,
)
from storage.stores import Stores


@dataclass(frozen=True)
class EventLine:
    """An activity and how many answered yes, maybe and no."""

    event: Event
    yes: int
    maybe: int
    no: int


@dataclass(frozen=True)
class HelpCounts:
    asked: int
    claimed: int
    done: int
    waits: list[tuple[datetime, datetime]]  # (asked, taken) of every request someone took


@dataclass(frozen=True)
class ActivityCounts:
    published: int
    attending: int  # answers "I'm coming"


@dataclass(frozen=True)
class MemberSpan:
    """When someone was a member: from `since`, until `until` (None: still a member).

    A membership that ended keeps the day it was asked for, not the day it was approved (leaving
    overwrites that); for the months a chart shows, the difference is a few days at most."""

    since: datetime
    until: datetime | None


@dataclass(frozen=True)
class HelpMoments:
    """When a request was asked, taken up and done (None: not (yet))."""

    asked_at: datetime
    taken_at: datetime | None
    done_at: datetime | None


@dataclass(frozen=True)
class Answers:
    """How many gave one answer to one published activity, and when it starts."""

    starts_at: datetime
    answer: Answer
    count: int


async def setting_values(stores: Stores, slug: str) -> dict[str, str]:
    """The settings a network has changed, by name (the rest keep their defaults)."""
    async with stores.network(slug) as store:
        return await store.settings()


class NetworkAdminRows:
    """The rows behind /leden, /instellingen, /exporteren and /statistiek."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def networks(self) -> Sequence[Network]:
        return await self._stores.directory.networks()

    # --- members ---------------------------------------------------------------------------

    async def members(self, network_id: int) -> list[tuple[Membership, Person]]:
        """The active members, buurtverbinders first, each group by name."""
        verbinders_first = case((col(Membership.role) == MemberRole.BUURTVERBINDER, 0), else_=1)
        query = (
            select(Membership, Person)
            .join(Person, col(Person.id) == col(Membership.person_id))
            .where(Membership.network_id == network_id, Membership.status == MembershipStatus.ACTIVE)
            .order_by(verbinders_first, col(Person.name), col(Person.id))
        )
        async with self._stores.directory.transaction() as session:
            return [(membership, person) for membership, person in (await session.exec(query)).all()]

    async def person(self, person_id: int) -> Person | None:
        return await self._stores.directory.get_person(person_id)

    async def membership(self, person_id: int, network_id: int) -> Membership | None:
        return await self._stores.directory.membership_of(person_id, network_id)

    async def verbinder_count(self, network_id: int) -> int:
        query = (
            select(func.count())
            .select_from(Membership)
            .where(
                Membership.network_id == network_id,
                Membership.role == MemberRole.BUURTVERBINDER,
                Membership.status == MembershipStatus.ACTIVE,
            )
        )
        async with self._stores.directory.transaction() as session:
            return int((await session.exec(query)).one())

    async def mark_left(self, membership_id: int, *, by: int, now: datetime) -> bool:
        """An active membership ends; False if it was not active any more."""
        return await self._stores.directory.decide_membership(
            membership_id=membership_id, expected=MembershipStatus.ACTIVE, status=MembershipStatus.LEFT, by=by, now=now
        )

    async def street_names(self, network_id: int) -> dict[int, str]:
        return {street.id: street.name for street in await self._stores.directory.streets_of(network_id) if street.id}

    # --- settings and audit ----------------------------------------------------------------

    async def settings(self, slug: str) -> dict[str, str]:
        return await setting_values(self._stores, slug)

    async def set_setting(self, slug: str, name: str, value: str) -> None:
        async with self._stores.network(slug) as store:
            await store.set_setting(name, value)

    async def set_join_policy(self, network_id: int, policy: JoinPolicy) -> None:
        await self._stores.directory.set_join_policy(network_id, policy)

    async def audit(
        self, slug: str, *, actor_id: int, action: str, subject_id: int | None, detail: str, now: datetime
    ) -> None:
        async with self._stores.network(slug) as store:
            await store.audit(actor_id=actor_id, action=action, subject_id=subject_id, detail=detail, now=now)

    # --- export ----------------------------------------------------------------------------

    async def help_requests(self, slug: str) -> Sequence[HelpRequest]:
        async with self._stores.network(slug) as store, store.transaction() as session:
            return (await session.exec(select(HelpRequest).order_by(col(HelpRequest.created_at)))).all()

    async def events_with_answers(self, slug: str) -> list[EventLine]:
        counted = select(col(Rsvp.event_id), col(Rsvp.answer), func.count()).group_by(
            col(Rsvp.event_id), col(Rsvp.answer)
        )
        async with self._stores.network(slug) as store, store.transaction() as session:
            events = (await session.exec(select(Event).order_by(col(Event.starts_at)))).all()
            counts = {(event_id, answer): int(count) for event_id, answer, count in (await session.exec(counted)).all()}
        return [
            EventLine(
                event,
                yes=counts.get((event.id or 0, Answer.YES), 0),
                maybe=counts.get((event.id or 0, Answer.MAYBE), 0),
                no=counts.get((event.id or 0, Answer.NO), 0),
            )
            for event in events
        ]

    # --- figures ---------------------------------------------------------------------------

    async def member_count(self, network_id: int) -> int:
        return await self._stores.directory.count_members(network_id, MembershipStatus.ACTIVE)

    async def joined_since(self, network_id: int, since: datetime) -> int:
        return await self._stores.directory.count_joined_since(network_id, since)

    async def help_counts(self, slug: str) -> HelpCounts:
        counts = select(
            func.count(),
            func.count(col(HelpRequest.claimed_at)),
            func.coalesce(func.sum(case((col(HelpRequest.status) == HelpStatus.DONE, 1), else_=0)), 0),
        )
        waits = select(col(HelpRequest.created_at), col(HelpRequest.claimed_at)).where(
            col(HelpRequest.claimed_at).is_not(None)
        )
        async with self._stores.network(slug) as store, store.transaction() as session:
            asked, claimed, done = (await session.exec(counts)).one()
            taken = [(created, claimed_at) for created, claimed_at in (await session.exec(waits)).all() if claimed_at]
        return HelpCounts(asked=int(asked), claimed=int(claimed), done=int(done), waits=taken)

    async def activity_counts(self, slug: str) -> ActivityCounts:
        published = select(func.count()).select_from(Event).where(Event.status == EventStatus.PUBLISHED)
        attending = select(func.count()).select_from(Rsvp).where(Rsvp.answer == Answer.YES)
        async with self._stores.network(slug) as store, store.transaction() as session:
            return ActivityCounts(
                published=int((await session.exec(published)).one()),
                attending=int((await session.exec(attending)).one()),
            )

    # --- history, for the charts -----------------------------------------------------------

    async def member_spans(self, network_id: int) -> list[MemberSpan]:
        """Everyone who is or was a member, and when."""
        query = select(col(Membership.status), col(Membership.created_at), col(Membership.decided_at)).where(
            Membership.network_id == network_id,
            col(Membership.status).in_((MembershipStatus.ACTIVE, MembershipStatus.LEFT)),
        )
        async with self._stores.directory.transaction() as session:
            rows = (await session.exec(query)).all()
        return [
            MemberSpan(since=decided or created, until=None)
            if status == MembershipStatus.ACTIVE
            else MemberSpan(since=created, until=decided)
            for status, created, decided in rows
        ]

    async def help_moments(self, slug: str, since: datetime) -> list[HelpMoments]:
        """Requests asked, taken up or done since then."""
        query = select(
            col(HelpRequest.created_at),
            col(HelpRequest.claimed_at),
            col(HelpRequest.closed_at),
            col(HelpRequest.status),
        ).where(
            or_(
                col(HelpRequest.created_at) >= since,
                col(HelpRequest.claimed_at) >= since,
                col(HelpRequest.closed_at) >= since,
            )
        )
        async with self._stores.network(slug) as store, store.transaction() as session:
            rows = (await session.exec(query)).all()
        return [
            HelpMoments(asked_at=created, taken_at=claimed, done_at=closed if status == HelpStatus.DONE else None)
            for created, claimed, closed, status in rows
        ]

    async def answers(self, slug: str, since: datetime, until: datetime) -> list[Answers]:
        """The answers to published activities that start between `since` and `until`."""
        query = (
            select(col(Event.starts_at), col(Rsvp.answer), func.count())
            .join(Event, col(Event.id) == col(Rsvp.event_id))
            .where(
                Event.status == EventStatus.PUBLISHED,
                col(Event.starts_at) >= since,
                col(Event.starts_at) < until,
            )
            .group_by(col(Event.id), col(Event.starts_at), col(Rsvp.answer))
        )
        async with self._stores.network(slug) as store, store.transaction() as session:
            rows = (await session.exec(query)).all()
        return [Answers(starts_at, Answer(answer), int(count)) for starts_at, answer, count in rows]

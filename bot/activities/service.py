"""Activities (events) in a network: creating, proposing, answering, waiting lists, reminders, calendar files.

Called "activities" in code so they are not confused with the core's chat events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.activities.views import (
    ActivityView,
    Answered,
    Draft,
    RsvpRow,
    activity_values,
    answer_keyboard,
    invitation_ref,
    view_of,
)
from bot.delivery.outbox import Outbox
from bot.delivery.post import Post
from bot.delivery.scheduler import JobKind, JobPlan
from bot.joining import Standing
from bot.kernel import failpoints
from bot.kernel.clock import Clock
from bot.kernel.limits import EVENTS_PER_DAY_MAX
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Reply
from bot.network_admin import settings_of
from storage import steps
from storage.models import Answer as Answer  # re-exported for handlers
from storage.models import (
    Event,
    EventPosting,
    MemberPreference,
    MemberRole,
    Membership,
    MembershipStatus,
    Network,
    OutboxKind,
    OutboxMessage,
    Person,
    Rsvp,
)
from storage.models import EventStatus as EventStatus  # re-exported for handlers
from storage.stores import Stores

TITLE_MAX = 80
PLACE_MAX = 120
DESCRIPTION_MAX = 600
CAPACITY_MAX = 10_000
DEFAULT_LENGTH = timedelta(hours=2)  # for the calendar file: how long an activity lasts


_EVENT: Table = Event.__table__  # type: ignore[attr-defined]
_RSVP: Table = Rsvp.__table__  # type: ignore[attr-defined]
_POSTING: Table = EventPosting.__table__  # type: ignore[attr-defined]
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]

# Statements made once, in SQLAlchemy Core: an RSVP tap is the busiest write the bot makes, and
# the ORM's bookkeeping for its rows cost more than the statements themselves.
# The event with every answer to it (a row per answer; the answer's columns are NULL if none).
_EVENT_AND_ANSWERS = (
    sa_select(_EVENT, _RSVP.c.person_id, _RSVP.c.answer, _RSVP.c.waiting, _RSVP.c.answered_at)
    .select_from(_EVENT.outerjoin(_RSVP, _RSVP.c.event_id == _EVENT.c.id))
    .where(_EVENT.c.id == bindparam("event_id"))
)
_EVENT_COLUMNS = len(_EVENT.c)
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
    sa_select(_OUTBOX.c.message_id).where(
        _OUTBOX.c.kind == OutboxKind.EVENT_INVITATION,
        _OUTBOX.c.ref == bindparam("ref"),
        _OUTBOX.c.chat_id == bindparam("chat_id"),
        _OUTBOX.c.message_id.is_not(None),
    ),
)


RSVP_STEP = "rsvp_promoted"  # storage.steps: an answer that gave someone on the waiting list a place


class Activities:
    def __init__(self, stores: Stores, clock: Clock, jobs: JobPlan, post: Post, outbox: Outbox) -> None:
        self._stores = stores
        self._clock = clock
        self._jobs = jobs
        self._post = post
        self._outbox = outbox

    # --- checking what was typed ----------------------------------------------------------

    @staticmethod
    def check_text(text: str, limit: int, *, required: bool = True) -> str:
        text = text.strip()
        if required and not text:
            raise Refusal(Reason.EMPTY_TEXT)
        if len(text) > limit:
            raise Refusal(Reason.TOO_LONG, limit=limit)
        return text

    @staticmethod
    def check_capacity(text: str) -> int:
        if not text.strip().isdigit() or not 1 <= int(text) <= CAPACITY_MAX:
            raise Refusal(Reason.NOT_A_NUMBER)
        return int(text)

    # --- creating -------------------------------------------------------------------------

    async def may_create(self, standing: Standing, network: Network) -> bool:
        """A buurtverbinder publishes; a resident may propose where the network allows it."""
        if standing.may_in(network.id or 0, Action.PUBLISH_EVENT):
            return True
        settings = await settings_of(self._stores, network)
        return settings.residents_propose_events and standing.may_in(network.id or 0, Action.ASK_HELP)

    async def create(self, standing: Standing, network: Network, draft: Draft, now: datetime) -> Event:
        if not await self.may_create(standing, network):
            raise Refusal(Reason.NOT_ALLOWED)
        if draft.starts_at <= now:
            raise Refusal(Reason.WHEN_IN_PAST)
        async with self._stores.network(network.slug) as store, store.transaction() as session:
            query = select(Event.id).where(
                Event.created_by == standing.person.id, col(Event.created_at) > now - timedelta(days=1)
            )
            if len((await session.exec(query)).all()) >= EVENTS_PER_DAY_MAX:
                raise Refusal(Reason.TOO_MANY_EVENTS, limit=EVENTS_PER_DAY_MAX)
        publishing = standing.may_in(network.id or 0, Action.PUBLISH_EVENT)
        event = Event(
            title=draft.title,
            starts_at=draft.starts_at,
            place=draft.place,
            description=draft.description,
            capacity=draft.capacity,
            status=EventStatus.PUBLISHED if publishing else EventStatus.PROPOSED,
            created_by=standing.person.id,
            created_at=now,
            updated_at=now,
        )
        async with self._stores.network(network.slug) as store, store.transaction() as session:
            session.add(event)
            await session.flush()
        if publishing:
            await self.schedule_reminders(network, event)
        return event

    async def proposal_reviewers(self, network: Network) -> Sequence[Person]:
        """Who is asked to decide on an activity a resident proposed: the network's buurtverbinders."""
        return await self._stores.directory.people_with_role(network.id or 0, MemberRole.BUURTVERBINDER)

    async def decide_proposal(
        self, standing: Standing, network_id: int, event_id: int, *, publish: bool, now: datetime
    ) -> ActivityView:
        view = await self.view(network_id, event_id)
        if not standing.may_in(network_id, Action.PUBLISH_EVENT):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=view.network.name)
        if view.event.status != EventStatus.PROPOSED:
            raise Refusal(Reason.ALREADY_DECIDED, name=view.event.title)
        status = EventStatus.PUBLISHED if publish else EventStatus.DECLINED
        async with self._stores.network(view.network.slug) as store, store.transaction() as session:
            # Compare-and-set: of two buurtverbinders deciding at once, the second finds it decided.
            decided = await session.exec(
                update(Event)
                .where(col(Event.id) == event_id, col(Event.status) == EventStatus.PROPOSED)
                .values(status=status, updated_at=now)
            )
        if not decided.rowcount:
            raise Refusal(Reason.ALREADY_DECIDED, name=view.event.title)
        if publish:
            await self.schedule_reminders(view.network, view.event)
        return await self.view(network_id, event_id)

    async def schedule_reminders(self, network: Network, event: Event) -> None:
        settings = await settings_of(self._stores, network)
        for hours in settings.reminder_hours:
            due = event.starts_at - timedelta(hours=hours)
            await self._jobs.schedule(network, JobKind.EVENT_REMIND, f"{event.id}:{hours}", due)

    async def audience(self, network: Network, *, besides: int | None) -> list[Person]:
        """Active members who want event news (everyone, unless they said otherwise)."""
        directory = self._stores.directory
        async with self._stores.network(network.slug) as store, store.transaction() as session:
            quiet = set(
                (
                    await session.exec(
                        select(MemberPreference.person_id).where(col(MemberPreference.event_news).is_(False))
                    )
                ).all()
            )
        people = []
        members = [
            *await directory.people_with_role(network.id or 0, MemberRole.MEMBER),
            *await directory.people_with_role(network.id or 0, MemberRole.BUURTVERBINDER),
        ]
        for person in members:
            if person.id != besides and person.id not in quiet and not person.unreachable_at:
                people.append(person)
        return people

    async def record_posting(self, network: Network, event_id: int, chat_id: int, message_id: int) -> None:
        async with self._stores.network(network.slug) as store, store.transaction() as session:
            session.add(EventPosting(event_id=event_id, chat_id=chat_id, message_id=message_id))

    @staticmethod
    async def _copies_in(connection: AsyncConnection, event_id: int, chat_id: int) -> list[int]:
        """The ids of the messages about this event in this chat: copies kept by hand and
        invitations the outbox sent."""
        found = await connection.execute(
            _COPIES, {"event_id": event_id, "chat_id": chat_id, "ref": invitation_ref(event_id)}
        )
        return [message_id for (message_id,) in found]

    # --- reading --------------------------------------------------------------------------

    async def view(
        self, network_id: int, event_id: int, viewer: int | None = None, *, network: Network | None = None
    ) -> ActivityView:
        """The activity with its counts and the viewer's own answer. `network` saves a lookup
        when the caller has it already (from the viewer's standing, say)."""
        network = network if network is not None and network.id == network_id else None
        network = network or await self._stores.directory.network(network_id)
        if network is None:
            raise Refusal(Reason.STALE_BUTTON)
        async with self._stores.network(network.slug) as store, store.connection() as connection:
            event, rows = await self._event_and_answers(connection, event_id)
        return view_of(network, event, rows, viewer)

    @staticmethod
    async def _event_and_answers(connection: AsyncConnection, event_id: int) -> tuple[Event, list[RsvpRow]]:
        """The event and its answers, in one statement (SQLAlchemy Core: on a tap, the ORM's
        loading cost more than the statement)."""
        found = (await connection.execute(_EVENT_AND_ANSWERS, {"event_id": event_id})).all()
        if not found:
            raise Refusal(Reason.STALE_BUTTON)
        event = Event(**dict(zip(_EVENT.c.keys(), found[0][:_EVENT_COLUMNS], strict=True)))
        return event, [RsvpRow(*row[_EVENT_COLUMNS:]) for row in found if row.person_id is not None]

    async def upcoming(self, standing: Standing, now: datetime) -> list[ActivityView]:
        views = []
        for membership in standing.active:
            network = membership.network
            async with self._stores.network(network.slug) as store, store.transaction() as session:
                query = select(Event.id).where(Event.status == EventStatus.PUBLISHED, col(Event.starts_at) > now)
                ids = (await session.exec(query.order_by(col(Event.starts_at)))).all()
            views.extend(
                [await self.view(network.id or 0, event_id, standing.person.id) for event_id in ids if event_id]
            )
        return sorted(views, key=lambda v: v.event.starts_at)

    async def responders(
        self, network: Network, event_id: int, answers: Sequence[Answer] = tuple(Answer)
    ) -> list[Person]:
        async with self._stores.network(network.slug) as store, store.transaction() as session:
            query = select(Rsvp.person_id).where(Rsvp.event_id == event_id, col(Rsvp.answer).in_(list(answers)))
            ids = (await session.exec(query)).all()
        people = [await self._stores.directory.get_person(person_id) for person_id in ids]
        return [p for p in people if p is not None]

    # --- answering ------------------------------------------------------------------------

    async def answer(
        self,
        standing: Standing,
        network_id: int,
        event_id: int,
        answer: Answer,
        now: datetime,
        *,
        wait: bool = False,
        key: str | None = None,
    ) -> Answered:
        """Records an answer. "Yes" to a full event is refused unless the person asks to wait.
        One transaction in the network's store: read, check, write, count again.

        The same answer again changes nothing (not even its time, which orders the waiting list).
        A place freed for someone on the waiting list is kept as a step under `key` (the tap's
        update) with the answer: handled again after a crash, the tap tells them if it had not."""
        if not standing.may_in(network_id, Action.ASK_HELP):
            raise Refusal(Reason.NOT_MEMBER)
        network = next((v.network for v in standing.active if v.network.id == network_id), None)
        network = network or await self._stores.directory.network(network_id)
        if network is None:
            raise Refusal(Reason.STALE_BUTTON)
        person_id = standing.person.id
        promoted_id: int | None = None
        async with self._stores.network(network.slug) as store, store.connection() as connection:
            event, rows = await self._event_and_answers(connection, event_id)
            view = view_of(network, event, rows, person_id)
            if event.status != EventStatus.PUBLISHED or event.starts_at <= now:
                raise Refusal(Reason.EVENT_CLOSED)
            already_in = view.answer == Answer.YES and not view.waiting
            if answer == Answer.YES and view.full and not already_in and not wait:
                raise Refusal(Reason.EVENT_FULL, title=event.title)
            waiting = answer == Answer.YES and view.full and not already_in
            row = next((r for r in rows if r.person_id == person_id), None)
            if row is not None and row.answer == answer and row.waiting == waiting:
                done = await steps.applied(connection, key)  # the same tap again, after a crash?
                if done is not None and done.kind == RSVP_STEP and not done.told:
                    promoted_id = int(done.ref)
                unchanged = True
            elif row is None:
                unchanged = False
                row = RsvpRow(person_id, answer, waiting, now)
                rows.append(row)
                await connection.execute(_ADD_ANSWER, {"event_id": event_id, **asdict(row)})
            else:
                unchanged = False
                row.answer, row.waiting, row.answered_at = answer, waiting, now
                change = {"new_answer": answer, "new_waiting": waiting, "at": now}
                await connection.execute(_CHANGE_ANSWER, {"event": event_id, "person": person_id, **change})
            if not unchanged and already_in and answer != Answer.YES:
                # A place freed up: the first on the waiting list gets it.
                first = min((r for r in rows if r.waiting), key=lambda r: r.answered_at, default=None)
                if first is not None:
                    first.waiting = False
                    promoted_id = first.person_id
                    promote = {"event": event_id, "person": first.person_id}
                    await connection.execute(_OFF_THE_WAITING_LIST, promote)
                    await steps.record(connection, key, kind=RSVP_STEP, ref=str(first.person_id), now=now)
            view = view_of(network, event, rows, person_id)
            organiser = event.created_by
            copies = [] if organiser == person_id else await self._copies_in(connection, event_id, organiser)
        if not unchanged:
            failpoints.failpoint(failpoints.RSVP_SAVED)
        promoted = await self._stores.directory.get_person(promoted_id) if promoted_id is not None else None
        return Answered(view, promoted, copies, network)

    async def told(self, answered: Answered, key: str | None) -> None:
        """The one who got a place was told: the same tap handled again tells them no more."""
        if key is None or answered.network is None:
            return
        async with self._stores.network(answered.network.slug) as store, store.connection() as connection:
            await steps.told(connection, key, self._clock.now())

    async def set_reminders(self, standing: Standing, on: bool) -> None:
        for membership in standing.active:
            async with self._stores.network(membership.network.slug) as store, store.transaction() as session:
                pref = await session.get(MemberPreference, standing.person.id)
                if pref is None:
                    session.add(MemberPreference(person_id=standing.person.id, event_reminders=on))
                else:
                    pref.event_reminders = on

    async def reminders_on(self, standing: Standing) -> bool:
        for membership in standing.active:
            async with self._stores.network(membership.network.slug) as store, store.transaction() as session:
                pref = await session.get(MemberPreference, standing.person.id)
            if pref is not None:
                return pref.event_reminders
        return True

    # --- changing -------------------------------------------------------------------------

    def may_change(self, standing: Standing, view: ActivityView) -> bool:
        return view.event.created_by == standing.person.id or standing.may_in(
            view.network.id or 0, Action.PUBLISH_EVENT
        )

    async def move(
        self, standing: Standing, network_id: int, event_id: int, starts_at: datetime, now: datetime
    ) -> ActivityView:
        """A new time: reminders move with it."""
        view = await self.view(network_id, event_id)
        if not self.may_change(standing, view):
            raise Refusal(Reason.NOT_ALLOWED)
        if view.event.status != EventStatus.PUBLISHED:
            raise Refusal(Reason.EVENT_CLOSED)
        if starts_at <= now:
            raise Refusal(Reason.WHEN_IN_PAST)
        async with self._stores.network(view.network.slug) as store, store.transaction() as session:
            event = await session.get(Event, event_id)
            assert event is not None
            event.starts_at, event.updated_at = starts_at, now
        moved = await self.view(network_id, event_id)
        await self.schedule_reminders(view.network, moved.event)
        return moved

    async def cancel(self, standing: Standing, network_id: int, event_id: int, now: datetime) -> ActivityView:
        view = await self.view(network_id, event_id)
        if not self.may_change(standing, view):
            raise Refusal(Reason.NOT_ALLOWED)
        if view.event.status != EventStatus.PUBLISHED:
            raise Refusal(Reason.EVENT_CLOSED)
        async with self._stores.network(view.network.slug) as store, store.transaction() as session:
            event = await session.get(Event, event_id)
            assert event is not None
            event.status, event.updated_at = EventStatus.CANCELLED, now
        settings = await settings_of(self._stores, view.network)
        for hours in settings.reminder_hours:
            await self._jobs.cancel(view.network, JobKind.EVENT_REMIND, f"{event_id}:{hours}")
        return await self.view(network_id, event_id)

    # --- calendar file and reminders ------------------------------------------------------

    def calendar_file(self, view: ActivityView) -> bytes:
        import icalendar  # on first use: a few MB that most runs never need

        calendar = icalendar.Calendar()
        calendar.add("prodid", "-//Buurtbot//NL")
        calendar.add("version", "2.0")
        item = icalendar.Event()
        item.add("uid", f"{view.network.slug}-{view.event.id}@buurtbot")
        item.add("summary", view.event.title)
        item.add("dtstart", view.event.starts_at)
        item.add("dtend", view.event.starts_at + DEFAULT_LENGTH)
        item.add("dtstamp", view.event.updated_at)
        item.add("location", view.event.place)
        if view.event.description:
            item.add("description", view.event.description)
        calendar.add_component(item)
        return bytes(calendar.to_ical())

    async def _remind(self, network: Network, ref: str) -> None:
        """One reminder job: as a batch of one."""
        failures = await self.remind_all(network, [ref])
        if ref in failures:
            raise failures[ref]

    def _reminder(self, person: Person, view: ActivityView, answer: str) -> Reply:
        """The reminder for someone who said yes or maybe, with the answer buttons to change their mind."""
        values = {**activity_values(view), "answer": answer}
        return self._post.compose(
            person, "activity/reminder", buttons=lambda label: answer_keyboard(label, view), **values
        )

    async def remind_all(self, network: Network, refs: Sequence[str]) -> dict[str, Exception]:
        """Reminder jobs of one network, together (refs "<event id>:<hours>"); returns those that failed.

        Each activity still published and ahead reminds those who said yes or maybe (not the
        waiting list), who have not turned reminders off and are still active members. The
        activities, their answers and the preferences are read in one transaction of the
        network's store, the people in one of the directory; each job's reminders are queued
        in one outbox transaction, so a job that fails there fails alone.
        """
        failures: dict[str, Exception] = {}
        event_of: dict[str, int] = {}
        for ref in refs:
            head, _, _hours = ref.partition(":")
            if head.isdigit():
                event_of[ref] = int(head)
            else:
                failures[ref] = ValueError(f"not a reminder job: {ref!r}")
        now = self._clock.now()
        async with self._stores.network(network.slug) as store, store.transaction() as session:
            events = await _events_with_answers(session, set(event_of.values()))
            quiet = set(
                (
                    await session.exec(
                        select(MemberPreference.person_id).where(col(MemberPreference.event_reminders).is_(False))
                    )
                ).all()
            )
        ahead = {
            event_id: (event, rows)
            for event_id, (event, rows) in events.items()
            if event.status == EventStatus.PUBLISHED and event.starts_at > now
        }
        wanted = {row.person_id for _, rows in ahead.values() for row in _reminded(rows) if row.person_id not in quiet}
        people = await self._active_members(network, wanted)
        for ref, event_id in event_of.items():
            try:
                if event_id not in events:
                    raise LookupError(f"{network.slug}: no activity {event_id} to remind of")
                if event_id not in ahead:
                    continue  # cancelled, declined or past: nothing to remind of
                event, rows = ahead[event_id]
                view = view_of(network, event, rows, None)
                reminders = [
                    (row.person_id, self._reminder(people[row.person_id], view, row.answer))
                    for row in _reminded(rows)
                    if row.person_id in people and row.person_id not in quiet
                ]
                if reminders:
                    # The outbox sends them within Telegram's limits.
                    await self._outbox.queue(network, reminders, kind=OutboxKind.EVENT_REMINDER, ref=ref)
            except Exception as error:  # the scheduler logs it; this job alone fails
                failures[ref] = error
            await asyncio.sleep(0)  # the store runs in the loop's thread: updates get their turn
        return failures

    async def _active_members(self, network: Network, person_ids: Iterable[int]) -> dict[int, Person]:
        """Those of `person_ids` who are active members of `network` and have not blocked the bot."""
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
                        Membership.network_id == network.id,
                        Membership.status == MembershipStatus.ACTIVE,
                        col(Person.unreachable_at).is_(None),
                    )
                )
                found.update((person.id, person) for person in (await session.exec(query)).all())
        return found


_IN_LIST_MAX = 500  # ids in one IN (...): well under any database's limit on parameters


def _reminded(rows: Iterable[Rsvp]) -> list[Rsvp]:
    """The answers that get a reminder: yes or maybe, and not on the waiting list."""
    return [row for row in rows if row.answer in (Answer.YES, Answer.MAYBE) and not row.waiting]


async def _events_with_answers(session: AsyncSession, event_ids: Iterable[int]) -> dict[int, tuple[Event, list[Rsvp]]]:
    """The activities among `event_ids` that exist, each with all its answers."""
    ids = sorted(event_ids)
    found: dict[int, tuple[Event, list[Rsvp]]] = {}
    for start in range(0, len(ids), _IN_LIST_MAX):
        chunk = ids[start : start + _IN_LIST_MAX]
        for event in (await session.exec(select(Event).where(col(Event.id).in_(chunk)))).all():
            found[event.id or 0] = (event, [])
        for row in (await session.exec(select(Rsvp).where(col(Rsvp.event_id).in_(chunk)))).all():
            found[row.event_id][1].append(row)
    return found

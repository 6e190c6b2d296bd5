"""Activities (events) in a network: creating, proposing, answering, waiting lists, reminders, calendar files.

Called "activities" in code so they are not confused with the core's chat events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.activities.views import (
    ActivityView,
    Answered,
    Draft,
    activity_values,
    answer_keyboard,
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
from bot.kernel.refusals import Reason, Refusal, checked_text
from bot.kernel.replies import Reply
from bot.network_admin import settings_of
from storage.activities import ActivityRows, RsvpRow, RsvpTurn
from storage.models import Answer as Answer  # re-exported for handlers
from storage.models import Event, MemberRole, Network, OutboxKind, Person, Rsvp
from storage.models import EventStatus as EventStatus  # re-exported for handlers
from storage.stores import Stores

TITLE_MAX = 80
PLACE_MAX = 120
DESCRIPTION_MAX = 600
CAPACITY_MAX = 10_000
DEFAULT_LENGTH = timedelta(hours=2)  # for the calendar file: how long an activity lasts


RSVP_STEP = "rsvp_promoted"  # storage.steps: an answer that gave someone on the waiting list a place


class Activities:
    def __init__(self, stores: Stores, clock: Clock, jobs: JobPlan, post: Post, outbox: Outbox) -> None:
        self._stores = stores
        self._rows = ActivityRows(stores)
        self._clock = clock
        self._jobs = jobs
        self._post = post
        self._outbox = outbox

    # --- checking what was typed ----------------------------------------------------------

    @staticmethod
    def check_text(text: str, limit: int) -> str:
        return checked_text(text, limit)

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
        made_today = await self._rows.created_since(network.slug, standing.person.id, now - timedelta(days=1))
        if made_today >= EVENTS_PER_DAY_MAX:
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
        await self._rows.add(network.slug, event)
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
        # Of two buurtverbinders deciding at once, the second finds it decided.
        if not await self._rows.decide(view.network.slug, event_id, status, now):
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
        quiet = await self._rows.without_event_news(network.slug)
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
        await self._rows.record_posting(network.slug, event_id, chat_id, message_id)

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
        async with self._rows.rsvp_turn(network.slug) as turn:
            event, rows = await self._event_and_answers(turn, event_id)
        return view_of(network, event, rows, viewer)

    @staticmethod
    async def _event_and_answers(turn: RsvpTurn, event_id: int) -> tuple[Event, list[RsvpRow]]:
        """The event and its answers, in one statement; a button of an activity gone is stale."""
        found = await turn.event_and_answers(event_id)
        if found is None:
            raise Refusal(Reason.STALE_BUTTON)
        return found

    async def upcoming(self, standing: Standing, now: datetime) -> list[ActivityView]:
        views = []
        for membership in standing.active:
            network = membership.network
            ids = await self._rows.upcoming(network.slug, now, status=EventStatus.PUBLISHED)
            views.extend([await self.view(network.id or 0, event_id, standing.person.id) for event_id in ids])
        return sorted(views, key=lambda v: v.event.starts_at)

    async def responders(
        self, network: Network, event_id: int, answers: Sequence[Answer] = tuple(Answer)
    ) -> list[Person]:
        ids = await self._rows.responders(network.slug, event_id, answers)
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
        async with self._rows.rsvp_turn(network.slug) as turn:
            event, rows = await self._event_and_answers(turn, event_id)
            view = view_of(network, event, rows, person_id)
            if event.status != EventStatus.PUBLISHED or event.starts_at <= now:
                raise Refusal(Reason.EVENT_CLOSED)
            already_in = view.answer == Answer.YES and not view.waiting
            if answer == Answer.YES and view.full and not already_in and not wait:
                raise Refusal(Reason.EVENT_FULL, title=event.title)
            waiting = answer == Answer.YES and view.full and not already_in
            row = next((r for r in rows if r.person_id == person_id), None)
            if row is not None and row.answer == answer and row.waiting == waiting:
                done = await turn.applied(key)  # the same tap again, after a crash?
                if done is not None and done.kind == RSVP_STEP and not done.told:
                    promoted_id = int(done.ref)
                unchanged = True
            elif row is None:
                unchanged = False
                row = RsvpRow(person_id, answer, waiting, now)
                rows.append(row)
                await turn.add(event_id, row)
            else:
                unchanged = False
                row.answer, row.waiting, row.answered_at = answer, waiting, now
                await turn.change(event_id, row)
            if not unchanged and already_in and answer != Answer.YES:
                # A place freed up: the first on the waiting list gets it.
                first = min((r for r in rows if r.waiting), key=lambda r: r.answered_at, default=None)
                if first is not None:
                    first.waiting = False
                    promoted_id = first.person_id
                    await turn.give_place(event_id, first.person_id, key=key, step_kind=RSVP_STEP, now=now)
            view = view_of(network, event, rows, person_id)
            organiser = event.created_by
            copies = [] if organiser == person_id else await turn.copies(event_id, organiser)
        if not unchanged:
            failpoints.failpoint(failpoints.RSVP_SAVED)
        promoted = await self._stores.directory.get_person(promoted_id) if promoted_id is not None else None
        return Answered(view, promoted, copies, network)

    async def told(self, answered: Answered, key: str | None) -> None:
        """The one who got a place was told: the same tap handled again tells them no more."""
        if key is None or answered.network is None:
            return
        await self._rows.told(answered.network.slug, key, self._clock.now())

    async def set_reminders(self, standing: Standing, on: bool) -> None:
        for membership in standing.active:
            await self._rows.set_reminders(membership.network.slug, standing.person.id, on)

    async def reminders_on(self, standing: Standing) -> bool:
        for membership in standing.active:
            wanted = await self._rows.reminders_wanted(membership.network.slug, standing.person.id)
            if wanted is not None:
                return wanted
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
        await self._rows.move(view.network.slug, event_id, starts_at, now)
        moved = await self.view(network_id, event_id)
        await self.schedule_reminders(view.network, moved.event)
        return moved

    async def cancel(self, standing: Standing, network_id: int, event_id: int, now: datetime) -> ActivityView:
        view = await self.view(network_id, event_id)
        if not self.may_change(standing, view):
            raise Refusal(Reason.NOT_ALLOWED)
        if view.event.status != EventStatus.PUBLISHED:
            raise Refusal(Reason.EVENT_CLOSED)
        await self._rows.set_status(view.network.slug, event_id, EventStatus.CANCELLED, now)
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
        found = await self._rows.to_remind(network.slug, set(event_of.values()))
        events, quiet = found.activities, found.quiet
        ahead = {
            event_id: (event, rows)
            for event_id, (event, rows) in events.items()
            if event.status == EventStatus.PUBLISHED and event.starts_at > now
        }
        wanted = {row.person_id for _, rows in ahead.values() for row in _reminded(rows) if row.person_id not in quiet}
        people = await self._rows.active_members(network.id or 0, wanted)
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


def _reminded(rows: Iterable[Rsvp]) -> list[Rsvp]:
    """The answers that get a reminder: yes or maybe, and not on the waiting list."""
    return [row for row in rows if row.answer in (Answer.YES, Answer.MAYBE) and not row.waiting]

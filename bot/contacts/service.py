"""The offline route: a resident asks for a person, and a buurtverbinder (or community manager) gets in touch.

Who is told: the buurtverbinders of the network the resident's street is in; with none (or no
street known), the community managers. Nobody to tell: nothing is kept, and the resident gets
the platform's own contact details instead of a promise. The first to tap "Ik neem contact op"
has it; the others see who. Untaken for a day, it goes to the community managers. Done ones
(and ones never done) go after RETENTION. Every change is one call here that first checks who
may make it; a stale or forged button meets a Refusal and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.joining import Standing, StreetSearch
from bot.kernel.clock import Clock
from bot.kernel.limits import FLOW_TTL
from bot.kernel.refusals import Reason, Refusal, checked_text
from storage.contacts import ContactRows, notices_of
from storage.models import ContactRequest, MemberRole, Network, Person

ESCALATE_AFTER = timedelta(days=1)  # untaken this long: to the community managers
# Done requests (and those never done) are removed after this: the twelve months closed help
# requests are kept by default (a network's retention setting), as there is no network to ask.
RETENTION = timedelta(days=30 * 12)
DRAFT_TTL = FLOW_TTL  # a draft the resident left is removed once their conversation would be stale
MESSAGE_MAX = 1000  # a message passed between resident and buurtverbinder
# Steps an update applies (storage.steps): asked, taken up, done, a message passed on.
DRAFT_STEP, ASK_STEP = "contact_draft", "contact_ask"
TAKE_STEP, DONE_STEP, WRITE_STEP = "contact_take", "contact_done", "contact_write"


class CallTime(StrEnum):
    """The part of the day a resident who said "Bel mij" would like to be called."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


@dataclass(frozen=True)
class Reach:
    """How a resident wants to be reached: a phone number (national form), perhaps with a part of
    the day to call, or without a number: by a message here in the chat."""

    phone: str | None = None
    call_time: CallTime | None = None

    @classmethod
    def of(cls, request: ContactRequest) -> Reach:
        known = request.call_time in CallTime._value2member_map_
        return cls(request.phone, CallTime(request.call_time) if known and request.call_time else None)


@dataclass(frozen=True)
class Beginning:
    """What the route starts from: the network the resident's street is in (if one), whether
    anyone can be told, and what the resident is told when nobody can."""

    network: Network | None
    anyone_to_tell: bool
    platform_contact: str
    already: ContactView | None = None  # their request still open, if they have one


@dataclass(frozen=True)
class ContactView:
    """A request with the people and network it concerns. `tell` is False when the step that
    made this view was handled before a crash and what follows it went out then."""

    request: ContactRequest
    resident: Person
    network: Network | None
    taker: Person | None
    tell: bool = True

    @property
    def id(self) -> int:
        return self.request.id or 0

    @property
    def reach(self) -> Reach:
        return Reach.of(self.request)


@dataclass(frozen=True)
class Asked:
    """A request kept, and who to tell of it; with nobody to tell nothing is kept (`view` None)."""

    view: ContactView | None
    told: tuple[Person, ...]
    platform_contact: str


@dataclass(frozen=True)
class Taking:
    """What a tap on "Ik neem contact op" came to: `won` if this person has it now."""

    view: ContactView
    won: bool


NetworkLookup = Callable[[int], Awaitable[Network | None]]
PersonLookup = Callable[[int], Awaitable[Person | None]]
PeopleWithRole = Callable[[int, MemberRole], Awaitable[Sequence[Person]]]
StreetFinder = Callable[[str], Awaitable[StreetSearch]]


class Contacts:
    def __init__(
        self,
        rows: ContactRows,
        clock: Clock,
        *,
        find_street: StreetFinder,
        network: NetworkLookup,
        person: PersonLookup,
        people_with_role: PeopleWithRole,
        community_managers: frozenset[int],
        platform_contact: str,
    ) -> None:
        self._rows = rows
        self._clock = clock
        self._find_street = find_street
        self._network = network
        self._person = person
        self._people_with_role = people_with_role
        self._community_managers = community_managers
        self._platform_contact = platform_contact.strip()

    # --- asking ---------------------------------------------------------------------------------

    async def begin(self, standing: Standing, typed: str) -> Beginning:
        """Where a resident's wish for a person would go: the network of the street they typed (or
        of the one join that waits for approval), and whether anyone there can be told."""
        person = standing.person
        await self._rows.drop_drafts(person.id)  # begun again: a draft left before goes
        waiting = [await self.view_of(request) for request in await self._rows.open_of(person.id)]
        network = await self._network_for(standing, typed)
        told, _ = await self._to_tell(network, besides=person.id)
        return Beginning(network, bool(told), self._platform_contact, waiting[0] if waiting else None)

    async def _network_for(self, standing: Standing, typed: str) -> Network | None:
        if typed:
            networks = {choice.network_id for choice in (await self._find_street(typed)).matches}
        else:
            networks = {view.network.id or 0 for view in standing.pending}
        return await self._network(networks.pop()) if len(networks) == 1 else None

    async def _to_tell(self, network: Network | None, *, besides: int) -> tuple[tuple[Person, ...], bool]:
        """Who hears of a request, and whether they are the network's buurtverbinders (so it
        goes on to the community managers if none of them takes it up)."""
        if network is not None:
            verbinders = await self._people_with_role(network.id or 0, MemberRole.BUURTVERBINDER)
            reachable = tuple(p for p in verbinders if p.id != besides and p.unreachable_at is None)
            if reachable:
                return reachable, True
        return await self.community_managers(besides=besides), False

    async def community_managers(self, *, besides: int | None = None) -> tuple[Person, ...]:
        """The community managers the bot can write to (those who ever started a chat with it)."""
        managers = [await self._person(person_id) for person_id in sorted(self._community_managers)]
        return tuple(p for p in managers if p is not None and p.id != besides and p.unreachable_at is None)

    async def draft(
        self,
        standing: Standing,
        *,
        typed: str,
        network_id: int | None,
        reach: Reach,
        now: datetime,
        key: str | None = None,
    ) -> int:
        """Keeps how the resident wants to be reached while they are asked whether it may be passed
        on: a draft, told to nobody (and removed if they say no or leave it). Kept here rather than
        in the conversation, so the number lives in one place that retention and forgetting know.
        The same message handled again after a crash finds the draft it made."""
        done = await self._rows.applied(key)
        if done is not None and done.kind == DRAFT_STEP:
            return int(done.ref)
        request = ContactRequest(
            person_id=standing.person.id,
            street_text=typed,
            created_at=now,
            network_id=network_id,
            phone=reach.phone,
            call_time=reach.call_time,
        )
        return (await self._rows.add(request, key=key, step_kind=DRAFT_STEP)).id or 0

    async def draft_view(self, standing: Standing, request_id: int) -> ContactView:
        """The resident's own draft, to read back to them; anything else is a stale button."""
        view = await self.view(request_id)
        if view.resident.id != standing.person.id or view.request.consent_at is not None:
            raise Refusal(Reason.STALE_BUTTON)
        return view

    async def decline(self, standing: Standing, request_id: int) -> None:
        """The resident said no: their draft goes, nobody is told."""
        await self._rows.drop_drafts(standing.person.id, request_id)

    async def ask(self, standing: Standing, request_id: int, now: datetime, *, key: str | None = None) -> Asked:
        """The resident agreed to be passed on: their draft becomes a request, and who to tell is
        said. With nobody to tell the draft goes instead. The same tap (`key`, its update) handled
        again after a crash finds the request it made."""
        me = standing.person.id
        done = await self._rows.applied(key)
        if done is not None and done.kind == ASK_STEP:
            view = replace(await self.view(int(done.ref)), tell=not done.told)
            told, _ = await self._to_tell(view.network, besides=me)
            return Asked(view, told, self._platform_contact)
        view = await self.draft_view(standing, request_id)
        told, to_verbinders = await self._to_tell(view.network, besides=me)
        if not told:
            await self._rows.drop_drafts(me, request_id)
            return Asked(None, (), self._platform_contact)
        escalates = to_verbinders and bool(await self.community_managers(besides=me))
        escalate_at = now + ESCALATE_AFTER if escalates else None
        if not await self._rows.consent(request_id, me, now, escalate_at=escalate_at, key=key, step_kind=ASK_STEP):
            raise Refusal(Reason.STALE_BUTTON)  # said yes twice at once: the first one counts
        return Asked(await self.view(request_id), told, self._platform_contact)

    async def noted(self, view: ContactView, person: Person, message_id: int) -> None:
        """Remembers that `person` was told of the request in `message_id` (to change it later)."""
        await self._rows.noted(view.id, (person.id, message_id))

    async def told(self, key: str | None) -> None:
        """The messages that follow a step went out: handled again, it sends none."""
        await self._rows.told(key, self._clock.now())

    # --- reading --------------------------------------------------------------------------------

    async def person(self, person_id: int) -> Person | None:
        return await self._person(person_id)

    async def view(self, request_id: int) -> ContactView:
        request = await self._rows.get(request_id)
        if request is None:
            raise Refusal(Reason.STALE_BUTTON)
        return await self.view_of(request)

    async def view_of(self, request: ContactRequest) -> ContactView:
        resident = await self._person(request.person_id)
        if resident is None:
            raise Refusal(Reason.STALE_BUTTON)
        network = await self._network(request.network_id) if request.network_id else None
        taker = await self._person(request.taken_by) if request.taken_by else None
        return ContactView(request, resident, network, taker)

    def may_follow(self, standing: Standing, view: ContactView) -> bool:
        """Who may see a request (its phone number too) and act on it: the buurtverbinders of its
        network, whoever it was told to, and whoever took it up. Nobody else."""
        person_id = standing.person.id
        if view.request.taken_by == person_id:
            return True
        if view.network is not None and any(n.id == view.network.id for n in standing.verbinder_of()):
            return True
        return any(chat == person_id for chat, _ in notices_of(view.request))

    async def open_for(self, standing: Standing) -> list[ContactView]:
        """The open requests this person may follow up, oldest first."""
        views = [await self.view_of(request) for request in await self._rows.open()]
        return [view for view in views if self.may_follow(standing, view)]

    async def open_all(self) -> list[ContactView]:
        """Every open request: for the operator at the command line."""
        return [await self.view_of(request) for request in await self._rows.open()]

    async def concerning(self, person_id: int) -> list[ContactView]:
        """The requests this person asked for or took up: for what we keep about them."""
        return [await self.view_of(request) for request in await self._rows.concerning(person_id)]

    # --- taking up, done ------------------------------------------------------------------------

    async def take(self, standing: Standing, request_id: int, now: datetime, *, key: str | None = None) -> Taking:
        """The first to say "Ik neem contact op" has it; whoever comes after hears who. The same
        tap handled again after a crash finds its own step (the view's `tell` says whether the
        resident and the others were told before the crash)."""
        view = await self.view(request_id)
        me = standing.person.id
        if not self.may_follow(standing, view):
            raise Refusal(Reason.STALE_BUTTON)
        if view.request.handled_at is not None:
            raise Refusal(Reason.ALREADY_CLOSED)
        if view.request.taken_by is not None:
            if view.request.taken_by != me:
                return Taking(view, won=False)
            done = await self._rows.applied(key)
            # Tapped again later: shown again, nobody told twice.
            return Taking(replace(view, tell=done is not None and done.kind == TAKE_STEP and not done.told), won=True)
        won = await self._rows.take(request_id, me, now, key=key, step_kind=TAKE_STEP)  # the one guard
        return Taking(await self.view(request_id), won=won)

    async def done(self, standing: Standing, request_id: int, now: datetime, *, key: str | None = None) -> ContactView:
        """Marks a request done, by anyone who may follow it up."""
        view = await self.view(request_id)
        if not self.may_follow(standing, view):
            raise Refusal(Reason.STALE_BUTTON)
        if view.request.handled_at is not None:
            done = await self._rows.applied(key)
            if done is not None and done.kind == DONE_STEP:
                return replace(view, tell=not done.told)
            raise Refusal(Reason.ALREADY_CLOSED)
        if not await self._rows.close(request_id, now, key=key, step_kind=DONE_STEP):
            raise Refusal(Reason.ALREADY_CLOSED)
        return await self.view(request_id)

    # --- messages between the resident and whoever took it up ------------------------------------

    async def partner(self, standing: Standing, request_id: int) -> Person:
        """Who this person writes to about the request: the one who took it up, or the resident.
        To anyone else the button is stale; once done, the request carries no more messages."""
        view = await self.view(request_id)
        me = standing.person.id
        if view.taker is None or me not in (view.resident.id, view.taker.id):
            raise Refusal(Reason.STALE_BUTTON)
        if view.request.handled_at is not None:
            raise Refusal(Reason.ALREADY_CLOSED)
        return view.taker if me == view.resident.id else view.resident

    async def write(
        self, standing: Standing, request_id: int, text: str, now: datetime, *, key: str | None = None
    ) -> tuple[Person, str, bool]:
        """Checks a message to pass on; returns its recipient, the text, and whether it still has to
        be passed on (False: it was, before a crash). Messages are passed on, never kept."""
        recipient = await self.partner(standing, request_id)
        text = checked_text(text, MESSAGE_MAX)
        done = await self._rows.applied(key)
        if done is not None and done.kind == WRITE_STEP:
            return recipient, text, not done.told
        await self._rows.remember(key, kind=WRITE_STEP, ref=str(request_id), now=now)
        return recipient, text, True

    # --- the day after, and long after ------------------------------------------------------------

    async def escalate_due(self) -> list[ContactView]:
        """Requests untaken a day after they were told to a network's buurtverbinders, each marked
        escalated once: to be told to the community managers."""
        now = self._clock.now()
        due = []
        for request in await self._rows.due_for_escalation(now):
            if await self._rows.escalated(request.id or 0, now):  # not taken (or done) meanwhile
                due.append(await self.view_of(request))
        return due

    async def purge(self) -> int:
        """Removes requests done more than RETENTION ago, those never done made that long ago, and
        drafts left for longer than DRAFT_TTL."""
        now = self._clock.now()
        return await self._rows.purge(now - RETENTION, drafts_before=now - DRAFT_TTL)

    async def forget(self, person_id: int) -> int:
        """Removes what the contact requests hold of someone being forgotten."""
        return await self._rows.forget(person_id)

    async def of_resident(self, person_id: int) -> list[ContactView]:
        """The resident's own requests, open or done (to withdraw the copies told to others)."""
        return [view for view in await self.concerning(person_id) if view.resident.id == person_id]

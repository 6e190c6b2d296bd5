"""Help between neighbours: asking, offering, claiming, relaying, closing, escalating, expiring.

Every change of a request's state is one call here that first checks who may make it; a stale
or forged button meets a Refusal and changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.delivery.outbox import Outbox
from bot.delivery.scheduler import JobKind, JobPlan
from bot.joining import Standing
from bot.kernel import failpoints
from bot.kernel.clock import Clock
from bot.kernel.limits import OPEN_REQUESTS_MAX
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal, checked_text
from bot.neighbour_help.views import Asked, Asker, Category, Draft, RequestView, help_ref
from bot.network_admin import settings_of
from storage.help import HelpRows
from storage.models import HelpRequest, MembershipStatus, Network, OutboxKind, Person
from storage.models import HelpStatus as HelpStatus  # re-exported for handlers
from storage.models import NameShownTo as NameShownTo  # re-exported for handlers
from storage.steps import Applied
from storage.stores import Stores

DESCRIPTION_MAX = 500
RELAY_MAX = 1000
FOLLOW_UP_HOUR = 10  # the morning after the day help was needed, the requester is asked how it went
RETENTION_HOUR = 4  # the nightly clean-up of old closed requests
STEP_MEMORY = timedelta(days=30)  # applied steps are kept this long (their updates are long handled)
ASK_STEP, CLAIM_STEP, RELAY_STEP, CLOSE_STEP = "help_ask", "help_claim", "help_relay", "help_close"  # steps' kinds


class Help:
    def __init__(self, stores: Stores, clock: Clock, zone: ZoneInfo, jobs: JobPlan, outbox: Outbox) -> None:
        self._stores = stores
        self._rows = HelpRows(stores)
        self._clock = clock
        self._zone = zone
        self._jobs = jobs
        self._outbox = outbox

    # --- asking ---------------------------------------------------------------------------

    def check_description(self, text: str) -> str:
        return checked_text(text, DESCRIPTION_MAX)

    async def ask(
        self, standing: Standing, network: Network, draft: Draft, now: datetime, *, key: str | None = None
    ) -> Asked:
        """Records the request and plans its escalation, follow-up and expiry. The same tap (`key`,
        its update) handled again after a crash finds the request it recorded: one request."""
        assert network.id is not None
        on_behalf = draft.on_behalf_name is not None
        if on_behalf and not standing.may_in(network.id, Action.ASK_ON_BEHALF):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
        if not on_behalf and not standing.may_in(network.id, Action.ASK_HELP):
            raise Refusal(Reason.NOT_MEMBER)
        if draft.needed_at < now - timedelta(days=1):
            raise Refusal(Reason.WHEN_IN_PAST)
        done = await self._applied(network, key)
        if done is not None and done.kind == ASK_STEP:
            asked = await self._rows.get(network.slug, int(done.ref))
            if asked is None:
                raise Refusal(Reason.STALE_BUTTON)
            if done.told:
                return Asked(asked, tell=False)
            await self._plan(network, asked, now)
            return Asked(asked)
        if not on_behalf and await self._rows.under_way_of(network.slug, standing.person.id) >= OPEN_REQUESTS_MAX:
            raise Refusal(Reason.TOO_MANY_REQUESTS, limit=OPEN_REQUESTS_MAX)
        request = HelpRequest(
            requester_id=None if on_behalf else standing.person.id,
            on_behalf_name=draft.on_behalf_name,
            on_behalf_contact=draft.on_behalf_contact,
            entered_by=standing.person.id if on_behalf else None,
            consent_at=now if on_behalf else None,
            category=draft.category,
            description=draft.description,
            needed_at=draft.needed_at,
            needed_has_time=draft.needed_has_time,
            name_shown_to=draft.name_shown_to,
            created_at=now,
        )
        await self._rows.add(network.slug, request, key=key, step_kind=ASK_STEP, now=now)
        failpoints.failpoint(failpoints.HELP_ASKED)
        await self._plan(network, request, now)
        return Asked(request)

    async def _plan(self, network: Network, request: HelpRequest, now: datetime) -> None:
        """Plans the request's escalation, expiry and follow-up (again, for a replay: the same plan)."""
        settings = await settings_of(self._stores, network)
        scheduler = self._jobs
        await scheduler.schedule(
            network, JobKind.HELP_ESCALATE, request.id, now + timedelta(hours=settings.escalation_hours)
        )
        await scheduler.schedule(
            network, JobKind.HELP_EXPIRE, request.id, now + timedelta(days=settings.request_expiry_days)
        )
        await scheduler.schedule(network, JobKind.HELP_FOLLOW_UP, request.id, self._follow_up_moment(request.needed_at))

    async def reached(self, network: Network, request_id: int) -> int:
        """How many helpers the request was queued for."""
        return await self._rows.reached(network.slug, request_id)

    def _follow_up_moment(self, needed_at: datetime) -> datetime:
        zone = self._zone
        next_day = needed_at.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(next_day, time(FOLLOW_UP_HOUR), tzinfo=zone)

    async def helpers_for(self, network: Network, category: str, *, besides: int | None) -> list[Person]:
        """Active members of the network who offered this kind of help and want to hear of it."""
        wanted = await self._rows.offering(network.slug, category, besides=besides)
        helpers = []
        for person_id in wanted:
            membership = await self._stores.directory.membership_of(person_id, network.id or 0)
            person = await self._stores.directory.get_person(person_id)
            if membership and membership.status == MembershipStatus.ACTIVE and person and not person.unreachable_at:
                helpers.append(person)
        return helpers

    async def postings(self, network: Network, request_id: int) -> list[tuple[int, int]]:
        """Where the request was posted to helpers, as (chat, message)."""
        return await self._rows.postings(network.slug, request_id)

    # --- offering -------------------------------------------------------------------------

    async def offer_of(self, standing: Standing) -> tuple[set[str], bool]:
        """What this person offers (the same in each of their networks) and whether to notify them."""
        for view in standing.active:
            offer = await self._rows.offer(view.network.slug, standing.person.id)
            if offer is not None:
                return set(offer.categories), offer.notify
        return set(), True

    async def set_offer(self, standing: Standing, categories: set[str], notify: bool, now: datetime) -> None:
        if not standing.active:
            raise Refusal(Reason.NOT_MEMBER)
        known = {c.value for c in Category}
        offered = categories & known
        for view in standing.active:
            await self._rows.set_offer(view.network.slug, standing.person.id, offered, notify=notify, now=now)

    # --- reading --------------------------------------------------------------------------

    async def view(self, network_id: int, request_id: int) -> RequestView:
        network = await self._stores.directory.network(network_id)
        if network is None:
            raise Refusal(Reason.STALE_BUTTON)
        request = await self._rows.get(network.slug, request_id)
        if request is None:
            raise Refusal(Reason.STALE_BUTTON)
        return await self._view(network, request)

    async def _view(self, network: Network, request: HelpRequest) -> RequestView:
        directory = self._stores.directory
        helper = await directory.get_person(request.helper_id) if request.helper_id else None
        if request.requester_id is not None:
            person = await directory.get_person(request.requester_id)
            asker = Asker(person.name if person else "?", person)
        else:
            asker = Asker(request.on_behalf_name or "?", None, request.on_behalf_contact)
        return RequestView(network, request, asker, helper)

    async def visible_to(self, standing: Standing) -> list[RequestView]:
        """Requests in this person's networks: open ones for everyone; a buurtverbinder also
        sees claimed ones and those that escalated."""
        views = []
        for membership in standing.active:
            network = membership.network
            connector = standing.may_in(network.id or 0, Action.FOLLOW_UP_HELP)
            requests = await self._rows.listed(network.slug, claimed_too=connector)
            views.extend([await self._view(network, request) for request in requests])
        return views

    async def mine(self, standing: Standing) -> list[RequestView]:
        """This person's own requests (and those they entered for a resident), open or taken."""
        views = await self._involving(standing)
        return [view for view in views if self.is_asker(standing, view)]

    async def conversations(self, standing: Standing) -> list[RequestView]:
        """Taken requests this person asked or helps with: someone they may write to."""
        views = await self._involving(standing)
        return [view for view in views if view.request.status == HelpStatus.CLAIMED and view.helper is not None]

    async def _involving(self, standing: Standing) -> list[RequestView]:
        views = []
        for membership in standing.memberships:
            network = membership.network
            requests = await self._rows.involving(network.slug, standing.person.id)
            views.extend([await self._view(network, request) for request in requests])
        return views

    # --- state changes --------------------------------------------------------------------

    async def claim(
        self, standing: Standing, network_id: int, request_id: int, now: datetime, *, key: str | None = None
    ) -> RequestView:
        """The first neighbour to say "Ik help" gets it; everyone after is refused. The same tap
        (`key`, its update) handled again after a crash finds its claim and changes nothing; the
        view's `tell` says whether the asker was told before the crash."""
        view = await self.view(network_id, request_id)
        if not standing.may_in(network_id, Action.OFFER_HELP):
            raise Refusal(Reason.NOT_MEMBER)
        if view.request.requester_id == standing.person.id:
            raise Refusal(Reason.OWN_REQUEST)
        if view.request.status != HelpStatus.OPEN:
            done = await self._applied(view.network, key) if view.request.helper_id == standing.person.id else None
            if done is not None and done.kind == CLAIM_STEP:
                return replace(view, tell=not done.told)
            raise Refusal(Reason.ALREADY_TAKEN)
        taken = await self._move(
            view.network,
            request_id,
            expected=HelpStatus.OPEN,
            status=HelpStatus.CLAIMED,
            step=(key, CLAIM_STEP),
            helper_id=standing.person.id,
            claimed_at=now,
        )
        if not taken:
            raise Refusal(Reason.ALREADY_TAKEN)
        failpoints.failpoint(failpoints.HELP_CLAIMED)
        await self._jobs.cancel(view.network, JobKind.HELP_ESCALATE, request_id)
        return await self.view(network_id, request_id)

    async def _applied(self, network: Network, key: str | None) -> Applied | None:
        return await self._rows.applied(network.slug, key)

    async def told(self, network: Network, key: str | None) -> None:
        """The messages that follow a claim or a close went out: handled again, it sends none."""
        await self._rows.told(network.slug, key, self._clock.now())

    async def release(self, standing: Standing, network_id: int, request_id: int) -> RequestView:
        """The helper hands the request back: it is open again."""
        view = await self.view(network_id, request_id)
        if view.request.helper_id != standing.person.id or view.request.status != HelpStatus.CLAIMED:
            raise Refusal(Reason.STALE_BUTTON)
        handed_back = await self._move(
            view.network, request_id, expected=HelpStatus.CLAIMED, status=HelpStatus.OPEN, helper_id=None
        )
        if not handed_back:  # the asker closed it meanwhile
            raise Refusal(Reason.ALREADY_CLOSED)
        return view

    async def close(
        self,
        standing: Standing,
        network_id: int,
        request_id: int,
        status: HelpStatus,
        now: datetime,
        *,
        key: str | None = None,
    ) -> RequestView:
        """Done or cancelled, by the one who asked (or the buurtverbinder who asked on their behalf).
        The same tap handled again after a crash changes nothing (see `claim`)."""
        view = await self.view(network_id, request_id)
        if not self.is_asker(standing, view):
            raise Refusal(Reason.STALE_BUTTON)
        if view.request.status not in (HelpStatus.OPEN, HelpStatus.CLAIMED):
            done = await self._applied(view.network, key) if view.request.status == status else None
            if done is not None and done.kind == CLOSE_STEP:
                return replace(view, tell=not done.told)
            raise Refusal(Reason.ALREADY_CLOSED)
        closed = await self._move(
            view.network,
            request_id,
            expected=HelpStatus(view.request.status),
            status=status,
            step=(key, CLOSE_STEP),
            closed_at=now,
        )
        if not closed:
            raise Refusal(Reason.ALREADY_CLOSED)
        failpoints.failpoint(failpoints.HELP_CLOSED)
        for kind in (JobKind.HELP_ESCALATE, JobKind.HELP_EXPIRE):
            await self._jobs.cancel(view.network, kind, request_id)
        return view

    def is_asker(self, standing: Standing, view: RequestView) -> bool:
        person_id = standing.person.id
        return view.request.requester_id == person_id or (
            view.request.requester_id is None and view.request.entered_by == person_id
        )

    async def relay_partner(self, standing: Standing, network_id: int, request_id: int) -> str:
        """The name of the one this person writes to about the request: its helper or its asker.
        To anyone else the button is stale, whatever state the request is in (a refusal must not
        tell a stranger that); to them, a request no longer taken is closed for messages."""
        view = await self.view(network_id, request_id)
        helping = view.request.helper_id is not None and view.request.helper_id == standing.person.id
        if not helping and not self.is_asker(standing, view):
            raise Refusal(Reason.STALE_BUTTON)
        if view.request.status != HelpStatus.CLAIMED:
            raise Refusal(Reason.ALREADY_CLOSED)
        return view.asker.name if helping else (view.helper.name if view.helper else "?")

    async def relay(
        self, standing: Standing, network_id: int, request_id: int, text: str, now: datetime, *, key: str | None = None
    ) -> tuple[RequestView, int]:
        """Passes a message between asker and helper; returns the view and the recipient's id. The
        same text (`key`, its update) handled again after a crash keeps it once; the view's `tell`
        says whether it still has to be passed on."""
        view = await self.view(network_id, request_id)
        text = checked_text(text, RELAY_MAX)
        # Who they are to the request comes first: to anyone else it is the same stale button,
        # whatever state the request is in (a refusal must not tell a stranger that).
        asker_id = view.request.requester_id or view.request.entered_by
        is_helper = view.request.helper_id is not None and standing.person.id == view.request.helper_id
        if not (is_helper or self.is_asker(standing, view)):
            raise Refusal(Reason.STALE_BUTTON)
        if view.request.status != HelpStatus.CLAIMED or view.request.helper_id is None:
            raise Refusal(Reason.ALREADY_CLOSED)
        if is_helper and asker_id is not None:
            recipient = asker_id
        elif self.is_asker(standing, view):
            recipient = view.request.helper_id
        else:
            raise Refusal(Reason.STALE_BUTTON)
        done = await self._rows.relay(
            view.network.slug,
            request_id,
            from_id=standing.person.id,
            to_id=recipient,
            text=text,
            key=key,
            step_kind=RELAY_STEP,
            now=now,
        )
        if done is not None:  # passed on before a crash
            return replace(view, tell=not done.told), recipient
        failpoints.failpoint(failpoints.HELP_RELAYED)
        return view, recipient

    async def follow(self, standing: Standing, network_id: int, request_id: int) -> RequestView:
        """A buurtverbinder takes up an escalated request."""
        view = await self.view(network_id, request_id)
        if not standing.may_in(network_id, Action.FOLLOW_UP_HELP):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=view.network.name)
        if view.request.followed_up_by is not None:
            raise Refusal(Reason.ALREADY_TAKEN)
        followed = await self._move(
            view.network,
            request_id,
            expected=HelpStatus(view.request.status),
            status=HelpStatus(view.request.status),
            unfollowed=True,
            followed_up_by=standing.person.id,
        )
        if not followed:  # another buurtverbinder was first
            raise Refusal(Reason.ALREADY_TAKEN)
        return view

    async def _move(
        self,
        network: Network,
        request_id: int,
        *,
        expected: HelpStatus,
        status: HelpStatus,
        step: tuple[str | None, str] = (None, ""),
        unfollowed: bool = False,
        **values: object,
    ) -> bool:
        """Moves the request from `expected` to `status`; False if it was not in `expected` (or,
        with `unfollowed`, if a buurtverbinder follows it up already). With a `step` (an update's
        key and what it does) the step is kept in the same transaction."""
        key, kind = step
        moved = await self._rows.move(
            network.slug,
            request_id,
            expected=expected,
            status=status,
            unfollowed=unfollowed,
            key=key,
            step_kind=kind,
            now=self._clock.now(),
            **values,
        )
        if moved and status != HelpStatus.OPEN:  # taken or closed: helpers who have not had it yet will not
            await self._outbox.withdraw(network, kind=OutboxKind.HELP_REQUEST, ref=help_ref(request_id))
        return moved

    async def escalated(self, network: Network, request_id: int) -> bool:
        """Marks an open request escalated; False if it was taken (or closed) meanwhile."""
        now = self._clock.now()
        return await self._move(network, request_id, expected=HelpStatus.OPEN, status=HelpStatus.OPEN, escalated_at=now)

    async def expire(self, network: Network, request_id: int) -> bool:
        """Closes an open request nobody took; False if it was taken (or closed) meanwhile."""
        now = self._clock.now()
        return await self._move(network, request_id, expected=HelpStatus.OPEN, status=HelpStatus.EXPIRED, closed_at=now)

    # --- retention ------------------------------------------------------------------------

    async def plan_retention(self, network: Network) -> None:
        """Plans tonight's clean-up (at 04:00 local) of closed requests past the retention period."""
        zone = self._zone
        now = self._clock.now()
        tonight = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(RETENTION_HOUR), tzinfo=zone)
        await self._jobs.schedule(network, JobKind.HELP_RETENTION, "nightly", tonight)

    async def purge(self, network: Network, ref: str = "nightly") -> None:
        """The nightly job: closed requests past the network's retention period go, with what
        hangs on them; then the next night is planned."""
        settings = await settings_of(self._stores, network)
        now = self._clock.now()
        await self._rows.purge(
            network.slug,
            closed_before=now - timedelta(days=30 * settings.retention_months),
            steps_before=now - STEP_MEMORY,
            audit_action="help_purged",
            now=now,
        )  # their postings, relayed messages and the outbox's copies for helpers go with them
        await self.plan_retention(network)

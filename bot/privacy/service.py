"""Privacy as a service: gathering what Buurtbot holds about someone, and forgetting them.

Forgetting goes store by store: each network they belong to, then the contact requests (the
copies told to buurtverbinders are withdrawn first: they named the resident), then the directory.
What others need to keep loses the person's id; what is theirs alone goes. Two things stay until
they have been told (`leave_no_trace`): their identity on another app (WhatsApp needs their number
to tell them) and the kept update that asked for it (a crash before telling them handles it again).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.activities import RSVP_STEP
from bot.contacts import ContactMessages, Contacts
from bot.delivery.scheduler import JobKind
from bot.joining import Standing
from bot.kernel.clock import Clock
from bot.kernel.refusals import Reason, Refusal
from bot.privacy.personal_data import Gathered, personal_data
from storage.identities import AppIdentities
from storage.models import Person
from storage.privacy import PrivacyRows
from storage.views import MembershipView

# The jobs kept for a help request (their ref is the request's id): they go with the request.
REQUEST_JOBS = frozenset({JobKind.HELP_ESCALATE, JobKind.HELP_FOLLOW_UP, JobKind.HELP_EXPIRE})


class Privacy:
    """A person's "my data" file, and forgetting them (see the module's docstring)."""

    def __init__(
        self,
        rows: PrivacyRows,
        identities: AppIdentities,
        contacts: Contacts,
        contact_messages: ContactMessages,
        clock: Clock,
        *,
        memberships_of: Callable[[int], Awaitable[list[MembershipView]]],
        verbinders: Callable[[int], Awaitable[list[str]]],
    ) -> None:
        self._rows = rows
        self._identities = identities
        self._contacts = contacts
        self._contact_messages = contact_messages
        self._clock = clock
        self._memberships_of = memberships_of
        self._verbinders = verbinders

    async def my_data(self, person: Person) -> bytes:
        """A file with everything held about the person, across the directory and every network."""
        networks = [
            (view, await self._rows.kept_in(view.network.slug, person.id))
            for view in await self._memberships_of(person.id)
        ]
        gathered = Gathered(
            person=person,
            identities=await self._identities.of_person(person.id),
            contact_requests=await self._contacts.concerning(person.id),
            networks=networks,
        )
        return personal_data(gathered)

    async def forget(self, standing: Standing) -> None:
        """The person leaves every store, each compacted after; safe to run again (a replay). The
        only buurtverbinder of a network is refused: the network would be left without one."""
        for network in standing.verbinder_of():
            if len(await self._verbinders(network.id or 0)) <= 1:
                raise Refusal(Reason.LAST_VERBINDER, network=network.name)
        person_id = standing.person.id
        for view in await self._memberships_of(person_id):
            await self._rows.forget_in_network(
                view.network.slug, person_id, request_jobs=REQUEST_JOBS, waiting_list_step=RSVP_STEP
            )
        for asked in await self._contacts.of_resident(person_id):
            await self._contact_messages.withdraw(asked, self._clock.now())
        await self._contacts.forget(person_id)
        await self._rows.forget_in_directory(person_id)

    async def leave_no_trace(self, person_id: int) -> None:
        """After the forgotten person was told: their identities on other apps (a WhatsApp number)
        go, then what their kept updates said, and the directory is compacted. In that order: after
        a crash in between, the update is handled again (its reply now reaches nobody, which the
        messenger logs and passes over) and ends here; the other way round, nothing would be left
        to handle and the number would stay."""
        await self._identities.forget(person_id)
        await self._rows.clear_kept_updates(person_id)

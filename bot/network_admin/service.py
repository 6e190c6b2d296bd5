"""Running a network: its members, its settings, its export and its figures. Admin actions are audited."""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from bot.application.settings import LANGUAGES
from bot.joining import Standing
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.network_admin.settings import NetworkSettings, settings_of
from storage.models import (
    Event,
    HelpRequest,
    HelpStatus,
    MemberRole,
    Membership,
    MembershipStatus,
    Network,
    Person,
    Rsvp,
)
from storage.models import JoinPolicy as JoinPolicy  # re-exported for handlers
from storage.stores import Stores

# The choices offered for each setting (buttons); a setting is only ever set to one of these.
ESCALATION_CHOICES = (12, 24, 48)
REMINDER_CHOICES = ("24,2", "24", "2", "")
RETENTION_CHOICES = (3, 6, 12, 24)  # months that closed help requests are kept


class AdminAction:
    MEMBER_REMOVED = "member_removed"
    SETTING_CHANGED = "setting_changed"
    EXPORTED = "exported"


@dataclass(frozen=True)
class MemberLine:
    membership: Membership
    person: Person

    @property
    def is_verbinder(self) -> bool:
        return self.membership.role == MemberRole.BUURTVERBINDER


@dataclass(frozen=True)
class Figures:
    network: str
    members: int
    joined_this_month: int
    asked: int
    claimed: int
    done: int
    median_hours_to_claim: float | None
    events: int
    attending: int


class NetworkAdmin:
    def __init__(self, stores: Stores, default_language: str) -> None:
        self._stores = stores
        self._default_language = default_language

    def require(self, standing: Standing, network: Network, action: Action) -> None:
        if not standing.may_in(network.id or 0, action):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)

    async def members(self, standing: Standing, network: Network) -> list[MemberLine]:
        self.require(standing, network, Action.MANAGE_MEMBERS)
        lines = []
        for role in (MemberRole.BUURTVERBINDER, MemberRole.MEMBER):
            for person in await self._stores.directory.people_with_role(network.id or 0, role):
                membership = await self._stores.directory.membership_of(person.id, network.id or 0)
                if membership is not None:
                    lines.append(MemberLine(membership, person))
        return lines

    async def member_to_remove(self, standing: Standing, network: Network, person_id: int) -> Person:
        """The person a buurtverbinder is about to take out of the network, asked before they confirm."""
        self.require(standing, network, Action.MANAGE_MEMBERS)
        person = await self._stores.directory.get_person(person_id)
        if person is None:
            raise Refusal(Reason.STALE_BUTTON)
        return person

    async def remove(self, standing: Standing, network: Network, person_id: int, now: datetime) -> Person:
        """Takes someone out of the network; the last buurtverbinder stays."""
        self.require(standing, network, Action.MANAGE_MEMBERS)
        directory = self._stores.directory
        membership = await directory.membership_of(person_id, network.id or 0)
        person = await directory.get_person(person_id)
        if membership is None or person is None or membership.status != MembershipStatus.ACTIVE:
            raise Refusal(Reason.STALE_BUTTON)
        verbinders = await directory.people_with_role(network.id or 0, MemberRole.BUURTVERBINDER)
        if membership.role == MemberRole.BUURTVERBINDER and len(verbinders) <= 1:
            raise Refusal(Reason.LAST_VERBINDER, network=network.name)
        assert membership.id is not None
        await directory.decide_membership(
            membership_id=membership.id,
            expected=MembershipStatus.ACTIVE,
            status=MembershipStatus.LEFT,
            by=standing.person.id,
            now=now,
        )
        await self._audit(network, standing.person.id, AdminAction.MEMBER_REMOVED, person_id, "", now)
        return person

    # --- settings -------------------------------------------------------------------------

    async def settings(self, network: Network) -> NetworkSettings:
        return await settings_of(self._stores, network)

    async def language(self, network: Network) -> str:
        """The language of the network's group chats."""
        return (await self.settings(network)).language or self._default_language

    async def change(self, standing: Standing, network: Network, name: str, value: str, now: datetime) -> None:
        """Sets one setting to one of the values the buttons offer; anything else is refused."""
        self.require(standing, network, Action.CHANGE_SETTINGS)
        allowed = {
            "join_policy": {JoinPolicy.APPROVAL.value, JoinPolicy.OPEN.value},
            "escalation_hours": {str(hours) for hours in ESCALATION_CHOICES},
            "reminder_hours": set(REMINDER_CHOICES),
            "residents_propose_events": {"0", "1"},
            "language": set(LANGUAGES),
            "retention_months": {str(months) for months in RETENTION_CHOICES},
        }
        if value not in allowed.get(name, set()):
            raise Refusal(Reason.STALE_BUTTON)
        if name == "join_policy":
            await self._stores.directory.set_join_policy(network.id or 0, JoinPolicy(value))
        else:
            async with self._stores.network(network.slug) as store:
                await store.set_setting(name, value)
        await self._audit(network, standing.person.id, AdminAction.SETTING_CHANGED, None, f"{name}={value}", now)

    # --- export and figures ---------------------------------------------------------------

    async def export(self, standing: Standing, network: Network, now: datetime) -> dict[str, bytes]:
        """The network's members, help requests and activities as CSV files, by file name."""
        self.require(standing, network, Action.EXPORT)
        members = io.StringIO()
        writer = csv.writer(members)
        writer.writerow(["naam", "straat", "rol", "lid sinds"])
        streets = {s.id: s.name for s in await self._stores.directory.streets_of(network.id or 0)}
        for line in await self.members(standing, network):
            writer.writerow(
                [
                    line.person.name,
                    streets.get(line.membership.street_id, ""),
                    line.membership.role,
                    line.membership.created_at.date().isoformat(),
                ]
            )
        async with self._stores.network(network.slug) as store, store.transaction() as session:
            requests = (await session.exec(select(HelpRequest).order_by(col(HelpRequest.created_at)))).all()
            events = (await session.exec(select(Event).order_by(col(Event.starts_at)))).all()
            rsvps = (await session.exec(select(Rsvp))).all()
        asked = io.StringIO()
        writer = csv.writer(asked)
        writer.writerow(["gevraagd op", "soort", "omschrijving", "nodig op", "status"])
        for request in requests:
            writer.writerow(
                [
                    request.created_at.isoformat(),
                    request.category,
                    request.description,
                    request.needed_at.isoformat(),
                    request.status,
                ]
            )
        agenda = io.StringIO()
        writer = csv.writer(agenda)
        writer.writerow(["titel", "begint", "plaats", "status", "komen", "misschien", "kunnen niet"])
        for event in events:
            answers = [r.answer for r in rsvps if r.event_id == event.id]
            writer.writerow(
                [
                    event.title,
                    event.starts_at.isoformat(),
                    event.place,
                    event.status,
                    answers.count("yes"),
                    answers.count("maybe"),
                    answers.count("no"),
                ]
            )
        await self._audit(network, standing.person.id, AdminAction.EXPORTED, None, "", now)
        return {
            f"{network.slug}-leden.csv": members.getvalue().encode(),
            f"{network.slug}-hulpvragen.csv": asked.getvalue().encode(),
            f"{network.slug}-activiteiten.csv": agenda.getvalue().encode(),
        }

    async def figures(self, network: Network, now: datetime) -> Figures:
        directory = self._stores.directory
        active = await directory.count_members(network.id or 0, MembershipStatus.ACTIVE)
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        joined = await directory.count_joined_since(network.id or 0, month_start)
        async with self._stores.network(network.slug) as store, store.transaction() as session:
            requests = (await session.exec(select(HelpRequest))).all()
            events = (await session.exec(select(Event).where(Event.status == "published"))).all()
            attending = len((await session.exec(select(Rsvp).where(Rsvp.answer == "yes"))).all())
        claimed = [r for r in requests if r.claimed_at is not None]
        hours = [(r.claimed_at - r.created_at) / timedelta(hours=1) for r in claimed if r.claimed_at]
        return Figures(
            network=network.name,
            members=active,
            joined_this_month=joined,
            asked=len(requests),
            claimed=len(claimed),
            done=sum(r.status == HelpStatus.DONE for r in requests),
            median_hours_to_claim=round(statistics.median(hours), 1) if hours else None,
            events=len(events),
            attending=attending,
        )

    async def _audit(
        self, network: Network, actor: int, action: str, subject: int | None, detail: str, now: datetime
    ) -> None:
        async with self._stores.network(network.slug) as store:
            await store.audit(actor_id=actor, action=action, subject_id=subject, detail=detail, now=now)

"""Joining and leaving a network: requests, approvals, invites, appointments, all audited."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.joining.people import Standing
from bot.kernel import failpoints
from bot.kernel.limits import INVITE_TTL, INVITE_USES
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from storage import join_reminders
from storage.models import Invite, MemberRole, Membership, MembershipStatus, Network, Person
from storage.stores import Stores
from storage.views import MembershipView

REMIND_EVERY = timedelta(days=1)  # a member waiting for approval may remind the buurtverbinder this often


class JoinOutcome(StrEnum):
    JOINED = "joined"
    PENDING = "pending"
    ALREADY_MEMBER = "already_member"
    ALREADY_PENDING = "already_pending"


@dataclass(frozen=True)
class JoinResult:
    outcome: JoinOutcome
    network: Network
    membership: Membership
    reviewers: tuple[Person, ...] = ()  # buurtverbinders to ask, when the join waits for one


JOIN_STEP = "join_decided"  # storage.steps: a buurtverbinder's decision on a join


@dataclass(frozen=True)
class Decision:
    approved: bool
    network: Network
    resident: Person
    membership: Membership
    # False when the decision was handled again after a crash that came after the resident was told.
    tell: bool = True


@dataclass(frozen=True)
class Reminder:
    """A waiting member's reminder: their pending membership and who decides on it."""

    waiting: MembershipView
    reviewers: list[Person]


class AuditAction(StrEnum):
    APPROVED = "join_approved"
    DECLINED = "join_declined"
    JOINED_BY_INVITE = "joined_by_invite"
    INVITE_CREATED = "invite_created"
    INVITE_REVOKED = "invite_revoked"
    APPOINTED = "verbinder_appointed"
    LEFT = "member_left"


class Memberships:
    def __init__(self, stores: Stores, *, community_managers: frozenset[int]) -> None:
        self._stores = stores
        self._community_managers = community_managers

    async def request(self, person: Person, *, network_id: int, street_id: int | None, now: datetime) -> JoinResult:
        directory = self._stores.directory
        network = await directory.network(network_id)
        if network is None:
            raise Refusal(Reason.STALE_BUTTON)
        existing = await directory.membership_of(person.id, network_id)
        if existing is not None and existing.status == MembershipStatus.ACTIVE:
            return JoinResult(JoinOutcome.ALREADY_MEMBER, network, existing)
        if existing is not None and existing.status == MembershipStatus.PENDING:
            return JoinResult(JoinOutcome.ALREADY_PENDING, network, existing)
        await directory.record_consent(person.id, now)
        if network.join_policy == "open":
            membership = await directory.request_membership(
                person_id=person.id, network_id=network_id, street_id=street_id, status=MembershipStatus.ACTIVE, now=now
            )
            return JoinResult(JoinOutcome.JOINED, network, membership)
        membership = await directory.request_membership(
            person_id=person.id, network_id=network_id, street_id=street_id, status=MembershipStatus.PENDING, now=now
        )
        return JoinResult(JoinOutcome.PENDING, network, membership, tuple(await self.reviewers(network_id)))

    async def reviewers(self, network_id: int) -> list[Person]:
        """Who decides on joins: the network's buurtverbinders, else the community managers."""
        directory = self._stores.directory
        verbinders = list(await directory.people_with_role(network_id, MemberRole.BUURTVERBINDER))
        if verbinders:
            return verbinders
        managers = [await directory.get_person(person_id) for person_id in sorted(self._community_managers)]
        return [person for person in managers if person is not None]

    async def decide(
        self, actor: Standing, membership_id: int, *, approve: bool, now: datetime, key: str | None = None
    ) -> Decision:
        """Approves or declines a join, once: the same tap (`key`, its update) handled again after a
        crash finds its decision and changes nothing; `tell` says whether the resident still has to
        hear of it."""
        directory = self._stores.directory
        membership = await directory.membership(membership_id)
        if membership is None:
            raise Refusal(Reason.STALE_BUTTON)
        network = await directory.network(membership.network_id)
        resident = await directory.get_person(membership.person_id)
        if network is None or resident is None:
            raise Refusal(Reason.STALE_BUTTON)
        if not actor.may_in(network.id or 0, Action.REVIEW_JOINS):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
        status = MembershipStatus.ACTIVE if approve else MembershipStatus.DECLINED
        decided = await directory.decide_membership(
            membership_id=membership_id,
            expected=MembershipStatus.PENDING,
            status=status,
            by=actor.person.id,
            now=now,
            step=(key, JOIN_STEP),
        )
        if not decided:
            done = await directory.applied_step(key) if membership.status == status else None
            if done is not None and done.kind == JOIN_STEP and done.ref == str(membership_id):
                return Decision(approve, network, resident, membership, tell=not done.told)
            raise Refusal(Reason.ALREADY_DECIDED, name=resident.name)
        failpoints.failpoint(failpoints.JOIN_DECIDED)
        action = AuditAction.APPROVED if approve else AuditAction.DECLINED
        await self._audit(network, actor.person.id, action, resident.id, now)
        return Decision(approve, network, resident, membership)

    async def told(self, key: str | None, now: datetime) -> None:
        """Notes that the resident heard of the decision taken by this tap (`key`, its update)."""
        await self._stores.directory.step_told(key, now)

    async def remind_reviewers(self, standing: Standing, membership_id: int, now: datetime) -> Reminder:
        """A member waiting for approval reminds those who decide, at most once per REMIND_EVERY."""
        view = next((v for v in standing.pending if v.membership.id == membership_id), None)
        if view is None:  # decided meanwhile, or not theirs
            raise Refusal(Reason.STALE_BUTTON)
        last = await join_reminders.claim(
            self._stores.directory,
            membership_id=membership_id,
            person_id=standing.person.id,
            now=now,
            every=REMIND_EVERY,
        )
        if last is not None:
            raise Refusal(Reason.ALREADY_REMINDED, network=view.network.name, again_at=last + REMIND_EVERY)
        return Reminder(view, await self.reviewers(view.network.id or 0))

    async def pending(self, actor: Standing) -> list[tuple[Membership, Person, Network]]:
        """Joins waiting in the networks this person may review."""
        directory = self._stores.directory
        waiting = []
        for network in await directory.networks():
            if network.id is None or not actor.may_in(network.id, Action.REVIEW_JOINS):
                continue
            for membership, person in await directory.pending_joins(network.id):
                waiting.append((membership, person, network))
        return waiting

    async def leave(self, standing: Standing, network_id: int, now: datetime) -> Network:
        directory = self._stores.directory
        view = next((v for v in standing.active if v.network.id == network_id), None)
        if view is None:
            raise Refusal(Reason.NOT_MEMBER)
        if view.membership.role == MemberRole.BUURTVERBINDER:
            verbinders = await directory.people_with_role(network_id, MemberRole.BUURTVERBINDER)
            if len(verbinders) <= 1:
                raise Refusal(Reason.LAST_VERBINDER, network=view.network.name)
        assert view.membership.id is not None
        await directory.decide_membership(
            membership_id=view.membership.id,
            expected=MembershipStatus.ACTIVE,
            status=MembershipStatus.LEFT,
            by=standing.person.id,
            now=now,
        )
        await self._audit(view.network, standing.person.id, AuditAction.LEFT, standing.person.id, now)
        return view.network

    # --- invites -------------------------------------------------------------------------

    async def invite(
        self,
        network: Network,
        *,
        created_by: int | None,
        now: datetime,
        max_uses: int | None = INVITE_USES,
        valid_for: timedelta | None = INVITE_TTL,
    ) -> Invite:
        assert network.id is not None
        code = secrets.token_urlsafe(9)  # 12 characters of [A-Za-z0-9_-], as deep links allow
        expires_at = now + valid_for if valid_for is not None else None
        invite = await self._stores.directory.add_invite(
            code=code, network_id=network.id, created_by=created_by, max_uses=max_uses, expires_at=expires_at, now=now
        )
        await self._audit(network, created_by, AuditAction.INVITE_CREATED, None, now)
        return invite

    async def active_invites(self, network: Network, now: datetime) -> Sequence[Invite]:
        """The network's invites still valid: not revoked, not expired, not used up."""
        return await self._stores.directory.active_invites(network.id or 0, now)

    async def revoke(self, actor: Standing, code: str, now: datetime) -> Network:
        directory = self._stores.directory
        invite = await directory.invite(code) if len(code) <= 32 else None
        network = await directory.network(invite.network_id) if invite else None
        if invite is None or network is None:
            raise Refusal(Reason.STALE_BUTTON)
        if not actor.may_in(network.id or 0, Action.INVITE):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
        if not await directory.revoke_invite(code, now):
            raise Refusal(Reason.STALE_BUTTON)
        await self._audit(network, actor.person.id, AuditAction.INVITE_REVOKED, None, now)
        return network

    async def join_by_invite(self, person: Person, code: str, now: datetime) -> JoinResult:
        directory = self._stores.directory
        invite = await directory.invite(code) if len(code) <= 32 else None
        if invite is None:
            raise Refusal(Reason.UNKNOWN_INVITE)
        network = await directory.network(invite.network_id)
        if network is None:
            raise Refusal(Reason.UNKNOWN_INVITE)
        existing = await directory.membership_of(person.id, invite.network_id)
        if existing is not None and existing.status == MembershipStatus.ACTIVE:
            return JoinResult(JoinOutcome.ALREADY_MEMBER, network, existing)
        if not await directory.use_invite(code, now):
            raise Refusal(Reason.INVITE_USED_UP, network=network.name)
        await directory.record_consent(person.id, now)
        membership = await directory.request_membership(
            person_id=person.id,
            network_id=invite.network_id,
            street_id=existing.street_id if existing else None,
            status=MembershipStatus.ACTIVE,
            now=now,
        )
        await self._audit(network, invite.created_by, AuditAction.JOINED_BY_INVITE, person.id, now)
        return JoinResult(JoinOutcome.JOINED, network, membership)

    # --- buurtverbinders -----------------------------------------------------------------

    async def appoint(
        self,
        network: Network,
        person_id: int,
        *,
        by: int | None,
        now: datetime,
        name: str | None = None,
        language: str = "nl",
    ) -> Person:
        """Makes someone buurtverbinder of the network (a member if they were not yet)."""
        directory = self._stores.directory
        assert network.id is not None
        person = await directory.get_person(person_id)
        if person is None:
            # Appointed from the command line before they ever wrote to the bot; their real
            # name arrives with their first message.
            person = await directory.upsert_person(
                person_id=person_id, name=name or str(person_id), username=None, language=language, now=now
            )
        membership = await directory.membership_of(person_id, network.id)
        if membership is None or membership.status != MembershipStatus.ACTIVE:
            membership = await directory.request_membership(
                person_id=person_id,
                network_id=network.id,
                street_id=membership.street_id if membership else None,
                status=MembershipStatus.ACTIVE,
                role=MemberRole.BUURTVERBINDER,
                now=now,
            )
        else:
            assert membership.id is not None
            await directory.set_role(membership_id=membership.id, role=MemberRole.BUURTVERBINDER)
        await self._audit(network, by, AuditAction.APPOINTED, person_id, now)
        return person

    async def appoint_by(self, actor: Standing, network: Network, person_id: int, now: datetime) -> Person:
        """A buurtverbinder (or the community manager) makes a member of their network buurtverbinder."""
        if not actor.may_in(network.id or 0, Action.APPOINT_VERBINDER):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
        membership = await self._stores.directory.membership_of(person_id, network.id or 0)
        if membership is None or membership.status != MembershipStatus.ACTIVE:
            raise Refusal(Reason.STALE_BUTTON)
        return await self.appoint(network, person_id, by=actor.person.id, now=now)

    async def members(self, network_id: int) -> Sequence[Person]:
        return await self._stores.directory.people_with_role(network_id, MemberRole.MEMBER)

    async def _audit(
        self, network: Network, actor_id: int | None, action: AuditAction, subject_id: int | None, now: datetime
    ) -> None:
        async with self._stores.network(network.slug) as store:
            await store.audit(actor_id=actor_id, action=action, subject_id=subject_id, now=now)

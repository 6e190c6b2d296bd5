"""The directory store: networks and streets, people, memberships, flows, invites, update ids."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import steps
from storage.base import Store
from storage.engine import dialect_name, sqlite_url, upsert
from storage.known import ONE_FLOW, STANDING_UNAFFECTED, DirectorySession, Known
from storage.migrations.directory import MIGRATIONS
from storage.models import (
    ContactRequest,
    Conversation,
    Invite,
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    Network,
    Person,
    ProcessedUpdate,
    Street,
)
from storage.views import FlowState, MembershipView

# Statements made once (the hot path of every update: building a statement costs more than
# running it against SQLite).
_ALL_MEMBERSHIPS = (
    select(Membership, Network, Street)
    .join(Network, col(Network.id) == col(Membership.network_id))
    .outerjoin(Street, col(Street.id) == col(Membership.street_id))
    .order_by(col(Network.name))
)
_MEMBERSHIPS = _ALL_MEMBERSHIPS.where(col(Membership.person_id) == bindparam("person_id"))
_MEMBERSHIPS_OF_MANY = _ALL_MEMBERSHIPS.where(col(Membership.person_id).in_(bindparam("person_ids", expanding=True)))
_FLOW = select(Conversation).where(
    col(Conversation.person_id) == bindparam("person_id"), col(Conversation.chat_id) == bindparam("chat_id")
)
_PEOPLE = select(Person).where(col(Person.id).in_(bindparam("person_ids", expanding=True)))
_FLOWS_OF_MANY = select(Conversation).where(col(Conversation.person_id).in_(bindparam("person_ids", expanding=True)))
_UPDATES = ProcessedUpdate.__table__  # type: ignore[attr-defined]
_CONVERSATIONS = Conversation.__table__  # type: ignore[attr-defined]
_MARK_HANDLED = (  # run once per id (executemany): an expanding IN (...) is compiled anew each time
    update(_UPDATES)
    .where(_UPDATES.c.door == bindparam("b_door"), _UPDATES.c.update_id == bindparam("b_id"))
    .values(handled_at=bindparam("b_now"), event=None)
)


def _keep_updates(connection: AsyncConnection) -> Any:
    """INSERT .. ON CONFLICT DO NOTHING RETURNING update_id: the ids that were new."""
    return upsert(connection, _UPDATES).on_conflict_do_nothing().returning(_UPDATES.c.update_id)


def _save_flow(connection: AsyncConnection) -> Any:
    """INSERT .. ON CONFLICT (person_id, chat_id) DO UPDATE: a conversation's new step."""
    save = upsert(connection, _CONVERSATIONS)
    return save.on_conflict_do_update(
        index_elements=[_CONVERSATIONS.c.person_id, _CONVERSATIONS.c.chat_id],
        set_={name: save.excluded[name] for name in ("flow", "step", "data", "updated_at")},
    )


_MADE: dict[tuple[str, Callable[[AsyncConnection], Any]], Any] = {}


def _made_once(connection: AsyncConnection, make: Callable[[AsyncConnection], Any]) -> Any:
    """A statement in the connection's SQL dialect (an upsert is spelled per dialect), made once."""
    key = (dialect_name(connection), make)
    if key not in _MADE:
        _MADE[key] = make(connection)
    return _MADE[key]


def _flow_state(row: Conversation) -> FlowState:
    return FlowState(row.flow, row.step, json.loads(row.data), row.updated_at)


def _copy(flow: FlowState | None) -> FlowState | None:
    """A kept flow for a handler, which may change its data without saving it."""
    if flow is None:
        return None
    return FlowState(flow.flow, flow.step, json.loads(json.dumps(flow.data)), flow.updated_at)


class DuplicateNetworkError(Exception):
    """A network with that slug already exists."""


@dataclass(frozen=True)
class Arriving:
    """Someone whose update was just fetched, as `arrive` will be told about them."""

    person_id: int
    chat_id: int
    name: str
    username: str | None
    language: str


@dataclass(frozen=True)
class Arrival:
    """Someone who just wrote: the person, their memberships, their flow in that chat."""

    person: Person
    memberships: list[MembershipView]
    flow: FlowState | None


class DirectoryStore(Store):
    session_class = DirectorySession

    def __init__(self, url: str) -> None:
        super().__init__(url, MIGRATIONS)
        self._known = Known()  # standings and flows read lately; see storage/known.py

    def session_info(self) -> dict[str, Any]:
        return {"known": self._known}

    @classmethod
    def at(cls, path: Any) -> DirectoryStore:
        return cls(sqlite_url(path))

    # --- people --------------------------------------------------------------------------

    async def upsert_person(
        self, *, person_id: int, name: str, username: str | None, language: str, now: datetime
    ) -> Person:
        """Record someone we heard from; keeps their chosen language, refreshes their name."""
        async with self.transaction() as session:
            return await self._seen(session, person_id, name, username, language, now)

    @staticmethod
    async def _seen(
        session: AsyncSession, person_id: int, name: str, username: str | None, language: str, now: datetime
    ) -> Person:
        person = await session.get(Person, person_id)
        if person is None:
            person = Person(id=person_id, name=name, username=username, language=language, created_at=now)
            session.add(person)
            return person
        if person.name != name or person.username != username:
            person.name = name
            person.username = username
        if person.unreachable_at is not None:
            person.unreachable_at = None  # they write to us, so they have not blocked us
        return person

    async def arrive(
        self, *, person_id: int, name: str, username: str | None, language: str, chat_id: int, now: datetime
    ) -> Arrival:
        """Everything the core needs when someone writes, in one transaction: the person (recorded
        as with `upsert_person`), their memberships, and the flow they are in with this chat.
        Read lately and unchanged since (see storage/known.py): no transaction at all."""
        standing = self._known.standing(person_id)
        flow_known, flow = self._known.flow(person_id, chat_id)
        if (
            standing is not None
            and flow_known
            and standing.person.name == name
            and standing.person.username == username
            and standing.person.unreachable_at is None
        ):
            return Arrival(standing.person, standing.memberships, _copy(flow))
        async with self.transaction() as session:
            person = await self._seen(session, person_id, name, username, language, now)
            newcomer = person in session.new  # recorded just now: no memberships yet
            await session.flush()  # written (and so forgotten) before it is kept again below
            memberships = [] if newcomer else await self._memberships_in(session, person_id)
            if not flow_known:
                row = (await session.exec(_FLOW, params={"person_id": person_id, "chat_id": chat_id})).first()
                flow = None if row is None else _flow_state(row)
            self._known.keep(person, memberships)
            self._known.keep_flow(person_id, chat_id, flow)
            return Arrival(person, memberships, _copy(flow))

    async def recall(self, arrivals: Iterable[Arriving], now: datetime) -> None:
        """Reads ahead, in one transaction, the people and flows that updates fetched together
        will need: each `arrive` then finds them known. Someone not in the directory yet is
        recorded here, all of a poll's newcomers in one statement, so that their first update
        makes no transaction of its own either."""
        arrivals = list(arrivals)
        flows_wanted = {(a.person_id, a.chat_id) for a in arrivals if not self._known.flow(a.person_id, a.chat_id)[0]}
        people_wanted = {person_id for person_id, _ in flows_wanted} | {
            a.person_id for a in arrivals if self._known.standing(a.person_id) is None
        }
        if not people_wanted:
            return
        async with self.transaction() as session:
            ids = {"person_ids": sorted(people_wanted)}
            people = list((await session.exec(_PEOPLE, params=ids)).all())
            found = {person.id for person in people}
            new_ids = people_wanted - found
            newcomers = {a.person_id: a for a in arrivals if a.person_id in new_ids}
            memberships: dict[int, list[MembershipView]] = {person_id: [] for person_id in people_wanted}
            flows: dict[tuple[int, int], FlowState] = {}
            if found:
                found_ids = {"person_ids": sorted(found)}
                for membership, network, street in (await session.exec(_MEMBERSHIPS_OF_MANY, params=found_ids)).all():
                    memberships[membership.person_id].append(MembershipView(membership, network, street))
                for row in (await session.exec(_FLOWS_OF_MANY, params=found_ids)).all():
                    flows[(row.person_id, row.chat_id)] = _flow_state(row)
            if newcomers:
                newcomer_rows = [
                    Person(id=a.person_id, name=a.name, username=a.username, language=a.language, created_at=now)
                    for a in newcomers.values()
                ]
                session.add_all(newcomer_rows)
                await session.flush()  # one INSERT for all of them
                people += newcomer_rows
            for person in people:
                self._known.keep(person, memberships[person.id])
            for chat in flows_wanted:
                self._known.keep_flow(*chat, flows.get(chat))

    async def mark_unreachable(self, person_id: int, now: datetime) -> None:
        """Someone blocked the bot or deleted their account: stop writing to them."""
        async with self.transaction() as session:
            await session.exec(
                update(Person)
                .where(col(Person.id) == person_id, col(Person.unreachable_at).is_(None))
                .values(unreachable_at=now)
            )

    async def get_person(self, person_id: int) -> Person | None:
        async with self.transaction() as session:
            return await session.get(Person, person_id)

    async def set_language(self, person_id: int, language: str) -> None:
        async with self.transaction() as session:
            await session.exec(update(Person).where(col(Person.id) == person_id).values(language=language))

    async def record_consent(self, person_id: int, now: datetime) -> None:
        async with self.transaction() as session:
            await session.exec(
                update(Person)
                .where(col(Person.id) == person_id, col(Person.consented_at).is_(None))
                .values(consented_at=now)
            )

    # --- networks and streets ------------------------------------------------------------

    async def add_network(
        self, *, slug: str, name: str, streets: Iterable[str], join_policy: JoinPolicy, now: datetime
    ) -> Network:
        try:
            async with self.transaction() as session:
                network = Network(slug=slug, name=name, join_policy=join_policy, created_at=now)
                session.add(network)
                await session.flush()
                assert network.id is not None
                for street in dict.fromkeys(streets):
                    session.add(Street(network_id=network.id, name=street))
                return network
        except IntegrityError as error:
            raise DuplicateNetworkError(slug) from error

    async def add_streets(self, network_id: int, names: Iterable[str]) -> list[str]:
        """Adds the streets the network does not have yet; returns those added."""
        async with self.transaction() as session:
            known = set((await session.exec(select(Street.name).where(Street.network_id == network_id))).all())
            added = [name for name in dict.fromkeys(names) if name not in known]
            session.add_all(Street(network_id=network_id, name=name) for name in added)
            return added

    async def networks(self) -> Sequence[Network]:
        async with self.transaction() as session:
            return (await session.exec(select(Network).order_by(col(Network.name)))).all()

    async def network_by_slug(self, slug: str) -> Network | None:
        async with self.transaction() as session:
            return (await session.exec(select(Network).where(Network.slug == slug))).first()

    async def network(self, network_id: int) -> Network | None:
        async with self.transaction() as session:
            return await session.get(Network, network_id)

    async def streets(self) -> Sequence[tuple[Street, Network]]:
        async with self.transaction() as session:
            query = select(Street, Network).join(Network, col(Network.id) == col(Street.network_id))
            return (await session.exec(query.order_by(col(Street.name)))).all()

    async def streets_of(self, network_id: int) -> Sequence[Street]:
        async with self.transaction() as session:
            query = select(Street).where(Street.network_id == network_id).order_by(col(Street.name))
            return (await session.exec(query)).all()

    async def street(self, street_id: int) -> Street | None:
        async with self.transaction() as session:
            return await session.get(Street, street_id)

    async def set_next_job(self, network_id: int, due_at: datetime | None, *, only_if_earlier: bool) -> None:
        """Notes when the network's next job is due (None: no jobs waiting)."""
        async with self.transaction() as session:
            query = update(Network).where(col(Network.id) == network_id)
            if only_if_earlier and due_at is not None:
                query = query.where((col(Network.next_job_at).is_(None)) | (col(Network.next_job_at) > due_at))
            await session.exec(query.values(next_job_at=due_at).execution_options(**{STANDING_UNAFFECTED: True}))

    async def networks_with_jobs_due(self, now: datetime) -> Sequence[Network]:
        async with self.transaction() as session:
            query = select(Network).where(col(Network.next_job_at) <= now).order_by(col(Network.next_job_at))
            return (await session.exec(query)).all()

    async def next_job_at(self) -> datetime | None:
        async with self.transaction() as session:
            return (await session.exec(select(func.min(Network.next_job_at)))).one()

    async def set_join_policy(self, network_id: int, policy: JoinPolicy) -> None:
        async with self.transaction() as session:
            await session.exec(update(Network).where(col(Network.id) == network_id).values(join_policy=policy))

    async def count_joined_since(self, network_id: int, since: datetime) -> int:
        async with self.transaction() as session:
            query = (
                select(func.count())
                .select_from(Membership)
                .where(
                    Membership.network_id == network_id,
                    Membership.status == MembershipStatus.ACTIVE,
                    col(Membership.decided_at) >= since,
                )
            )
            return int((await session.exec(query)).one())

    # --- memberships ---------------------------------------------------------------------

    async def memberships_of(self, person_id: int) -> list[MembershipView]:
        async with self.transaction() as session:
            return await self._memberships_in(session, person_id)

    @staticmethod
    async def _memberships_in(session: AsyncSession, person_id: int) -> list[MembershipView]:
        rows = (await session.exec(_MEMBERSHIPS, params={"person_id": person_id})).all()
        return [MembershipView(m, n, s) for m, n, s in rows]

    async def membership(self, membership_id: int) -> Membership | None:
        async with self.transaction() as session:
            return await session.get(Membership, membership_id)

    async def membership_of(self, person_id: int, network_id: int) -> Membership | None:
        async with self.transaction() as session:
            query = select(Membership).where(Membership.person_id == person_id, Membership.network_id == network_id)
            return (await session.exec(query)).first()

    async def request_membership(
        self,
        *,
        person_id: int,
        network_id: int,
        street_id: int | None,
        status: MembershipStatus,
        role: MemberRole = MemberRole.MEMBER,
        now: datetime,
    ) -> Membership:
        """Creates the membership, or renews one that was declined or left."""
        async with self.transaction() as session:
            query = select(Membership).where(Membership.person_id == person_id, Membership.network_id == network_id)
            membership = (await session.exec(query)).first()
            if membership is None:
                membership = Membership(person_id=person_id, network_id=network_id, created_at=now)
                session.add(membership)
            membership.street_id = street_id
            membership.status = status
            membership.role = role
            membership.created_at = now
            membership.decided_at = now if status == MembershipStatus.ACTIVE else None
            membership.decided_by = None
            await session.flush()
            return membership

    async def decide_membership(
        self,
        *,
        membership_id: int,
        expected: MembershipStatus,
        status: MembershipStatus,
        by: int | None,
        now: datetime,
        step: tuple[str | None, str] = (None, ""),
    ) -> bool:
        """Moves a membership from `expected` to `status`; False if someone else got there first.
        With a `step` (an update's key and what it does) the step is kept in the same transaction."""
        key, kind = step
        async with self.transaction() as session:
            result = await session.exec(
                update(Membership)
                .where(col(Membership.id) == membership_id, col(Membership.status) == expected)
                .values(status=status, decided_at=now, decided_by=by)
            )
            if result.rowcount:
                await steps.record(await session.connection(), key, kind=kind, ref=str(membership_id), now=now)
            return bool(result.rowcount)

    async def applied_step(self, key: str | None) -> steps.Applied | None:
        """A step an update applied in this store before (see storage.steps)."""
        if key is None:
            return None
        async with self.connection() as connection:
            return await steps.applied(connection, key)

    async def step_told(self, key: str | None, now: datetime) -> None:
        if key is not None:
            async with self.connection() as connection:
                await steps.told(connection, key, now)

    async def set_role(self, *, membership_id: int, role: MemberRole) -> None:
        async with self.transaction() as session:
            await session.exec(update(Membership).where(col(Membership.id) == membership_id).values(role=role))

    async def people_with_role(self, network_id: int, role: MemberRole) -> Sequence[Person]:
        async with self.transaction() as session:
            query = (
                select(Person)
                .join(Membership, col(Membership.person_id) == col(Person.id))
                .where(
                    Membership.network_id == network_id,
                    Membership.role == role,
                    Membership.status == MembershipStatus.ACTIVE,
                )
                .order_by(col(Person.name))
            )
            return (await session.exec(query)).all()

    async def count_members(self, network_id: int, status: MembershipStatus) -> int:
        async with self.transaction() as session:
            query = (
                select(func.count())
                .select_from(Membership)
                .where(Membership.network_id == network_id, Membership.status == status)
            )
            return int((await session.exec(query)).one())

    async def pending_joins(self, network_id: int) -> Sequence[tuple[Membership, Person]]:
        async with self.transaction() as session:
            query = (
                select(Membership, Person)
                .join(Person, col(Person.id) == col(Membership.person_id))
                .where(Membership.network_id == network_id, Membership.status == MembershipStatus.PENDING)
                .order_by(col(Membership.created_at))
            )
            return (await session.exec(query)).all()

    # --- conversations -------------------------------------------------------------------

    async def flow(self, person_id: int, chat_id: int) -> FlowState | None:
        async with self.transaction() as session:
            row = await session.get(Conversation, (person_id, chat_id))
            if row is None:
                return None
            return _flow_state(row)

    async def save_flow(
        self, *, person_id: int, chat_id: int, flow: str, step: str, data: dict[str, Any], now: datetime
    ) -> None:
        text = json.dumps(data)
        async with self.connection() as connection:  # the flow kept below, not forgotten by an event
            row = {"person_id": person_id, "chat_id": chat_id, "flow": flow, "step": step, "data": text}
            await connection.execute(_made_once(connection, _save_flow), {**row, "updated_at": now})
            # Kept as written, a copy of `data` (the caller may go on changing theirs).
            self._known.keep_flow(person_id, chat_id, FlowState(flow, step, json.loads(text), now))

    async def clear_flow(self, person_id: int, chat_id: int) -> bool:
        async with self.transaction() as session:
            result = await session.exec(
                delete(Conversation)
                .where(col(Conversation.person_id) == person_id, col(Conversation.chat_id) == chat_id)
                .execution_options(**{ONE_FLOW: (person_id, chat_id)})
            )
            return bool(result.rowcount)

    # --- invites -------------------------------------------------------------------------

    async def add_invite(
        self,
        *,
        code: str,
        network_id: int,
        created_by: int | None,
        max_uses: int | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> Invite:
        async with self.transaction() as session:
            invite = Invite(
                code=code,
                network_id=network_id,
                created_by=created_by,
                created_at=now,
                expires_at=expires_at,
                max_uses=max_uses,
            )
            session.add(invite)
            return invite

    async def invite(self, code: str) -> Invite | None:
        async with self.transaction() as session:
            return await session.get(Invite, code)

    async def active_invites(self, network_id: int, now: datetime) -> Sequence[Invite]:
        async with self.transaction() as session:
            query = select(Invite).where(
                Invite.network_id == network_id,
                col(Invite.revoked_at).is_(None),
                (col(Invite.expires_at).is_(None)) | (col(Invite.expires_at) > now),
                (col(Invite.max_uses).is_(None)) | (col(Invite.uses) < col(Invite.max_uses)),
            )
            return (await session.exec(query.order_by(col(Invite.created_at)))).all()

    async def revoke_invite(self, code: str, now: datetime) -> bool:
        async with self.transaction() as session:
            result = await session.exec(
                update(Invite).where(col(Invite.code) == code, col(Invite.revoked_at).is_(None)).values(revoked_at=now)
            )
            return bool(result.rowcount)

    async def use_invite(self, code: str, now: datetime) -> bool:
        """Counts one use of a valid invite; False if it is unknown, revoked, expired or used up."""
        async with self.transaction() as session:
            result = await session.exec(
                update(Invite)
                .where(
                    col(Invite.code) == code,
                    col(Invite.revoked_at).is_(None),
                    (col(Invite.expires_at).is_(None)) | (col(Invite.expires_at) > now),
                    (col(Invite.max_uses).is_(None)) | (col(Invite.uses) < col(Invite.max_uses)),
                )
                .values(uses=col(Invite.uses) + 1)
            )
            return bool(result.rowcount)

    # --- contact requests and processed updates --------------------------------------------

    async def add_contact_request(self, *, person_id: int, street_text: str, now: datetime) -> ContactRequest:
        async with self.transaction() as session:
            request = ContactRequest(person_id=person_id, street_text=street_text, created_at=now)
            session.add(request)
            return request

    async def open_contact_requests(self) -> Sequence[ContactRequest]:
        async with self.transaction() as session:
            query = select(ContactRequest).where(col(ContactRequest.handled_at).is_(None))
            return (await session.exec(query.order_by(col(ContactRequest.created_at)))).all()

    async def record_update(self, *, door: str, update_id: int, event: str, now: datetime) -> bool:
        """Keeps an update before it is handled; False if it was received before (a redelivery)."""
        return bool(await self.record_updates(door=door, updates=[(update_id, event)], now=now))

    async def record_updates(self, *, door: str, updates: Sequence[tuple[int, str]], now: datetime) -> set[int]:
        """Keeps updates (id, event as JSON) before they are handled, in one transaction; returns
        the ids that are new (the others were received before: redeliveries)."""
        rows = [
            {"door": door, "update_id": update_id, "received_at": now, "event": event}
            for update_id, event in dict(reversed(updates)).items()  # the first of a twice-sent id
        ]
        async with self.connection() as connection:
            return set((await connection.execute(_made_once(connection, _keep_updates), rows)).scalars())

    async def mark_handled(self, *, door: str, update_id: int, now: datetime) -> None:
        await self.mark_all_handled(door=door, update_ids=[update_id], now=now)

    async def mark_all_handled(self, *, door: str, update_ids: Sequence[int], now: datetime) -> None:
        async with self.connection() as connection:
            await connection.execute(
                _MARK_HANDLED, [{"b_door": door, "b_id": update_id, "b_now": now} for update_id in update_ids]
            )

    async def drop_kept_updates_of(self, person_id: int) -> int:
        """Clears what the kept updates of this person say (their name, what they typed), handled or
        not: for someone just forgotten. Their ids stay, so a redelivery still changes nothing."""
        sender = func.json_extract(_UPDATES.c.event, "$.sender.id")
        async with self.connection() as connection:
            result = await connection.execute(
                update(_UPDATES).where(_UPDATES.c.event.is_not(None), sender == person_id).values(event=None)
            )
        return int(result.rowcount)

    async def unhandled_updates(self, door: str) -> list[tuple[int, str]]:
        """Updates received but not handled (the bot stopped in between), oldest first."""
        async with self.transaction() as session:
            query = (
                select(ProcessedUpdate.update_id, ProcessedUpdate.event)
                .where(ProcessedUpdate.door == door, col(ProcessedUpdate.handled_at).is_(None))
                .order_by(col(ProcessedUpdate.update_id))
            )
            return [(update_id, event or "") for update_id, event in (await session.exec(query)).all()]

    async def forget_updates_before(self, cutoff: datetime) -> int:
        """Forgets handled updates received before `cutoff`; Telegram no longer redelivers them.
        The steps they applied go too: only an update not yet handled is handled again."""
        async with self.transaction() as session:
            await steps.forget_before(await session.connection(), cutoff)
            result = await session.exec(
                delete(ProcessedUpdate).where(
                    col(ProcessedUpdate.received_at) < cutoff, col(ProcessedUpdate.handled_at).is_not(None)
                )
            )
            return int(result.rowcount)

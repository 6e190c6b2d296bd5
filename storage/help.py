"""Help between neighbours in each network's store: requests and their moves, offers, postings, relayed messages.

The list residents look at most (/verzoeken) and the moves of a request are SQLAlchemy Core
statements made once; a move is one conditional UPDATE (the state it expects is in its WHERE),
which is what makes the first of two neighbours tapping at once the only one who wins. A step
(storage.steps) is kept in the same transaction as the effect it stands for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Table, bindparam, cast, delete, func, or_, union_all, update
from sqlalchemy import select as sa_select
from sqlmodel import col

from storage import steps
from storage.models import HelpOffer, HelpPosting, HelpRequest, HelpStatus, OutboxKind, RelayMessage
from storage.outbox import OUTBOX
from storage.stores import Stores

_REQUESTS: Table = HelpRequest.__table__  # type: ignore[attr-defined]
_POSTING: Table = HelpPosting.__table__  # type: ignore[attr-defined]
_OFFER: Table = HelpOffer.__table__  # type: ignore[attr-defined]
TAKEN_OR_NOT = (HelpStatus.OPEN, HelpStatus.CLAIMED)  # a request still under way
CLOSED = (HelpStatus.DONE, HelpStatus.CANCELLED, HelpStatus.EXPIRED)


def help_ref(request_id: int) -> str:
    """How the outbox names the copies of a request sent to helpers (OutboxMessage.ref)."""
    return str(request_id)


# What a member sees under /verzoeken, and a buurtverbinder; made once (run on every look). In
# Core: loading through the ORM cost more than the statement (rows become HelpRequests by hand).
_OPEN = sa_select(_REQUESTS).where(_REQUESTS.c.status == HelpStatus.OPEN).order_by(_REQUESTS.c.needed_at)
_OPEN_OR_CLAIMED = sa_select(_REQUESTS).where(_REQUESTS.c.status.in_(TAKEN_OR_NOT)).order_by(_REQUESTS.c.needed_at)

# Where a request landed, (chat, message): copies the outbox sent to helpers, and those kept by
# hand before requests went through the outbox.
_POSTINGS = union_all(
    sa_select(_POSTING.c.chat_id, _POSTING.c.message_id).where(_POSTING.c.request_id == bindparam("request_id")),
    sa_select(OUTBOX.c.chat_id, OUTBOX.c.message_id).where(
        OUTBOX.c.kind == OutboxKind.HELP_REQUEST, OUTBOX.c.ref == bindparam("ref"), OUTBOX.c.message_id.is_not(None)
    ),
)

# The outbox's copies of requests that are no longer there (purged after the retention period).
_FORGET_GONE_POSTS = OUTBOX.delete().where(
    OUTBOX.c.kind == OutboxKind.HELP_REQUEST, OUTBOX.c.ref.not_in(sa_select(cast(_REQUESTS.c.id, String)))
)


@dataclass(frozen=True)
class Offer:
    """What a resident offers to help with, and whether they want to hear of new requests."""

    categories: frozenset[str]
    notify: bool


def _categories(stored: str) -> list[str]:
    """An offer's categories, kept comma separated."""
    return [category for category in stored.split(",") if category]


class HelpRows:
    """Help's rows in every network's store, one store each (named by the network's slug)."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    # --- requests -------------------------------------------------------------------------

    async def add(self, slug: str, request: HelpRequest, *, key: str | None, step_kind: str, now: datetime) -> None:
        """Keeps a new request (it gets its id) with the step that asked it, in one transaction."""
        async with self._stores.network(slug) as store, store.transaction() as session:
            session.add(request)
            await session.flush()
            await steps.record(await session.connection(), key, kind=step_kind, ref=str(request.id), now=now)

    async def get(self, slug: str, request_id: int) -> HelpRequest | None:
        async with self._stores.network(slug) as store, store.transaction() as session:
            return await session.get(HelpRequest, request_id)

    async def listed(self, slug: str, *, claimed_too: bool) -> list[HelpRequest]:
        """The open requests, soonest needed first; with `claimed_too`, those being helped with as well."""
        query = _OPEN_OR_CLAIMED if claimed_too else _OPEN
        async with self._stores.network(slug) as store, store.connection() as connection:
            rows = (await connection.execute(query)).all()
        return [HelpRequest(**row._mapping) for row in rows]

    async def involving(self, slug: str, person_id: int) -> list[HelpRequest]:
        """Open or taken requests this person asked (or entered for a resident) or helps with,
        soonest needed first."""
        involved = or_(
            _REQUESTS.c.requester_id == person_id,
            _REQUESTS.c.entered_by == person_id,
            _REQUESTS.c.helper_id == person_id,
        )
        query = sa_select(_REQUESTS).where(involved, _REQUESTS.c.status.in_(TAKEN_OR_NOT))
        async with self._stores.network(slug) as store, store.connection() as connection:
            rows = (await connection.execute(query.order_by(_REQUESTS.c.needed_at))).all()
        return [HelpRequest(**row._mapping) for row in rows]

    async def under_way_of(self, slug: str, person_id: int) -> int:
        """How many of this person's own requests are open or being helped with."""
        query = sa_select(func.count()).select_from(_REQUESTS)
        query = query.where(_REQUESTS.c.requester_id == person_id, _REQUESTS.c.status.in_(TAKEN_OR_NOT))
        async with self._stores.network(slug) as store, store.connection() as connection:
            return int(await connection.scalar(query) or 0)

    async def move(
        self,
        slug: str,
        request_id: int,
        *,
        expected: HelpStatus,
        status: HelpStatus,
        unfollowed: bool = False,
        key: str | None = None,
        step_kind: str = "",
        now: datetime,
        **values: object,
    ) -> bool:
        """Moves the request from `expected` to `status` (setting `values` too) in one conditional
        UPDATE; False if it was not in `expected` (or, with `unfollowed`, if a buurtverbinder
        follows it up already). A move made keeps the step under `key` in its transaction."""
        statement = update(HelpRequest).where(col(HelpRequest.id) == request_id, col(HelpRequest.status) == expected)
        if unfollowed:
            statement = statement.where(col(HelpRequest.followed_up_by).is_(None))
        async with self._stores.network(slug) as store, store.transaction() as session:
            result = await session.exec(statement.values(status=status, **values))
            if result.rowcount:
                await steps.record(await session.connection(), key, kind=step_kind, ref=str(request_id), now=now)
        return bool(result.rowcount)

    # --- where requests went --------------------------------------------------------------

    async def reached(self, slug: str, request_id: int) -> int:
        """How many helpers the request was queued for."""
        query = sa_select(func.count()).select_from(OUTBOX)
        query = query.where(OUTBOX.c.kind == OutboxKind.HELP_REQUEST, OUTBOX.c.ref == help_ref(request_id))
        async with self._stores.network(slug) as store, store.connection() as connection:
            return int(await connection.scalar(query) or 0)

    async def postings(self, slug: str, request_id: int) -> list[tuple[int, int]]:
        """Where the request was posted to helpers, as (chat, message)."""
        params = {"request_id": request_id, "ref": help_ref(request_id)}
        async with self._stores.network(slug) as store, store.connection() as connection:
            return [(chat_id, message_id) for chat_id, message_id in await connection.execute(_POSTINGS, params)]

    # --- offers ---------------------------------------------------------------------------

    async def offer(self, slug: str, person_id: int) -> Offer | None:
        async with self._stores.network(slug) as store, store.transaction() as session:
            found = await session.get(HelpOffer, person_id)
        return None if found is None else Offer(frozenset(_categories(found.categories)), found.notify)

    async def set_offer(
        self, slug: str, person_id: int, categories: Iterable[str], *, notify: bool, now: datetime
    ) -> None:
        value = ",".join(sorted(categories))
        async with self._stores.network(slug) as store, store.transaction() as session:
            offer = await session.get(HelpOffer, person_id)
            if offer is None:
                session.add(HelpOffer(person_id=person_id, categories=value, notify=notify, updated_at=now))
            else:
                offer.categories, offer.notify, offer.updated_at = value, notify, now

    async def offering(self, slug: str, category: str, *, besides: int | None) -> list[int]:
        """Who offered this kind of help and wants to hear of it (all but `besides`)."""
        query = sa_select(_OFFER.c.person_id, _OFFER.c.categories).where(_OFFER.c.notify.is_(True))
        async with self._stores.network(slug) as store, store.connection() as connection:
            rows = (await connection.execute(query)).all()
        return [person_id for person_id, stored in rows if category in _categories(stored) and person_id != besides]

    # --- steps and messages ---------------------------------------------------------------

    async def applied(self, slug: str, key: str | None) -> steps.Applied | None:
        """The step this update applied before, or None."""
        if key is None:
            return None
        async with self._stores.network(slug) as store, store.connection() as connection:
            return await steps.applied(connection, key)

    async def told(self, slug: str, key: str | None, now: datetime) -> None:
        """The messages that follow the step under `key` went out."""
        if key is None:
            return
        async with self._stores.network(slug) as store, store.connection() as connection:
            await steps.told(connection, key, now)

    async def relay(
        self,
        slug: str,
        request_id: int,
        *,
        from_id: int,
        to_id: int,
        text: str,
        key: str | None,
        step_kind: str,
        now: datetime,
    ) -> steps.Applied | None:
        """Keeps a message passed between asker and helper with its step, in one transaction. When
        this update kept it before (a replay after a crash), returns that step and keeps nothing."""
        async with self._stores.network(slug) as store, store.transaction() as session:
            connection = await session.connection()
            done = await steps.applied(connection, key)
            if done is not None and done.kind == step_kind:
                return done
            session.add(RelayMessage(request_id=request_id, from_id=from_id, to_id=to_id, text=text, at=now))
            await steps.record(connection, key, kind=step_kind, ref=str(request_id), now=now)
        return None

    # --- retention ------------------------------------------------------------------------

    async def purge(
        self, slug: str, *, closed_before: datetime, steps_before: datetime, audit_action: str, now: datetime
    ) -> int:
        """Deletes the requests closed before `closed_before`, with what hangs on them, and the
        steps applied before `steps_before`, in one transaction; when requests went, an audit line
        says how many and the store is compacted (no page keeps them). Returns how many went."""
        async with self._stores.network(slug) as store:
            async with store.transaction() as session:
                result = await session.exec(
                    delete(HelpRequest).where(
                        col(HelpRequest.status).in_(CLOSED), col(HelpRequest.closed_at) < closed_before
                    )
                )  # their postings and relayed messages go with them (foreign keys, cascade)
                await session.exec(_FORGET_GONE_POSTS)  # and the copies the outbox sent to helpers
                await steps.forget_before(await session.connection(), steps_before)
            purged = int(result.rowcount)
            if purged:
                await store.audit(actor_id=None, action=audit_action, subject_id=None, detail=str(purged), now=now)
                await store.compact()
        return purged

"""Contact requests in the directory store: kept, told, taken up, done, escalated, forgotten.

SQLAlchemy Core on the directory's connection: a contact request is part of nobody's standing,
so the directory's `Known` need not hear of it. Taking one up is one conditional UPDATE (it must
still be untaken and open), which is what makes the first of two buurtverbinders tapping at once
the only one who has it; a step (storage.steps) is kept in the same transaction as its effect.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Table, Update, and_, or_, select
from sqlalchemy.engine import Row

from storage import steps
from storage.directory import DirectoryStore
from storage.models import ContactRequest

_REQUEST: Table = ContactRequest.__table__  # type: ignore[attr-defined]
# Asked for (with consent: a draft, made while the resident is still being asked, is not) and not done.
_OPEN = (
    select(_REQUEST)
    .where(_REQUEST.c.consent_at.is_not(None), _REQUEST.c.handled_at.is_(None))
    .order_by(_REQUEST.c.created_at, _REQUEST.c.id)
)

Notice = tuple[int, int]  # (chat, message) where a request was told


def _request(row: Row[tuple[object, ...]]) -> ContactRequest:
    return ContactRequest(**row._mapping)


def notices_of(request: ContactRequest) -> list[Notice]:
    """Where the request was told, as (chat, message)."""
    return [(int(chat), int(message)) for chat, message in json.loads(request.notices or "[]")]


class ContactRows:
    """The directory's contact requests."""

    def __init__(self, directory: DirectoryStore) -> None:
        self._directory = directory

    async def add(self, request: ContactRequest, *, key: str | None, step_kind: str) -> ContactRequest:
        """Keeps a new request (a draft until the resident agrees to be passed on) with the step that
        made it, in one transaction; returns it with its id."""
        values = request.model_dump(exclude={"id"})
        async with self._directory.connection() as connection:
            result = await connection.execute(_REQUEST.insert().values(**values).returning(_REQUEST.c.id))
            request_id = int(result.scalar_one())
            await steps.record(connection, key, kind=step_kind, ref=str(request_id), now=request.created_at)
        return ContactRequest(**{**values, "id": request_id})

    async def get(self, request_id: int) -> ContactRequest | None:
        async with self._directory.connection() as connection:
            row = (await connection.execute(select(_REQUEST).where(_REQUEST.c.id == request_id))).first()
        return None if row is None else _request(row)

    async def open(self) -> list[ContactRequest]:
        """Requests not marked done yet, oldest first."""
        async with self._directory.connection() as connection:
            return [_request(row) for row in (await connection.execute(_OPEN)).all()]

    async def open_of(self, person_id: int) -> list[ContactRequest]:
        async with self._directory.connection() as connection:
            rows = (await connection.execute(_OPEN.where(_REQUEST.c.person_id == person_id))).all()
        return [_request(row) for row in rows]

    async def concerning(self, person_id: int) -> list[ContactRequest]:
        """Every request this person asked for or took up (for what we keep about them)."""
        query = select(_REQUEST).where(or_(_REQUEST.c.person_id == person_id, _REQUEST.c.taken_by == person_id))
        async with self._directory.connection() as connection:
            return [_request(row) for row in (await connection.execute(query.order_by(_REQUEST.c.id))).all()]

    async def noted(self, request_id: int, notice: Notice) -> None:
        """Remembers one more place the request was told."""
        async with self._directory.connection() as connection:
            found = await connection.scalar(select(_REQUEST.c.notices).where(_REQUEST.c.id == request_id))
            if found is None:
                return  # gone meanwhile (the resident was forgotten)
            notices = [*json.loads(found or "[]"), list(notice)]
            await connection.execute(
                _REQUEST.update().where(_REQUEST.c.id == request_id).values(notices=json.dumps(notices))
            )

    async def consent(
        self,
        request_id: int,
        person_id: int,
        now: datetime,
        *,
        escalate_at: datetime | None,
        key: str | None,
        step_kind: str,
    ) -> bool:
        """The resident agreed: the draft becomes a request; False if it was no draft of theirs."""
        statement = (
            _REQUEST.update()
            .where(_REQUEST.c.id == request_id, _REQUEST.c.person_id == person_id, _REQUEST.c.consent_at.is_(None))
            .values(consent_at=now, escalate_at=escalate_at)
        )
        return await self._change(statement, request_id, now, key=key, step_kind=step_kind)

    async def drop_drafts(self, person_id: int, request_id: int | None = None) -> int:
        """Removes the person's drafts (or the one given): they said no, or began again."""
        statement = _REQUEST.delete().where(_REQUEST.c.person_id == person_id, _REQUEST.c.consent_at.is_(None))
        if request_id is not None:
            statement = statement.where(_REQUEST.c.id == request_id)
        async with self._directory.connection() as connection:
            return int((await connection.execute(statement)).rowcount)

    async def take(self, request_id: int, person_id: int, now: datetime, *, key: str | None, step_kind: str) -> bool:
        """`person_id` takes the request up; False if someone else had it first or it is done."""
        statement = (
            _REQUEST.update()
            .where(_REQUEST.c.id == request_id, _REQUEST.c.taken_by.is_(None), _REQUEST.c.handled_at.is_(None))
            .values(taken_by=person_id, taken_at=now)
        )
        return await self._change(statement, request_id, now, key=key, step_kind=step_kind)

    async def close(self, request_id: int, now: datetime, *, key: str | None, step_kind: str) -> bool:
        """Marks the request done; False if it was done already."""
        statement = (
            _REQUEST.update().where(_REQUEST.c.id == request_id, _REQUEST.c.handled_at.is_(None)).values(handled_at=now)
        )
        return await self._change(statement, request_id, now, key=key, step_kind=step_kind)

    async def _change(
        self, statement: Update, request_id: int, now: datetime, *, key: str | None, step_kind: str
    ) -> bool:
        """Runs a conditional UPDATE of the request; if it changed it, the step is kept in the same
        transaction. False if the condition no longer held (someone else was first, or it was done)."""
        async with self._directory.connection() as connection:
            changed = bool((await connection.execute(statement)).rowcount)
            if changed:
                await steps.record(connection, key, kind=step_kind, ref=str(request_id), now=now)
        return changed

    async def due_for_escalation(self, now: datetime) -> list[ContactRequest]:
        """Requests still untaken and open whose time to go to the community managers has come."""
        query = _OPEN.where(
            _REQUEST.c.escalate_at <= now, _REQUEST.c.escalated_at.is_(None), _REQUEST.c.taken_by.is_(None)
        )
        async with self._directory.connection() as connection:
            return [_request(row) for row in (await connection.execute(query)).all()]

    async def escalated(self, request_id: int, now: datetime) -> bool:
        """Marks the request escalated; False if it was taken, done or escalated meanwhile."""
        statement = (
            _REQUEST.update()
            .where(
                _REQUEST.c.id == request_id,
                _REQUEST.c.escalated_at.is_(None),
                _REQUEST.c.taken_by.is_(None),
                _REQUEST.c.handled_at.is_(None),
            )
            .values(escalated_at=now)
        )
        async with self._directory.connection() as connection:
            return bool((await connection.execute(statement)).rowcount)

    async def purge(self, cutoff: datetime, *, drafts_before: datetime) -> int:
        """Removes requests done before `cutoff`, those never done that were made before it, and
        drafts the resident left before `drafts_before`; then compacts the directory, so no page of
        the file keeps a phone number."""
        statement = _REQUEST.delete().where(
            or_(
                _REQUEST.c.handled_at < cutoff,
                and_(_REQUEST.c.handled_at.is_(None), _REQUEST.c.created_at < cutoff),
                and_(_REQUEST.c.consent_at.is_(None), _REQUEST.c.created_at < drafts_before),
            )
        )
        async with self._directory.connection() as connection:
            removed = int((await connection.execute(statement)).rowcount)
        if removed:
            await self._directory.compact()
        return removed

    async def forget(self, person_id: int) -> int:
        """Removes the person's own requests; on those they took up or were told of, their name
        and chat go. Returns how many of their own were removed. (The caller compacts the store.)"""
        async with self._directory.connection() as connection:
            removed = await connection.execute(_REQUEST.delete().where(_REQUEST.c.person_id == person_id))
            await connection.execute(
                _REQUEST.update().where(_REQUEST.c.taken_by == person_id).values(taken_by=None, taken_at=None)
            )
            told = (
                await connection.execute(
                    select(_REQUEST.c.id, _REQUEST.c.notices).where(_REQUEST.c.notices.contains(str(person_id)))
                )
            ).all()
            for request_id, notices in told:
                kept = [notice for notice in json.loads(notices or "[]") if int(notice[0]) != person_id]
                await connection.execute(
                    _REQUEST.update().where(_REQUEST.c.id == request_id).values(notices=json.dumps(kept))
                )
        return int(removed.rowcount)

    # --- steps: what an update did, so that handling it again does nothing twice -----------------

    async def applied(self, key: str | None) -> steps.Applied | None:
        if key is None:
            return None
        async with self._directory.connection() as connection:
            return await steps.applied(connection, key)

    async def remember(self, key: str | None, *, kind: str, ref: str, now: datetime) -> None:
        """Keeps a step that wrote nothing else (a message passed on)."""
        if key is None:
            return
        async with self._directory.connection() as connection:
            await steps.record(connection, key, kind=kind, ref=ref, now=now)

    async def told(self, key: str | None, now: datetime) -> None:
        """The messages that follow the step went out: handled again, it sends none."""
        if key is None:
            return
        async with self._directory.connection() as connection:
            await steps.told(connection, key, now)

"""People in the directory: who wrote to the bot, in which language, their consent, whether they can be reached."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.base import Store
from storage.models import Person

_PEOPLE = select(Person).where(col(Person.id).in_(bindparam("person_ids", expanding=True)))


async def seen(
    session: AsyncSession, person_id: int, name: str, username: str | None, language: str, now: datetime
) -> Person:
    """Records someone we heard from, in the caller's session: a newcomer is added; someone known
    keeps their chosen language and gets their name refreshed."""
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


async def people_by_id(session: AsyncSession, person_ids: Iterable[int]) -> list[Person]:
    """The people of these ids that the directory has, in the caller's session."""
    return list((await session.exec(_PEOPLE, params={"person_ids": sorted(person_ids)})).all())


class PeopleRecords(Store):
    """The directory's people (part of `DirectoryStore`)."""

    async def upsert_person(
        self, *, person_id: int, name: str, username: str | None, language: str, now: datetime
    ) -> Person:
        """Record someone we heard from; keeps their chosen language, refreshes their name."""
        async with self.transaction() as session:
            return await seen(session, person_id, name, username, language, now)

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

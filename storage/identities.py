"""Who people are on chat apps other than Telegram: a WhatsApp `wa_id` and the person id it stands for.

Inside the bot a person is an integer id that is also their private chat id. A Telegram person's
id is their Telegram user id, which has at most 52 significant bits; a person who first writes
from another app gets the next id from `FIRST_APP_PERSON_ID` (2**53) up, which no Telegram id can
reach, so the two never meet and a door can tell the app of a person by the id alone. An identity
may also name a person id below that range (a person known on Telegram who is also reached on
WhatsApp; the scenario tests use this): `whatsapp_people` lists those too.

The phone number is kept here only: never shown to another resident, never written to a log,
and `forget` removes it (and the app's id) with the rest of a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, select

from storage.base import Store
from storage.models import AppIdentity, Person

WHATSAPP = "whatsapp"
FIRST_APP_PERSON_ID = 2**53  # Telegram user ids have at most 52 significant bits

_IDENTITY: Table = AppIdentity.__table__  # type: ignore[attr-defined]
_PERSON: Table = Person.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Identity:
    person_id: int
    app: str
    app_id: str
    phone: str | None
    last_inbound_at: datetime | None


@dataclass(frozen=True)
class Arrived:
    """Someone who wrote from an app: their person id, whether the identity is new, and whether
    the person is in the directory yet (not before their first message was handled)."""

    person_id: int
    new: bool
    known: bool


@dataclass(frozen=True)
class Recipient:
    """Where and how to write to a person on an app: their app id, and their language if known."""

    app_id: str
    language: str | None


def is_app_person(person_id: int) -> bool:
    """Whether the id was given to someone who first wrote from an app other than Telegram."""
    return person_id >= FIRST_APP_PERSON_ID


class AppIdentities:
    """The `app_identity` table of the directory store."""

    def __init__(self, directory: Store) -> None:
        self._store = directory

    async def arrived(self, *, app: str, app_id: str, phone: str | None, now: datetime) -> Arrived:
        """The person who wrote from `app` as `app_id`: found, or recorded with the next free id of
        the reserved range, in one transaction; their last message's time is kept either way."""
        async with self._store.connection() as connection:
            found = await connection.scalar(
                select(_IDENTITY.c.person_id).where(_IDENTITY.c.app == app, _IDENTITY.c.app_id == app_id)
            )
            if found is not None:
                await connection.execute(
                    _IDENTITY.update().where(_IDENTITY.c.person_id == found).values(last_inbound_at=now)
                )
                known = await connection.scalar(select(_PERSON.c.id).where(_PERSON.c.id == found))
                return Arrived(int(found), new=False, known=known is not None)
            highest = await connection.scalar(
                select(func.max(_IDENTITY.c.person_id)).where(_IDENTITY.c.person_id >= FIRST_APP_PERSON_ID)
            )
            person_id = FIRST_APP_PERSON_ID if highest is None else int(highest) + 1
            await connection.execute(
                _IDENTITY.insert().values(
                    person_id=person_id, app=app, app_id=app_id, phone=phone, created_at=now, last_inbound_at=now
                )
            )
            return Arrived(person_id, new=True, known=False)

    async def register(self, *, person_id: int, app: str, app_id: str, phone: str | None, now: datetime) -> None:
        """Records that a person with a known id is `app_id` on `app` (nothing if so already)."""
        async with self._store.connection() as connection:
            found = await connection.scalar(
                select(_IDENTITY.c.person_id).where(_IDENTITY.c.app == app, _IDENTITY.c.app_id == app_id)
            )
            if found is None:
                await connection.execute(
                    _IDENTITY.insert().values(person_id=person_id, app=app, app_id=app_id, phone=phone, created_at=now)
                )

    async def recipient(self, person_id: int, app: str) -> Recipient | None:
        """The app id to write to, with the person's language (None before they are in the directory)."""
        query = (
            select(_IDENTITY.c.app_id, _PERSON.c.language)
            .select_from(_IDENTITY.outerjoin(_PERSON, _PERSON.c.id == _IDENTITY.c.person_id))
            .where(_IDENTITY.c.person_id == person_id, _IDENTITY.c.app == app)
        )
        async with self._store.connection() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else Recipient(row.app_id, row.language)

    async def person_of(self, app: str, app_id: str) -> int | None:
        async with self._store.connection() as connection:
            found = await connection.scalar(
                select(_IDENTITY.c.person_id).where(_IDENTITY.c.app == app, _IDENTITY.c.app_id == app_id)
            )
        return None if found is None else int(found)

    async def of_person(self, person_id: int) -> list[Identity]:
        """What is kept about a person's identities on other apps (for "my data")."""
        async with self._store.connection() as connection:
            rows = (await connection.execute(select(_IDENTITY).where(_IDENTITY.c.person_id == person_id))).all()
        return [Identity(row.person_id, row.app, row.app_id, row.phone, row.last_inbound_at) for row in rows]

    async def people_on(self, app: str) -> set[int]:
        """The person ids reached on `app`."""
        async with self._store.connection() as connection:
            found = (await connection.execute(select(_IDENTITY.c.person_id).where(_IDENTITY.c.app == app))).scalars()
            return {int(person_id) for person_id in found}

    async def forget(self, person_id: int) -> int:
        """Removes the person's identities on every app, phone number included; returns how many."""
        async with self._store.connection() as connection:
            result = await connection.execute(_IDENTITY.delete().where(_IDENTITY.c.person_id == person_id))
        return int(result.rowcount)

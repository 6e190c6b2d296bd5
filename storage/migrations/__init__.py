"""Versioned schema migrations: every store is brought up to date when it is opened.

Each store kind has an ordered list of migrations written with Alembic's operations (so
they are dialect-neutral); a `schema_version` table remembers how far a store has come.
A test compares the migrated schema with the models, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.operations import Operations

VERSION_TABLE = "schema_version"
# One table object for every store: a new one per open would compile its statements anew.
_VERSION = Table(VERSION_TABLE, MetaData(), Column("version", Integer, primary_key=True))


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    upgrade: Callable[[Operations], None]


def current_version(connection: Connection) -> int:
    _VERSION.create(connection, checkfirst=True)
    found = connection.execute(select(_VERSION.c.version)).scalar()
    return int(found or 0)


def upgrade(connection: Connection, migrations: Sequence[Migration]) -> list[int]:
    """Apply every migration newer than the store's version; returns the versions applied."""
    versions = [migration.version for migration in migrations]
    if versions != sorted(set(versions)):
        raise ValueError("migration versions must be unique and ascending")
    start = current_version(connection)
    pending = [migration for migration in migrations if migration.version > start]
    if not pending:
        return []
    # Alembic (about 10 MB with its dialects) is loaded only when a store needs a migration.
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    operations = Operations(MigrationContext.configure(connection))
    for migration in pending:
        migration.upgrade(operations)
        connection.execute(_VERSION.delete())
        connection.execute(_VERSION.insert().values(version=migration.version))
    return [migration.version for migration in pending]

"""Versioned schema migrations: every store is brought up to date when it is opened.

Each store kind has an ordered list of migrations written with Alembic's operations (so
they are dialect-neutral); a `schema_version` table remembers how far a store has come.
A test compares the migrated schema with the models, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.engine import Connection

VERSION_TABLE = "schema_version"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    upgrade: Callable[[Operations], None]


def _version_table(metadata: MetaData) -> Table:
    return Table(VERSION_TABLE, metadata, Column("version", Integer, primary_key=True))


def current_version(connection: Connection) -> int:
    table = _version_table(MetaData())
    table.create(connection, checkfirst=True)
    found = connection.execute(select(table.c.version)).scalar()
    return int(found or 0)


def upgrade(connection: Connection, migrations: Sequence[Migration]) -> list[int]:
    """Apply every migration newer than the store's version; returns the versions applied."""
    versions = [migration.version for migration in migrations]
    if versions != sorted(set(versions)):
        raise ValueError("migration versions must be unique and ascending")
    table = _version_table(MetaData())
    start = current_version(connection)
    operations = Operations(MigrationContext.configure(connection))
    applied = []
    for migration in migrations:
        if migration.version <= start:
            continue
        migration.upgrade(operations)
        connection.execute(table.delete())
        connection.execute(table.insert().values(version=migration.version))
        applied.append(migration.version)
    return applied

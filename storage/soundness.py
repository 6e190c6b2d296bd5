"""Whether a store file may be opened: there, not empty, a SQLite database, writable, undamaged,
and of a schema this Buurtbot knows. Anything else is a `StoreProblem`, never an empty store."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Table

from storage.errors import RESTORE, StoreProblem, problem_of
from storage.migrations import VERSION_TABLE, Migration
from storage.migrations import directory as directory_migrations
from storage.migrations import network as network_migrations
from storage.models import DIRECTORY_TABLES, NETWORK_TABLES

SQLITE_HEADER = b"SQLite format 3\x00"
# The start-up check reads a store while a backup or a command may be writing to it (in WAL
# mode a reader waits only while the log is recovered); nothing else runs yet, so it may block.
CHECK_BUSY_TIMEOUT_S = 5.0
# What a store's schema must hold once it is at the newest version its migrations know: the
# tables its models describe (a test checks migrations build exactly these).
_TABLES_AT_HEAD: dict[tuple[Migration, ...], tuple[Table, ...]] = {
    directory_migrations.MIGRATIONS: DIRECTORY_TABLES,
    network_migrations.MIGRATIONS: NETWORK_TABLES,
}
Query = Callable[[str], Sequence[Sequence[Any]]]


@dataclass(frozen=True)
class Schema:
    """What a kind of store is made of: its newest version, and the tables and columns it has then."""

    head: int
    tables: dict[str, frozenset[str]]


def schema_of(migrations: Sequence[Migration]) -> Schema:
    return _schema_of(tuple(migrations))


@cache
def _schema_of(migrations: tuple[Migration, ...]) -> Schema:
    tables = _TABLES_AT_HEAD.get(migrations, ())
    return Schema(
        head=max((m.version for m in migrations), default=0),
        tables={table.name: frozenset(column.name for column in table.columns) for table in tables},
    )


def check_file(path: Path) -> None:
    """Cheap, before each open of a store that should be there: present, not empty, writable, and
    a SQLite file by its header."""
    if not path.exists():
        raise StoreProblem(path, "missing", RESTORE)
    if path.stat().st_size == 0:
        raise StoreProblem(path, "empty (0 bytes)", RESTORE)
    try:
        with path.open("rb") as store:
            header = store.read(len(SQLITE_HEADER))
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists():
                os.close(os.open(file, os.O_RDWR))
    except PermissionError as error:
        raise StoreProblem(
            Path(error.filename or path),
            "read-only: Buurtbot may not write to it",
            "Give the user Buurtbot runs as write access to the file and its folder, then start again",
        ) from error
    except OSError as error:
        raise StoreProblem(path, f"cannot be opened ({error.strerror})", RESTORE) from error
    if header != SQLITE_HEADER:
        raise StoreProblem(path, "not a database (it does not start as a SQLite file does)", RESTORE)


def check_schema(path: Path, query: Query, migrations: Sequence[Migration], *, new: bool, columns: bool) -> int:
    """Refuses a store whose recorded version this Buurtbot does not know, one with no version at
    all unless it is being made (NEW) and holds no table yet, or one at the newest version that
    lacks a table (or, with COLUMNS, a column); returns its version."""
    schema = schema_of(migrations)
    tables = {str(row[0]) for row in query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = 0
    if VERSION_TABLE in tables:
        found = query(f"SELECT max(version) FROM {VERSION_TABLE}")
        version = int(found[0][0] or 0) if found else 0
    if version > schema.head:
        raise StoreProblem(
            path,
            f"schema version {version} is newer than this Buurtbot knows ({schema.head})",
            "Nothing was changed: run the Buurtbot release that wrote it, or bring the stores back with "
            "`buurtbot restore DIR --force` from a backup made with `buurtbot backup DIR` by this release",
        )
    if version == 0 and (not new or tables - {VERSION_TABLE}):
        # Made now, a store may be empty or hold nothing yet (made, but its first migration cut
        # short); a store that should be there, or one with tables but no version, is not ours.
        raise StoreProblem(
            path, "schema does not match: it has no schema version, so it is no store of Buurtbot's", RESTORE
        )
    if version == schema.head:
        missing = missing_from(query, schema) if columns else _missing_tables(tables, schema)
        if missing:
            raise StoreProblem(path, f"schema does not match version {version}: {missing}", RESTORE)
    return version


def missing_from(query: Query, schema: Schema) -> str:
    """What the store lacks of SCHEMA's tables and columns, said in a few words ('' when nothing)."""
    present: dict[str, set[str]] = {}
    rows = query(
        "SELECT m.name, c.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c WHERE m.type = 'table'"
    )
    for table, column in rows:
        present.setdefault(str(table), set()).add(str(column))
    columns = sorted(
        f"{name}.{column}"
        for name, wanted in schema.tables.items()
        if name in present
        for column in wanted - present[name]
    )
    said = [_missing_tables(set(present), schema), *(f"column {name} is missing" for name in columns)]
    return ", ".join(part for part in said if part)


def _missing_tables(present: set[str], schema: Schema) -> str:
    return ", ".join(f"table {name} is missing" for name in sorted(schema.tables) if name not in present)


def check_store(path: Path, migrations: Sequence[Migration]) -> None:
    """The start-up check of one store: `check_file`, SQLite's quick_check, and `check_schema`."""
    check_file(path)
    try:
        with closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=CHECK_BUSY_TIMEOUT_S)
        ) as connection:
            found = damage(connection)
            if found is not None:
                raise StoreProblem(path, found, RESTORE)
            check_schema(path, lambda sql: connection.execute(sql).fetchall(), migrations, new=False, columns=True)
    except sqlite3.Error as error:
        raise as_problem(path, error) from error


def damage(connection: sqlite3.Connection) -> str | None:
    """What SQLite's quick_check finds wrong with the database on CONNECTION, in a few words;
    None when it finds nothing."""
    verdict = [str(row[0]) for row in connection.execute("PRAGMA quick_check").fetchall()]
    if verdict == ["ok"]:
        return None
    first = " ".join(verdict[0].split()) if verdict else "no answer"
    return f"damaged (SQLite's quick_check: {first[:160]})"


def as_problem(path: Path, error: BaseException) -> StoreProblem:
    """ERROR, met while opening the store at PATH, as the one line that names the file."""
    found = problem_of(error)
    if found is not None:
        return StoreProblem(path, *found)
    cause = getattr(error, "orig", None) or error
    said = " ".join(str(cause).split())[:160]
    return StoreProblem(path, f"schema does not match its version, or the file is damaged ({said})", RESTORE)


def holds_nothing(path: Path) -> bool:
    """Whether PATH is a SQLite file without a single table: a store whose making was cut short
    (its first migration never committed), so it never held anything."""
    try:
        check_file(path)
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            return bool(connection.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,))
    except (StoreProblem, sqlite3.Error):
        return False

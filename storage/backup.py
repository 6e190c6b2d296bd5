"""Copies of the stores: a consistent copy of a live store, and a backup checked before it is brought back.

SQLite's online backup API copies a store page by page while the bot goes on writing; a backup
is read only through a read-only connection, so checking it can neither change it nor create a
missing file.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from storage.soundness import damage


def copy_store(source: Path, destination: Path) -> None:
    """A consistent copy of SOURCE (live or not) at DESTINATION."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(destination)) as copy:
        live.backup(copy)


def restore_store(backup: Path, destination: Path) -> None:
    """BACKUP's content at DESTINATION, the backup itself untouched."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with closing(_read_only(backup)) as kept, closing(sqlite3.connect(destination)) as restored:
        kept.backup(restored)


def unreadable(store: Path) -> str | None:
    """Why SQLite cannot read STORE as a sound database, or None when it can."""
    try:
        with closing(_read_only(store)) as connection:
            return damage(connection)
    except sqlite3.Error as error:
        return str(error)


def stores_in(folder: Path) -> list[Path]:
    """directory.db (first, if there) and every network store in FOLDER."""
    directory = folder / "directory.db"
    return [*([directory] if directory.exists() else []), *sorted((folder / "networks").glob("*.db"))]


def _read_only(store: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True)

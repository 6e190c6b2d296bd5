"""Builds a store's async engine: SQLite tuned for many small writers, or any other URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from storage.inline_sqlite import connector

BUSY_TIMEOUT_MS = 5_000


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> AsyncEngine:
    """One engine per store. For SQLite: WAL, a busy timeout, foreign keys, immediate writes, and
    calls made in the event loop's thread (see `storage.inline_sqlite`)."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True)
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError(f"a store needs a file: {url}")
    engine = create_async_engine(
        url,
        async_creator=connector(database),
        poolclass=AsyncAdaptedQueuePool,
        pool_size=1,
        max_overflow=3,
        pool_timeout=30,
    )
    _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is what runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten, so a forgotten person leaves no bytes in the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue on the busy
        # timeout instead of one failing at once when it upgrades a read to a write.
        driver: Any = connection.connection.driver_connection  # an InlineConnection
        driver.begin_immediate()


def upsert(session: Any, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT DO UPDATE, in the dialect of the session's database."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)

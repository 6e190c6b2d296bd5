"""Builds a store's async engine: SQLite, tuned for many small writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import LRUCache

from storage.inline_sqlite import connector, while_busy

# SQLite's own wait for another process's lock would stop the event loop: none. A task that
# finds a store locked waits for it asynchronously instead (`storage.inline_sqlite`).
BUSY_TIMEOUT_MS = 0
# Compiled statements kept for all SQLite stores together (SQLAlchemy's default per engine).
SHARED_STATEMENT_CACHE_SIZE = 500

# One dialect and one cache of compiled statements per SQLite dialect class, for every store in
# this process: see `share_compiled_statements`.
_shared_sqlite: dict[type[Dialect], tuple[Dialect, LRUCache[Any, Any]]] = {}


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def store_path(url: str) -> Path:
    """The file of a store's SQLite URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError(f"a store needs a file: {url}")
    return Path(database)


def make_engine(url: str, *, create: bool = False) -> AsyncEngine:
    """One engine per store: WAL, foreign keys, immediate writes that wait for another process's
    lock without stopping the event loop, and calls made in the event loop's thread (see
    `storage.inline_sqlite`). The file is created only when CREATE is true."""
    path = store_path(url)
    engine = create_async_engine(
        url,
        async_creator=connector(path, create=create),
        poolclass=AsyncAdaptedQueuePool,
        pool_size=1,
        max_overflow=3,
        pool_timeout=30,
        # An error names the statement, never its values: they can be a resident's name or words,
        # which the log must not hold.
        hide_parameters=True,
    )
    _tune_sqlite(engine, path)
    return engine


def share_compiled_statements(engine: AsyncEngine) -> None:
    """Lets a SQLite engine use the dialect and compiled statements of the first one opened.

    SQLAlchemy keys a compiled statement by the engine's dialect object and every engine makes
    its own (sqlalchemy issue #5002), so each network store would compile every statement again
    and keep its own copies: 27 stores, 27 copies, and memory that climbs as stores are opened
    and closed in turn. The SQLite files of one process share one sqlite3 library, so their
    dialects are interchangeable. Call after the engine's first connection, which initialises
    its dialect (as the first one's was). Mind that a hook on the dialect's own events
    (`do_connect`, `do_execute`) would then apply to every SQLite store: hook the engine."""
    sync = engine.sync_engine
    dialect, statements = _shared_sqlite.setdefault(
        type(sync.dialect), (sync.dialect, LRUCache(SHARED_STATEMENT_CACHE_SIZE))
    )
    sync.dialect = dialect
    sync.pool._dialect = dialect
    sync._compiled_cache = statements


def _tune_sqlite(engine: AsyncEngine, path: Path) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is what runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Turning WAL on (a new store) takes the lock another process may hold for a moment.
        while_busy(path, lambda: cursor.execute("PRAGMA journal_mode=WAL"))
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten, so a forgotten person leaves no bytes in the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue for it instead of one
        # failing at once when it upgrades a read to a write.
        driver: Any = connection.connection.driver_connection  # an InlineConnection
        driver.begin_immediate()


def upsert(_bind: Any, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT DO UPDATE (SQLite's; the bind, a session or a
    connection, is taken for the day a store has another dialect and its own tests)."""
    return sqlite_insert(table)


def dialect_name(bind: Any) -> str:
    """The name of the SQL dialect ("sqlite") of a connection, or of the database a session is
    bound to."""
    dialect = bind.dialect if hasattr(bind, "dialect") else bind.get_bind().dialect
    return str(dialect.name)

"""SQLite under SQLAlchemy's async engine, called in the event loop's own thread.

aiosqlite runs every driver call (cursor, execute, fetch, close, commit) on a helper thread and
waits for the answer. On a small 2-core machine one such hand-over costs about 0.2 ms of CPU,
while the SQLite call itself takes 0.01 ms; a short transaction makes a dozen of them. So the
async engine gets its connections from here instead (SQLAlchemy's `async_creator`): objects
with aiosqlite's shape whose awaitables finish at once.

What makes that safe: a store's statements are small (milliseconds at most, on a local file),
and `Store.transaction()` lets one task at a time into a store, so SQLite never has to wait
for a lock held by this process. Another process (a CLI command, a backup) can still hold the
write lock for a moment; then SQLite's busy timeout waits, in this thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class InlineCursor:
    """An aiosqlite-shaped cursor over a sqlite3 cursor."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    def __aiter__(self) -> InlineCursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: SQLAlchemy puts (future, function) on it."""

    __slots__ = ()

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:
            future.set_exception(error)


class InlineConnection:
    """An aiosqlite-shaped connection over a sqlite3 connection, used from the loop's thread."""

    _tx = _RunNow()

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = connection

    @property
    def _connection(self) -> sqlite3.Connection | None:  # SQLAlchemy checks this before commit/rollback
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")
        return self._conn

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open().cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        return InlineCursor(self._open().execute(sql, parameters))

    def begin_immediate(self) -> None:
        """Takes the write lock now (SQLAlchemy's `begin` event calls this, without a statement
        of its own): two writers queue instead of one failing when it upgrades a read."""
        self._open().execute("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        self._open().commit()

    async def rollback(self) -> None:
        self._open().rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def connector(path: str) -> Callable[[], Any]:
    """The `async_creator` for a store file."""

    async def connect() -> InlineConnection:
        # One thread uses it, but SQLAlchemy may close a connection from a garbage collector.
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect

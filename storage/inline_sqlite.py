"""SQLite under SQLAlchemy's async engine, called in the event loop's own thread.

aiosqlite runs every driver call (cursor, execute, fetch, close, commit) on a helper thread and
waits for the answer. On a small 2-core machine one such hand-over costs about 0.2 ms of CPU,
while the SQLite call itself takes 0.01 ms; a short transaction makes a dozen of them. So the
async engine gets its connections from here instead (SQLAlchemy's `async_creator`): objects
with aiosqlite's shape whose awaitables finish at once.

What makes that safe: a store's statements are small (milliseconds at most, on a local file),
and `Store.transaction()` lets one task at a time into a store, so SQLite never has to wait
for a lock held by this process. Another process (a CLI command, a backup, an sqlite3 shell)
can still hold a store's write lock, for a moment or for seconds. SQLite's own busy timeout
would wait for it in this thread and stop every other network's work meanwhile; so it is 0,
and the task that wants the lock asks again after a short asynchronous sleep (1 ms, doubling
to 50 ms) until it gets it or `LOCK_WAIT_S` has passed. Only that store's work waits.

Where else a lock can be met, in WAL mode: turning WAL on when a connection opens (waits the
same way); COMMIT never, as the write lock was taken at BEGIN IMMEDIATE; the checkpoint SQLite
makes after a commit is PASSIVE, which skips what it cannot do rather than wait; VACUUM and the
TRUNCATE checkpoints of `Store.compact` wait asleep as BEGIN does.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.util import await_only

from storage.errors import StoreBusy, is_busy

T = TypeVar("T")

# How long a task waits for another process to let go of a store's write lock.
LOCK_WAIT_S = 30.0
FIRST_RETRY_S = 0.001
LONGEST_RETRY_S = 0.05


def _retry_pauses(path: Path, deadline_s: float | None) -> Iterable[float]:
    """The pauses between attempts to take a lock that another process holds; StoreBusy at the end."""
    deadline_s = LOCK_WAIT_S if deadline_s is None else deadline_s
    pause, until = FIRST_RETRY_S, time.monotonic() + deadline_s
    while time.monotonic() < until:
        yield pause
        pause = min(pause * 2, LONGEST_RETRY_S)
    raise StoreBusy(path, deadline_s)


def while_busy(path: Path, attempt: Callable[[], T], *, deadline_s: float | None = None) -> T:
    """Runs ATTEMPT (a SQLite call that needs a lock) until no other process holds the lock,
    sleeping in between without stopping the event loop. Call it inside SQLAlchemy's greenlet
    (an engine event, a driver call): the sleep is awaited through it."""
    pauses = iter(_retry_pauses(path, deadline_s))
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as error:
            if not is_busy(error):
                raise
            await_only(asyncio.sleep(next(pauses)))


async def while_busy_async(path: Path, attempt: Callable[[], Awaitable[T]], *, deadline_s: float | None = None) -> T:
    """`while_busy` for a coroutine (driver calls made outside SQLAlchemy's greenlet)."""
    pauses = iter(_retry_pauses(path, deadline_s))
    while True:
        try:
            return await attempt()
        except sqlite3.OperationalError as error:
            if not is_busy(error):
                raise
            await asyncio.sleep(next(pauses))


async def checkpoint_truncate(path: Path, driver: Any, *, deadline_s: float | None = None) -> None:
    """Folds the write-ahead log into the file and empties it. Another process reading the store
    keeps the log in use (SQLite answers busy rather than raising); then this waits, asleep."""
    pauses = iter(_retry_pauses(path, deadline_s))
    while True:
        cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = await cursor.fetchone()
        await cursor.close()
        if not row or not row[0]:
            return
        await asyncio.sleep(next(pauses))


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

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._conn: sqlite3.Connection | None = connection
        self.path = path

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
        """Takes the write lock now (SQLAlchemy's `begin` event calls this, in its greenlet,
        without a statement of its own): two writers queue instead of one failing when it
        upgrades a read. While another process holds the lock, only this task waits."""
        connection = self._open()
        while_busy(self.path, lambda: connection.execute("BEGIN IMMEDIATE"))

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


def connector(path: Path, *, create: bool) -> Callable[[], Any]:
    """The `async_creator` for a store file; a missing file is created only when CREATE is true
    (SQLite's own default would make an empty store in its place)."""
    uri = f"{path.resolve().as_uri()}?mode={'rwc' if create else 'rw'}"

    async def connect() -> InlineConnection:
        # One thread uses it, but SQLAlchemy may close a connection from a garbage collector.
        # timeout=0: no busy handler blocking the event loop (see the module's docstring).
        return InlineConnection(sqlite3.connect(uri, uri=True, timeout=0, check_same_thread=False), path)

    return connect

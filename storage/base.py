"""What every store shares: an engine opened lazily, short transactions, migrations on open."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import make_engine, share_compiled_statements, store_path
from storage.errors import RESTORE, StoreProblem, problem_of
from storage.inline_sqlite import checkpoint_truncate, while_busy_async
from storage.migrations import Migration, upgrade
from storage.soundness import as_problem, check_file, check_schema, missing_from, schema_of

log = logging.getLogger(__name__)

# Waiting longer than this for one's turn in a store means something holds it far too long.
TURN_TIMEOUT_S = 30.0


class Store:
    """One database: opened by `open()`, used in short `transaction()`s, closed by `close()`."""

    session_class: type[Session] = Session  # a store may listen to its own sessions' events

    def __init__(self, url: str, migrations: Sequence[Migration]) -> None:
        self.url = url
        self.path = store_path(url)
        self._migrations = migrations
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        # SQLite runs in the event loop's thread, so one task at a time may be inside a
        # transaction: a second one would otherwise find the file locked by the first.
        self._turn = asyncio.Lock()

    async def open(self, *, create: bool = True) -> None:
        """Opens the store and brings its schema up to date. A missing file is created only when
        CREATE is true (the village's stores say which: see `storage.stores`), and then a file
        left by a making cut short (empty, or without a table yet) is finished. A store that is
        there is never replaced: when it is missing, empty, damaged, read-only or of a schema
        this code does not know, `StoreProblem` says so, naming it."""
        if self._engine is not None:
            return
        being_made = create and (not self.path.exists() or self.path.stat().st_size == 0)
        if not being_made:
            check_file(self.path)
        engine = make_engine(self.url, create=create)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(self._prepare, create)
        except StoreProblem:
            await engine.dispose()
            raise
        except (sqlite3.Error, DBAPIError) as error:
            await engine.dispose()
            raise as_problem(self.path, error) from error
        share_compiled_statements(engine)
        self._engine = engine
        self._sessions = async_sessionmaker(
            engine,
            class_=AsyncSession,
            sync_session_class=self.session_class,
            expire_on_commit=False,
            info=self.session_info(),
        )

    def _prepare(self, connection: Connection, create: bool) -> None:
        """Checks the schema the store has, migrates it, and checks what the migrations left.
        (Its columns were checked at start-up; a store opened again later by the cache is checked
        for its tables only, which costs a fraction of a millisecond.)"""

        def query(sql: str) -> Sequence[Sequence[Any]]:
            return connection.exec_driver_sql(sql).all()

        version = check_schema(self.path, query, self._migrations, new=create, columns=False)
        try:
            applied = upgrade(connection, self._migrations)
        except (sqlite3.Error, DBAPIError) as error:
            if problem_of(error) is not None:
                raise
            said = " ".join(str(getattr(error, "orig", error)).split())[:160]
            raise StoreProblem(
                self.path, f"schema does not match version {version}: migrating it failed ({said})", RESTORE
            ) from error
        missing = missing_from(query, schema_of(self._migrations)) if applied else ""
        if missing:
            raise StoreProblem(self.path, f"schema does not match its version: {missing}", RESTORE)

    def session_info(self) -> dict[str, Any]:
        """Given to every session of this store as `session.info`."""
        return {}

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None

    async def compact(self) -> None:
        """Folds the write-ahead log into the file and rebuilds it, so no stale page keeps deleted
        data. (VACUUM must run outside a transaction, so on the driver's connection; it needs the
        write lock, which another process may hold: it waits as a transaction does.)"""
        async with self._taking_turn(), self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await checkpoint_truncate(self.path, driver)
            cursor = await while_busy_async(self.path, partial(driver.execute, "VACUUM"))
            await cursor.close()
            await checkpoint_truncate(self.path, driver)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError(f"store {self.url} is not open")
        return self._engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on error."""
        if self._sessions is None:
            raise RuntimeError(f"store {self.url} is not open")
        async with self._taking_turn():
            session = self._sessions()
            try:
                async with session.begin():
                    yield session
            finally:
                # Closed in this task: nothing in it waits (SQLite runs in this thread), so no
                # cancellation can cut it short. SQLAlchemy's own `async with` hands the close
                # to a task of its own, two turns of the event loop per transaction.
                await session.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction, committed on success and rolled back on error, for
        SQLAlchemy Core statements on the busiest paths: without an ORM session to set up and
        tear down, a short transaction costs about half as much. Writes made here are not seen
        by the ORM's events (the directory's `Known`): use it for tables those do not watch."""
        async with self._taking_turn():
            connection = await self.engine.connect().start()
            try:
                async with connection.begin():
                    yield connection
            finally:
                await connection.close()  # in this task, as the session's above

    @asynccontextmanager
    async def _taking_turn(self) -> AsyncIterator[None]:
        async with asyncio.timeout(TURN_TIMEOUT_S):
            await self._turn.acquire()
        try:
            yield
        except Exception as error:
            self._say_if_damaged(error)
            raise
        finally:
            self._turn.release()

    def _say_if_damaged(self, error: Exception) -> None:
        """A store found damaged, read-only, busy or on a full disk while the bot runs: an ERROR
        naming the file (the caller apologises to whoever was served; nothing kept is lost)."""
        if isinstance(error, StoreProblem):
            log.error("%s", error)
            return
        found = problem_of(error)
        if found is not None:
            log.error("%s: %s. %s", self.path, *found)

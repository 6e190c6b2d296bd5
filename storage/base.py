"""What every store shares: an engine opened lazily, short transactions, migrations on open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import is_sqlite, make_engine, share_compiled_statements
from storage.migrations import Migration, upgrade

# Waiting longer than this for one's turn in a store means something holds it far too long.
TURN_TIMEOUT_S = 30.0


class Store:
    """One database: opened by `open()`, used in short `transaction()`s, closed by `close()`."""

    session_class: type[Session] = Session  # a store may listen to its own sessions' events

    def __init__(self, url: str, migrations: Sequence[Migration]) -> None:
        self.url = url
        self._migrations = migrations
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        # SQLite runs in the event loop's thread, so one task at a time may be inside a
        # transaction: a second writer would otherwise wait on the file lock and stop the loop.
        self._turn: asyncio.Lock | None = asyncio.Lock() if is_sqlite(url) else None

    async def open(self) -> None:
        if self._engine is not None:
            return
        engine = make_engine(self.url)
        async with engine.begin() as connection:
            await connection.run_sync(upgrade, self._migrations)
        share_compiled_statements(engine)
        self._engine = engine
        self._sessions = async_sessionmaker(
            engine,
            class_=AsyncSession,
            sync_session_class=self.session_class,
            expire_on_commit=False,
            info=self.session_info(),
        )

    def session_info(self) -> dict[str, Any]:
        """Given to every session of this store as `session.info`."""
        return {}

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None

    async def compact(self) -> None:
        """SQLite: folds the write-ahead log into the file and rebuilds it, so no stale page keeps
        deleted data. (VACUUM must run outside a transaction, so on the driver's connection.)"""
        if self.engine.dialect.name != "sqlite":
            return
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"):
                cursor = await driver.execute(statement)
                await cursor.close()

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
        if self._turn is None:
            yield
            return
        async with asyncio.timeout(TURN_TIMEOUT_S):
            await self._turn.acquire()
        try:
            yield
        finally:
            self._turn.release()

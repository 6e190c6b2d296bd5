"""All stores of one village: the directory and a bounded cache of open network stores.

A store is created in two places only: the directory on a brand-new DATA_DIR, a network's store
when the network is created. Anywhere else a missing, empty or damaged store stops start-up (or
the work that needed it) with a `StoreProblem` naming the file, and is never replaced.
"""

from __future__ import annotations

import asyncio
import gc
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from storage.directory import DirectoryStore
from storage.engine import sqlite_url
from storage.errors import RESTORE, StoreProblem
from storage.migrations import directory as directory_migrations
from storage.migrations import network as network_migrations
from storage.network import NetworkStore
from storage.soundness import check_store, holds_nothing

# A closed store's engine, pool and dialect are garbage held in reference cycles, which only
# the interpreter's rare full collection frees. Left to it, hundreds of them pile up and the
# memory they held stays with the process afterwards (bench.memory, 2,000 stores opened in
# turn: +10.3 MB, against +0.9 MB when collected every 32 closes). So the cache collects them:
# a pause of up to ~0.1 s every 32 closes, only in a village with more networks in use than
# `max_open`.
COLLECT_EVERY_CLOSES = 32


class Stores:
    """Opens network stores on first use and closes the least recently used idle ones."""

    def __init__(self, data_dir: Path, *, max_open: int = 64) -> None:
        self.data_dir = data_dir
        self.max_open = max_open
        self.directory = DirectoryStore(sqlite_url(self.directory_path))
        self._open: OrderedDict[str, NetworkStore] = OrderedDict()
        self._in_use: dict[str, int] = {}
        # Held only to read or change the cache, never while a store opens: opening one that
        # another process has locked must not hold up the others.
        self._lock = asyncio.Lock()
        self._opening: dict[str, asyncio.Task[None]] = {}  # stores being opened, by slug
        self._closed_since_collect = 0

    @property
    def directory_path(self) -> Path:
        return self.data_dir / "directory.db"

    @property
    def networks_dir(self) -> Path:
        return self.data_dir / "networks"

    def network_path(self, slug: str) -> Path:
        return self.networks_dir / f"{slug}.db"

    async def open(self) -> None:
        """Opens the directory, creating it only in a brand-new DATA_DIR, and checks the store of
        every network it knows (SQLite's quick_check and the schema): start-up stops at the
        first one that is missing, empty or damaged, naming it."""
        network_stores = sorted(self.networks_dir.glob("*.db"))
        # A brand-new DATA_DIR, or one whose first start was cut short before the directory got
        # its tables (a full disk, say): nothing was ever kept, so the directory is made now.
        fresh = not network_stores and (not self.directory_path.exists() or holds_nothing(self.directory_path))
        if not fresh and not self.directory_path.exists():
            there = f"missing, while {len(network_stores)} network stores are in {self.networks_dir}"
            raise StoreProblem(self.directory_path, there, RESTORE)
        if not fresh:
            await asyncio.to_thread(check_store, self.directory_path, directory_migrations.MIGRATIONS)
        self.networks_dir.mkdir(parents=True, exist_ok=True)
        await self.directory.open(create=fresh)
        try:
            known = [self.network_path(network.slug) for network in await self.directory.networks()]
            await asyncio.to_thread(self._check_network_stores, known)
        except BaseException:
            await self.directory.close()
            raise

    @staticmethod
    def _check_network_stores(paths: list[Path]) -> None:
        for path in paths:
            check_store(path, network_migrations.MIGRATIONS)

    async def close(self) -> None:
        async with self._lock:
            for store in self._open.values():
                await store.close()
            self._open.clear()
        await self.directory.close()

    @asynccontextmanager
    async def network(self, slug: str) -> AsyncIterator[NetworkStore]:
        """The store of one network, open (and migrated) for as long as the block runs. It must
        be there: a network's store is made by `create_network`, never on first use."""
        store = await self._take(slug, create=False)
        try:
            yield store
        finally:
            await self._put_back(slug)

    async def create_network(self, slug: str) -> None:
        """Creates (and migrates) the store of a network being created; one already there is
        opened as it is, never replaced."""
        await self._take(slug, create=True)
        await self._put_back(slug)

    async def _take(self, slug: str, *, create: bool) -> NetworkStore:
        while True:
            async with self._lock:
                store = self._open.get(slug)
                if store is not None:
                    return self._in_use_now(slug, store)
                opening = self._opening.get(slug)
                if opening is None:  # the first to want it opens it; the others wait for that
                    opening = asyncio.create_task(self._open_store(slug, create=create))
                    self._opening[slug] = opening
            await asyncio.shield(opening)  # the opener's StoreProblem, if it met one

    async def _open_store(self, slug: str, *, create: bool) -> None:
        store = NetworkStore(sqlite_url(self.network_path(slug)), slug)
        try:
            await store.open(create=create)
        except BaseException:
            async with self._lock:
                del self._opening[slug]
            raise
        async with self._lock:
            del self._opening[slug]
            self._open[slug] = store

    def _in_use_now(self, slug: str, store: NetworkStore) -> NetworkStore:
        self._open.move_to_end(slug)
        self._in_use[slug] = self._in_use.get(slug, 0) + 1
        return store

    async def _put_back(self, slug: str) -> None:
        async with self._lock:
            self._in_use[slug] -= 1
            if not self._in_use[slug]:
                del self._in_use[slug]
            await self._close_idle_beyond_limit()

    def written_stamp(self, slug: str) -> tuple[int, ...]:
        """When and how much a network's store last changed, read off its files: cheaper than a
        query per network, for noticing what another process wrote. (An SQLite store: a write
        lands in its write-ahead log first, then in the file itself.)"""
        path = self.network_path(slug)
        stamp: list[int] = []
        for file in (path, path.with_name(path.name + "-wal")):
            try:
                found = file.stat()
            except FileNotFoundError:
                stamp += (0, 0)
                continue
            stamp += (found.st_mtime_ns, found.st_size)
        return tuple(stamp)

    @property
    def open_count(self) -> int:
        return len(self._open)

    async def _close_idle_beyond_limit(self) -> None:
        for slug in list(self._open):
            if len(self._open) <= self.max_open:
                break
            if slug not in self._in_use:
                await self._open.pop(slug).close()
                self._closed_since_collect += 1
        if self._closed_since_collect >= COLLECT_EVERY_CLOSES:
            self._closed_since_collect = 0
            gc.collect()

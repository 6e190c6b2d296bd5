"""All stores of one village: the directory and a bounded cache of open network stores."""

from __future__ import annotations

import asyncio
import gc
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from storage.directory import DirectoryStore
from storage.engine import sqlite_url
from storage.network import NetworkStore

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
        self.directory = DirectoryStore(sqlite_url(data_dir / "directory.db"))
        self._open: OrderedDict[str, NetworkStore] = OrderedDict()
        self._in_use: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._closed_since_collect = 0

    @property
    def networks_dir(self) -> Path:
        return self.data_dir / "networks"

    def network_path(self, slug: str) -> Path:
        return self.networks_dir / f"{slug}.db"

    async def open(self) -> None:
        self.networks_dir.mkdir(parents=True, exist_ok=True)
        await self.directory.open()

    async def close(self) -> None:
        async with self._lock:
            for store in self._open.values():
                await store.close()
            self._open.clear()
        await self.directory.close()

    @asynccontextmanager
    async def network(self, slug: str) -> AsyncIterator[NetworkStore]:
        """The store of one network, open (and migrated) for as long as the block runs."""
        async with self._lock:
            store = self._open.get(slug)
            if store is None:
                store = NetworkStore(sqlite_url(self.network_path(slug)), slug)
                await store.open()
                self._open[slug] = store
            self._open.move_to_end(slug)
            self._in_use[slug] = self._in_use.get(slug, 0) + 1
        try:
            yield store
        finally:
            async with self._lock:
                self._in_use[slug] -= 1
                if not self._in_use[slug]:
                    del self._in_use[slug]
                await self._close_idle_beyond_limit()

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

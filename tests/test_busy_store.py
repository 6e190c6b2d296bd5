"""A network store locked by another process delays only its own network's work: neighbours in
other networks are answered meanwhile, and the locked network's write waits its turn, not lost."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event

from storage import inline_sqlite
from storage.errors import StoreBusy
from storage.stores import Stores
from tests.conftest import Village


class OtherProcess:
    """Holds a store's write lock from its own thread and sqlite3 connection, as a backup or a CLI
    command in another process would, until told to let go."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holding = threading.Event()
        self.let_go = threading.Event()
        self.released = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("BEGIN IMMEDIATE")
            self.holding.set()
            self.let_go.wait()
            connection.execute("COMMIT")
        finally:
            connection.close()
            self.released.set()

    async def __aenter__(self) -> OtherProcess:
        self._thread.start()
        await asyncio.to_thread(self.holding.wait)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.let_go.set()
        await asyncio.to_thread(self._thread.join)


@contextmanager
def noticing_begin(store: Path) -> Iterator[asyncio.Event]:
    """An event set when a transaction on STORE begins, before it asks SQLite for the lock."""
    began = asyncio.Event()

    def _began(connection: Connection) -> None:
        if connection.engine.url.database == str(store):
            began.set()

    event.listen(Engine, "begin", _began, insert=True)
    try:
        yield began
    finally:
        event.remove(Engine, "begin", _began)


async def test_marieke_is_answered_while_breugel_noords_store_is_locked_and_jans_setting_is_kept(
    village: Village,
) -> None:
    jan, marieke = village.jan, village.marieke
    app = village.bot.village
    await jan.says("/instellingen")
    assert "na 24 uur" in jan.last_text
    jans_messages = len(jan.inbox)
    store = app.stores.network_path("breugel-noord")
    async with OtherProcess(store) as other:
        with noticing_begin(store) as began:
            jan_taps = asyncio.create_task(jan.taps("Naar buurtverbinder na: 24 uur"))
            await began.wait()  # Jan's change waits for Breugel-Noord's lock
        await marieke.says("/instellingen")  # Son-Centrum's store is free
        assert "Son-Centrum" in marieke.last_text
        assert not other.released.is_set()  # Marieke was answered while the lock was held
        assert not jan_taps.done() and len(jan.inbox) == jans_messages  # Jan waits, no apology

    await asyncio.wait_for(jan_taps, timeout=60)
    assert "na 48 uur" in jan.last_text
    async with app.stores.network("breugel-noord") as noord:
        assert (await noord.settings())["escalation_hours"] == "48"
        changes = [entry.detail for entry in await noord.audit_log() if entry.action == "setting_changed"]
    assert changes == ["escalation_hours=48"]


async def test_opening_a_locked_store_does_not_hold_up_opening_the_others(tmp_path: Path) -> None:
    stores = Stores(tmp_path, max_open=1)
    await stores.open()
    try:
        await stores.create_network("breugel-noord")
        await stores.create_network("son-centrum")
        async with stores.network("son-centrum") as centrum:
            await centrum.set_setting("language", "nl")  # Breugel-Noord is closed now
        store = stores.network_path("breugel-noord")
        async with OtherProcess(store) as other:

            async def jan_changes_a_setting() -> None:
                async with stores.network("breugel-noord") as noord:
                    await noord.set_setting("escalation_hours", "48")

            with noticing_begin(store) as began:
                jan = asyncio.create_task(jan_changes_a_setting())
                await began.wait()  # opening Breugel-Noord's store waits for its lock
            async with stores.network("son-centrum") as centrum:
                assert await centrum.settings() == {"language": "nl"}
            assert not other.released.is_set() and not jan.done()
        await asyncio.wait_for(jan, timeout=60)
        async with stores.network("breugel-noord") as noord:
            assert await noord.settings() == {"escalation_hours": "48"}
    finally:
        await stores.close()


async def test_compacting_a_store_another_process_reads_waits_without_holding_up_the_others(tmp_path: Path) -> None:
    """A forgotten neighbour's rows are folded out of the log (`compact`) once a backup has let go."""
    stores = Stores(tmp_path)
    await stores.open()
    try:
        await stores.create_network("breugel-noord")
        await stores.create_network("son-centrum")
        store = stores.network_path("breugel-noord")
        async with stores.network("breugel-noord") as noord:
            await noord.set_setting("escalation_hours", "48")
            async with OtherProcess(store) as other:

                async def marieke_changes_a_setting() -> dict[str, str]:
                    async with stores.network("son-centrum") as centrum:
                        await centrum.set_setting("language", "en")
                        return await centrum.settings()

                # Tasks start in the order they are made: compacting meets the lock first.
                compacting = asyncio.create_task(noord.compact())
                assert await asyncio.create_task(marieke_changes_a_setting()) == {"language": "en"}
                assert not other.released.is_set() and not compacting.done()
            await asyncio.wait_for(compacting, timeout=60)
            assert await noord.settings() == {"escalation_hours": "48"}
    finally:
        await stores.close()


async def test_a_lock_held_past_the_wait_is_a_clear_error_naming_the_store_and_the_next_write_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(inline_sqlite, "LOCK_WAIT_S", 0.05)  # instead of half a minute
    stores = Stores(tmp_path)
    await stores.open()
    try:
        await stores.create_network("breugel-noord")
        store = stores.network_path("breugel-noord")
        async with stores.network("breugel-noord") as noord:
            async with OtherProcess(store):
                with pytest.raises(StoreBusy) as busy:
                    await noord.set_setting("escalation_hours", "48")
            assert busy.value.path == store and "another process" in busy.value.problem
            assert any(str(store) in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
            await noord.set_setting("escalation_hours", "48")  # let go: the next try gets the lock
            assert await noord.settings() == {"escalation_hours": "48"}
    finally:
        await stores.close()


async def test_jans_setting_waits_out_a_lock_held_past_the_wait_and_is_applied_once_it_is_let_go(
    village: Village, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Breugel-Noord's store stays locked longer than the bot waits: Jan's tap is not lost and
    gets no apology; it is tried again, and applied once the other process lets go."""
    monkeypatch.setattr(inline_sqlite, "LOCK_WAIT_S", 0.05)  # instead of half a minute
    village.bot.busy_retry_s = 0.05
    jan = village.jan
    app = village.bot.village
    await jan.says("/instellingen")
    jans_messages = len(jan.inbox)
    store = app.stores.network_path("breugel-noord")
    tried, retried, handled = 0, asyncio.Event(), asyncio.Event()

    def counting(connection: Connection) -> None:
        nonlocal tried
        if connection.engine.url.database == str(store):
            tried += 1
            if tried >= 3:
                retried.set()

    event.listen(Engine, "begin", counting)
    try:
        async with OtherProcess(store):
            await jan.taps("Naar buurtverbinder na: 24 uur")  # gave up waiting: kept for later
            await asyncio.wait_for(retried.wait(), timeout=20)  # tried again, and again, while held
            assert len(jan.inbox) == jans_messages  # no apology, nothing half done
            village.bot.listeners.append(lambda *_: handled.set())  # called once an update is done
    finally:
        event.remove(Engine, "begin", counting)

    await asyncio.wait_for(handled.wait(), timeout=30)
    await village.bot.drain()
    assert "na 48 uur" in jan.last_text
    async with app.stores.network("breugel-noord") as noord:
        assert (await noord.settings())["escalation_hours"] == "48"

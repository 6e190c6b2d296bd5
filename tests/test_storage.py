"""Storage on real SQLite files: migrations, pragmas, separate network stores, the bounded cache."""

from __future__ import annotations

import gc
import sqlite3
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import CacheStats

from storage.directory import DirectoryStore, DuplicateNetworkError
from storage.engine import sqlite_url
from storage.migrations import Migration, current_version, upgrade
from storage.migrations import directory as directory_migrations
from storage.migrations import network as network_migrations
from storage.models import DIRECTORY_TABLES, NETWORK_TABLES, JoinPolicy, MembershipStatus
from storage.stores import COLLECT_EVERY_CLOSES, Stores

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    opened = Stores(tmp_path, max_open=3)
    await opened.open()
    yield opened
    await opened.close()


def _metadata(tables: tuple[Table, ...]) -> MetaData:
    metadata = MetaData()
    for table in tables:
        table.to_metadata(metadata)
    return metadata


@pytest.mark.parametrize(
    ("migrations", "tables"),
    [(directory_migrations.MIGRATIONS, DIRECTORY_TABLES), (network_migrations.MIGRATIONS, NETWORK_TABLES)],
    ids=["directory", "network"],
)
def test_migrations_build_exactly_the_schema_the_models_describe(
    tmp_path: Path, migrations: tuple[Migration, ...], tables: tuple[Table, ...]
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as connection:
        assert upgrade(connection, migrations) == [m.version for m in migrations]
    with engine.begin() as connection:
        assert upgrade(connection, migrations) == []  # a second start changes nothing
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, _metadata(tables)) if "schema_version" not in str(d)]
    engine.dispose()
    assert differences == []


def test_a_new_migration_upgrades_an_existing_store(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")

    def create_party(op: Operations) -> None:
        op.create_table("street_party", _column("id"))

    def add_year(op: Operations) -> None:
        op.add_column("street_party", _column("year"))

    first = Migration(1, "a table", create_party)
    second = Migration(2, "a column", add_year)
    with engine.begin() as connection:
        upgrade(connection, [first])
        connection.exec_driver_sql("INSERT INTO street_party (id) VALUES (1)")
    with engine.begin() as connection:
        assert upgrade(connection, [first, second]) == [2]
        assert current_version(connection) == 2
        assert connection.exec_driver_sql("SELECT id, year FROM street_party").all() == [(1, None)]
    engine.dispose()


def _column(name: str) -> Column[int]:
    return Column(name, Integer, primary_key=name == "id")


def test_migration_versions_must_ascend(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    noop = lambda op: None  # noqa: E731
    with engine.begin() as connection, pytest.raises(ValueError, match="ascending"):
        _upgrade_in(connection, [Migration(2, "b", noop), Migration(1, "a", noop)])
    engine.dispose()


def _upgrade_in(connection: Connection, migrations: list[Migration]) -> None:
    upgrade(connection, migrations)


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_no_busy_wait_in_the_event_loop(stores: Stores) -> None:
    async with stores.directory.engine.connect() as connection:
        journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        busy = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    # A lock held by another process is waited for asynchronously (tests/test_busy_store.py).
    assert (journal, foreign_keys, busy) == ("wal", 1, 0)


async def test_each_network_has_its_own_store_file_and_they_stay_separate(stores: Stores) -> None:
    directory = stores.directory
    await directory.add_network(
        slug="breugel-noord", name="Breugel-Noord", streets=["Kerkstraat"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )
    await directory.add_network(
        slug="son-centrum", name="Son-Centrum", streets=["Markt"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )
    await stores.create_network("breugel-noord")
    await stores.create_network("son-centrum")
    async with stores.network("breugel-noord") as noord:
        await noord.audit(actor_id=1, action="join_approved", subject_id=2, now=NOW)
        await noord.audit(actor_id=1, action="join_declined", subject_id=3, now=NOW)
    async with stores.network("son-centrum") as centrum:
        await centrum.audit(actor_id=9, action="invite_created", subject_id=None, now=NOW)

    assert stores.network_path("breugel-noord").exists() and stores.network_path("son-centrum").exists()
    with sqlite3.connect(stores.network_path("breugel-noord")) as raw:
        assert raw.execute("SELECT action FROM audit_entry ORDER BY id").fetchall() == [
            ("join_approved",),
            ("join_declined",),
        ]
    with sqlite3.connect(stores.network_path("son-centrum")) as raw:
        assert raw.execute("SELECT action, actor_id FROM audit_entry").fetchall() == [("invite_created", 9)]


async def test_the_store_cache_closes_idle_stores_beyond_its_bound_and_reopens_them(stores: Stores) -> None:
    for number in range(6):
        await stores.create_network(f"straat-{number}")
        async with stores.network(f"straat-{number}") as store:
            await store.audit(actor_id=number, action="join_approved", subject_id=None, now=NOW)
        assert stores.open_count <= 3
    async with stores.network("straat-0") as store:  # closed earlier, opened again with its data
        assert [entry.actor_id for entry in await store.audit_log()] == [0]


async def test_network_stores_share_compiled_statements_but_not_their_data(stores: Stores) -> None:
    # Each store compiling every statement again is what made memory climb as stores were
    # opened and closed in turn (see storage.engine.share_compiled_statements).
    await stores.create_network("kerkstraat")
    await stores.create_network("markt")
    async with stores.network("kerkstraat") as kerkstraat:
        await kerkstraat.audit(actor_id=1, action="join_approved", subject_id=2, now=NOW)
        assert [entry.actor_id for entry in await kerkstraat.audit_log()] == [1]
    cache_hits: list[bool] = []
    async with stores.network("markt") as markt:

        def note(_conn: Connection, _cursor: object, _sql: str, _params: object, context: object, _many: bool) -> None:
            if getattr(context, "compiled", None) is not None:
                cache_hits.append(context.cache_hit is CacheStats.CACHE_HIT)  # type: ignore[attr-defined]

        event.listen(markt.engine.sync_engine, "before_cursor_execute", note)
        await markt.audit(actor_id=7, action="invite_created", subject_id=None, now=NOW)
        log = await markt.audit_log()
        event.remove(markt.engine.sync_engine, "before_cursor_execute", note)
    assert [entry.actor_id for entry in log] == [7]  # the other street's entry is not here
    assert cache_hits and all(cache_hits)


async def test_the_store_cache_frees_the_stores_it_closed(tmp_path: Path) -> None:
    opened = Stores(tmp_path, max_open=1)
    await opened.open()
    for number in range(COLLECT_EVERY_CLOSES + 2):
        await opened.create_network(f"straat-{number}")
    gc.collect()
    gc.disable()  # as if the interpreter's own full collection were far off, as it usually is
    try:
        async with opened.network("straat-0") as first:
            engine = weakref.ref(first.engine.sync_engine)
        for number in range(1, COLLECT_EVERY_CLOSES + 2):
            async with opened.network(f"straat-{number}") as store:
                await store.audit(actor_id=number, action="join_approved", subject_id=None, now=NOW)
        assert engine() is None
        async with opened.network("straat-0") as again:  # closed and freed, but its data is kept
            await again.audit(actor_id=0, action="join_approved", subject_id=None, now=NOW)
            assert [entry.actor_id for entry in await again.audit_log()] == [0]
    finally:
        gc.enable()
        await opened.close()


async def test_a_store_in_use_is_not_closed_under_its_user(stores: Stores) -> None:
    for slug in ("kerkstraat", *(f"straat-{number}" for number in range(5))):
        await stores.create_network(slug)
    async with stores.network("kerkstraat") as held:
        for number in range(5):
            async with stores.network(f"straat-{number}"):
                pass
        await held.audit(actor_id=1, action="join_approved", subject_id=None, now=NOW)
        assert len(await held.audit_log()) == 1


async def test_a_core_transaction_commits_on_success_and_leaves_nothing_on_error(stores: Stores) -> None:
    """`Store.connection()`: the busiest writes, in SQLAlchemy Core without an ORM session."""
    from sqlalchemy import insert, select

    from storage.models import AuditEntry

    audit: Table = AuditEntry.__table__  # type: ignore[attr-defined]
    row = {"at": NOW, "actor_id": 1, "action": "join_approved", "subject_id": None, "detail": ""}
    await stores.create_network("kerkstraat")
    async with stores.network("kerkstraat") as store:
        async with store.connection() as connection:
            await connection.execute(insert(audit), row)
        with pytest.raises(ZeroDivisionError):
            async with store.connection() as connection:
                await connection.execute(insert(audit), {**row, "action": "half_done"})
                1 / 0  # noqa: B018 - fails halfway
        async with store.connection() as connection:
            actions = (await connection.execute(select(audit.c.action))).scalars().all()
        assert actions == ["join_approved"]
        assert [entry.action for entry in await store.audit_log()] == ["join_approved"]  # the ORM sees it too


async def test_datetimes_come_back_aware_and_in_utc(stores: Stores) -> None:
    summer = datetime(2026, 7, 1, 14, 0, tzinfo=UTC) + timedelta(microseconds=5)
    await stores.directory.upsert_person(person_id=7, name="Anna", username=None, language="nl", now=summer)
    person = await stores.directory.get_person(7)
    assert person is not None and person.created_at == summer and person.created_at.tzinfo is UTC


async def test_network_slugs_are_unique(stores: Stores) -> None:
    await stores.directory.add_network(
        slug="zand", name="Zand", streets=["Zandstraat"], join_policy=JoinPolicy.OPEN, now=NOW
    )
    with pytest.raises(DuplicateNetworkError):
        await stores.directory.add_network(slug="zand", name="Zand", streets=[], join_policy=JoinPolicy.OPEN, now=NOW)
    assert [n.slug for n in await stores.directory.networks()] == ["zand"]


async def test_a_membership_decision_happens_once(stores: Stores) -> None:
    directory = stores.directory
    network = await directory.add_network(
        slug="n", name="N", streets=["Kerkstraat"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )
    await directory.upsert_person(person_id=1, name="Anna", username=None, language="nl", now=NOW)
    membership = await directory.request_membership(
        person_id=1, network_id=network.id or 0, street_id=None, status=MembershipStatus.PENDING, now=NOW
    )
    decide = {"membership_id": membership.id or 0, "expected": MembershipStatus.PENDING, "by": 2, "now": NOW}
    assert await directory.decide_membership(status=MembershipStatus.ACTIVE, **decide) is True  # type: ignore[arg-type]
    assert await directory.decide_membership(status=MembershipStatus.DECLINED, **decide) is False  # type: ignore[arg-type]
    again = await directory.membership(membership.id or 0)
    assert again is not None and again.status == MembershipStatus.ACTIVE


async def test_deleting_a_network_removes_its_streets_and_memberships(stores: Stores) -> None:
    directory = stores.directory
    network = await directory.add_network(
        slug="n", name="N", streets=["Kerkstraat"], join_policy=JoinPolicy.APPROVAL, now=NOW
    )
    await directory.upsert_person(person_id=1, name="Anna", username=None, language="nl", now=NOW)
    await directory.request_membership(
        person_id=1, network_id=network.id or 0, street_id=None, status=MembershipStatus.ACTIVE, now=NOW
    )
    async with directory.engine.begin() as connection:
        await connection.exec_driver_sql("DELETE FROM network")
    assert await directory.streets() == []
    assert await directory.memberships_of(1) == []


async def test_updates_are_kept_until_handled_and_remembered_across_a_reopen(tmp_path: Path) -> None:
    store = DirectoryStore(sqlite_url(tmp_path / "directory.db"))
    await store.open()
    assert await store.record_update(door="telegram", update_id=5, event="{}", now=NOW) is True
    assert await store.record_update(door="telegram", update_id=6, event="{}", now=NOW) is True
    await store.mark_handled(door="telegram", update_id=5, now=NOW)
    await store.close()
    await store.open()
    assert await store.record_update(door="telegram", update_id=5, event="{}", now=NOW) is False
    assert await store.record_update(door="console", update_id=5, event="{}", now=NOW) is True
    assert await store.unhandled_updates("telegram") == [(6, "{}")]
    # Only handled updates are forgotten; one still waiting to be handled stays.
    assert await store.forget_updates_before(NOW + timedelta(seconds=1)) == 1
    assert await store.unhandled_updates("telegram") == [(6, "{}")]
    await store.close()


async def test_a_failing_statement_names_no_value_it_was_given(stores: Stores) -> None:
    """The error of a statement that fails (and so the log line about it) holds the statement,
    not the resident's name or words it carried."""
    from sqlalchemy.exc import IntegrityError

    from storage.models import Person

    now = datetime(2026, 12, 3, tzinfo=UTC)
    async with stores.directory.transaction() as session:
        session.add(Person(id=7, name="Annabel Zonnebloem", language="nl", created_at=now))
    with pytest.raises(IntegrityError) as failed:
        async with stores.directory.transaction() as session:
            session.add(Person(id=7, name="Annabel Zonnebloem", language="nl", created_at=now))
    assert "INSERT INTO person" in str(failed.value)
    assert "Zonnebloem" not in str(failed.value)

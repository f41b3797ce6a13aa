"""The database: WAL, foreign keys, numbered migrations applied once, transactions all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage.db import Database, migration_files


async def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = await Database(path).open()
    files = migration_files()
    assert [v for v, _, _ in files] == sorted(v for v, _, _ in files)
    assert await db.version() == files[-1][0]
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    await db.close()
    again = await Database(path).open()
    assert await again.migrate() == []  # nothing left to apply
    assert await again.fetchval("SELECT COUNT(*) FROM schema_version") == len(files)
    await again.close()


async def test_a_migration_numbered_below_the_latest_applied_one_is_still_applied(tmp_path: Path, monkeypatch) -> None:
    """Branches land in any order: a database at 0020 gets 0019 when it arrives, and only it."""
    import bot.storage.db as db_module

    files = migration_files()
    late = next(f for f in files if f[1] == "0019_extension_revision.sql")
    monkeypatch.setattr(db_module, "migration_files", lambda: [f for f in files if f is not late])
    path = tmp_path / "m.db"
    db = await Database(path).open()
    assert "revision" not in {r["name"] for r in await db.fetchall("PRAGMA table_info(extensions)")}
    assert await db.version() == files[-1][0] > late[0]
    await db.close()
    monkeypatch.setattr(db_module, "migration_files", lambda: files)
    again = await Database(path).open()
    assert "revision" in {r["name"] for r in await again.fetchall("PRAGMA table_info(extensions)")}
    assert await again.migrate() == []
    assert await again.fetchval("SELECT COUNT(*) FROM schema_version") == len(files)
    await again.close()


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = await Database(tmp_path / "t.db").open()
    now = "2026-01-12T00:00:00+00:00"
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO people (name, email, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                ("X", "x@example.com", "scholar", now, now),
            )
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT COUNT(*) FROM people") == 0
    await db.close()


async def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    import sqlite3

    db = await Database(tmp_path / "f.db").open()
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute("INSERT INTO person_sections (person_id, section) VALUES (42, 'nowhere')")
    await db.close()


async def test_cancelled_transaction_leaves_nothing_open(tmp_path: Path) -> None:
    import asyncio

    db = await Database(tmp_path / "c.db").open()
    now = "2026-01-12T00:00:00+00:00"
    entered = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO people (name, email, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                ("Y", "y@example.com", "scholar", now, now),
            )
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(writer())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not db.conn.in_transaction
    assert await db.fetchval("SELECT COUNT(*) FROM people") == 0
    async with db.transaction():  # the lock and the connection are usable again
        pass
    await db.close()


NOW = "2026-01-12T00:00:00+00:00"
PERSON = "INSERT INTO people (name, email, role, created_at, updated_at) VALUES (?, ?, 'scholar', ?, ?)"


async def test_reads_go_to_read_only_connections_and_see_every_commit(tmp_path: Path) -> None:
    import sqlite3

    db = await Database(tmp_path / "r.db", readers=2).open()
    try:
        async with db.reader() as conn:
            assert conn is not db.conn
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await conn.execute(PERSON, ("R", "r@example.com", NOW, NOW))
        await db.execute(PERSON, ("A", "a@example.com", NOW, NOW))  # committed: every reader sees it at once
        assert await db.fetchval("SELECT COUNT(*) FROM people") == 1
        async with db.transaction() as conn:
            await conn.execute(PERSON, ("B", "b@example.com", NOW, NOW))
            assert await db.fetchval("SELECT COUNT(*) FROM people") == 2  # inside: the writer, its own writes
            async with db.reader() as reader:
                assert reader is db.conn
    finally:
        await db.close()


async def test_atomic_writes_all_or_nothing_in_one_trip(tmp_path: Path) -> None:
    import sqlite3

    db = await Database(tmp_path / "a.db").open()
    try:
        [rows] = await db.atomic([(PERSON + " RETURNING id, name", ("A", "a@example.com", NOW, NOW))])
        assert [tuple(r) for r in rows] == [(1, "A")]
        with pytest.raises(sqlite3.IntegrityError):
            await db.atomic(
                [(PERSON, ("B", "b@example.com", NOW, NOW)), (PERSON, ("A again", "a@example.com", NOW, NOW))]
            )
        assert [r["name"] for r in await db.fetchall("SELECT name FROM people")] == ["A"]  # B rolled back
        async with db.transaction():  # inside a transaction it joins it
            await db.atomic([(PERSON, ("C", "c@example.com", NOW, NOW))])
        assert await db.fetchval("SELECT COUNT(*) FROM people") == 2
    finally:
        await db.close()


async def test_heavy_reads_take_turns_and_close_even_when_abandoned(tmp_path: Path) -> None:
    import asyncio
    import threading

    def workers() -> int:
        return sum(1 for t in threading.enumerate() if "_connection_worker_thread" in t.name)

    before = workers()
    db = await Database(tmp_path / "h.db", heavy=1).open()
    order = []

    async def read(name: str) -> None:
        async with db.heavy() as conn:
            order.append(f"{name} in")
            await conn.execute_fetchall("SELECT 1")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(read("a"), read("b"))
    assert order == ["a in", "a out", "b in", "b out"]  # one heavy read at a time
    async with db.heavy():
        await db.close()  # a stream its consumer never finished: its connection is closed too
    for _ in range(100):  # the connections' threads end just after closing
        if workers() <= before:
            break
        await asyncio.sleep(0.01)
    assert workers() <= before

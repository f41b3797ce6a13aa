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

"""The database: one aiosqlite connection in WAL mode with numbered migrations applied at start-up."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.core.errors import StartupError

log = logging.getLogger(__name__)
MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_IN_TRANSACTION: ContextVar[bool] = ContextVar("in_transaction", default=False)
# A migration file containing this line rebuilds a table: it runs with foreign keys off (SQLite's documented
# procedure), and the keys are checked before it commits.
FOREIGN_KEYS_OFF = "-- migrate: foreign_keys=off"


class DatabaseUnavailable(StartupError):
    """The database cannot be opened for writing; the message says which path and why, in one line."""


def unavailable_reason(path: str | Path, exc: BaseException) -> str:
    """One line saying why ``path`` cannot hold the bot's database (``exc`` is what SQLite or the OS said)."""
    target = Path(path)
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if target.is_dir():
        return f"the database path {target} is a directory; give a file inside it, e.g. {target / 'cohortbot.db'}"
    folder = target.parent if str(target.parent) else Path(".")
    with contextlib.suppress(OSError):
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"cannot write the database {target}: its file system is read-only ({detail})"
    if target.exists() and not os.access(target, os.W_OK):
        return f"cannot write the database {target}: the file is read-only ({detail})"
    if folder.exists() and not os.access(folder, os.W_OK):
        return f"cannot write the database {target}: its folder {folder} is not writable ({detail})"
    return f"cannot open the database {target} for writing: {detail}"


def migration_files() -> list[tuple[int, str, str]]:
    """``(version, filename, sql)`` for every file in ``bot/storage/migrations``, in order."""
    found = []
    for entry in resources.files("bot.storage.migrations").iterdir():
        match = MIGRATION_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


class Database:
    """A single shared connection; writes go through :meth:`transaction` so they are all-or-nothing."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @property
    def conn(self) -> aiosqlite.Connection:
        """The open connection."""
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> Database:
        """Open, switch on WAL and foreign keys, check that it is writable, and apply pending migrations.

        A path that cannot hold a writable database (a directory, a read-only file or file system) raises
        :class:`DatabaseUnavailable` saying why; the connection is closed again, so nothing keeps the process alive.
        """
        try:
            if self.path != ":memory:":
                _prepare_folder(self.path)
            self._conn = await _connect(self.path)
            self._conn.row_factory = aiosqlite.Row
            await self._conn.execute("PRAGMA journal_mode=WAL")
            await self._conn.execute("PRAGMA foreign_keys=ON")
            await self._conn.execute("PRAGMA busy_timeout=5000")
            await self._conn.execute("PRAGMA synchronous=NORMAL")
            # SQLite opens a read-only file read-only without a word; a write that is rolled back tells.
            await self._conn.execute("BEGIN IMMEDIATE")
            await self._conn.execute("CREATE TABLE IF NOT EXISTS _write_check (x INTEGER)")
            await self._conn.execute("ROLLBACK")
        except (sqlite3.Error, OSError) as exc:
            await self.close()  # an open aiosqlite thread would keep the process alive
            raise DatabaseUnavailable(unavailable_reason(self.path, exc)) from exc
        except BaseException:
            await self.close()
            raise
        try:
            await self.migrate()
        except sqlite3.Error as exc:
            await self.close()
            raise DatabaseUnavailable(f"upgrading the database {self.path} failed: {exc}") from exc
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def version(self) -> int:
        """The highest applied migration number (0 for a new file)."""
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_version")
        return int(row["v"] or 0) if row else 0

    async def migrate(self) -> list[str]:
        """Apply every migration newer than the recorded version, each in its own transaction."""
        current = await self.version()
        applied = []
        for version, name, sql in migration_files():
            if version <= current:
                continue
            rebuilds = FOREIGN_KEYS_OFF in sql
            if rebuilds:  # a table rebuild: foreign keys off around the transaction (a no-op inside one)
                await self.conn.execute("PRAGMA foreign_keys=OFF")
            try:
                async with self.transaction():
                    for statement in _split_sql(sql):
                        await self.conn.execute(statement)
                    if rebuilds:
                        broken = await self.fetchall("PRAGMA foreign_key_check")
                        if broken:
                            raise RuntimeError(f"migration {name} would break {len(broken)} foreign key(s)")
                    await self.conn.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", (version, name))
            finally:
                if rebuilds:
                    await self.conn.execute("PRAGMA foreign_keys=ON")
            applied.append(name)
            log.info("applied migration %s", name)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception.

        The connection is shared, so writers take turns: no other task's write can slip into this
        transaction. A nested call joins the outer transaction.
        """
        if _IN_TRANSACTION.get():
            yield self.conn
            return
        async with self._write_lock:
            token = _IN_TRANSACTION.set(True)
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                await self.conn.execute("COMMIT")
            except BaseException:
                # Also when cancelled during BEGIN or COMMIT: never leave a transaction open on the shared
                # connection. The rollback is shielded so a second cancellation cannot interrupt it.
                if self.conn.in_transaction:
                    await asyncio.shield(self.conn.execute("ROLLBACK"))
                raise
            finally:
                _IN_TRANSACTION.reset(token)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """Run one write statement, committed at once unless inside :meth:`transaction`."""
        if _IN_TRANSACTION.get():
            return await self.conn.execute(sql, tuple(params))
        async with self._write_lock:
            return await self.conn.execute(sql, tuple(params))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """Run one statement for many parameter rows, in one transaction."""
        async with self.transaction() as conn:
            await conn.executemany(sql, [tuple(r) for r in rows])

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """First row of a query, or ``None``."""
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """All rows of a query."""
        async with self.conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """First column of the first row, or ``None``."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def _prepare_folder(path: str) -> None:
    """Create the database's folder; refuse a path that is a directory (SQLite's own error says nothing useful)."""
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)


async def _connect(path: str) -> aiosqlite.Connection:
    """``aiosqlite.connect``; if SQLite cannot open ``path``, wait for aiosqlite's thread to end before raising.

    (aiosqlite asks its thread to stop without waiting; a thread still running when the event loop closes
    prints a traceback of its own.)
    """
    connection = aiosqlite.connect(path, isolation_level=None)
    try:
        return await connection
    except BaseException:
        thread = getattr(connection, "_thread", None)
        if thread is not None:
            await asyncio.to_thread(thread.join, 5)
        raise


def _split_sql(sql: str) -> list[str]:
    """Split a migration file into complete statements (comments and quoted semicolons are respected)."""
    statements: list[str] = []
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip().strip(";").strip():
                statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    lines = [line.split("--", 1)[0].strip() for line in statement.splitlines()]
    return any(line and line != ";" for line in lines)

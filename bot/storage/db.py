"""The database: one writer connection and a few read-only ones (WAL), with numbered migrations applied at start-up.

* Writes: a transaction written as ``async with transaction(): await ...; await ...`` (and ``executemany``) runs
  on the writer connection, one such transaction at a time. One-trip writes, :meth:`Database.atomic` (a list of
  statements, all or nothing) and :meth:`Database.execute` (one statement), run on a second writer connection,
  each whole in its thread without waiting for the event loop in between: under load a hot path's write then
  holds the database's write lock for microseconds, not for as many turns of a busy loop as it has statements.
  SQLite keeps the two writers in turn (WAL allows one writer; the other waits in its own thread).
* Reads (:meth:`Database.fetchone` / ``fetchall`` / ``fetchval``) go to the least busy of ``readers`` read-only
  connections (``PRAGMA query_only``): WAL lets them read while the writer writes, so a busy writer or a slow
  query never queues every other command behind it. Inside a transaction, reads use the writer (they must see
  the transaction's own writes). Each read sees everything committed before it started.
* Large reads (exports, organizer tables) take :meth:`Database.heavy`: one of ``heavy`` dedicated read-only
  connections, behind a semaphore, so at most that many run at once and they never queue in front of the
  ordinary reads.
* A ``:memory:`` database has no other connections: everything uses the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
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
Statement = tuple[str, Iterable[Any]]  # SQL and its parameters
PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000", "PRAGMA synchronous=NORMAL")
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
    """One writer connection plus read-only ones; writes go through :meth:`transaction` so they are all-or-nothing."""

    def __init__(self, path: str | Path, *, readers: int = 2, heavy: int = 1) -> None:
        self.path = str(path)
        self.reader_count = max(0, readers)
        self.heavy_count = max(1, heavy)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._direct: aiosqlite.Connection | None = None  # one-trip writes (atomic, execute)
        self._readers: list[aiosqlite.Connection] = []
        self._reader_load: list[int] = []
        self._heavy_free: list[aiosqlite.Connection] = []
        self._heavy_all: list[aiosqlite.Connection] = []
        self._heavy_slots = asyncio.Semaphore(self.heavy_count)

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
        try:
            if self.path != ":memory:":  # the second writer and the readers (a memory database has no others)
                self._direct = await self._open_extra()
                self._readers = [await self._open_extra("PRAGMA query_only=ON") for _ in range(self.reader_count)]
                self._reader_load = [0] * len(self._readers)
                self._heavy_all = [await self._open_extra("PRAGMA query_only=ON") for _ in range(self.heavy_count)]
                self._heavy_free = list(self._heavy_all)
        except BaseException:
            await self.close()
            raise
        return self

    async def _open_extra(self, *pragmas: str) -> aiosqlite.Connection:
        conn = await _connect(self.path)
        conn.row_factory = aiosqlite.Row
        try:
            for pragma in (*PRAGMAS, *pragmas):
                await conn.execute(pragma)
        except BaseException:
            await conn.close()
            raise
        return conn

    def connections(self) -> list[aiosqlite.Connection]:
        """Every open connection: the writers first, then the readers and the heavy readers."""
        writers = [c for c in (self._conn, self._direct) if c is not None]
        return [*writers, *self._readers, *self._heavy_all]

    async def settle(self) -> None:
        """Wait until every statement already handed to a writer (the transactions' and the one-trip writes')
        has finished: a cancelled task's last write still completes in its thread, and a read on another
        connection would not wait for it."""
        for writer in (self._conn, self._direct):
            if writer is not None:
                await writer.execute("SELECT 1")

    async def set_trace_callback(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback(sql)`` for every statement run on any connection (tests count queries with it)."""
        for conn in self.connections():
            await conn.set_trace_callback(callback)

    async def close(self) -> None:
        """Close every connection (idempotent)."""
        # Heavy connections too when a reader still has one (a stream its consumer abandoned): an open aiosqlite
        # thread would keep the process alive.
        others = [c for c in (self._direct, *self._readers, *self._heavy_all) if c is not None]
        self._direct, self._readers, self._heavy_free, self._heavy_all = None, [], [], []
        for conn in others:
            await conn.close()
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
        """Apply every migration not recorded yet, in order, each in its own transaction.

        Not only those above the highest recorded number: branches get their numbers in advance and land in any
        order, so a database already at a later number (0020) still gets an earlier one merged after it (0019).
        """
        await self.version()  # makes sure schema_version exists
        done = {row["version"] for row in await self.fetchall("SELECT version FROM schema_version")}
        applied = []
        for version, name, sql in migration_files():
            if version in done:
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
        """Run one write statement, committed at once (one trip) unless inside :meth:`transaction`."""
        if _IN_TRANSACTION.get():
            return await self.conn.execute(sql, tuple(params))
        if self._direct is not None:
            return await self._direct.execute(sql, tuple(params))
        async with self._write_lock:
            return await self.conn.execute(sql, tuple(params))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """Run one statement for many parameter rows, in one transaction."""
        async with self.transaction() as conn:
            await conn.executemany(sql, [tuple(r) for r in rows])

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection for a read: the writer inside a transaction (or for ``:memory:``), else the least busy
        read-only connection."""
        if _IN_TRANSACTION.get() or not self._readers:
            yield self.conn
            return
        index = min(range(len(self._readers)), key=self._reader_load.__getitem__)
        self._reader_load[index] += 1
        try:
            yield self._readers[index]
        finally:
            self._reader_load[index] -= 1

    @asynccontextmanager
    async def heavy(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection for one large, streamed read; waits while ``heavy`` of them are in use.

        Read it with a cursor and ``fetchmany`` so memory stays bounded; other commands keep their readers.
        """
        async with self._heavy_slots:
            if not self._heavy_free:  # :memory: (or closed): the writer, still one heavy read at a time
                yield self.conn
                return
            conn = self._heavy_free.pop()
            try:
                yield conn
            finally:
                if conn in self._heavy_all:  # not closed meanwhile
                    self._heavy_free.append(conn)

    async def atomic(self, statements: Sequence[Statement]) -> list[list[aiosqlite.Row]]:
        """Run ``statements`` (``(sql, params)`` pairs) in one transaction, in one trip to the writer's thread;
        return each one's rows (``RETURNING``).

        A transaction written as ``async with transaction(): await ...; await ...`` holds the write lock for as
        many trips to the writer's thread as it has statements, and under load every trip waits for a turn of the
        busy event loop: a hot path's writes go through here instead, run whole in the thread. Joins the caller's
        transaction if there is one.
        """
        if _IN_TRANSACTION.get():
            return [list(await self.conn.execute_fetchall(sql, tuple(params))) for sql, params in statements]
        batch = [(sql, tuple(params)) for sql, params in statements]
        if self._direct is not None:
            return await _in_thread(self._direct, batch)
        async with self._write_lock:
            return await _in_thread(self.conn, batch)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """First row of a query (meant for queries of one row), or ``None``. One trip to a reader's thread."""
        async with self.reader() as conn:
            rows = await conn.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """All rows of a query, in one trip to a reader's thread."""
        async with self.reader() as conn:
            return list(await conn.execute_fetchall(sql, tuple(params)))

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


async def _in_thread(conn: aiosqlite.Connection, statements: list[tuple[str, tuple]]) -> list[list[sqlite3.Row]]:
    # aiosqlite runs each connection's calls in its own thread, in order; ``_execute`` queues one function there.
    return await conn._execute(_run_atomic, conn._conn, statements)


def _run_atomic(conn: sqlite3.Connection, statements: list[tuple[str, tuple]]) -> list[list[sqlite3.Row]]:
    """In the writer's thread: ``BEGIN IMMEDIATE``, every statement, ``COMMIT`` (or ``ROLLBACK`` on any error)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        out = [conn.execute(sql, params).fetchall() for sql, params in statements]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return out


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

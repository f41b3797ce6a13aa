"""The roster in the database: people, their sections, and the platform accounts linked to them (identities)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import string
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.core.clock import from_db, to_db
from bot.core.people import Person, PersonInput
from bot.core.roles import Role
from bot.core.util import batched
from bot.storage.db import Database

BATCH = 900  # ids per IN (...) list (SQLite's limit on ``?`` parameters); each batch of people is one query

__all__ = ["IdentityTaken", "NewLinks", "PeopleRepo", "Person", "PersonInput"]
NAME_MAX = 200  # the longest text :meth:`PeopleRepo.by_name` looks for
# How long the roster's version (migration 0018), once read, is trusted: a change another process makes to the
# roster is seen by every lookup that starts this long after it (changes made through a PeopleRepo at once).
VERSION_CHECK_SECONDS = 0.5
CACHE_MAX = 25_000  # people kept in memory by account (the oldest go first); a 20,000-person cohort fits
# Every read of people: the row, its sections and its accounts, in one query.
PERSON_COLUMNS = (
    "p.*,"
    " (SELECT json_group_array(s.section) FROM person_sections s WHERE s.person_id = p.id) AS section_list,"
    " (SELECT json_group_object(i.platform, i.user_id) FROM identities i WHERE i.person_id = p.id) AS identity_map"
)
SELECT_PEOPLE = f"SELECT {PERSON_COLUMNS} FROM people p"
# The people with some accounts on one platform (each row names its account), and the roster's version in the same
# snapshot; ``{marks}``: one ``?`` per account.
BY_ACCOUNTS = (
    f"SELECT {PERSON_COLUMNS}, a.user_id AS account, (SELECT version FROM roster_version) AS roster_version"
    " FROM identities a JOIN people p ON p.id = a.person_id WHERE a.platform = ? AND a.user_id IN ({marks})"
)
_NOCASE = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # SQLite's NOCASE folds ASCII only
_json = json.JSONDecoder().raw_decode  # (SQLite's own JSON: no surrounding blanks to check for)


class IdentityTaken(Exception):
    """A platform account is already linked to someone else on the roster."""

    def __init__(self, platform: str, user_id: str, holder: str) -> None:
        super().__init__(f"{platform} account {user_id} is already linked to {holder}")
        self.platform = platform
        self.user_id = user_id
        self.holder = holder


@dataclass
class NewLinks:
    """What :meth:`PeopleRepo.link_new` did: who was linked (as they are now), whose account was already someone
    else's (person id -> that holder's name), and who was left alone (already linked there, removed, or gone)."""

    linked: list[Person] = field(default_factory=list)
    taken: dict[int, str] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)


class PeopleRepo:
    """Reads and writes the roster.

    Lookups of one person (:meth:`get`, :meth:`get_many`, :meth:`by_email`, :meth:`by_platform`, :meth:`by_name`)
    also find people removed from the roster (``person.removed``): their history still refers to them. Listings
    (:meth:`all`, :meth:`in_section`, :meth:`with_role`) leave them out unless ``include_removed=True``. Every
    read is one query per call (a person's sections and accounts come with their row).

    Every command looks its asker up by platform account (:meth:`by_platform`), so those lookups are kept in
    memory, each with the roster's version it was read at (a counter that triggers move on every change to
    people, sections or accounts, migration 0018). A remembered person is used only while the version is still
    the same: writes through this repository forget everything at once, and the version is read again at most
    every ``check_seconds`` (a lookup that misses reads it with the person, in the same query), so a change made by
    another process (``cohortbot roster import`` while the bot runs) is seen by every lookup that starts
    ``check_seconds`` after it.
    """

    def __init__(
        self,
        db: Database,
        *,
        check_seconds: float = VERSION_CHECK_SECONDS,
        max_cached: int = CACHE_MAX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.check_seconds = check_seconds
        self.max_cached = max_cached
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[int, Person]] = {}  # (platform, user id) -> (version, person)
        self._version: int | None = None  # the roster's version as last read (None: read it again)
        self._version_at = 0.0  # when that read started (``clock``)
        self._version_read: asyncio.Future[int] | None = None  # the read in flight, shared by concurrent lookups
        self._generation = 0  # moved on by invalidate(): a read that overlapped a write keeps nothing
        # Accounts missed by lookups of this turn of the event loop, read together by one query (see by_platform).
        self._wanted: dict[tuple[str, str], asyncio.Future[Person | None]] = {}
        self._reads: set[asyncio.Future[None]] = set()

    def invalidate(self) -> None:
        """Forget every cached lookup (called after any change to the roster)."""
        self._cache.clear()
        self._version = None
        self._generation += 1

    # ---- reading --------------------------------------------------------------------------------------
    async def _where(
        self, where: str, params: Iterable = (), order: str = "name COLLATE NOCASE", limit: int | None = None
    ) -> list[Person]:
        sql = f"{SELECT_PEOPLE} WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_person(r) for r in await self.db.fetchall(sql, params)]

    async def _one(self, where: str, params: tuple) -> Person | None:
        found = await self._where(where, params, order="id")
        return found[0] if found else None

    async def get(self, person_id: int) -> Person | None:
        """The person with this id."""
        return await self._one("id = ?", (person_id,))

    async def get_many(self, ids: Iterable[int]) -> dict[int, Person]:
        """The people with these ids, by id (unknown ids are left out)."""
        wanted = sorted(set(ids))
        found: dict[int, Person] = {}
        for chunk in batched(wanted, BATCH):
            marks = ",".join("?" * len(chunk))
            for p in await self._where(f"id IN ({marks})", chunk):
                found[p.id] = p
        return found

    async def by_email(self, email: str) -> Person | None:
        """The person with this email (case-insensitive)."""
        return await self._one("email = ?", (email.strip(),))

    async def by_platform(self, platform: str, user_id: str) -> Person | None:
        """The person who linked the account ``user_id`` on ``platform`` (kept in memory; see the class).

        The accounts that lookups miss during one turn of the event loop are read together, in one query (a busy
        bot sees many new askers at once: one trip to a reader for all of them, not one each).
        """
        key = (platform, user_id)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == await self._current_version():
            return hit[1]
        waiting = self._wanted.get(key)
        if waiting is None:
            if not self._wanted:
                asyncio.get_running_loop().call_soon(self._read_wanted)
            waiting = self._wanted[key] = asyncio.get_running_loop().create_future()
        return await asyncio.shield(waiting)

    def _read_wanted(self) -> None:
        """Start one read of every account missed so far (by platform, at most :data:`BATCH` a query)."""
        wanted, self._wanted = self._wanted, {}
        by_platform: dict[str, list[str]] = {}
        for platform, user_id in wanted:
            by_platform.setdefault(platform, []).append(user_id)
        for platform, user_ids in by_platform.items():
            for chunk in batched(user_ids, BATCH):
                waiting = {user_id: wanted[(platform, user_id)] for user_id in chunk}
                task = asyncio.ensure_future(self._read_accounts(platform, waiting))
                self._reads.add(task)  # a reference until it is done (the loop keeps only a weak one)
                task.add_done_callback(self._reads.discard)

    async def _read_accounts(self, platform: str, waiting: dict[str, asyncio.Future[Person | None]]) -> None:
        """Read the people with these accounts on ``platform``, keep them, and answer each waiting lookup."""
        generation, started = self._generation, self.clock()
        try:
            rows = await self.db.fetchall(BY_ACCOUNTS.format(marks=",".join("?" * len(waiting))), [platform, *waiting])
        except asyncio.CancelledError:
            for future in waiting.values():
                future.cancel()
            raise
        except Exception as exc:  # each lookup raises it, as its own query would have
            for future in waiting.values():
                if not future.done():
                    future.set_exception(exc)
            return
        found = {row["account"]: (row["roster_version"], _person(row)) for row in rows}
        for user_id, future in waiting.items():
            key = (platform, user_id)
            version, person = found.get(user_id, (None, None))
            if person is None:
                self._cache.pop(key, None)
            elif generation == self._generation:  # no write through this repository since the read began
                self._saw_version(version, started)
                self._cache.pop(key, None)  # re-inserted last: the oldest entries are the first to go
                self._cache[key] = (version, person)
            if not future.done():
                future.set_result(person)
        while len(self._cache) > self.max_cached:
            del self._cache[next(iter(self._cache))]

    async def _current_version(self) -> int:
        """The roster's version, read again if the last read is older than ``check_seconds`` (one read at a time,
        shared by every lookup waiting for it)."""
        if self._version is not None and self.clock() - self._version_at < self.check_seconds:
            return self._version
        if self._version_read is None:
            self._version_read = asyncio.ensure_future(self._read_version())
        return await asyncio.shield(self._version_read)

    async def _read_version(self) -> int:
        generation, started = self._generation, self.clock()
        try:
            version = int(await self.db.fetchval("SELECT version FROM roster_version"))
        finally:
            self._version_read = None
        if generation == self._generation:
            self._saw_version(version, started)
        return version

    def _saw_version(self, version: int, started: float) -> None:
        """Note the version a read that started at ``started`` saw (a newer one, or the same one seen later)."""
        if self._version is None or version > self._version:
            self._version, self._version_at = version, started
        elif version == self._version:
            self._version_at = max(self._version_at, started)

    async def by_name(self, text: str, limit: int = 6, *, include_removed: bool = False) -> list[Person]:
        """People whose name is ``text`` (case-insensitive); if none, those whose name or a word of it starts so.

        At most ``limit``, by name: the caller decides what several matches mean. People removed from the roster
        only with ``include_removed`` (so a removed namesake never makes a name ambiguous).
        """
        text = text.strip()
        if not text or len(text) > NAME_MAX:  # nobody's name is that long (and SQLite refuses huge LIKE patterns)
            return []
        exact = await self._where(_active("name = ? COLLATE NOCASE", include_removed), (text,), limit=limit)
        if exact:
            return exact
        pattern = _like(text)
        return await self._where(
            _active("(name LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')", include_removed),
            (f"{pattern}%", f"% {pattern}%"),
            limit=limit,
        )

    async def all(self, limit: int | None = None, *, include_removed: bool = False) -> list[Person]:
        """Everyone on the roster (or the first ``limit``), by name; also the removed with ``include_removed``."""
        return await self._where(_active("1", include_removed), limit=limit)

    async def in_section(
        self, section: str, role: Role | None = None, *, include_removed: bool = False
    ) -> list[Person]:
        """Members of ``section`` (optionally only those with ``role``), by name."""
        where = "id IN (SELECT person_id FROM person_sections WHERE section = ? COLLATE NOCASE)"
        params: list = [section]
        if role is not None:
            where += " AND role = ?"
            params.append(role.label)
        return await self._where(_active(where, include_removed), params)

    async def unlinked(self, platform: str) -> list[Person]:
        """Everyone on the roster with no account on ``platform`` yet, by name (only they are read: once most are
        linked, a few rows, not the whole roster)."""
        where = "NOT EXISTS (SELECT 1 FROM identities i WHERE i.person_id = p.id AND i.platform = ?)"
        return await self._where(_active(where, False), (platform,))

    async def with_role(self, role: Role, *, include_removed: bool = False) -> list[Person]:
        """Everyone with exactly ``role``, by name."""
        return await self._where(_active("role = ?", include_removed), (role.label,))

    # ---- writing --------------------------------------------------------------------------------------
    async def upsert(self, person: PersonInput, now: datetime) -> str:
        """Insert or update by email; return ``"inserted"``, ``"updated"`` or ``"unchanged"``.

        Raises :class:`IdentityTaken` (changing nothing) if one of ``person.identities`` is someone else's.
        """
        async with self.db.transaction() as conn:
            existing = await self.by_email(person.email)
            values = (person.name, person.role.label, person.track, person.timezone, int(person.stipend_eligible))
            if existing is None:
                cur = await conn.execute(
                    "INSERT INTO people (name, role, track, timezone, stipend_eligible, email, created_at, updated_at,"
                    " removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, person.email, to_db(now), to_db(now), _removed_at(person, now)),
                )
                person_id = int(cur.lastrowid or 0)
                result = "inserted"
            else:
                person_id = existing.id
                old = (
                    existing.name,
                    existing.role.label,
                    existing.track,
                    existing.timezone,
                    int(existing.stipend_eligible),
                )
                same_sections = {s.casefold() for s in existing.sections} == {s.casefold() for s in person.sections}
                same_ids = all(existing.identities.get(k) == v for k, v in person.identities.items())
                same_state = person.removed is None or bool(person.removed) == existing.removed
                if old == values and same_sections and same_ids and same_state:
                    return "unchanged"
                old_removed = to_db(existing.removed_at) if existing.removed_at else None
                await conn.execute(
                    "UPDATE people SET name=?, role=?, track=?, timezone=?, stipend_eligible=?, updated_at=?,"
                    " removed_at=? WHERE id=?",
                    (*values, to_db(now), old_removed if same_state else _removed_at(person, now), person_id),
                )
                result = "updated"
            await conn.execute("DELETE FROM person_sections WHERE person_id = ?", (person_id,))
            await conn.executemany(
                "INSERT OR IGNORE INTO person_sections (person_id, section) VALUES (?, ?)",
                [(person_id, s) for s in person.sections],
            )
            for platform, user_id in person.identities.items():
                await self._link(person_id, platform, user_id, now)
        self.invalidate()
        return result

    async def link(self, person_id: int, platform: str, user_id: str, now: datetime) -> None:
        """Link ``user_id`` on ``platform`` to the person (replacing their earlier account there).

        Raises :class:`IdentityTaken` if that account belongs to someone else.
        """
        async with self.db.transaction():
            await self._link(person_id, platform, user_id, now)
        self.invalidate()

    async def link_new(self, platform: str, accounts: Mapping[int, str], now: datetime) -> NewLinks:
        """Link each ``person id -> user id`` of ``accounts`` whose person is on the roster without an account on
        ``platform``, where the account is nobody's: a query per :data:`BATCH` people to check, and one insert.

        Runs in the caller's transaction (its own, if none) and does not :meth:`invalidate` (the caller does, once,
        after its transaction). Never moves or replaces an account: someone already linked there, removed, or no
        longer on the roster is left alone (``skipped``); an account already someone else's (or given to an
        earlier person of ``accounts``) is ``taken``.
        """
        result = NewLinks()
        async with self.db.transaction() as conn:
            people = await self.get_many(accounts)
            holders: dict[str, str] = {}
            for chunk in batched(sorted(set(accounts.values())), BATCH):
                rows = await self.db.fetchall(
                    "SELECT i.user_id, p.name FROM identities i JOIN people p ON p.id = i.person_id"
                    f" WHERE i.platform = ? AND i.user_id IN ({','.join('?' * len(chunk))})",
                    [platform, *chunk],
                )
                holders.update((r["user_id"], r["name"]) for r in rows)
            for person_id, user_id in accounts.items():
                person = people.get(person_id)
                if person is None or person.removed or person.platform_id(platform):
                    result.skipped.append(person_id)
                elif user_id in holders:
                    result.taken[person_id] = holders[user_id]
                else:
                    holders[user_id] = person.name
                    result.linked.append(replace(person, identities={**person.identities, platform: user_id}))
            if result.linked:
                await conn.executemany(
                    "INSERT INTO identities (person_id, platform, user_id, linked_at) VALUES (?, ?, ?, ?)",
                    [(p.id, platform, p.identities[platform], to_db(now)) for p in result.linked],
                )
        return result

    async def _link(self, person_id: int, platform: str, user_id: str, now: datetime) -> None:
        holder = await self.db.fetchone(
            "SELECT p.id, p.name FROM identities i JOIN people p ON p.id = i.person_id"
            " WHERE i.platform = ? AND i.user_id = ?",
            (platform, user_id),
        )
        if holder is not None and holder["id"] != person_id:
            raise IdentityTaken(platform, user_id, holder["name"])
        if holder is not None:
            return
        await self.db.execute(
            "INSERT INTO identities (person_id, platform, user_id, linked_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (person_id, platform)"
            " DO UPDATE SET user_id = excluded.user_id, linked_at = excluded.linked_at",
            (person_id, platform, user_id, to_db(now)),
        )

    async def unlink(self, person_id: int, platform: str) -> bool:
        """Remove the person's account on ``platform``; ``True`` if there was one."""
        cur = await self.db.execute(
            "DELETE FROM identities WHERE person_id = ? AND platform = ?", (person_id, platform)
        )
        self.invalidate()
        return bool(cur.rowcount)

    async def set_removed(self, person_id: int, removed: bool, now: datetime) -> bool:
        """Take a person off the roster (keeping their history) or put them back; ``True`` if that changed."""
        cur = await self.db.execute(
            "UPDATE people SET removed_at = ?, updated_at = ? WHERE id = ? AND (removed_at IS NULL) = ?",
            (to_db(now) if removed else None, to_db(now), person_id, int(removed)),
        )
        self.invalidate()
        return bool(cur.rowcount)

    async def set_timezone(self, person_id: int, zone: str | None, now: datetime) -> None:
        """Set (or clear) a person's own time zone."""
        await self.db.execute(
            "UPDATE people SET timezone = ?, updated_at = ? WHERE id = ?", (zone, to_db(now), person_id)
        )
        self.invalidate()


def _removed_at(person: PersonInput, now: datetime) -> str | None:
    """The ``removed_at`` column for a new or changed row: the time given, now, or nothing."""
    if isinstance(person.removed, datetime):
        return to_db(person.removed)
    return to_db(now) if person.removed else None


def _active(where: str, include_removed: bool) -> str:
    """``where`` limited to people still on the roster, unless ``include_removed``."""
    return where if include_removed else f"({where}) AND removed_at IS NULL"


def _person(row: sqlite3.Row) -> Person:
    """A :class:`Person` from a row of :data:`SELECT_PEOPLE` (sections in SQLite's NOCASE order)."""
    sections = _json(row["section_list"])[0]
    if len(sections) > 1:
        sections.sort(key=lambda s: s.translate(_NOCASE))
    return Person(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        role=Role.parse(row["role"]),
        track=row["track"],
        sections=tuple(sections),
        identities=_json(row["identity_map"])[0],
        timezone=row["timezone"],
        stipend_eligible=bool(row["stipend_eligible"]),
        removed_at=from_db(row["removed_at"]) if row["removed_at"] else None,
    )


def _like(text: str) -> str:
    """``text`` escaped for a LIKE pattern (``\\`` is the escape character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

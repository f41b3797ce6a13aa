"""The roster in the database: people, their sections, and the platform accounts linked to them (identities)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from bot.core.clock import from_db, to_db
from bot.core.people import Person, PersonInput
from bot.core.roles import Role
from bot.core.util import batched
from bot.storage.db import Database

BATCH = 900  # ids per IN (...) list; each batch of people is read in three queries (people, sections, identities)

__all__ = ["IdentityTaken", "PeopleRepo", "Person", "PersonInput"]
NAME_MAX = 200  # the longest text :meth:`PeopleRepo.by_name` looks for
CACHE_SECONDS = 10.0  # how long a lookup by platform account may be served from memory (see PeopleRepo)


class IdentityTaken(Exception):
    """A platform account is already linked to someone else on the roster."""

    def __init__(self, platform: str, user_id: str, holder: str) -> None:
        super().__init__(f"{platform} account {user_id} is already linked to {holder}")
        self.platform = platform
        self.user_id = user_id
        self.holder = holder


class PeopleRepo:
    """Reads and writes the roster.

    Lookups of one person (:meth:`get`, :meth:`get_many`, :meth:`by_email`, :meth:`by_platform`, :meth:`by_name`)
    also find people removed from the roster (``person.removed``): their history still refers to them. Listings
    (:meth:`all`, :meth:`in_section`, :meth:`with_role`) leave them out unless ``include_removed=True``.

    Every command looks its asker up by platform account (:meth:`by_platform`), so those lookups are cached.
    Writes through this repository clear the cache at once; a change made by another process (``cohortbot
    roster import`` while the bot runs) is seen within :data:`CACHE_SECONDS`.
    """

    def __init__(self, db: Database, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[str, str], tuple[float, Person]] = {}

    def invalidate(self) -> None:
        """Forget every cached lookup (called after any change to the roster)."""
        self._cache.clear()

    # ---- reading --------------------------------------------------------------------------------------
    async def _hydrate(self, rows: Iterable) -> list[Person]:
        rows = list(rows)
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        sections: dict[int, list[str]] = {}
        identities: dict[int, dict[str, str]] = {}
        for chunk in batched(ids, BATCH):
            marks = ",".join("?" * len(chunk))
            for s in await self.db.fetchall(
                f"SELECT person_id, section FROM person_sections WHERE person_id IN ({marks}) ORDER BY section", chunk
            ):
                sections.setdefault(s["person_id"], []).append(s["section"])
            for i in await self.db.fetchall(
                f"SELECT person_id, platform, user_id FROM identities WHERE person_id IN ({marks})", chunk
            ):
                identities.setdefault(i["person_id"], {})[i["platform"]] = i["user_id"]
        return [
            Person(
                id=r["id"],
                name=r["name"],
                email=r["email"],
                role=Role.parse(r["role"]),
                track=r["track"],
                sections=tuple(sections.get(r["id"], ())),
                identities=identities.get(r["id"], {}),
                timezone=r["timezone"],
                stipend_eligible=bool(r["stipend_eligible"]),
                removed_at=from_db(r["removed_at"]) if r["removed_at"] else None,
            )
            for r in rows
        ]

    async def _where(
        self, where: str, params: Iterable = (), order: str = "name COLLATE NOCASE", limit: int | None = None
    ) -> list[Person]:
        sql = f"SELECT * FROM people WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return await self._hydrate(await self.db.fetchall(sql, params))

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
        """The person who linked the account ``user_id`` on ``platform`` (cached; see the class)."""
        key = (platform, user_id)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.cache_seconds:
            return hit[1]
        person = await self._one(
            "id = (SELECT person_id FROM identities WHERE platform = ? AND user_id = ?)", (platform, user_id)
        )
        if person is None:
            self._cache.pop(key, None)
        else:
            self._cache[key] = (now, person)
        return person

    async def by_name(self, text: str, limit: int = 6) -> list[Person]:
        """People whose name is ``text`` (case-insensitive); if none, those whose name or a word of it starts so.

        At most ``limit``, by name: the caller decides what several matches mean.
        """
        text = text.strip()
        if not text or len(text) > NAME_MAX:  # nobody's name is that long (and SQLite refuses huge LIKE patterns)
            return []
        exact = await self._where("name = ? COLLATE NOCASE", (text,), limit=limit)
        if exact:
            return exact
        pattern = _like(text)
        return await self._where(
            "(name LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')", (f"{pattern}%", f"% {pattern}%"), limit=limit
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


def _like(text: str) -> str:
    """``text`` escaped for a LIKE pattern (``\\`` is the escape character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

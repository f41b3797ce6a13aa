"""The roster: people, their role, track, sections and platform ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.clock import to_db
from bot.core.roles import Role
from bot.storage.db import Database


@dataclass(frozen=True)
class Person:
    """Someone on the roster."""

    id: int
    name: str
    email: str
    role: Role
    track: str | None = None
    sections: tuple[str, ...] = ()
    discord_id: str | None = None
    slack_id: str | None = None
    timezone: str | None = None
    stipend_eligible: bool = True

    def platform_id(self, platform: str) -> str | None:
        """This person's id on ``platform`` (the console uses the name)."""
        if platform == "discord":
            return self.discord_id
        if platform == "slack":
            return self.slack_id
        return self.name

    def zone(self, fallback: ZoneInfo) -> ZoneInfo:
        """This person's own time zone, else ``fallback`` (the cohort's)."""
        return ZoneInfo(self.timezone) if self.timezone else fallback

    def in_section(self, section: str) -> bool:
        """Whether this person belongs to (or runs) ``section``."""
        return section.casefold() in {s.casefold() for s in self.sections}


@dataclass(frozen=True)
class PersonInput:
    """A roster row to upsert (keyed by email)."""

    name: str
    email: str
    role: Role
    track: str | None = None
    sections: tuple[str, ...] = field(default=())
    discord_id: str | None = None
    slack_id: str | None = None
    timezone: str | None = None
    stipend_eligible: bool = True


class PeopleRepo:
    """Reads and writes the roster."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _hydrate(self, rows: Iterable) -> list[Person]:
        rows = list(rows)
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        sec_rows = await self.db.fetchall(
            f"SELECT person_id, section FROM person_sections WHERE person_id IN ({marks}) ORDER BY section",
            ids,
        )
        sections: dict[int, list[str]] = {}
        for s in sec_rows:
            sections.setdefault(s["person_id"], []).append(s["section"])
        return [
            Person(
                id=r["id"],
                name=r["name"],
                email=r["email"],
                role=Role.parse(r["role"]),
                track=r["track"],
                sections=tuple(sections.get(r["id"], ())),
                discord_id=r["discord_id"],
                slack_id=r["slack_id"],
                timezone=r["timezone"],
                stipend_eligible=bool(r["stipend_eligible"]),
            )
            for r in rows
        ]

    async def _one(self, where: str, params: tuple) -> Person | None:
        rows = await self.db.fetchall(f"SELECT * FROM people WHERE {where}", params)
        found = await self._hydrate(rows)
        return found[0] if found else None

    async def get(self, person_id: int) -> Person | None:
        """The person with this id."""
        return await self._one("id = ?", (person_id,))

    async def by_email(self, email: str) -> Person | None:
        """The person with this email (case-insensitive)."""
        return await self._one("email = ?", (email.strip(),))

    async def by_platform(self, platform: str, user_id: str) -> Person | None:
        """The person behind a platform user id (console: the roster name, case-insensitive)."""
        if platform == "discord":
            return await self._one("discord_id = ?", (user_id,))
        if platform == "slack":
            return await self._one("slack_id = ?", (user_id,))
        return await self._one("name = ? COLLATE NOCASE", (user_id,))

    async def all(self) -> list[Person]:
        """Everyone, by name."""
        return await self._hydrate(await self.db.fetchall("SELECT * FROM people ORDER BY name COLLATE NOCASE"))

    async def in_section(self, section: str, role: Role | None = None) -> list[Person]:
        """Members of ``section`` (optionally only those with ``role``), by name."""
        sql = "SELECT p.* FROM people p JOIN person_sections s ON s.person_id = p.id WHERE s.section = ? COLLATE NOCASE"
        params: list = [section]
        if role is not None:
            sql += " AND p.role = ?"
            params.append(role.label)
        return await self._hydrate(await self.db.fetchall(sql + " ORDER BY p.name COLLATE NOCASE", params))

    async def with_role(self, role: Role) -> list[Person]:
        """Everyone with exactly ``role``, by name."""
        rows = await self.db.fetchall("SELECT * FROM people WHERE role = ? ORDER BY name COLLATE NOCASE", (role.label,))
        return await self._hydrate(rows)

    async def upsert(self, person: PersonInput, now: datetime) -> str:
        """Insert or update by email; return ``"inserted"``, ``"updated"`` or ``"unchanged"``."""
        async with self.db.transaction() as conn:
            existing = await self.by_email(person.email)
            values = (
                person.name,
                person.role.label,
                person.track,
                person.discord_id,
                person.slack_id,
                person.timezone,
                int(person.stipend_eligible),
            )
            if existing is None:
                cur = await conn.execute(
                    "INSERT INTO people (name, role, track, discord_id, slack_id, timezone, stipend_eligible,"
                    " email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, person.email, to_db(now), to_db(now)),
                )
                person_id = cur.lastrowid
                result = "inserted"
            else:
                person_id = existing.id
                old = (
                    existing.name,
                    existing.role.label,
                    existing.track,
                    existing.discord_id,
                    existing.slack_id,
                    existing.timezone,
                    int(existing.stipend_eligible),
                )
                same_sections = {s.casefold() for s in existing.sections} == {s.casefold() for s in person.sections}
                if old == values and same_sections:
                    return "unchanged"
                await conn.execute(
                    "UPDATE people SET name=?, role=?, track=?, discord_id=?, slack_id=?, timezone=?,"
                    " stipend_eligible=?, updated_at=? WHERE id=?",
                    (*values, to_db(now), person_id),
                )
                result = "updated"
            await conn.execute("DELETE FROM person_sections WHERE person_id = ?", (person_id,))
            await conn.executemany(
                "INSERT OR IGNORE INTO person_sections (person_id, section) VALUES (?, ?)",
                [(person_id, s) for s in person.sections],
            )
        return result

    async def set_timezone(self, person_id: int, zone: str | None, now: datetime) -> None:
        """Set (or clear) a person's own time zone."""
        await self.db.execute(
            "UPDATE people SET timezone = ?, updated_at = ? WHERE id = ?", (zone, to_db(now), person_id)
        )

"""The roster feature's tables (migration 0016): join codes, wrong tries, join requests, the change log, email
lookups and membership sync state. Every query asks for exactly the rows it needs (no scan per person)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.clock import from_db, to_db
from bot.core.util import batched
from bot.storage.db import Database

if TYPE_CHECKING:
    from bot.app import CohortBot

# Join codes: 10 characters of an alphabet without look-alikes (0/O, 1/I/L), 50 random bits, shown in groups.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
ATTEMPTS_KEPT = timedelta(days=1)  # wrong tries older than this are pruned
RECORD = "INSERT INTO roster_changes (person_id, at, by_person, by_text, action, detail) VALUES (?, ?, ?, ?, ?, ?)"


def new_code() -> str:
    """A fresh random join code (normalised form, no dashes)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What someone typed as a code, as stored: upper case, without spaces and dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def show_code(code: str) -> str:
    """A code as people read it: ``ABCD-EFGH-JK``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True)
class JoinCode:
    """A person's join code and whether it was spent."""

    person_id: int
    code: str
    created_at: datetime
    used_at: datetime | None
    used_by: str | None


@dataclass(frozen=True)
class JoinRequest:
    """A ``/join email:`` request."""

    id: int
    platform: str
    user_id: str
    display_name: str
    email: str
    state: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: int | None


@dataclass(frozen=True)
class Change:
    """One entry of the roster's change log."""

    id: int
    person_id: int
    at: datetime
    by_person: int | None
    by_text: str
    action: str
    detail: str


@dataclass(frozen=True)
class SyncState:
    """What was last asked of a platform for a person (see ``member_sync`` in the migration)."""

    person_id: int
    user_id: str | None
    signature: str
    generation: int


def _code(row) -> JoinCode:  # noqa: ANN001 - aiosqlite.Row
    return JoinCode(
        person_id=row["person_id"],
        code=row["code"],
        created_at=from_db(row["created_at"]),
        used_at=from_db(row["used_at"]) if row["used_at"] else None,
        used_by=row["used_by"],
    )


def _request(row) -> JoinRequest:  # noqa: ANN001 - aiosqlite.Row
    return JoinRequest(
        id=row["id"],
        platform=row["platform"],
        user_id=row["user_id"],
        display_name=row["display_name"],
        email=row["email"],
        state=row["state"],
        created_at=from_db(row["created_at"]),
        decided_at=from_db(row["decided_at"]) if row["decided_at"] else None,
        decided_by=row["decided_by"],
    )


def _change(row) -> Change:  # noqa: ANN001 - aiosqlite.Row
    return Change(
        id=row["id"],
        person_id=row["person_id"],
        at=from_db(row["at"]),
        by_person=row["by_person"],
        by_text=row["by_text"],
        action=row["action"],
        detail=row["detail"],
    )


def _marks(values: list) -> str:
    return ", ".join("?" for _ in values)


class RosterStore:
    """Reads and writes the roster feature's tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- join codes ------------------------------------------------------------------------------------
    async def ensure_codes(self, now: datetime) -> int:
        """Give every person on the roster without a code one; return how many were made."""
        made = 0
        while True:  # a clash of ~50 random bits is all but impossible; whoever it hits gets another go
            rows = await self.db.fetchall(
                "SELECT id FROM people WHERE removed_at IS NULL AND id NOT IN (SELECT person_id FROM join_codes)"
            )
            if not rows:
                return made
            async with self.db.transaction() as conn:
                before = conn.total_changes
                await conn.executemany(
                    "INSERT OR IGNORE INTO join_codes (person_id, code, created_at) VALUES (?, ?, ?)",
                    [(r["id"], new_code(), to_db(now)) for r in rows],
                )
                made += conn.total_changes - before

    async def code_of(self, person_id: int) -> JoinCode | None:
        """The person's join code."""
        row = await self.db.fetchone("SELECT * FROM join_codes WHERE person_id = ?", (person_id,))
        return _code(row) if row else None

    async def find_code(self, code: str) -> JoinCode | None:
        """The join code ``code`` (normalised)."""
        row = await self.db.fetchone("SELECT * FROM join_codes WHERE code = ?", (normalise_code(code),))
        return _code(row) if row else None

    async def spend_code(self, code: str, used_by: str, now: datetime) -> bool:
        """Mark ``code`` used by ``used_by``; ``False`` if it already was (so two claims cannot both win)."""
        cur = await self.db.execute(
            "UPDATE join_codes SET used_at = ?, used_by = ? WHERE code = ? AND used_at IS NULL",
            (to_db(now), used_by, code),
        )
        return bool(cur.rowcount)

    async def codes(self) -> list[tuple[int, str, str, str, str]]:
        """``(person id, name, email, code, linked platforms)`` for everyone on the roster with an unused code."""
        rows = await self.db.fetchall(
            "SELECT p.id, p.name, p.email, c.code,"
            " (SELECT group_concat(platform, ';') FROM identities i WHERE i.person_id = p.id) AS linked"
            " FROM join_codes c JOIN people p ON p.id = c.person_id"
            " WHERE c.used_at IS NULL AND p.removed_at IS NULL ORDER BY p.name COLLATE NOCASE"
        )
        return [(r["id"], r["name"], r["email"], r["code"], r["linked"] or "") for r in rows]

    # ---- wrong tries -----------------------------------------------------------------------------------
    async def wrong_tries(self, platform: str, user_id: str, since: datetime) -> list[datetime]:
        """When this account typed a wrong code since ``since``, oldest first."""
        rows = await self.db.fetchall(
            "SELECT at FROM join_attempts WHERE platform = ? AND user_id = ? AND at > ? ORDER BY at",
            (platform, user_id, to_db(since)),
        )
        return [from_db(r["at"]) for r in rows]

    async def add_wrong_try(self, platform: str, user_id: str, now: datetime) -> None:
        """Record a wrong code (and forget tries older than a day)."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM join_attempts WHERE at < ?", (to_db(now - ATTEMPTS_KEPT),))
            await conn.execute(
                "INSERT INTO join_attempts (platform, user_id, at) VALUES (?, ?, ?)", (platform, user_id, to_db(now))
            )

    # ---- join requests ---------------------------------------------------------------------------------
    async def add_request(self, platform: str, user_id: str, display_name: str, email: str, now: datetime) -> int:
        """A new pending request; its id."""
        cur = await self.db.execute(
            "INSERT INTO join_requests (platform, user_id, display_name, email, created_at) VALUES (?, ?, ?, ?, ?)",
            (platform, user_id, display_name, email, to_db(now)),
        )
        return int(cur.lastrowid or 0)

    async def request(self, request_id: int) -> JoinRequest | None:
        """The request with this id."""
        row = await self.db.fetchone("SELECT * FROM join_requests WHERE id = ?", (request_id,))
        return _request(row) if row else None

    async def requests_of(self, platform: str, user_id: str, since: datetime) -> list[JoinRequest]:
        """This account's requests since ``since`` and any still pending, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM join_requests WHERE platform = ? AND user_id = ? AND (created_at > ? OR state = 'pending')"
            " ORDER BY id DESC",
            (platform, user_id, to_db(since)),
        )
        return [_request(r) for r in rows]

    async def latest_request(self, platform: str, user_id: str) -> JoinRequest | None:
        """This account's most recent request."""
        row = await self.db.fetchone(
            "SELECT * FROM join_requests WHERE platform = ? AND user_id = ? ORDER BY id DESC LIMIT 1",
            (platform, user_id),
        )
        return _request(row) if row else None

    async def pending_requests(self, limit: int = 10) -> tuple[list[JoinRequest], int]:
        """The oldest pending requests (at most ``limit``) and how many are pending in all."""
        total = await self.db.fetchval("SELECT COUNT(*) FROM join_requests WHERE state = 'pending'")
        rows = await self.db.fetchall(
            "SELECT * FROM join_requests WHERE state = 'pending' ORDER BY id LIMIT ?", (limit,)
        )
        return [_request(r) for r in rows], int(total or 0)

    async def decide(self, request_id: int, state: str, by: int, now: datetime) -> bool:
        """Approve or deny a pending request; ``False`` if it was no longer pending."""
        cur = await self.db.execute(
            "UPDATE join_requests SET state = ?, decided_at = ?, decided_by = ? WHERE id = ? AND state = 'pending'",
            (state, to_db(now), by, request_id),
        )
        return bool(cur.rowcount)

    # ---- change log ------------------------------------------------------------------------------------
    async def record(
        self, person_id: int, now: datetime, by_person: int | None, by_text: str, action: str, detail: str = ""
    ) -> None:
        """Add a change to the log."""
        await self.db.execute(RECORD, (person_id, to_db(now), by_person, by_text, action, detail))

    async def record_many(
        self, details: Mapping[int, str], now: datetime, by_person: int | None, by_text: str, action: str
    ) -> None:
        """Add the same change to the log for many people (``person id -> detail``), in one write (inside the
        caller's transaction, if there is one)."""
        await self.db.executemany(RECORD, [(p, to_db(now), by_person, by_text, action, d) for p, d in details.items()])

    async def changes(
        self, person_id: int | None = None, *, sections: list[str] | None = None, limit: int | None = 20
    ) -> list[Change]:
        """The latest changes first: of one person, of the members of ``sections``, or of everyone."""
        where, params = "1", []
        if person_id is not None:
            where, params = "person_id = ?", [person_id]
        elif sections is not None:
            where = (
                "person_id IN (SELECT person_id FROM person_sections WHERE section COLLATE NOCASE IN"
                f" ({_marks(sections)}))"
            )
            params = list(sections)
        sql = f"SELECT * FROM roster_changes WHERE {where} ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_change(r) for r in await self.db.fetchall(sql, params)]

    # ---- summaries -------------------------------------------------------------------------------------
    @staticmethod
    def _scope(sections: list[str] | None) -> tuple[str, list]:
        if sections is None:
            return "1", []
        return (
            f"p.id IN (SELECT person_id FROM person_sections WHERE section COLLATE NOCASE IN ({_marks(sections)}))",
            list(sections),
        )

    async def counts(self, sections: list[str] | None = None) -> tuple[dict[str, int], int]:
        """People on the roster by role, and how many were removed (all, or the members of ``sections``)."""
        scope, params = self._scope(sections)
        rows = await self.db.fetchall(
            f"SELECT p.role, SUM(p.removed_at IS NULL) AS active, SUM(p.removed_at IS NOT NULL) AS removed"
            f" FROM people p WHERE {scope} GROUP BY p.role",
            params,
        )
        return {r["role"]: int(r["active"] or 0) for r in rows}, sum(int(r["removed"] or 0) for r in rows)

    async def linked_counts(self, sections: list[str] | None = None) -> dict[str, int]:
        """People on the roster with a linked account, per platform."""
        scope, params = self._scope(sections)
        rows = await self.db.fetchall(
            "SELECT i.platform, COUNT(*) AS n FROM identities i JOIN people p ON p.id = i.person_id"
            f" WHERE p.removed_at IS NULL AND {scope} GROUP BY i.platform ORDER BY i.platform",
            params,
        )
        return {r["platform"]: int(r["n"]) for r in rows}

    async def unlinked(
        self, platform: str | None, sections: list[str] | None = None, limit: int | None = None
    ) -> tuple[list[int], int]:
        """Ids of people on the roster without an account on ``platform`` (``None``: on any platform), by name
        (at most ``limit``), and how many there are in all."""
        scope, params = self._scope(sections)
        if platform is None:
            missing, extra = "NOT EXISTS (SELECT 1 FROM identities i WHERE i.person_id = p.id)", []
        else:
            missing = "NOT EXISTS (SELECT 1 FROM identities i WHERE i.person_id = p.id AND i.platform = ?)"
            extra = [platform]
        where = f"p.removed_at IS NULL AND {missing} AND {scope}"
        total = await self.db.fetchval(f"SELECT COUNT(*) FROM people p WHERE {where}", [*extra, *params])
        sql = f"SELECT p.id FROM people p WHERE {where} ORDER BY p.name COLLATE NOCASE"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = await self.db.fetchall(sql, [*extra, *params])
        return [r["id"] for r in rows], int(total or 0)

    # ---- email lookups ---------------------------------------------------------------------------------
    async def record_lookups(self, platform: str, outcomes: Mapping[str, str | None], now: datetime) -> None:
        """Remember the outcomes (email -> user id, or ``None``: not found) of looking emails up, in one write."""
        if outcomes:
            await self.db.executemany(
                "INSERT INTO email_lookups (platform, email, user_id, looked_up_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (platform, email) DO UPDATE SET user_id = excluded.user_id,"
                " looked_up_at = excluded.looked_up_at",
                [(platform, email, user_id, to_db(now)) for email, user_id in outcomes.items()],
            )

    async def lookups(self, platform: str, emails: Iterable[str]) -> dict[str, tuple[str | None, datetime]]:
        """``email (lower case) -> (user id or None, when)`` for the emails looked up on ``platform``."""
        wanted = sorted({e.casefold() for e in emails})
        found: dict[str, tuple[str | None, datetime]] = {}
        for chunk in batched(wanted):
            rows = await self.db.fetchall(
                f"SELECT email, user_id, looked_up_at FROM email_lookups WHERE platform = ?"
                f" AND email IN ({_marks(chunk)})",
                [platform, *chunk],
            )
            for r in rows:
                found[r["email"].casefold()] = (r["user_id"], from_db(r["looked_up_at"]))
        return found

    # ---- membership sync -------------------------------------------------------------------------------
    async def sync_states(self, platform: str, person_ids: Iterable[int] | None = None) -> dict[int, SyncState]:
        """What was last asked of ``platform``, by person id: for ``person_ids`` (a query per 500, on the primary
        key), or for everyone (``None``: the whole roster's sync, once per upkeep)."""
        sql = "SELECT person_id, user_id, signature, generation FROM member_sync WHERE platform = ?"
        if person_ids is None:
            rows = await self.db.fetchall(sql, (platform,))
        else:
            rows = []
            for chunk in batched(sorted(set(person_ids))):
                rows += await self.db.fetchall(f"{sql} AND person_id IN ({_marks(chunk)})", [platform, *chunk])
        return {r["person_id"]: SyncState(r["person_id"], r["user_id"], r["signature"], r["generation"]) for r in rows}

    async def save_sync_states(self, platform: str, states: list[SyncState]) -> None:
        """Remember what was asked (inside the caller's transaction, together with the tasks it queued)."""
        await self.db.conn.executemany(
            "INSERT INTO member_sync (person_id, platform, user_id, signature, generation) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (person_id, platform) DO UPDATE SET user_id = excluded.user_id,"
            " signature = excluded.signature, generation = excluded.generation",
            [(s.person_id, platform, s.user_id, s.signature, s.generation) for s in states],
        )


def store(app: CohortBot) -> RosterStore:
    """The roster feature's store for ``app`` (one per app)."""
    found = app.__dict__.get("_roster_store")
    if found is None:
        found = app.__dict__["_roster_store"] = RosterStore(app.db)
    return found

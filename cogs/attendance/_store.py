"""Attendance storage: marks (as they stand), the audit trail, recorded meetings, checklist drafts and check-in
windows (migration 0013). Section names are stored as the cohort file spells them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.core.clock import from_db, to_db
from bot.core.util import batched
from bot.storage.db import Database

Status = Literal["present", "excused", "absent"]
Source = Literal["checkin", "checklist", "typed"]


@dataclass(frozen=True)
class Mark:
    """One person's mark for one meeting."""

    section: str
    week: int
    person_id: int
    status: Status
    reason: str | None
    source: Source
    updated_by: int | None
    updated_at: datetime


@dataclass(frozen=True)
class Recorded:
    """A meeting whose attendance was taken."""

    section: str
    week: int
    recorded_by: int | None
    recorded_at: datetime
    revision: int


@dataclass(frozen=True)
class Change:
    """A row of the audit trail."""

    person_id: int
    old_status: str | None
    new_status: str
    reason: str | None
    source: str
    changed_by: int | None
    changed_at: datetime


@dataclass(frozen=True)
class NewMark:
    """A mark to set."""

    person_id: int
    status: Status
    reason: str | None = None


@dataclass(frozen=True)
class Window:
    """A check-in window: ``code`` marks its section's members present for ``week`` until ``expires_at``."""

    id: int
    section: str
    week: int
    code: str
    opened_by: int | None
    opened_at: datetime
    expires_at: datetime

    def is_open(self, now: datetime) -> bool:
        """Whether the code is accepted at ``now``."""
        return self.opened_at <= now < self.expires_at


def _mark(row) -> Mark:  # noqa: ANN001 - aiosqlite.Row
    return Mark(
        section=row["section"],
        week=row["week"],
        person_id=row["person_id"],
        status=row["status"],
        reason=row["reason"],
        source=row["source"],
        updated_by=row["updated_by"],
        updated_at=from_db(row["updated_at"]),
    )


def _recorded(row) -> Recorded:  # noqa: ANN001 - aiosqlite.Row
    return Recorded(row["section"], row["week"], row["recorded_by"], from_db(row["recorded_at"]), row["revision"])


def _window(row) -> Window:  # noqa: ANN001 - aiosqlite.Row
    return Window(
        id=row["id"],
        section=row["section"],
        week=row["week"],
        code=row["code"],
        opened_by=row["opened_by"],
        opened_at=from_db(row["opened_at"]),
        expires_at=from_db(row["expires_at"]),
    )


class AttendanceRepo:
    """Reads and writes attendance; writes join the caller's transaction if there is one."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- marks ----------------------------------------------------------------------------------------
    async def marks(self, section: str, week: int) -> dict[int, Mark]:
        """Every mark of one meeting, by person id."""
        rows = await self.db.fetchall(
            "SELECT * FROM attendance WHERE section = ? COLLATE NOCASE AND week = ?", (section, week)
        )
        return {r["person_id"]: _mark(r) for r in rows}

    async def marks_of(self, person_ids: Iterable[int] | None = None) -> list[Mark]:
        """Every mark of these people (of everyone if ``None``), in any section."""
        if person_ids is None:
            return [_mark(r) for r in await self.db.fetchall("SELECT * FROM attendance")]
        out: list[Mark] = []
        for chunk in batched(sorted(set(person_ids))):
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(f"SELECT * FROM attendance WHERE person_id IN ({marks})", chunk)
            out += [_mark(r) for r in rows]
        return out

    async def statuses_of(self, person_ids: Sequence[int]) -> list[tuple[str, int, int, str]]:
        """``(section, week, person id, status)`` of every mark of these people (the stipend engine's input)."""
        out: list[tuple[str, int, int, str]] = []
        for chunk in batched(sorted(set(person_ids))):
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT section, week, person_id, status FROM attendance WHERE person_id IN ({marks})", chunk
            )
            out += [(r["section"], r["week"], r["person_id"], r["status"]) for r in rows]
        return out

    async def present_counts(self) -> dict[tuple[str, int], int]:
        """How many of each section's own scholars are marked present, by ``(section folded, week)``."""
        rows = await self.db.fetchall(
            "SELECT a.section, a.week, COUNT(*) AS n FROM attendance a"
            " JOIN person_sections ps ON ps.person_id = a.person_id AND ps.section = a.section"
            " JOIN people p ON p.id = a.person_id AND p.role = 'scholar'"
            " WHERE a.status = 'present' GROUP BY a.section, a.week"
        )
        return {(r["section"].casefold(), r["week"]): r["n"] for r in rows}

    async def section_sizes(self) -> dict[str, int]:
        """How many scholars each section has, by section folded."""
        rows = await self.db.fetchall(
            "SELECT ps.section, COUNT(*) AS n FROM person_sections ps JOIN people p ON p.id = ps.person_id"
            " WHERE p.role = 'scholar' GROUP BY ps.section"
        )
        return {r["section"].casefold(): r["n"] for r in rows}

    async def visitors(self, section: str, week: int) -> list[int]:
        """Ids of everyone with a mark at this meeting (members and make-up visitors)."""
        rows = await self.db.fetchall(
            "SELECT person_id FROM attendance WHERE section = ? COLLATE NOCASE AND week = ?", (section, week)
        )
        return [r["person_id"] for r in rows]

    async def apply(
        self,
        section: str,
        week: int,
        marks: Sequence[NewMark],
        *,
        by: int | None,
        now: datetime,
        source: Source,
        record: bool,
    ) -> list[tuple[int, str | None, str]]:
        """Set ``marks`` (each change goes to the audit trail); with ``record``, the meeting is recorded (again).

        Returns ``(person id, old status, new status)`` for every mark that changed (status or reason).
        """
        when = to_db(now)
        changed: list[tuple[int, str | None, str]] = []
        async with self.db.transaction() as conn:
            current = await self.marks(section, week)
            for new in marks:
                old = current.get(new.person_id)
                if old is not None and old.status == new.status and (old.reason or None) == (new.reason or None):
                    continue
                await conn.execute(
                    "INSERT INTO attendance (section, week, person_id, status, reason, source, updated_by, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (section, week, person_id) DO UPDATE SET"
                    " status = excluded.status, reason = excluded.reason, source = excluded.source,"
                    " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                    (section, week, new.person_id, new.status, new.reason, source, by, when),
                )
                await conn.execute(
                    "INSERT INTO attendance_changes (section, week, person_id, old_status, new_status, reason, source,"
                    " changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        section,
                        week,
                        new.person_id,
                        old.status if old else None,
                        new.status,
                        new.reason,
                        source,
                        by,
                        when,
                    ),
                )
                changed.append((new.person_id, old.status if old else None, new.status))
            if record:
                await conn.execute(
                    "INSERT INTO attendance_meetings (section, week, recorded_by, recorded_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (section, week) DO UPDATE SET recorded_by = excluded.recorded_by,"
                    " recorded_at = excluded.recorded_at, revision = attendance_meetings.revision + 1",
                    (section, week, by, when),
                )
                await conn.execute(
                    "DELETE FROM attendance_drafts WHERE section = ? COLLATE NOCASE AND week = ?", (section, week)
                )
        return changed

    async def history(self, section: str, week: int) -> list[Change]:
        """The audit trail of one meeting, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM attendance_changes WHERE section = ? COLLATE NOCASE AND week = ? ORDER BY id",
            (section, week),
        )
        return [
            Change(
                person_id=r["person_id"],
                old_status=r["old_status"],
                new_status=r["new_status"],
                reason=r["reason"],
                source=r["source"],
                changed_by=r["changed_by"],
                changed_at=from_db(r["changed_at"]),
            )
            for r in rows
        ]

    async def change_counts(self) -> dict[tuple[str, int, int], int]:
        """How many times each mark changed, by ``(section folded, week, person id)``."""
        rows = await self.db.fetchall(
            "SELECT section, week, person_id, COUNT(*) AS n FROM attendance_changes GROUP BY section, week, person_id"
        )
        return {(r["section"].casefold(), r["week"], r["person_id"]): r["n"] for r in rows}

    # ---- recorded meetings ----------------------------------------------------------------------------
    async def recorded(self, section: str, week: int) -> Recorded | None:
        """Whether (and when, by whom) this meeting's attendance was taken."""
        row = await self.db.fetchone(
            "SELECT * FROM attendance_meetings WHERE section = ? COLLATE NOCASE AND week = ?", (section, week)
        )
        return _recorded(row) if row else None

    async def all_recorded(self, sections: Iterable[str] | None = None) -> dict[tuple[str, int], Recorded]:
        """Every recorded meeting (of these sections only, if given), by ``(section folded, week)``."""
        if sections is None:
            rows = await self.db.fetchall("SELECT * FROM attendance_meetings")
        else:
            names = sorted(set(sections))
            if not names:
                return {}
            marks = ",".join("?" * len(names))
            rows = await self.db.fetchall(f"SELECT * FROM attendance_meetings WHERE section IN ({marks})", names)
        return {(r["section"].casefold(), r["week"]): _recorded(r) for r in rows}

    # ---- checklist drafts -----------------------------------------------------------------------------
    async def draft(self, section: str, week: int, editor: int) -> tuple[set[int], datetime] | None:
        """What ``editor`` ticked and has not saved, and when they last changed it (``None``: nothing yet)."""
        row = await self.db.fetchone(
            "SELECT present, updated_at FROM attendance_drafts"
            " WHERE section = ? COLLATE NOCASE AND week = ? AND editor_id = ?",
            (section, week, editor),
        )
        return ({int(i) for i in json.loads(row["present"])}, from_db(row["updated_at"])) if row else None

    async def set_draft(self, section: str, week: int, editor: int, present: Iterable[int], now: datetime) -> None:
        """Keep what ``editor`` ticked."""
        await self.db.execute(
            "INSERT INTO attendance_drafts (section, week, editor_id, present, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (section, week, editor_id) DO UPDATE SET present = excluded.present,"
            " updated_at = excluded.updated_at",
            (section, week, editor, json.dumps(sorted(set(present))), to_db(now)),
        )

    # ---- check-in windows -----------------------------------------------------------------------------
    async def open_window(
        self, section: str, week: int, code: str, *, by: int | None, now: datetime, expires: datetime
    ) -> Window:
        """Open a window (an earlier one of the section still open is closed now: the new code replaces it)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE checkin_windows SET expires_at = ? WHERE section = ? COLLATE NOCASE AND expires_at > ?",
                (to_db(now), section, to_db(now)),
            )
            cur = await conn.execute(
                "INSERT INTO checkin_windows (section, week, code, opened_by, opened_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (section, week, code, by, to_db(now), to_db(expires)),
            )
            window_id = int(cur.lastrowid or 0)
        row = await self.db.fetchone("SELECT * FROM checkin_windows WHERE id = ?", (window_id,))
        assert row is not None
        return _window(row)

    async def code_in_use(self, code: str, now: datetime) -> bool:
        """Whether an open window already has ``code``."""
        return bool(
            await self.db.fetchval(
                "SELECT 1 FROM checkin_windows WHERE code = ? AND expires_at > ? LIMIT 1", (code, to_db(now))
            )
        )

    async def open_windows(self, sections: Iterable[str], now: datetime) -> list[Window]:
        """Windows of these sections open at ``now``, newest first."""
        names = list(sections)
        if not names:
            return []
        marks = ",".join("?" * len(names))
        rows = await self.db.fetchall(  # section is COLLATE NOCASE, so IN compares without case
            f"SELECT * FROM checkin_windows WHERE section IN ({marks}) AND opened_at <= ? AND expires_at > ?"
            " ORDER BY id DESC",
            (*names, to_db(now), to_db(now)),
        )
        return [_window(r) for r in rows]

    async def windows_with_code(self, code: str) -> list[Window]:
        """Every window that had ``code``, newest first."""
        rows = await self.db.fetchall("SELECT * FROM checkin_windows WHERE code = ? ORDER BY id DESC", (code,))
        return [_window(r) for r in rows]

    async def failures(self, window_id: int, person_id: int) -> int:
        """Wrong codes ``person_id`` typed while ``window_id`` was open."""
        value = await self.db.fetchval(
            "SELECT tries FROM checkin_failures WHERE window_id = ? AND person_id = ?", (window_id, person_id)
        )
        return int(value or 0)

    async def add_failure(self, window_id: int, person_id: int, now: datetime) -> int:
        """Count one more wrong code; return the count."""
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO checkin_failures (window_id, person_id, tries, last_at) VALUES (?, ?, 1, ?)"
                " ON CONFLICT (window_id, person_id) DO UPDATE SET tries = tries + 1, last_at = excluded.last_at",
                (window_id, person_id, to_db(now)),
            )
            return await self.failures(window_id, person_id)

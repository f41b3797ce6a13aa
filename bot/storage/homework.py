"""Homework storage: submissions (every one kept, the latest counts) and extensions (one per person and week)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.clock import from_db, to_db
from bot.storage.db import Database


@dataclass(frozen=True)
class Submission:
    """One submission; ``late`` was judged against the deadline in force (due time or extension)."""

    id: int
    person_id: int
    week: int
    link: str | None
    text: str | None
    file_name: str | None
    file_size: int | None
    file_url: str | None
    submitted_at: datetime
    late: bool
    platform: str

    def summary(self, text_chars: int = 60) -> str:
        """A short description of what was handed in: link, file and the start of the text."""
        parts = []
        if self.link:
            parts.append(self.link)
        if self.file_name:
            parts.append(f"file {self.file_name} ({human_size(self.file_size or 0)})")
        elif self.file_url:
            parts.append(self.file_url)
        if self.text:
            short = " ".join(self.text.split())
            parts.append(f'"{short[:text_chars]}…"' if len(short) > text_chars else f'"{short}"')
        return "; ".join(parts) or "(empty)"


@dataclass(frozen=True)
class Extension:
    """A new deadline for one person and week."""

    person_id: int
    week: int
    until: datetime
    granted_by: int | None
    granted_at: datetime


@dataclass(frozen=True)
class NewSubmission:
    """What /submit records."""

    person_id: int
    week: int
    submitted_at: datetime
    late: bool
    platform: str
    link: str | None = None
    text: str | None = None
    file_name: str | None = None
    file_content: bytes | None = None
    file_url: str | None = None


def human_size(size: int) -> str:
    """``532 bytes``, ``12.3 KB``, ``4.0 MB``."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _submission(row) -> Submission:  # noqa: ANN001 - aiosqlite.Row
    return Submission(
        id=row["id"],
        person_id=row["person_id"],
        week=row["week"],
        link=row["link"],
        text=row["text"],
        file_name=row["file_name"],
        file_size=row["file_size"],
        file_url=row["file_url"],
        submitted_at=from_db(row["submitted_at"]),
        late=bool(row["late"]),
        platform=row["platform"],
    )


def _extension(row) -> Extension:  # noqa: ANN001 - aiosqlite.Row
    return Extension(
        person_id=row["person_id"],
        week=row["week"],
        until=from_db(row["until"]),
        granted_by=row["granted_by"],
        granted_at=from_db(row["granted_at"]),
    )


SUBMISSION_COLUMNS = "id, person_id, week, link, text, file_name, file_size, file_url, submitted_at, late, platform"
LATEST = (
    f"SELECT {SUBMISSION_COLUMNS} FROM submissions s WHERE s.id = ("
    " SELECT s2.id FROM submissions s2 WHERE s2.person_id = s.person_id AND s2.week = s.week"
    " ORDER BY s2.submitted_at DESC, s2.id DESC LIMIT 1)"
)


class HomeworkRepo:
    """Reads and writes submissions and extensions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- submissions ----------------------------------------------------------------------------------
    async def add_submission(self, new: NewSubmission) -> Submission:
        """Record a submission (earlier ones for the same week stay, as history)."""
        size = len(new.file_content) if new.file_content is not None else None
        cur = await self.db.execute(
            "INSERT INTO submissions (person_id, week, link, text, file_name, file_size, file_content, file_url,"
            " submitted_at, late, platform) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new.person_id,
                new.week,
                new.link,
                new.text,
                new.file_name,
                size,
                new.file_content,
                new.file_url,
                to_db(new.submitted_at),
                int(new.late),
                new.platform,
            ),
        )
        row = await self.db.fetchone(f"SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE id = ?", (cur.lastrowid,))
        assert row is not None
        return _submission(row)

    async def history(self, person_id: int, week: int | None = None) -> list[Submission]:
        """A person's submissions (for one week, or all), oldest first."""
        sql = f"SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE person_id = ?"
        params: list = [person_id]
        if week is not None:
            sql += " AND week = ?"
            params.append(week)
        rows = await self.db.fetchall(sql + " ORDER BY week, submitted_at, id", params)
        return [_submission(r) for r in rows]

    async def latest(self, week: int | None = None) -> dict[tuple[int, int], Submission]:
        """The submission that counts, by ``(person_id, week)`` (one week, or all)."""
        sql, params = LATEST, []
        if week is not None:
            sql += " AND s.week = ?"
            params.append(week)
        rows = await self.db.fetchall(sql, params)
        return {(r["person_id"], r["week"]): _submission(r) for r in rows}

    async def counts(self, week: int | None = None) -> dict[tuple[int, int], int]:
        """How many times each person submitted, by ``(person_id, week)``."""
        sql = "SELECT person_id, week, COUNT(*) AS n FROM submissions"
        params: list = []
        if week is not None:
            sql += " WHERE week = ?"
            params.append(week)
        rows = await self.db.fetchall(sql + " GROUP BY person_id, week", params)
        return {(r["person_id"], r["week"]): r["n"] for r in rows}

    async def file(self, submission_id: int) -> tuple[str, bytes] | None:
        """The uploaded file of a submission: ``(name, bytes)``."""
        row = await self.db.fetchone(
            "SELECT file_name, file_content FROM submissions WHERE id = ? AND file_content IS NOT NULL",
            (submission_id,),
        )
        return (row["file_name"], bytes(row["file_content"])) if row else None

    # ---- extensions -----------------------------------------------------------------------------------
    async def extension(self, person_id: int, week: int) -> Extension | None:
        """The extension for this person and week, if any."""
        row = await self.db.fetchone("SELECT * FROM extensions WHERE person_id = ? AND week = ?", (person_id, week))
        return _extension(row) if row else None

    async def extensions(self, week: int | None = None) -> dict[tuple[int, int], Extension]:
        """Every extension, by ``(person_id, week)`` (one week, or all)."""
        if week is None:
            rows = await self.db.fetchall("SELECT * FROM extensions")
        else:
            rows = await self.db.fetchall("SELECT * FROM extensions WHERE week = ?", (week,))
        return {(r["person_id"], r["week"]): _extension(r) for r in rows}

    async def set_extension(
        self, person_id: int, week: int, until: datetime, granted_by: int | None, now: datetime
    ) -> int:
        """Grant (or replace) an extension and re-judge that week's submissions against it.

        Returns how many of the person's submissions for the week changed from late to on time (or back).
        Joins the caller's transaction if there is one.
        """
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO extensions (person_id, week, until, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (person_id, week) DO UPDATE SET until = excluded.until,"
                " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                (person_id, week, to_db(until), granted_by, to_db(now)),
            )
            before = conn.total_changes
            await conn.execute(
                "UPDATE submissions SET late = (submitted_at > ?) WHERE person_id = ? AND week = ?"
                " AND late != (submitted_at > ?)",
                (to_db(until), person_id, week, to_db(until)),
            )
            return conn.total_changes - before

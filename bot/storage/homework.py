"""Homework storage: submissions (every one kept, the latest counts) and extensions (one per person and week).

The views (a week's statuses for some sections, a person's weeks, the export) are single SQL queries that join
the roster, the latest submission, the number of versions and the extension per person and week, by index
(:func:`status_query`); they cost the rows they return, never the whole course.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.clock import from_db, to_db
from bot.core.util import batched
from bot.storage.db import Database, Statement

SECTION_SEPARATOR = "\x1f"


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
    text_chars: int | None = None  # the full text's length when ``text`` holds only its start (list views)

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
    revision: int = 1  # numbers the grants for this person and week: bumped whenever ``until`` changes


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


@dataclass(frozen=True)
class Member:
    """A scholar as the homework views list them, read in the same query as their homework."""

    id: int
    name: str
    email: str
    track: str | None = None
    sections: tuple[str, ...] = ()

    def in_section(self, section: str) -> bool:
        """Whether this person belongs to ``section`` (any case)."""
        return section.casefold() in {s.casefold() for s in self.sections}


@dataclass(frozen=True)
class StatusRow:
    """One scholar's homework for one week: the submission that counts, how many there were, the extension."""

    person: Member
    week: int
    latest: Submission | None
    count: int
    extension: Extension | None


def _sections(value: str | None) -> tuple[str, ...]:
    return tuple(sorted(value.split(SECTION_SEPARATOR), key=str.casefold)) if value else ()


def status_row(row) -> StatusRow:  # noqa: ANN001 - aiosqlite.Row
    """A row of :func:`status_query` as a :class:`StatusRow`."""
    person = Member(row["person_id"], row["name"], row["email"], row["track"], _sections(row["sections"]))
    latest = _submission(row, "sid", preview=True) if row["sid"] is not None else None
    extension = _extension(row) if row["until"] is not None else None
    return StatusRow(person, row["week"], latest, row["versions"], extension)


ACTIVE = " AND p.removed_at IS NULL"  # still on the roster (removed people keep their history, for exports)

# Up to this many characters of a submission's text are read for list views (they show its start).
TEXT_PREVIEW = 400


def _in_sections(sections: Sequence[str] | None, params: list) -> str:
    if sections is None:
        return ""
    params.extend(sections)
    marks = ", ".join("?" for _ in sections) or "NULL"
    return f" AND EXISTS (SELECT 1 FROM person_sections f WHERE f.person_id = p.id AND f.section IN ({marks}))"


# Columns a status query may select, besides those of ``p`` (the person), ``s`` (the submission that counts, or
# NULLs), ``e`` (the extension, or NULLs) and ``w`` (``week``, and ``due`` as stored, when given).
VERSIONS = (
    "CASE WHEN s.id IS NULL THEN 0 ELSE (SELECT COUNT(*) FROM submissions c"
    " WHERE c.person_id = p.id AND c.week = w.week) END"
)
SECTIONS = "(SELECT group_concat(ps.section, char(31)) FROM person_sections ps WHERE ps.person_id = p.id)"
# A scholar has one section; anyone with more gets them by name, comma-separated (as Status.section shows them).
SECTION_LIST = (
    "(SELECT group_concat(section, ', ') FROM (SELECT ps.section FROM person_sections ps"
    " WHERE ps.person_id = p.id ORDER BY ps.section COLLATE NOCASE))"
)


def weekly_query(
    columns: str,
    weeks: Sequence[int],
    *,
    dues: Sequence[str] | None = None,
    now: str | None = None,
    sections: Sequence[str] | None = None,
    person_id: int | None = None,
    include_removed: bool = False,
) -> tuple[str, list]:
    """SQL (and parameters) selecting ``columns`` for every scholar (in ``sections``, or one person) and week;
    people taken off the roster only with ``include_removed`` (exports keep their history).

    One row per person and week (weeks in the given order, people by name), by index: the person ``p``, the
    submission that counts ``s`` (the latest), the extension ``e``, and ``w.week`` (with ``w.due`` and ``w.now``,
    the stored due times ``dues`` and the time ``now``, if given). Large views select their CSV columns here,
    formatted by SQL, so that writing them costs next to nothing per row.
    """
    params: list = []
    values = ", ".join(f"({n}, ?, ?, ?)" for n in range(len(weeks)))
    for n, week in enumerate(weeks):
        params.extend((week, dues[n] if dues else None, now))
    sql = (
        f"WITH w(position, week, due, now) AS (VALUES {values}) SELECT {columns}"
        " FROM w CROSS JOIN people p"
        " LEFT JOIN submissions s ON s.id = (SELECT s2.id FROM submissions s2"
        "  WHERE s2.person_id = p.id AND s2.week = w.week ORDER BY s2.submitted_at DESC, s2.id DESC LIMIT 1)"
        " LEFT JOIN extensions e ON e.person_id = p.id AND e.week = w.week"
    )
    if person_id is not None:  # one person's own weeks
        sql += " WHERE p.id = ?"
        params.append(person_id)
    else:
        sql += " WHERE p.role = 'scholar'" + ("" if include_removed else ACTIVE)
    sql += _in_sections(sections, params)
    return sql + " ORDER BY w.position, p.name COLLATE NOCASE, p.id", params


def status_query(
    weeks: Sequence[int],
    *,
    sections: Sequence[str] | None = None,
    person_id: int | None = None,
    preview: int = TEXT_PREVIEW,
) -> tuple[str, list]:
    """SQL (and parameters) for the status of every scholar (in ``sections``, or one person) in ``weeks``: who
    (with their sections), the latest submission (the first ``preview`` characters of its text, and its full
    length), the number of versions and the extension. Read with :func:`status_row`."""
    columns = (
        f"w.week, p.id AS person_id, p.name, p.email, p.track, {SECTIONS} AS sections,"
        f" s.id AS sid, s.link, substr(s.text, 1, {int(preview)}) AS text, length(s.text) AS text_chars,"
        f" s.file_name, s.file_size, s.file_url, s.submitted_at, s.late, s.platform, {VERSIONS} AS versions,"
        " e.until, e.granted_by, e.granted_at, e.revision"
    )
    return weekly_query(columns, weeks, sections=sections, person_id=person_id)


def scholar_count_query(sections: Sequence[str] | None = None) -> tuple[str, list]:
    """SQL counting the scholars (in ``sections``): by index, to decide between a table and a file."""
    params: list = []
    sql = f"SELECT COUNT(*) FROM people p WHERE p.role = 'scholar'{ACTIVE}" + _in_sections(sections, params)
    return sql, params


def _submission(row, id_column: str = "id", *, preview: bool = False) -> Submission:  # noqa: ANN001 - aiosqlite.Row
    return Submission(
        id=row[id_column],
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
        text_chars=row["text_chars"] if preview else None,
    )


def _extension(row) -> Extension:  # noqa: ANN001 - aiosqlite.Row
    return Extension(
        person_id=row["person_id"],
        week=row["week"],
        until=from_db(row["until"]),
        granted_by=row["granted_by"],
        granted_at=from_db(row["granted_at"]),
        revision=row["revision"],
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
    async def add_submission(self, new: NewSubmission, *, also: Sequence[Statement] = ()) -> Submission:
        """Record a submission (earlier ones for the same week stay, as history): one trip to the writer, one
        transaction, with the statements ``also`` run after the insert (what the submission makes unneeded)."""
        size = len(new.file_content) if new.file_content is not None else None
        insert = (
            "INSERT INTO submissions (person_id, week, link, text, file_name, file_size, file_content, file_url,"
            f" submitted_at, late, platform) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {SUBMISSION_COLUMNS}",
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
        [[row], *_] = await self.db.atomic([insert, *also])
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

    async def of_people(
        self, week: int, person_ids: Sequence[int]
    ) -> tuple[dict[int, Submission], dict[int, Extension]]:
        """The submission that counts and the extension for ``week`` of just ``person_ids``, by person id.

        Index lookups per person (``submissions_by_person_week``, the extensions' key), a batch of ids per
        query: the cost is the audience's, not the week's whole cohort.
        """
        latest: dict[int, Submission] = {}
        extensions: dict[int, Extension] = {}
        for chunk in batched(dict.fromkeys(person_ids)):
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(f"{LATEST} AND s.week = ? AND s.person_id IN ({marks})", [week, *chunk])
            latest.update((r["person_id"], _submission(r)) for r in rows)
            rows = await self.db.fetchall(
                f"SELECT * FROM extensions WHERE week = ? AND person_id IN ({marks})", [week, *chunk]
            )
            extensions.update((r["person_id"], _extension(r)) for r in rows)
        return latest, extensions

    async def file(self, submission_id: int) -> tuple[str, bytes] | None:
        """The uploaded file of a submission: ``(name, bytes)``."""
        row = await self.db.fetchone(
            "SELECT file_name, file_content FROM submissions WHERE id = ? AND file_content IS NOT NULL",
            (submission_id,),
        )
        return (row["file_name"], bytes(row["file_content"])) if row else None

    # ---- views (one query each) -----------------------------------------------------------------------
    async def statuses(
        self,
        weeks: Sequence[int],
        *,
        sections: Sequence[str] | None = None,
        person_id: int | None = None,
        preview: int = TEXT_PREVIEW,
    ) -> list[StatusRow]:
        """Every scholar's status in ``weeks`` (see :func:`status_query`), all at once: for bounded audiences."""
        sql, params = status_query(weeks, sections=sections, person_id=person_id, preview=preview)
        return [status_row(r) for r in await self.db.fetchall(sql, params)]

    async def unsubmitted(self, week: int) -> list[int]:
        """Ids of the scholars with neither a submission nor an extension for ``week``, by name."""
        rows = await self.db.fetchall(
            f"SELECT p.id FROM people p WHERE p.role = 'scholar'{ACTIVE}"
            " AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.person_id = p.id AND s.week = ?)"
            " AND NOT EXISTS (SELECT 1 FROM extensions e WHERE e.person_id = p.id AND e.week = ?)"
            " ORDER BY p.name COLLATE NOCASE, p.id",
            (week, week),
        )
        return [r[0] for r in rows]

    async def scholar_count(self, sections: Sequence[str] | None = None) -> int:
        """How many scholars there are (in ``sections``)."""
        sql, params = scholar_count_query(sections)
        return int(await self.db.fetchval(sql, params) or 0)

    async def standing(self, person_id: int, week: int) -> tuple[Extension | None, int]:
        """A person's extension for ``week`` (if any) and how many times they have submitted it: one query, for
        ``/submit``'s hot path."""
        row = await self.db.fetchone(
            "SELECT (SELECT COUNT(*) FROM submissions WHERE person_id = ?1 AND week = ?2) AS versions,"
            " e.person_id, e.week, e.until, e.granted_by, e.granted_at, e.revision"
            " FROM (SELECT 1) LEFT JOIN extensions e ON e.person_id = ?1 AND e.week = ?2",
            (person_id, week),
        )
        assert row is not None
        return (_extension(row) if row["until"] is not None else None), int(row["versions"])

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
    ) -> tuple[Extension, int]:
        """Grant (or replace) an extension and re-judge that week's submissions against it.

        Returns the extension as stored (its ``revision`` bumped if ``until`` changed, so that each new deadline
        has its own DM and reminder, even a return to an earlier one) and how many of the person's submissions
        for the week changed from late to on time (or back). Joins the caller's transaction if there is one.
        """
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO extensions (person_id, week, until, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (person_id, week) DO UPDATE SET revision = revision + (until != excluded.until),"
                " until = excluded.until, granted_by = excluded.granted_by, granted_at = excluded.granted_at"
                " RETURNING *",
                (person_id, week, to_db(until), granted_by, to_db(now)),
            )
            row = await cursor.fetchone()
            await cursor.close()
            before = conn.total_changes
            await conn.execute(
                "UPDATE submissions SET late = (submitted_at > ?) WHERE person_id = ? AND week = ?"
                " AND late != (submitted_at > ?)",
                (to_db(until), person_id, week, to_db(until)),
            )
            return _extension(row), conn.total_changes - before

    async def unplanned_extensions(self) -> list[tuple[Extension, bool]]:
        """Extensions whose reminder was never queued (granted before reminders were outbox rows), each with
        whether the person has submitted that week."""
        rows = await self.db.fetchall(
            "SELECT e.*, EXISTS (SELECT 1 FROM submissions s WHERE s.person_id = e.person_id AND s.week = e.week)"
            " AS submitted FROM extensions e WHERE e.reminder_planned = 0 ORDER BY e.person_id, e.week"
        )
        return [(_extension(r), bool(r["submitted"])) for r in rows]

    async def mark_reminders_planned(self, keys: Iterable[tuple[int, int]]) -> None:
        """Record that the reminders of these ``(person_id, week)`` extensions are queued (or not needed).

        Joins the caller's transaction if there is one.
        """
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE extensions SET reminder_planned = 1 WHERE person_id = ? AND week = ?", [tuple(k) for k in keys]
            )

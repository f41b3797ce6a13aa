"""Announcements in the database (migration 0015): the announcement, its state, and who it is for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core.clock import from_db, to_db
from bot.core.messages import Message

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.storage.db import Database

# draft: previewed, nothing queued; scheduled: Send pressed, waiting for its time; sending: its outbox rows are
# queued; done: every row settled and the author told; cancelled: never went out.
STATES = ("draft", "scheduled", "sending", "done", "cancelled")


@dataclass(frozen=True)
class Announcement:
    """One announcement (a row of ``announcements``)."""

    id: int
    author_id: int | None
    audience: str
    label: str
    message: Message
    dm: bool
    channel: str | None
    send_at: datetime
    scheduled: bool
    state: str
    round: int
    created_at: datetime
    confirmed_at: datetime | None
    started_at: datetime | None
    done_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: int | None

    @property
    def how(self) -> str:
        """``by DM to each person`` or ``posted in #channel``."""
        return "by DM to each person" if self.dm else f"posted in #{self.channel}"


@dataclass(frozen=True)
class NewAnnouncement:
    """A previewed announcement to store as a draft."""

    author_id: int
    audience: str
    label: str
    message: Message
    dm: bool
    channel: str | None
    send_at: datetime
    scheduled: bool


def _when(value: str | None) -> datetime | None:
    return from_db(value) if value else None


def _row(row: Mapping[str, Any]) -> Announcement:
    return Announcement(
        id=row["id"],
        author_id=row["author_id"],
        audience=row["audience"],
        label=row["label"],
        message=Message.model_validate_json(row["message"]),
        dm=bool(row["dm"]),
        channel=row["channel"],
        send_at=from_db(row["send_at"]),
        scheduled=bool(row["scheduled"]),
        state=row["state"],
        round=row["round"],
        created_at=from_db(row["created_at"]),
        confirmed_at=_when(row["confirmed_at"]),
        started_at=_when(row["started_at"]),
        done_at=_when(row["done_at"]),
        cancelled_at=_when(row["cancelled_at"]),
        cancelled_by=row["cancelled_by"],
    )


class AnnouncementsRepo:
    """Reads and writes announcements; every method is one or two SQL statements, never one per person."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_draft(self, new: NewAnnouncement, recipients: Iterable[int], now: datetime) -> int:
        """Store a previewed announcement and who it is for; return its id."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO announcements (author_id, audience, label, message, dm, channel, send_at, scheduled,"
                " state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?)",
                (
                    new.author_id,
                    new.audience,
                    new.label,
                    new.message.model_dump_json(),
                    int(new.dm),
                    new.channel,
                    to_db(new.send_at),
                    int(new.scheduled),
                    to_db(now),
                ),
            )
            announcement_id = int(cursor.lastrowid or 0)
            await conn.executemany(
                "INSERT OR IGNORE INTO announcement_recipients (announcement_id, person_id) VALUES (?, ?)",
                [(announcement_id, person_id) for person_id in recipients],
            )
        return announcement_id

    async def get(self, announcement_id: int) -> Announcement | None:
        """The announcement with this id."""
        row = await self.db.fetchone("SELECT * FROM announcements WHERE id = ?", (announcement_id,))
        return _row(row) if row else None

    async def in_state(self, state: str) -> list[Announcement]:
        """Every announcement in ``state``, by time."""
        rows = await self.db.fetchall("SELECT * FROM announcements WHERE state = ? ORDER BY send_at, id", (state,))
        return [_row(r) for r in rows]

    async def listing(self, author_id: int | None, limit: int) -> tuple[list[Announcement], list[Announcement]]:
        """Scheduled ones (soonest first) and the ``limit`` most recent others (newest first), drafts left out;
        only ``author_id``'s when given."""
        mine = "" if author_id is None else " AND author_id = ?"
        params: tuple = () if author_id is None else (author_id,)
        scheduled = await self.db.fetchall(
            f"SELECT * FROM announcements WHERE state = 'scheduled'{mine} ORDER BY send_at, id LIMIT 25", params
        )
        recent = await self.db.fetchall(
            f"SELECT * FROM announcements WHERE state IN ('sending', 'done', 'cancelled'){mine}"
            " ORDER BY COALESCE(started_at, cancelled_at, send_at) DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [_row(r) for r in scheduled], [_row(r) for r in recent]

    async def recipient_ids(self, announcement_id: int) -> list[int]:
        """Who it is for (person ids)."""
        rows = await self.db.fetchall(
            "SELECT person_id FROM announcement_recipients WHERE announcement_id = ? ORDER BY person_id",
            (announcement_id,),
        )
        return [r["person_id"] for r in rows]

    async def size(self, announcement_id: int) -> int:
        """How many people it is for."""
        value = await self.db.fetchval(
            "SELECT COUNT(*) FROM announcement_recipients WHERE announcement_id = ?", (announcement_id,)
        )
        return int(value or 0)

    async def unreachable(self, announcement_id: int) -> dict[int, str]:
        """Person id -> why they got no outbox row (no account linked, not in the server or workspace)."""
        rows = await self.db.fetchall(
            "SELECT person_id, unreachable FROM announcement_recipients"
            " WHERE announcement_id = ? AND unreachable IS NOT NULL",
            (announcement_id,),
        )
        return {r["person_id"]: r["unreachable"] for r in rows}

    async def set_unreachable(self, announcement_id: int, reasons: Mapping[int, str | None]) -> None:
        """Record why each of these people could not be reached (``None``: they could, after all)."""
        if reasons:
            await self.db.executemany(
                "UPDATE announcement_recipients SET unreachable = ? WHERE announcement_id = ? AND person_id = ?",
                [(reason, announcement_id, person_id) for person_id, reason in reasons.items()],
            )

    async def move(self, announcement_id: int, old: Iterable[str], new: str, **fields: Any) -> bool:
        """Change the state from one of ``old`` to ``new`` (setting ``fields``, datetimes stored as UTC); ``False``
        if it was in no state of ``old`` (someone was quicker: the caller says what happened instead)."""
        olds = list(old)
        values = {k: to_db(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        assignments = "".join(f", {k} = ?" for k in values)
        marks = ", ".join("?" * len(olds))
        cursor = await self.db.execute(
            f"UPDATE announcements SET state = ?{assignments} WHERE id = ? AND state IN ({marks})",
            (new, *values.values(), announcement_id, *olds),
        )
        return cursor.rowcount == 1

    async def missed(self, announcement_ids: Iterable[int]) -> dict[int, str]:
        """Scheduled announcements whose job was given up (the bot was down past the misfire grace): id -> why."""
        jobs = {f"announce:{i}": i for i in announcement_ids}
        if not jobs:
            return {}
        marks = ", ".join("?" * len(jobs))
        rows = await self.db.fetchall(
            f"SELECT job_id, reason FROM job_runs WHERE state = 'skipped' AND job_id IN ({marks})", list(jobs)
        )
        return {jobs[r["job_id"]]: r["reason"] or "the bot was not running at its time" for r in rows}

    async def oldest_draft(self) -> tuple[int, datetime] | None:
        """The id and preview time of the oldest draft (a preview never sent), or ``None`` if there is none."""
        row = await self.db.fetchone(
            "SELECT id, created_at FROM announcements WHERE state = 'draft' ORDER BY created_at, id LIMIT 1"
        )
        return (row["id"], from_db(row["created_at"])) if row else None

    async def purge_drafts(self, until: datetime) -> int:
        """Delete the drafts previewed at or before ``until`` (their Send expired long ago) with who they were for;
        return how many."""
        async with self.db.transaction() as conn:
            old = "SELECT id FROM announcements WHERE state = 'draft' AND created_at <= ?"
            await conn.execute(f"DELETE FROM announcement_recipients WHERE announcement_id IN ({old})", (to_db(until),))
            cursor = await conn.execute(
                "DELETE FROM announcements WHERE state = 'draft' AND created_at <= ?", (to_db(until),)
            )
            return cursor.rowcount

    async def ids_on_track(self, track: str) -> list[int]:
        """Everyone on the roster (not removed) whose track is ``track``."""
        rows = await self.db.fetchall(
            "SELECT id FROM people WHERE track = ? COLLATE NOCASE AND removed_at IS NULL", (track,)
        )
        return [r["id"] for r in rows]


def repo(app: CohortBot) -> AnnouncementsRepo:
    """The repository (stateless, so a new one is as good as a kept one)."""
    return AnnouncementsRepo(app.db)

"""What the homework commands, reminders and export share: limits, deadlines and per-person status (from SQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.cohort import Cohort, Homework
from bot.core.errors import UserError
from bot.storage.homework import (
    TEXT_PREVIEW,
    Extension,
    HomeworkRepo,
    Member,
    StatusRow,
    Submission,
)

if TYPE_CHECKING:
    from bot.app import CohortBot

MAX_FILE_BYTES = 8 * 1024 * 1024  # Discord's own upload limit for most servers
MAX_TEXT = 4000  # the longest text a Discord modal or Slack view input takes
INLINE_ROWS = 25  # longer lists come as a CSV file
STREAM_BATCH = 500  # rows read at a time from a heavy (streamed) query
Rows = AsyncIterator[list[Any]]  # batches of database rows


def repo(app: CohortBot) -> HomeworkRepo:
    """The homework repository (stateless, so a new one is as good as a kept one)."""
    return HomeworkRepo(app.db)


def homework_weeks(cohort: Cohort) -> list[int]:
    """Numbers of the weeks that have homework."""
    return [w.number for w in cohort.weeks if w.homework is not None]


def require_homework(cohort: Cohort, week: int, field: str = "week") -> tuple[Homework, datetime]:
    """Week ``week``'s homework and due time (UTC), or a clear :class:`UserError`."""
    found = cohort.week(week)
    if found is None:
        raise UserError(f"There is no week {week}: this cohort has weeks 1–{len(cohort.weeks)}.", field=field)
    due = cohort.due(week)
    if found.homework is None or due is None:
        with_hw = ", ".join(str(n) for n in homework_weeks(cohort)) or "none"
        raise UserError(f"Week {week} has no homework (weeks with homework: {with_hw}).", field=field)
    return found.homework, due


def deadline(due: datetime, extension: Extension | None) -> datetime:
    """The deadline in force: the extension's if there is one, else the due time."""
    return extension.until if extension is not None else due


def is_late(submitted_at: datetime, limit: datetime) -> bool:
    """Late means strictly after the deadline, to the second (a submission at 23:59:00 for 23:59 is on time)."""
    return submitted_at.replace(microsecond=0) > limit.replace(microsecond=0)


def default_week(cohort: Cohort, now: datetime) -> int:
    """The current week if it has homework, else the nearest earlier (or the first) week with homework."""
    weeks = homework_weeks(cohort)
    if not weeks:
        raise UserError("This cohort has no homework.")
    current = cohort.current_week(now)
    earlier = [n for n in weeks if n <= current]
    return earlier[-1] if earlier else weeks[0]


@dataclass(frozen=True)
class Status:
    """One person's homework for one week: the submission that counts, how many there were, any extension."""

    person: Member
    week: int
    due: datetime
    latest: Submission | None
    count: int
    extension: Extension | None

    @classmethod
    def of(cls, row: StatusRow, due: datetime) -> Status:
        """The status in ``row`` (from the repository), with the week's due time."""
        return cls(row.person, row.week, due, row.latest, row.count, row.extension)

    @property
    def deadline(self) -> datetime:
        """Due time, or the extension."""
        return deadline(self.due, self.extension)

    @property
    def submitted(self) -> bool:
        """Whether anything was handed in."""
        return self.latest is not None

    @property
    def section(self) -> str:
        """The person's section(s), comma-separated."""
        return ", ".join(self.person.sections)


def _dues(app: CohortBot, weeks: list[int]) -> dict[int, datetime]:
    return {w: due for w in weeks if (due := app.cohort.due(w)) is not None}


async def statuses(
    app: CohortBot,
    weeks: list[int],
    *,
    sections: Sequence[str] | None = None,
    person_id: int | None = None,
    preview: int = TEXT_PREVIEW,
) -> list[Status]:
    """Status rows for the scholars (in ``sections``, or one person) in ``weeks`` (weeks first, then people by
    name), read in one query; weeks without homework are left out. For bounded audiences: a whole-course list
    selects its CSV columns with :func:`bot.storage.homework.weekly_query` and reads them with :func:`stream_rows`."""
    dues = _dues(app, weeks)
    if not dues:
        return []
    found = await repo(app).statuses(list(dues), sections=sections, person_id=person_id, preview=preview)
    return [Status.of(r, dues[r.week]) for r in found]


async def stream_rows(app: CohortBot, sql: str, params: Sequence[object], batch: int = STREAM_BATCH) -> Rows:
    """The rows of a large query, ``batch`` at a time, from a heavy read (:meth:`Database.heavy`: one at a time,
    on its own connection): memory stays bounded however large the course."""
    async with app.db.heavy() as conn, conn.execute(sql, tuple(params)) as cursor:
        while rows := await cursor.fetchmany(batch):
            yield rows

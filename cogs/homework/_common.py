"""What the homework commands, reminders and export share: limits, deadlines and per-person status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.cohort import Cohort, Homework
from bot.core.errors import UserError
from bot.core.people import Person
from bot.core.roles import Role
from bot.storage.homework import Extension, HomeworkRepo, Submission

if TYPE_CHECKING:
    from bot.app import CohortBot

MAX_FILE_BYTES = 8 * 1024 * 1024  # Discord's own upload limit for most servers
MAX_TEXT = 4000  # the longest text a Discord modal or Slack view input takes
INLINE_ROWS = 25  # longer lists come as a CSV file


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


async def scholars(app: CohortBot, *, include_removed: bool = False) -> list[Person]:
    """Everyone who hands in homework: the scholars on the roster, by name (``include_removed``: also those
    taken off it since, whose history exports keep)."""
    return await app.people.with_role(Role.SCHOLAR, include_removed=include_removed)


@dataclass(frozen=True)
class Status:
    """One person's homework for one week: the submission that counts, how many there were, any extension."""

    person: Person
    week: int
    due: datetime
    latest: Submission | None
    count: int
    extension: Extension | None

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


async def statuses(app: CohortBot, weeks: list[int], people: list[Person]) -> list[Status]:
    """Status rows for every person in ``people`` and every week in ``weeks`` (weeks first, then people)."""
    homework = repo(app)
    latest = await homework.latest()
    counts = await homework.counts()
    extensions = await homework.extensions()
    out = []
    for week in weeks:
        due = app.cohort.due(week)
        if due is None:
            continue
        for p in people:
            key = (p.id, week)
            out.append(Status(p, week, due, latest.get(key), counts.get(key, 0), extensions.get(key)))
    return out

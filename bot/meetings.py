"""Section meetings: each section's weekly meeting from the cohort file, with one-off moves and cancellations.

The weekly pattern (weekday, local start, zone, length) is in the cohort file, with per-week ``exceptions`` there
(skip a week, or another date or time for one week); ``meeting_changes`` in the database holds what was changed
later for one week (moved to another time, or cancelled, by ``/section move`` and ``/section cancel``).
:func:`planned` applies the file's exceptions and :class:`Meetings` the database's changes on top, so everything
that needs a meeting (reminders, ``/schedule``, calendars, attendance, stipends, pairing) sees the same one.
A cancelled meeting (or a week the file skips) is not held: nothing about it may count against anyone.

Attendance lives in another feature: it plugs into :attr:`Meetings.attendance` (an :class:`AttendanceHook`),
which ``/schedule`` and the facilitators' prep note look up at run time; without it they say it is not tracked.

Every meeting of every section (:meth:`Meetings.timetable`, 10,000 at 1,250 sections) is computed once per
cohort file and state of ``meeting_changes``, in slices that let the event loop run, and reused while neither
changed: the periodic re-plan and the planners built on it cost a query, not a rebuild (see docs/scheduling.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from bot.cohort import Cohort, SectionMeeting, exception_start
from bot.core.clock import from_db, to_db, utc
from bot.core.pause import Pause

if TYPE_CHECKING:
    from bot.app import CohortBot

Status = Literal["scheduled", "moved", "cancelled"]
T = TypeVar("T")


@dataclass(frozen=True)
class Meeting:
    """One week's meeting of one section (times in UTC)."""

    section: SectionMeeting
    week: int
    start: datetime
    end: datetime
    status: Status = "scheduled"
    reason: str | None = None
    sequence: int = 0  # 0 as planned; +1 with every change (for calendars)
    usual_start: datetime | None = None  # the weekly pattern's start, when this week's differs (moved or skipped)

    @property
    def held(self) -> bool:
        """Whether the meeting takes place (not cancelled)."""
        return self.status != "cancelled"

    @property
    def link(self) -> str | None:
        """The section's call link, if it has one."""
        return str(self.section.link) if self.section.link else None

    @property
    def location(self) -> str | None:
        """Where the section meets in person, if anywhere."""
        return self.section.location

    @property
    def channel(self) -> str | None:
        """The section's chat channel, if it has one."""
        return self.section.channel

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether this meeting's time overlaps ``[start, end)``."""
        return self.start < utc(end) and utc(start) < self.end

    @property
    def name(self) -> str:
        """The section's name."""
        return self.section.name

    @property
    def minutes(self) -> int:
        """Its length in minutes."""
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True)
class Change:
    """A row of ``meeting_changes``."""

    section: str
    week: int
    status: Status
    starts_at: datetime | None
    reason: str | None
    changed_by: int | None
    changed_at: datetime
    sequence: int


def planned(cohort: Cohort, section: SectionMeeting, week: int) -> tuple[datetime, datetime]:
    """When the cohort file says ``section`` meets in ``week`` (UTC start and end), its exceptions applied.

    A week the file skips keeps its usual slot here; :func:`planned_meeting` says it is not held.
    """
    start = exception_start(cohort, section, week) or cohort.meeting(section, week)[0]
    return start, start + timedelta(minutes=section.duration_minutes)


def planned_meeting(cohort: Cohort, section: SectionMeeting, week: int) -> Meeting:
    """``section``'s meeting in ``week`` as the cohort file has it: the weekly pattern, then that week's exception.

    A skipped week is ``cancelled``; another date or time is ``moved`` (its ``usual_start`` is the pattern's).
    Either counts as one change for calendars (``sequence`` 1), so adding an exception later updates them.
    """
    usual, usual_end = cohort.meeting(section, week)
    exception = section.exception(week)
    if exception is None:
        return Meeting(section, week, usual, usual_end)
    start, end = planned(cohort, section, week)
    if exception.skip:
        reason = exception.reason or "no meeting this week"
        return Meeting(section, week, start, end, "cancelled", reason, 1, usual)
    return Meeting(section, week, start, end, "moved", exception.reason, 1, usual if usual != start else None)


def apply(cohort: Cohort, section: SectionMeeting, week: int, change: Change | None) -> Meeting:
    """The meeting of ``section`` in ``week``: the file's time (with its exceptions), with ``change`` applied."""
    meeting = planned_meeting(cohort, section, week)
    if change is None:
        return meeting
    usual = meeting.usual_start or meeting.start
    start, end = meeting.start, meeting.end
    if change.status == "moved" and change.starts_at is not None:
        length = end - start
        start, end = change.starts_at, change.starts_at + length
    return Meeting(
        section,
        week,
        start,
        end,
        change.status,
        change.reason,
        meeting.sequence + change.sequence,
        usual if usual != start else None,
    )


@dataclass(frozen=True, eq=False)
class Timetable:
    """Every meeting of every section (by start time) as ``cohort`` and the recorded ``changes`` have them.

    :meth:`Meetings.timetable` returns the same object while neither changed, so what is derived from the meetings
    alone (a planner's jobs) is computed once per timetable with :meth:`derive`, not at every re-plan.
    """

    cohort: Cohort
    changes: dict[tuple[str, int], Change]
    meetings: tuple[Meeting, ...]
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)

    async def derive(self, key: str, make: Callable[[Timetable], Awaitable[T]]) -> T:
        """``await make(self)``, computed once for this timetable and remembered under ``key``.

        ``make`` must depend on nothing but the timetable (its cohort, changes and meetings): the result is reused
        until the cohort file or a meeting changes. Treat the result as read-only (copy a list before changing it).
        """
        if key not in self._derived:
            self._derived[key] = await make(self)
        return self._derived[key]


class AttendanceHook(Protocol):
    """What the attendance feature tells the rest (set as ``app.meetings.attendance`` in its ``setup``).

    Until it is installed, ``/schedule`` and the facilitators' prep note say attendance is not tracked.
    """

    async def recorded(self, meetings: Sequence[Meeting]) -> set[tuple[str, int]]:
        """Which of ``meetings`` have their attendance taken, as ``(section name casefolded, week)``."""
        ...

    async def missed(self, meeting: Meeting) -> list[int]:
        """The roster ids of the members marked absent (not excused) at ``meeting``."""
        ...


def latest_started(meetings: Iterable[Meeting], now: datetime) -> Meeting | None:
    """Of ``meetings``, the one that started last at or before ``now`` (moved meetings at their new time)."""
    return max((m for m in meetings if m.start <= now), key=lambda m: m.start, default=None)


class Meetings:
    """Every section's meetings, as the cohort file plans them and as changed since (``app.meetings``)."""

    def __init__(self, app: CohortBot) -> None:
        self.app = app
        # Set by the attendance feature (see AttendanceHook); None while it is not installed.
        self.attendance: AttendanceHook | None = None
        self._timetable: Timetable | None = None
        self.computed = 0  # how many times every meeting was computed (a timetable built, not reused)

    @property
    def weeks(self) -> range:
        """The course's week numbers."""
        return range(1, len(self.app.cohort.weeks) + 1)

    async def changes(self, section: str | None = None) -> dict[tuple[str, int], Change]:
        """Recorded changes, by ``(section name folded, week)`` (one query)."""
        sql = "SELECT * FROM meeting_changes"
        params: tuple = ()
        if section is not None:
            sql += " WHERE section = ? COLLATE NOCASE"
            params = (section,)
        rows = await self.app.db.fetchall(sql, params)
        return {(r["section"].casefold(), r["week"]): _change(r) for r in rows}

    async def get(self, section: str, week: int) -> Meeting | None:
        """``section``'s meeting in ``week`` (``None`` if there is no such section or week)."""
        found = self.app.cohort.section(section)
        if found is None or week not in self.weeks:
            return None
        row = await self.app.db.fetchone(
            "SELECT * FROM meeting_changes WHERE section = ? COLLATE NOCASE AND week = ?", (found.name, week)
        )
        return apply(self.app.cohort, found, week, _change(row) if row else None)

    async def of_section(self, section: str) -> list[Meeting]:
        """Every week's meeting of ``section``, in week order."""
        found = self.app.cohort.section(section)
        if found is None:
            return []
        changes = await self.changes(found.name)
        return [apply(self.app.cohort, found, w, changes.get((found.name.casefold(), w))) for w in self.weeks]

    async def current(self, section: str, now: datetime) -> Meeting | None:
        """``section``'s meeting at ``now`` ("this week's meeting"), counted in the section's own zone.

        In order: the meeting under way (``start <= now < end``); else, of the meetings that belong to the course
        week ``now`` falls in (weeks counted from ``start_date`` in the section's zone, where its meetings are
        placed) -- that week's own meeting and any other week's meeting moved into its dates -- the nearest in time
        to ``now`` (a meeting moved into this week's dates is the one a check-in code opened just before it is for,
        or whose attendance is taken just after it); else (outside the course's weeks) the latest that has started;
        else (before the course) the first. ``None`` only if there is no such section. Cancelled meetings are
        returned like the others: callers refuse them clearly. One query (see docs/sections.md).
        """
        meetings = await self.of_section(section)
        if not meetings:
            return None
        now = utc(now)
        under_way = [m for m in meetings if m.start <= now < m.end]
        if under_way:
            return max(under_way, key=lambda m: m.start)
        cohort = self.app.cohort
        zone = cohort.section_zone(meetings[0].section)
        week = cohort.week_number(now, zone)
        if week in self.weeks:
            candidates = [
                m for m in meetings if m.week == week or (m.held and cohort.week_number(m.start, zone) == week)
            ]

            def distance(m: Meeting) -> timedelta:
                return m.start - now if m.start > now else now - m.end

            return min(candidates, key=lambda m: (distance(m), m.start))
        return latest_started(meetings, now) or min(meetings, key=lambda m: m.start)

    async def of_sections(self, names: Iterable[str]) -> list[Meeting]:
        """Every week's meeting of the sections called ``names`` (unknown names left out), by start time."""
        found = {s.name: s for n in names if (s := self.app.cohort.section(n)) is not None}
        if not found:
            return []
        changes = await self.changes() if len(found) > 1 else await self.changes(next(iter(found)))
        out = [
            apply(self.app.cohort, s, w, changes.get((s.name.casefold(), w)))
            for s in found.values()
            for w in self.weeks
        ]
        return sorted(out, key=lambda m: (m.start, m.name))

    async def in_week(self, week: int) -> list[Meeting]:
        """Every section's meeting in ``week`` (by course week, wherever it was moved), by start time."""
        if week not in self.weeks:
            return []
        rows = await self.app.db.fetchall("SELECT * FROM meeting_changes WHERE week = ?", (week,))
        changes = {r["section"].casefold(): _change(r) for r in rows}
        out = [apply(self.app.cohort, s, week, changes.get(s.name.casefold())) for s in self.app.cohort.sections]
        return sorted(out, key=lambda m: (m.start, m.name))

    async def timetable(self) -> Timetable:
        """Every meeting of every section: one query for the changes, and the meetings computed only when the
        cohort file (a reload) or the changes differ from the last time; then in slices, yielding to the loop."""
        cohort = self.app.cohort
        changes = await self.changes()
        last = self._timetable
        if last is not None and last.cohort is cohort and last.changes == changes:
            return last
        weeks = range(1, len(cohort.weeks) + 1)
        out: list[Meeting] = []
        pause = Pause()
        for s in cohort.sections:
            folded = s.name.casefold()
            out.extend(apply(cohort, s, w, changes.get((folded, w))) for w in weeks)
            await pause()
        out.sort(key=lambda m: (m.start, m.name))
        made = Timetable(cohort, changes, tuple(out))
        self.computed += 1
        if self.app.cohort is cohort:  # not replaced by a reload meanwhile
            self._timetable = made
        return made

    async def all(self) -> list[Meeting]:
        """Every meeting of every section, by start time."""
        return list((await self.timetable()).meetings)

    async def between(self, start: datetime, end: datetime) -> list[Meeting]:
        """Meetings starting in ``[start, end)``, cancelled ones included, by start time."""
        return [m for m in await self.all() if utc(start) <= m.start < utc(end)]

    async def record(
        self,
        section: str,
        week: int,
        status: Status,
        *,
        starts_at: datetime | None = None,
        reason: str | None = None,
        by: int | None = None,
    ) -> Meeting:
        """Move (``status="moved"``, ``starts_at``) or cancel a meeting; return it as it now is.

        Callers check first (the section and week exist, the person may, the time makes sense): this writes.
        """
        found = self.app.cohort.section(section)
        if found is None or week not in self.weeks:
            raise ValueError(f"no meeting of {section!r} in week {week}")
        now = to_db(self.app.clock.now())
        await self.app.db.execute(
            "INSERT INTO meeting_changes (section, week, status, starts_at, reason, changed_by, changed_at, sequence)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 1)"
            " ON CONFLICT (section, week) DO UPDATE SET status = excluded.status, starts_at = excluded.starts_at,"
            " reason = excluded.reason, changed_by = excluded.changed_by, changed_at = excluded.changed_at,"
            " sequence = meeting_changes.sequence + 1",
            (found.name, week, status, to_db(starts_at) if starts_at else None, reason, by, now),
        )
        meeting = await self.get(found.name, week)
        assert meeting is not None
        return meeting


def _change(row) -> Change:  # noqa: ANN001 - aiosqlite.Row
    return Change(
        section=row["section"],
        week=row["week"],
        status=row["status"],
        starts_at=from_db(row["starts_at"]) if row["starts_at"] else None,
        reason=row["reason"],
        changed_by=row["changed_by"],
        changed_at=from_db(row["changed_at"]),
        sequence=row["sequence"],
    )

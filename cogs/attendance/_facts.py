"""Loading the stipend engine's facts from the database, for a set of scholars, in a fixed number of queries.

Meetings come from ``app.meetings`` (moves and cancellations applied), marks and recorded meetings from the
attendance tables, homework from the homework tables with one SQL aggregate (the latest submission per person
and week, with its late flag) and the extensions. Nothing is queried per person: a set of people costs one
query per 500 of them per table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.clock import from_db
from bot.core.people import Person
from bot.core.roles import Role
from bot.core.util import batched
from cogs.attendance._common import home_section, repo
from cogs.attendance._engine import HomeworkFacts, MeetingFacts, Standing, homework_state, standing

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.cohort import Cohort, StipendRule

FEW_SECTIONS = 8  # up to this many sections, their meetings are read section by section
LATEST_SUBMISSION = (
    # SQLite returns the other columns of the row holding the MAX(): the latest submission per person and week.
    "SELECT person_id, week, late, submitted_at, MAX(submitted_at || printf('%012d', id)) AS latest FROM submissions"
    " WHERE person_id IN ({marks}) GROUP BY person_id, week"
)


@dataclass(frozen=True)
class Row:
    """One scholar's standing, with their person and section (for views and exports)."""

    person: Person
    section: str | None
    standing: Standing


@dataclass(frozen=True)
class LateWork:
    """What the stipend rule makes of one scholar's homework for one week once its deadline has passed, decided
    by the engine's own :func:`homework_state` (the rule ``/stipend`` counts with)."""

    rule: StipendRule
    deadline: datetime  # the one in force (an extension's, if any)
    course_end: datetime

    def facts(self, submitted_at: datetime | None = None, late: bool = False) -> HomeworkFacts:
        """The engine's facts for nothing handed in (``None``) or one submission at ``submitted_at``."""
        return HomeworkFacts(0, self.deadline, submitted_at is not None, late, submitted_at, self.course_end)

    def still_counts(self, now: datetime) -> bool:
        """Whether homework not handed in yet may still count: before the deadline, or late within the window."""
        return homework_state(self.facts(), self.rule, now) == "open"

    def counts(self, submitted_at: datetime, late: bool) -> bool:
        """Whether a submission handed in at ``submitted_at`` (``late`` or not) counts toward the stipend."""
        return homework_state(self.facts(submitted_at, late), self.rule, submitted_at) == "counted"

    @property
    def counts_until(self) -> datetime:
        """The end of the late window (the deadline itself when late work does not count)."""
        closes = self.facts().late_until(self.rule) if self.rule.late_counts else None
        return closes or self.deadline


def stipend_rule(cohort: Cohort) -> StipendRule | None:
    """The cohort file's ``stipend:`` rule, or ``None`` when the file sets none."""
    return cohort.stipend if "stipend" in cohort.model_fields_set else None


def course_end(cohort: Cohort) -> datetime:
    """When the course ends: the start of the week after its last (late homework counts until then when the rule
    sets no ``late_grace_days``)."""
    return cohort.week_start(len(cohort.weeks) + 1)


def late_work(cohort: Cohort, person: Person, deadline: datetime) -> LateWork | None:
    """How the stipend rule treats ``person``'s late homework against ``deadline``; ``None`` when no stipend rule
    applies to them (the cohort sets none, or they are not eligible for one)."""
    rule = stipend_rule(cohort)
    if rule is None or (rule.requires_eligibility and not person.stipend_eligible):
        return None
    return LateWork(rule, deadline, course_end(cohort))


async def homework_facts(app: CohortBot, ids: list[int]) -> tuple[dict[tuple[int, int], tuple[bool, datetime]], dict]:
    """The latest submission's late flag and time by ``(person, week)``, and extensions' ends likewise."""
    latest: dict[tuple[int, int], tuple[bool, datetime]] = {}
    extensions: dict[tuple[int, int], datetime] = {}
    for chunk in batched(ids):
        marks = ",".join("?" * len(chunk))
        for r in await app.db.fetchall(LATEST_SUBMISSION.format(marks=marks), chunk):
            latest[(r["person_id"], r["week"])] = (bool(r["late"]), from_db(r["submitted_at"]))
        for r in await app.db.fetchall(
            f"SELECT person_id, week, until FROM extensions WHERE person_id IN ({marks})", chunk
        ):
            extensions[(r["person_id"], r["week"])] = from_db(r["until"])
    return latest, extensions


async def standings(app: CohortBot, people: list[Person], now: datetime | None = None) -> list[Row]:
    """Where each of ``people`` (scholars) stands now, in the order given."""
    if not people:
        return []
    now = now or app.clock.now()
    cohort = app.cohort
    rule = cohort.stipend
    ids = [p.id for p in people]
    homes = sorted({h for p in people if (h := home_section(app, p))})
    if len(homes) <= FEW_SECTIONS:  # one person, or one section: only their meetings, not the whole course's
        found = [m for h in homes for m in await app.meetings.of_section(h)]
        recorded = await repo(app).all_recorded(homes)
    else:
        found = await app.meetings.all()
        recorded = await repo(app).all_recorded()
    meetings = {(m.name.casefold(), m.week): m for m in found}
    marks: dict[int, dict[tuple[str, int], str]] = defaultdict(dict)
    for section, week, person_id, status in await repo(app).statuses_of(ids):
        marks[person_id][(section.casefold(), week)] = status
    latest, extensions = await homework_facts(app, ids)
    weeks = [w.number for w in cohort.weeks]
    end = course_end(cohort)
    week_ends = {w: cohort.week_start(w + 1) for w in weeks}
    week_starts = {w: cohort.week_start(w) for w in weeks}
    dues = {w: due for w in weeks if (due := cohort.due(w)) is not None}
    out: list[Row] = []
    for person in people:
        home = home_section(app, person)
        mine = marks.get(person.id, {})
        present_weeks = {w for (s, w), status in mine.items() if status == "present" and s != (home or "").casefold()}
        facts: list[MeetingFacts] = []
        for week in weeks:
            until = week_ends[week]
            meeting = meetings.get(((home or "").casefold(), week))
            if meeting is None:  # no section: every week is open to a meeting anywhere
                facts.append(MeetingFacts(week, True, week_starts[week], False, None, week in present_weeks, until))
                continue
            key = (meeting.name.casefold(), week)
            facts.append(
                MeetingFacts(
                    week=week,
                    held=meeting.held,
                    start=meeting.start,
                    recorded=key in recorded,
                    mark=mine.get(key),
                    makeup=week in present_weeks,
                    makeup_until=until,
                )
            )
        work: list[HomeworkFacts] = []
        for week, due in dues.items():
            late, submitted_at = latest.get((person.id, week), (False, None))
            work.append(
                HomeworkFacts(
                    week=week,
                    deadline=extensions.get((person.id, week), due),
                    submitted=submitted_at is not None,
                    late=late,
                    submitted_at=submitted_at,
                    course_end=end,
                )
            )
        out.append(Row(person, home, standing(person.id, person.stipend_eligible, facts, work, rule, now)))
    return out


async def scholars(app: CohortBot) -> list[Person]:
    """Every scholar on the roster, by name."""
    return await app.people.with_role(Role.SCHOLAR)

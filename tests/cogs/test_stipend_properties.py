"""Properties of the stipend engine over random attendance, homework and excuse histories and random rules:

* "may still miss" is never negative (and never more than what is left);
* someone qualifies exactly when every count reaches its rule and they are eligible (counts recomputed here
  from the raw history, independently of the engine);
* the organizer's totals equal the sum of the rows, in the engine and end to end (random histories written to a
  real database, then ``/stipend`` as an organizer and the ``stipends`` export).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.app import CohortBot
from bot.cohort import StipendRule, load_cohort
from bot.core.clock import ManualClock
from bot.core.context import Place
from bot.roster import import_roster_file
from bot.storage.homework import HomeworkRepo, NewSubmission
from cogs.attendance._engine import STATUSES, HomeworkFacts, MeetingFacts, standing, totals
from cogs.attendance._store import AttendanceRepo, NewMark
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER, console_actor

START = datetime(2026, 1, 12, 5, 0, tzinfo=UTC)
WEEKS = 8
PURE = settings(max_examples=400, deadline=None)
DB = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

rules = st.builds(
    StipendRule,
    sections_attended=st.integers(0, WEEKS),
    homeworks_submitted=st.integers(0, WEEKS),
    late_counts=st.booleans(),
    late_grace_days=st.one_of(st.none(), st.floats(0, 14)),
    excused_counts=st.booleans(),
    makeups_count=st.booleans(),
    requires_eligibility=st.booleans(),
    amount=st.one_of(st.none(), st.decimals(0, 1000, places=2)),
)
marks = st.sampled_from([None, "present", "excused", "absent"])


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[MeetingFacts], list[HomeworkFacts]]:
    meetings = []
    homework = []
    for week in range(1, WEEKS + 1):
        start = START + timedelta(days=7 * (week - 1), hours=13)
        meetings.append(
            MeetingFacts(
                week=week,
                held=draw(st.integers(0, 6)) > 0,
                start=start,
                recorded=draw(st.booleans()),
                mark=draw(marks),
                makeup=draw(st.booleans()),
                makeup_until=START + timedelta(days=7 * week),
            )
        )
        if draw(st.integers(0, 7)) > 0:  # most weeks have homework
            deadline = start + timedelta(days=4)
            submitted = draw(st.booleans())
            after = timedelta(hours=draw(st.integers(-100, 60 * 24))) if submitted else None
            homework.append(
                HomeworkFacts(
                    week=week,
                    deadline=deadline,
                    submitted=submitted,
                    late=after is not None and after > timedelta(0),
                    submitted_at=deadline + after if after is not None else None,
                    course_end=START + timedelta(days=7 * WEEKS),
                )
            )
    return meetings, homework


nows = st.integers(0, (WEEKS + 2) * 7 * 24).map(lambda h: START + timedelta(hours=h))


def oracle_counts(meetings: list[MeetingFacts], homework: list[HomeworkFacts], rule: StipendRule) -> tuple:
    """Counted items and what is needed, straight from the rule's words."""
    held = [m for m in meetings if m.held]
    attended = sum(
        1
        for m in held
        if m.mark == "present" or (m.makeup and rule.makeups_count) or (m.mark == "excused" and rule.excused_counts)
    )
    needed_sections = max(0, rule.sections_attended - (len(meetings) - len(held)))

    def in_grace(h: HomeworkFacts) -> bool:
        limit = h.deadline + timedelta(days=rule.late_grace_days) if rule.late_grace_days is not None else h.course_end
        return rule.late_counts and h.submitted_at <= limit

    handed_in = sum(1 for h in homework if h.submitted and (not h.late or in_grace(h)))
    return attended, needed_sections, handed_in, rule.homeworks_submitted


@PURE
@given(rule=rules, history=histories(), now=nows, eligible=st.booleans())
def test_may_miss_is_never_negative_and_qualifying_is_exactly_every_rule_met_and_eligible(rule, history, now, eligible):
    meetings, homework = history
    s = standing(1, eligible, meetings, homework, rule, now)
    for req, items in ((s.sections, sum(m.held for m in meetings)), (s.homework, len(homework))):
        assert req.may_miss >= 0
        assert req.may_miss <= req.open
        assert req.counted + req.missed + req.open == items
        assert req.still_needed >= 0
    attended, needed_sections, handed_in, needed_homework = oracle_counts(meetings, homework, rule)
    assert s.sections.counted == attended and s.sections.needed == needed_sections
    assert s.homework.counted == handed_in and s.homework.needed == needed_homework
    may_be_paid = eligible or not rule.requires_eligibility
    assert s.qualified == (attended >= needed_sections and handed_in >= needed_homework and may_be_paid)
    assert (s.status == "qualified") == s.qualified
    if s.status == "on track":
        assert all(r.met or r.may_miss >= 1 for r in (s.sections, s.homework))
    if s.status == "cannot qualify":
        assert not (s.sections.reachable and s.homework.reachable)
    # time only decides open items: everything counted stays counted later
    later = standing(1, eligible, meetings, homework, rule, now + timedelta(days=30))
    assert later.sections.counted == s.sections.counted and later.homework.counted == s.homework.counted
    assert later.sections.open <= s.sections.open and later.homework.open <= s.homework.open


@PURE
@given(
    rule=rules,
    people=st.lists(st.tuples(histories(), st.booleans()), min_size=0, max_size=12),
    now=nows,
)
def test_totals_equal_the_sum_of_the_rows(rule, people, now):
    rows = [standing(n, eligible, m, h, rule, now) for n, ((m, h), eligible) in enumerate(people)]
    t = totals(rows)
    assert t.people == len(rows)
    assert t.counts == {status: sum(1 for r in rows if r.status == status) for status in STATUSES}
    assert t.committed == sum((r.earned for r in rows), Decimal(0))
    assert t.committed == (rule.amount or 0) * t.counts["qualified"]
    assert t.in_reach >= t.committed


# ---- end to end: random histories in a real database, then the organizer's /stipend and the export ------------
@pytest.fixture
def runner_app(tmp_path: Path) -> Iterator[tuple[asyncio.Runner, CohortBot, ManualClock]]:
    cohort = load_cohort(EXAMPLE_COHORT)
    clock = ManualClock(datetime.combine(cohort.start_date, time(8, 0), tzinfo=cohort.zone))
    with asyncio.Runner() as runner:
        app = runner.run(CohortBot.open(cohort, tmp_path / "stipend-prop.db", clock=clock))
        runner.run(import_roster_file(app.people, EXAMPLE_ROSTER, cohort, clock.now()))
        yield runner, app, clock
        runner.run(app.close())


SECTIONS = ("americas-tue", "europe-wed", "apac-thu")
events = st.lists(
    st.one_of(
        st.tuples(st.just("mark"), st.integers(0, 7), st.sampled_from(SECTIONS), st.integers(1, WEEKS), marks),
        st.tuples(st.just("submit"), st.integers(0, 7), st.integers(1, WEEKS), st.booleans()),
        st.tuples(st.just("cancel"), st.sampled_from(SECTIONS), st.integers(1, WEEKS)),
        st.tuples(st.just("record"), st.sampled_from(SECTIONS), st.integers(1, WEEKS)),
        st.tuples(st.just("star"), st.integers(0, 7)),  # a scholar who does everything (so some qualify)
    ),
    max_size=40,
)


async def replay(app: CohortBot, history: list[tuple], now: datetime) -> None:
    for table in ("attendance", "attendance_changes", "attendance_meetings", "submissions", "meeting_changes"):
        await app.db.execute(f"DELETE FROM {table}")
    scholars = sorted((await app.people.all()), key=lambda p: p.id)
    scholars = [p for p in scholars if p.role.label == "scholar"]
    attendance, homework = AttendanceRepo(app.db), HomeworkRepo(app.db)
    for step in history:
        if step[0] == "mark" and step[4] is not None:
            _, who, section, week, status = step
            await attendance.apply(
                section, week, [NewMark(scholars[who].id, status, "why" if status == "excused" else None)],
                by=None, now=now, source="typed", record=False,
            )  # fmt: skip
        elif step[0] == "submit":
            _, who, week, late = step
            await homework.add_submission(
                NewSubmission(scholars[who].id, week, now, late, "console", link="https://x.org")
            )
        elif step[0] == "cancel":
            await app.meetings.record(step[1], step[2], "cancelled", reason="random")
        elif step[0] == "record":
            await attendance.apply(step[1], step[2], [], by=None, now=now, source="typed", record=True)
        elif step[0] == "star":
            star = scholars[step[1]]
            for week in range(1, WEEKS + 1):
                await attendance.apply(
                    star.sections[0],
                    week,
                    [NewMark(star.id, "present")],
                    by=None,
                    now=now,
                    source="typed",
                    record=False,
                )
                due = app.cohort.due(week)
                await homework.add_submission(NewSubmission(star.id, week, due, False, "console", link="https://x.org"))


@DB
@given(history=events, hours=st.integers(0, (WEEKS + 1) * 7 * 24))
def test_organizer_totals_equal_the_sum_of_the_rows_end_to_end(runner_app, history, hours):
    runner, app, clock = runner_app
    clock.set(datetime.combine(app.cohort.start_date, time(8, 0), tzinfo=app.cohort.zone) + timedelta(hours=hours))

    async def run() -> None:
        await replay(app, history, clock.now())
        grace = await console_actor(app, "Grace Hopper")
        reply = await app.dispatch(grace, "stipend", {}, Place())
        assert reply.error is None, reply.error
        export = await app.dispatch(grace, "report", {"kind": "stipends"}, Place())
        rows = list(csv.DictReader(io.StringIO(export.message.files[0].content.decode())))
        scholars = [r for r in rows if r["kind"] == "scholar"]
        for status in {r["status"] for r in scholars}:
            event(f"someone {status}")
        text = reply.message.text
        for status in STATUSES:
            shown = int(re.search(rf"(\d+) {status}", text).group(1))
            assert shown == sum(1 for r in scholars if r["status"] == status), (status, text)
        assert int(re.search(r"\*\*(\d+) scholar", text).group(1)) == len(scholars)
        committed = sum(Decimal(r["amount"]) for r in scholars)
        assert f"**Committed:** {app.cohort.stipend.money(committed)}" in text
        # the table in the reply and the file agree row by row, and each row obeys the rule
        assert [r[4] for r in reply.message.table.rows] == [r["status"] for r in scholars]
        for r in scholars:
            met = int(r["sections_counted"]) >= int(r["sections_needed"]) and int(r["homework_counted"]) >= int(
                r["homework_needed"]
            )
            assert (r["status"] == "qualified") == (met and r["eligible"] == "yes")
            assert int(r["sections_may_miss"]) >= 0 and int(r["homework_may_miss"]) >= 0
        # the same CSV through the command line's exporter
        assert (await app.exporters["stipends"](app)).as_csv() == export.message.files[0].content

    runner.run(run())

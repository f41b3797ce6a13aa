"""Homework status and /submit tell the truth of the late-work rule the stipend engine counts with
(``late_grace_days: 7`` in the example): within the grace an overdue homework still counts, after it nobody is
told it would; without a stipend rule nothing mentions one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.app import CohortBot
from bot.cohort import parse_cohort
from bot.core.clock import ManualClock
from bot.roster import import_roster_file
from cogs.attendance import standings
from cogs.sections._common import homework_of
from cogs.sections._reminders import reminder_dm
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER, RunAs

NY = ZoneInfo("America/New_York")
WEEK1_DUE = datetime(2026, 1, 18, 23, 59, tzinfo=NY)  # the example's week 1; the grace ends 25 Jan, 23:59
IN_GRACE = datetime(2026, 1, 19, 10, 0, tzinfo=NY)
AFTER_GRACE = datetime(2026, 1, 27, 10, 0, tzinfo=NY)
COUNTS = "late now, but it still counts toward your stipend until Sun 25 Jan 2026, 23:59 EST. /submit week:1"
WINDOW_PASSED = "❌ not submitted, and the deadline and the late window have passed."
TOO_LATE = "It is recorded, but too late to count toward the stipend."


async def schedule(as_: RunAs, who: str = "Ada Lovelace") -> str:
    reply = await as_(who, "schedule")
    assert reply.error is None, reply.error
    return reply.message.as_plain_text(NY)


async def week1_line(app: CohortBot, name: str, now: datetime) -> str:
    person = (await app.people.by_name(name, limit=1))[0]
    return (await homework_of(app, 1, [person]))[person.id].line(now)


async def week1_state(app: CohortBot, name: str) -> int:
    """How many homeworks the stipend engine still counts as open for ``name`` (week 1 is the only one due)."""
    person = (await app.people.by_name(name, limit=1))[0]
    return (await standings(app, [person]))[0].standing.homework.open


async def test_within_the_grace_the_status_says_it_still_counts_as_the_engine_does(app, as_, clock: ManualClock):
    clock.set(IN_GRACE)
    text = await schedule(as_)
    assert f"Week 1: Risk decomposition, due Sun 18 Jan 2026, 23:59 EST: ⏳ not submitted yet — {COUNTS}" in text
    assert "deadline has passed" not in text
    assert await week1_state(app, "Ada Lovelace") == 8  # week 1 is still open for the stipend, as are weeks 2-8
    # six days later, still shown (it is past /schedule's one-day look-back, but would still count)
    clock.set(datetime(2026, 1, 25, 23, 0, tzinfo=NY))
    assert COUNTS in await schedule(as_)


async def test_after_the_grace_the_status_says_the_late_window_has_passed(app, as_, clock: ManualClock):
    clock.set(AFTER_GRACE)
    assert await week1_state(app, "Ada Lovelace") == 7  # the engine: week 1 is missed now
    assert (await week1_line(app, "Ada Lovelace", clock.now())).endswith(f": {WINDOW_PASSED}")
    assert "Risk decomposition" not in await schedule(as_)  # nothing left to do: no longer listed


async def test_an_extension_moves_the_late_window_with_it(app, as_, clock: ManualClock):
    reply = await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until="2026-01-22 12:00")
    assert reply.error is None, reply.error
    clock.set(AFTER_GRACE)  # past the grace of the due date, within the grace of the extension
    text = await schedule(as_)
    assert "(your extension): ⏳ not submitted yet — late now, but it still counts toward your stipend until " in text
    assert "Thu 29 Jan 2026, 12:00 EST. /submit week:1" in text


async def test_a_section_reminder_says_the_same(app, clock: ManualClock):
    ada = (await app.people.by_name("Ada Lovelace", limit=1))[0]
    meeting = await app.meetings.get("americas-tue", 1)
    homework = (await homework_of(app, 1, [ada]))[ada.id]
    assert COUNTS in reminder_dm(app, meeting, ada, homework, IN_GRACE.astimezone(UTC)).as_plain_text(NY)
    late = reminder_dm(app, meeting, ada, homework, AFTER_GRACE.astimezone(UTC)).as_plain_text(NY)
    assert WINDOW_PASSED in late and "stipend until" not in late


async def test_submitting_after_the_grace_says_it_no_longer_counts(app, as_, clock: ManualClock):
    clock.set(datetime(2026, 1, 25, 23, 59, tzinfo=NY))  # the grace's last minute: still counts
    within = await as_("Ada Lovelace", "submit", week="1", link="https://example.org/ada")
    assert "Late: 7 d after the deadline" in within.message.as_plain_text(NY)
    assert TOO_LATE not in within.message.as_plain_text(NY)
    clock.set(AFTER_GRACE)
    after = await as_("Rosalind Franklin", "submit", week="1", link="https://example.org/rosalind")
    text = after.message.as_plain_text(NY)
    assert "Late: 8 d 10 h after the deadline" in text and TOO_LATE in text
    week2 = await as_("Rosalind Franklin", "submit", week="2", link="https://example.org/rosalind2")  # in its grace
    text = week2.message.as_plain_text(NY)
    assert "Late: 1 d 10 h after the deadline" in text and TOO_LATE not in text
    # the engine agrees: Ada's late week 1 counts, Rosalind's does not
    ada = (await app.people.by_name("Ada Lovelace", limit=1))[0]
    rosalind = (await app.people.by_name("Rosalind Franklin", limit=1))[0]
    ada_row, rosalind_row = await standings(app, [ada, rosalind])
    assert ada_row.standing.homework.counted == 1 and rosalind_row.standing.homework.counted == 1  # her week 2
    assert rosalind_row.standing.homework.missed == 1  # her week 1


async def test_a_scholar_without_a_stipend_is_not_told_about_one(app, as_, clock: ManualClock):
    clock.set(IN_GRACE)
    line = await week1_line(app, "John von Neumann", clock.now())  # stipend_eligible: false
    assert line.endswith("❌ not submitted, and the deadline has passed.")
    clock.set(AFTER_GRACE)
    reply = await as_("John von Neumann", "submit", week="1", link="https://example.org/john")
    assert "Late:" in reply.message.as_plain_text(NY) and "stipend" not in reply.message.as_plain_text(NY)


@pytest.fixture
async def variant(tmp_path, clock) -> AsyncIterator:
    """The example app with its ``stipend:`` section changed (``None``: removed)."""
    opened: list[CohortBot] = []

    async def make(stipend: dict | None) -> CohortBot:
        data = yaml.safe_load(EXAMPLE_COHORT.read_text())
        if stipend is None:
            del data["stipend"]
        else:
            data["stipend"].update(stipend)
        cohort = parse_cohort(data)
        app = await CohortBot.open(cohort, tmp_path / f"v{len(opened)}.db", clock=clock)
        opened.append(app)
        await import_roster_file(app.people, EXAMPLE_ROSTER, cohort, clock.now())
        return app

    yield make
    for app in opened:
        await app.close()


async def test_without_a_stipend_rule_the_deadline_alone_is_named(variant, clock: ManualClock):
    app = await variant(None)
    clock.set(IN_GRACE)
    assert (await week1_line(app, "Ada Lovelace", clock.now())).endswith("the deadline has passed.")


async def test_when_late_work_never_counts_the_day_after_says_so(variant, clock: ManualClock):
    app = await variant({"late_counts": False})
    clock.set(IN_GRACE)
    assert (await week1_line(app, "Ada Lovelace", clock.now())).endswith(
        "❌ not submitted, and the deadline has passed."
    )


async def test_without_a_grace_late_work_counts_until_the_course_ends(variant, clock: ManualClock):
    app = await variant({"late_grace_days": None})
    clock.set(AFTER_GRACE)
    line = await week1_line(app, "Ada Lovelace", clock.now())
    course_end = int(datetime(2026, 3, 9, 0, 0, tzinfo=NY).timestamp())  # Monday after week 8, 00:00 EDT
    assert f"still counts toward your stipend until <t:{course_end}:F>" in line, line

"""``app.meetings.current(section, now)``: "this week's meeting", with weeks counted in the section's own zone
(where its meetings are placed), not the cohort's; a meeting under way wins; outside the course, the nearest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from bot.cohort import Cohort, parse_cohort
from tests.plugin import EXAMPLE_COHORT


def monday_apac() -> Cohort:
    """The example cohort (New York) with apac-thu meeting on Mondays at 09:00 Singapore time: Sunday evening in
    New York, so the cohort's zone is still in the previous course week when the meeting starts."""
    raw = yaml.safe_load(EXAMPLE_COHORT.read_text())
    for section in raw["sections"]:
        if section["name"] == "apac-thu":
            section["weekday"], section["start"] = "monday", "09:00"
    return parse_cohort(raw)


@pytest.fixture
def cohort() -> Cohort:
    return monday_apac()


async def test_this_weeks_meeting_is_counted_in_the_sections_zone(app):
    week2 = await app.meetings.get("apac-thu", 2)
    assert week2.start == datetime(2026, 1, 19, 1, 0, tzinfo=UTC)  # Mon 09:00 SGT = Sun 18 Jan 20:00 New York
    during = week2.start + timedelta(minutes=5)
    assert app.cohort.current_week(during) == 1  # the cohort's zone is still in week 1 ...
    assert (await app.meetings.current("apac-thu", during)).week == 2  # ... the section's is in week 2
    # before it starts, Monday morning in Singapore: already week 2 there (a check-in may be opened early)
    assert (await app.meetings.current("APAC-THU", week2.start - timedelta(hours=8))).week == 2
    # Sunday night in Singapore: still week 1 (its meeting is over; attendance goes to it)
    assert (await app.meetings.current("apac-thu", week2.start - timedelta(hours=9, minutes=1))).week == 1
    # a section in the cohort's own zone is unchanged
    tuesday = (await app.meetings.get("americas-tue", 2)).start
    assert (await app.meetings.current("americas-tue", tuesday - timedelta(days=1))).week == 2
    assert await app.meetings.current("nowhere", during) is None


async def test_a_meeting_under_way_wins_and_outside_the_course_the_nearest_one(app):
    # week 2's meeting moved into week 3 (Tue 27 Jan 09:00 SGT): while it runs it is the current one ...
    moved_to = datetime(2026, 1, 27, 1, 0, tzinfo=UTC)
    await app.meetings.record("apac-thu", 2, "moved", starts_at=moved_to)
    assert (await app.meetings.current("apac-thu", moved_to + timedelta(minutes=30))).week == 2
    # ... and just after it, still week 2's (the nearest of week 3's dates: attendance is taken for what just
    # happened), though week 3's own meeting was the day before
    assert (await app.meetings.current("apac-thu", moved_to + timedelta(hours=2))).week == 2
    week3 = await app.meetings.get("apac-thu", 3)
    assert week3.start < moved_to
    assert (await app.meetings.current("apac-thu", week3.start + timedelta(hours=2))).week == 3
    # a cancelled meeting is still this week's (the commands refuse it clearly)
    await app.meetings.record("apac-thu", 4, "cancelled", reason="holiday")
    week4 = await app.meetings.get("apac-thu", 4)
    current = await app.meetings.current("apac-thu", week4.start + timedelta(minutes=1))
    assert current.week == 4 and not current.held
    # before the course: the first; after it: the last
    assert (await app.meetings.current("apac-thu", datetime(2025, 12, 1, tzinfo=UTC))).week == 1
    assert (await app.meetings.current("apac-thu", datetime(2026, 6, 1, tzinfo=UTC))).week == 8


async def test_a_meeting_moved_into_another_weeks_dates_is_the_current_one_around_its_new_time(app):
    """Week 3 moved to the Thursday of week 4: a check-in opened just before it is for week 3, and week 4's own
    meeting (that Tuesday) stays the current one until the moved meeting is nearer."""
    week4 = await app.meetings.get("americas-tue", 4)
    moved_to = week4.start + timedelta(days=2)  # Thursday of week 4, same time
    await app.meetings.record("americas-tue", 3, "moved", starts_at=moved_to)
    assert (await app.meetings.current("americas-tue", week4.start + timedelta(minutes=90))).week == 4
    assert (await app.meetings.current("americas-tue", moved_to - timedelta(minutes=5))).week == 3
    assert (await app.meetings.current("americas-tue", moved_to + timedelta(minutes=10))).week == 3  # under way
    assert (await app.meetings.current("americas-tue", moved_to + timedelta(hours=2))).week == 3  # just after

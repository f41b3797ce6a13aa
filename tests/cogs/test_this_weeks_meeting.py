"""Every "this week's meeting" (check-in, attendance's default week and its history, /pair start's check-ins, a
workshop's pairs block) is the section's own week (``app.meetings.current``), not the cohort zone's: with
apac-thu on Mondays 09:00 Singapore (Sunday evening in New York), its week 2 meeting is week 2's, not week 1's."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from bot.cohort import Cohort, parse_cohort
from cogs.attendance import present_at
from cogs.pairs._store import repo as pairs_repo
from cogs.workshops import start_pairs
from tests.cogs.attendance_support import text_of
from tests.plugin import EXAMPLE_COHORT

PRESENT = ["John von Neumann", "Srinivasa Ramanujan"]


@pytest.fixture
def cohort() -> Cohort:
    """The example cohort, apac-thu on Mondays at 09:00 Singapore, and a workshop session with a pairs block for
    apac-thu during its week 2 meeting (Sunday 18 January, 20:15 New York)."""
    raw = yaml.safe_load(EXAMPLE_COHORT.read_text())
    for section in raw["sections"]:
        if section["name"] == "apac-thu":
            section["weekday"], section["start"] = "monday", "09:00"
    raw["sessions"].append(
        {
            "name": "apac-pairs",
            "title": "Pairs in the meeting",
            "date": "2026-01-18",
            "time": "20:15",
            "channel": "section-apac",
            "audience": "section:apac-thu",
            "section": "apac-thu",
            "agenda": [{"title": "Pairs", "minutes": 20, "kind": "pairs", "pairs": {"rounds": 2, "minutes": 10}}],
        }
    )
    return parse_cohort(raw)


@pytest.fixture
async def during_week_2(app, clock):
    week2 = await app.meetings.get("apac-thu", 2)
    clock.set(week2.start + timedelta(minutes=5))
    assert app.cohort.current_week(clock.now()) == 1  # the cohort's zone is still in week 1
    return week2


async def test_check_in_and_attendance_take_the_sections_week(app, as_, during_week_2):
    opened = await as_("Claude Shannon", "checkin-code", section="apac-thu")
    assert opened.error is None and "week 2's meeting of apac-thu" in text_of(opened)
    code = opened.message.title.split()[-1]
    assert (await as_("Tu Youyou", "checkin", code=code)).error is None
    assert [p.name for p in await present_at(app, "apac-thu", 2)] == ["Tu Youyou"]
    assert await present_at(app, "apac-thu", 1) == []

    checklist = await as_("Claude Shannon", "attendance", section="apac-thu")
    assert checklist.error is None and "Attendance: apac-thu, week 2" in text_of(checklist)
    assert "Pre-filled: 1 of 3 present (Tu Youyou)" in text_of(checklist)
    history = await as_("Claude Shannon", "attendance", section="apac-thu", history="true")
    assert history.error is None and "week 2" in text_of(history) and "week 1" not in text_of(history)


async def test_pairs_and_workshop_pairs_take_those_present_this_week(app, as_, during_week_2):
    marked = await as_("Claude Shannon", "attendance", section="apac-thu", week="2", present=", ".join(PRESENT))
    assert marked.error is None, marked.error

    started = await as_("Claude Shannon", "pair start", section="apac-thu", rounds="1")
    assert started.error is None and "with 2 people (those checked in for this week's meeting)" in text_of(started)
    [session] = await pairs_repo(app).active()
    members = [m.person_id for m in await pairs_repo(app).members(session.id)]
    names = {p.name for p in (await app.people.get_many(members)).values()}
    assert session.state != "lobby" and names == set(PRESENT)
    assert (await as_("Claude Shannon", "pair stop", section="apac-thu")).error is None

    workshop = app.cohort.session("apac-pairs")
    said = await start_pairs(app, workshop, 0)
    assert "Round 1 has started with the 2 people checked in" in said
    [paired] = await pairs_repo(app).active()
    assert paired.workshop == "apac-pairs#1" and paired.state != "lobby"

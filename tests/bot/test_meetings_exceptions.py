"""Sections in the cohort file: link, location and per-week exceptions, validated by path, and seen through
``bot.meetings.planned()`` / ``app.meetings`` by everything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from bot.app import CohortBot
from bot.cohort import CohortError, parse_cohort
from bot.meetings import planned, planned_meeting
from tests.plugin import EXAMPLE_COHORT


def example_data() -> dict:
    return yaml.safe_load(EXAMPLE_COHORT.read_text())


def errors_of(data: dict) -> dict[str, str]:
    """Every error by path (several at one path joined with " | ")."""
    with pytest.raises(CohortError) as info:
        parse_cohort(data, "test.yaml")
    found: dict[str, str] = {}
    for path, message in info.value.errors:
        found[path] = f"{found[path]} | {message}" if path in found else message
    return found


def test_the_example_shows_a_link_a_location_and_an_exception(cohort):
    americas, europe, apac = cohort.sections
    assert str(americas.link).startswith("https://") and americas.location is None
    assert europe.location and europe.link is None
    [skip] = apac.exceptions
    assert (skip.week, skip.skip, skip.reason) == (6, True, "Lunar New Year holidays")
    assert cohort.reminders.section_reminder_via == "dm" and cohort.reminders.facilitator_prep_hours_before == 24


def test_exceptions_flow_through_planned_and_app_meetings(cohort):
    data = example_data()
    data["sections"][0]["exceptions"] = [
        {"week": 2, "date": "2026-01-22", "start": "17:00", "reason": "MLK week"},  # Thursday instead of Tuesday
        {"week": 4, "start": "19:30"},  # same day, later
    ]
    changed = parse_cohort(data)
    americas = changed.section("americas-tue")
    assert planned(changed, americas, 2) == (
        datetime(2026, 1, 22, 22, 0, tzinfo=UTC),
        datetime(2026, 1, 22, 23, 0, tzinfo=UTC),
    )
    moved = planned_meeting(changed, americas, 2)
    assert (moved.status, moved.held, moved.sequence, moved.reason) == ("moved", True, 1, "MLK week")
    assert moved.usual_start == datetime(2026, 1, 20, 23, 0, tzinfo=UTC)
    assert planned_meeting(changed, americas, 4).start == datetime(2026, 2, 4, 0, 30, tzinfo=UTC)
    assert planned_meeting(changed, americas, 3).status == "scheduled"

    skipped = planned_meeting(cohort, cohort.section("apac-thu"), 6)
    assert (skipped.held, skipped.status, skipped.reason) == (False, "cancelled", "Lunar New Year holidays")


async def test_a_change_applies_on_top_of_the_file(app: CohortBot):
    skipped = await app.meetings.get("apac-thu", 6)
    assert not skipped.held and skipped.sequence == 1
    # moving a week the file skips brings it back, at the new time; the sequence keeps growing for calendars
    when = skipped.start + timedelta(days=1)
    back = await app.meetings.record("apac-thu", 6, "moved", starts_at=when, reason="rescheduled")
    assert back.held and back.start == when and back.sequence == 2 and back.usual_start == skipped.start
    assert sum(1 for m in await app.meetings.of_section("apac-thu") if not m.held) == 0


def test_bad_sections_are_listed_by_path():
    data = example_data()
    americas, europe, apac = data["sections"]
    americas["link"] = "not a link"
    europe["location"] = ""
    apac["exceptions"] = [
        {"week": 9, "skip": True},
        {"week": 2, "skip": True, "start": "10:00"},
        {"week": 3},
    ]
    errors = errors_of(data)
    assert {
        "sections[0].link",
        "sections[1].location",
        "sections[2].exceptions[1]",
        "sections[2].exceptions[2]",
    } <= set(errors)
    assert "skip: true, or a date and/or start" in errors["sections[2].exceptions[1]"]


def test_semantic_exception_errors():
    data = example_data()
    data["sections"][2]["exceptions"] = [
        {"week": 9, "skip": True},
    ]
    assert "there is no week 9" in errors_of(data)["sections[2].exceptions[0].week"]

    data = example_data()
    data["sections"][2]["exceptions"] = [{"week": 2, "skip": True}, {"week": 2, "start": "10:00"}]
    assert "two exceptions" in errors_of(data)["sections[2].exceptions[1].week"]

    data = example_data()  # week 2 moved onto week 3's Thursday 19:00 slot
    data["sections"][2]["exceptions"] = [{"week": 2, "date": "2026-01-29"}]
    assert "overlaps week 3" in errors_of(data)["sections[2].exceptions[0]"]

    data = example_data()
    data["reminders"]["section_reminder_via"] = "channel"
    del data["sections"][1]["channel"]
    assert "needs a channel" in errors_of(data)["sections[1].channel"]

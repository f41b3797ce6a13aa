"""The cohort file: the example passes, a broken file yields every error by path, derived times are right."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.cohort import CohortError, load_cohort, parse_cohort
from tests.plugin import EXAMPLE_COHORT


def example_data() -> dict:
    return yaml.safe_load(EXAMPLE_COHORT.read_text())


def errors_of(data: object) -> dict[str, str]:
    with pytest.raises(CohortError) as info:
        parse_cohort(data, "test.yaml")
    return dict(info.value.errors)


def test_example_passes() -> None:
    cohort = load_cohort(EXAMPLE_COHORT)
    assert len(cohort.weeks) == 8
    assert cohort.track_names == ["intro", "advanced"]
    assert len(cohort.sections) == 3
    assert len({s.timezone for s in cohort.sections}) == 3


def test_broken_file_lists_every_error_by_path() -> None:
    data = example_data()
    data["timezone"] = "Mars/Olympus"
    data["weeks"][2]["homework"]["due"] = "next tuesday"
    data["weeks"][4]["readings"][0]["url"] = "not a url"
    data["weeks"][5]["readings"][1]["minutes"] = -5
    data["sections"][1]["weekday"] = "funday"
    data["pairing"]["size"] = 9
    data["unexpected"] = True
    errors = errors_of(data)
    assert set(errors) == {
        "timezone",
        "weeks[2].homework.due",
        "weeks[4].readings[0].url",
        "weeks[5].readings[1].minutes",
        "sections[1].weekday",
        "pairing.size",
        "unexpected",
    }
    assert "Mars/Olympus" in errors["timezone"]


def test_semantic_errors_are_listed_together() -> None:
    data = example_data()
    data["sections"][0]["track"] = "intermediate"
    data["weeks"][3]["number"] = 7
    data["weeks"][1]["homework"]["due"] = "2026-01-10 12:00"
    data["posting"]["channels"].pop("advanced")
    data["stipend"]["homeworks_submitted"] = 12
    errors = errors_of(data)
    assert set(errors) == {
        "sections[0].track",
        "weeks[3].number",
        "weeks[1].homework.due",
        "posting.channels",
        "stipend.homeworks_submitted",
    }
    assert "intro" in errors["sections[0].track"]  # the suggestion


def test_zone_typo_gets_a_suggestion() -> None:
    data = example_data()
    data["sections"][2]["timezone"] = "Asia/Singapor"
    assert "Asia/Singapore" in errors_of(data)["sections[2].timezone"]


@pytest.mark.parametrize(
    ("text", "where"),
    [("program: [unclosed\n", "line 2"), ("- just\n- a list\n", "(top level)"), ("", "(top level)")],
)
def test_unreadable_files_are_errors_not_tracebacks(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(CohortError) as info:
        load_cohort(path)
    assert info.value.errors[0][0].startswith(where)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CohortError) as info:
        load_cohort(tmp_path / "nope.yaml")
    assert info.value.errors[0][0] == "(file)"


def test_derived_times_respect_zones_and_dst() -> None:
    cohort = load_cohort(EXAMPLE_COHORT)
    # Posted Mondays 09:00 New York time: 14:00 UTC in winter.
    assert cohort.post_time(2) == datetime(2026, 1, 19, 14, 0, tzinfo=UTC)
    # Week 8 is due Sunday 8 March 23:59 — after the US switch to daylight time that morning (UTC-4).
    assert cohort.due(8) == datetime(2026, 3, 9, 3, 59, tzinfo=UTC)
    # The Singapore section meets Thursday 19:00 local = 11:00 UTC.
    start, end = cohort.meeting(cohort.section("APAC-THU"), 1)
    assert start == datetime(2026, 1, 15, 11, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 90 * 60


def test_current_week_is_clamped() -> None:
    cohort = load_cohort(EXAMPLE_COHORT)
    assert cohort.current_week(datetime(2025, 12, 1, tzinfo=UTC)) == 1
    assert cohort.current_week(datetime(2026, 1, 19, 15, 0, tzinfo=UTC)) == 2
    assert cohort.current_week(datetime(2026, 6, 1, tzinfo=UTC)) == 8

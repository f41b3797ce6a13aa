"""``cohortbot check`` shows where sections meet, the weeks that differ, and their jobs; ``--db`` adds a running
bot's changes (and a missing database is a clear error)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.plugin import EXAMPLE_COHORT


def test_check_shows_links_locations_exceptions_and_section_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE_COHORT)]) == 0
    out = capsys.readouterr().out
    assert "#section-americas · https://meet.mlsafety-course.example.org/americas-tue" in out
    assert "#section-europe · Room 2.14, 66 Example Street, London" in out
    assert "Meetings that differ from the weekly pattern (file): 1" in out
    assert "apac-thu  6     skipped / cancelled  Lunar New Year holidays  cohort file" in out
    # one reminder job per meeting instant (24 meetings, one skipped), prep notes, events
    assert out.count("section-reminders:") == 23 and out.count("section-prep:") == 23
    assert "section-reminders:2026-01-13T22:00:00+00:00:" in out  # americas-tue week 1, an hour before 23:00 UTC
    assert "section-reminders:2026-02-19T10:00:00+00:00:" not in out  # the skipped week has no reminder


async def test_check_with_a_database_shows_its_changes(app, as_, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import build_parser, cmd_check

    await as_("Alan Turing", "section move", section="americas-tue", week="2", to="2026-01-21 19:00", reason="MLK")
    assert await cmd_check(build_parser().parse_args(["check", str(EXAMPLE_COHORT), "--db", app.db.path])) == 0
    out = capsys.readouterr().out
    assert "(file and database): 2" in out
    assert "americas-tue  2     at Wed 21 Jan 2026, 19:00 EST (usually 18:00 EST)  MLK" in out


def test_check_with_a_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE_COHORT), "--db", str(tmp_path / "nope.db")]) == 1
    assert "no such database" in capsys.readouterr().err

"""The command line: check, roster import, export and the manifest, as subprocess-free calls of main()."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cli import main
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER


def test_check_prints_the_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLE_COHORT)]) == 0
    out = capsys.readouterr().out
    assert "OK — Introduction to ML Safety (Winter 2026), 8 weeks" in out
    assert "Mon 19 Jan 2026, 09:00 EST" in out  # week 2 post
    assert "Sun 08 Mar 2026, 23:59 EDT" in out  # week 8 due, after the DST switch
    assert "apac-thu" in out and "Thursday 19:00 Asia/Singapore" in out


def test_check_lists_every_error_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    data["weeks"][2]["homework"]["due"] = "soon"
    data["sections"][0]["track"] = "intermediate"
    data["timezone"] = "Nowhere/Special"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "weeks[2].homework.due:" in err
    assert "timezone:" in err
    assert "Traceback" not in err


def test_roster_import_reports_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    roster = tmp_path / "roster.csv"
    roster.write_text(EXAMPLE_ROSTER.read_text() + "Broken Row,broken,scholar,intro,europe-wed,,,,true\n")
    assert main(["roster", "import", str(roster), "--cohort", str(EXAMPLE_COHORT), "--db", str(db)]) == 2
    out = capsys.readouterr().out
    assert "12 added" in out and "line 14: email" in out
    assert main(["roster", "import", str(EXAMPLE_ROSTER), "--cohort", str(EXAMPLE_COHORT), "--db", str(db)]) == 0
    assert "12 unchanged" in capsys.readouterr().out


def test_roster_import_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "roster",
            "import",
            str(tmp_path / "none.csv"),
            "--cohort",
            str(EXAMPLE_COHORT),
            "--db",
            str(tmp_path / "x.db"),
        ]
    )
    assert code == 1 and "no such file" in capsys.readouterr().err


def test_export_unknown_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "x.db"
    assert main(["roster", "import", str(EXAMPLE_ROSTER), "--cohort", str(EXAMPLE_COHORT), "--db", str(db)]) == 0
    code = main(["export", "bananas", "--cohort", str(EXAMPLE_COHORT), "--db", str(db)])
    assert code == 1 and "nothing called 'bananas'" in capsys.readouterr().err


def test_export_refuses_a_missing_database_and_creates_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "typo.db"
    assert main(["export", "submissions", "--cohort", str(EXAMPLE_COHORT), "--db", str(missing)]) == 1
    err = capsys.readouterr().err
    assert (
        err == f"cohortbot: there is no database at {missing}: give the bot's database with --db or "
        "COHORTBOT_DB (export creates none)\n"
    )
    assert list(tmp_path.iterdir()) == []
    assert main(["export", "submissions", "--cohort", str(EXAMPLE_COHORT), "--db", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"cohortbot: {tmp_path} is a directory")

"""The cohort file: the example passes, a broken file yields every error by path, derived times are right."""

from __future__ import annotations

from datetime import UTC, date, datetime
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


def write(tmp_path: Path, text: str | bytes, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def example_text() -> str:
    return EXAMPLE_COHORT.read_text(encoding="utf-8")


def test_an_impossible_date_is_an_error_at_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, example_text().replace("start_date: 2026-01-12", "start_date: 2026-02-30"))
    with pytest.raises(CohortError) as info:
        load_cohort(path)
    errors = dict(info.value.errors)
    assert set(errors) == {"start_date"}
    assert "day value is outside expected range" in errors["start_date"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("program: Café\n".encode("latin-1"), "not UTF-8 text (byte 0xE9 on line 1"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe\x00\x00", "not a text file (it looks binary: byte 0xFF on line 1"),
        (b"program: a\x00b\n", "not a text file (character #x0000 on line 1 is not allowed in YAML)"),
    ],
    ids=["latin-1", "binary", "nul-in-utf8"],
)
def test_a_file_that_is_not_utf8_text_is_one_clear_error(tmp_path: Path, content: bytes, says: str) -> None:
    with pytest.raises(CohortError) as info:
        load_cohort(write(tmp_path, content))
    [(where, message)] = info.value.errors
    assert where == "(file)" and says in message


def test_a_utf8_byte_order_mark_is_fine(tmp_path: Path) -> None:
    assert load_cohort(write(tmp_path, "\ufeff" + example_text())).program.startswith("Introduction")


def test_a_key_given_twice_is_an_error_with_its_line(tmp_path: Path) -> None:
    text = example_text()
    text = text.replace("timezone: America/New_York\n", "timezone: America/New_York\nprogram: Another name\n", 1)
    text = text.replace("  - number: 1\n", "  - number: 1\n    number: 1\n", 1)
    lines = text.splitlines()
    second_program = next(n for n, line in enumerate(lines, 1) if line.startswith("program: Another"))
    with pytest.raises(CohortError) as info:
        load_cohort(write(tmp_path, text))
    errors = info.value.errors
    assert (
        f"line {second_program}, column 1",
        "'program' is given twice in the same mapping (first on line 3)",
    ) in errors
    assert any("'number' is given twice" in message for _, message in errors)
    assert len(errors) == 2


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    data = example_data()
    text = yaml.safe_dump(data, sort_keys=False).replace("program:", "x-defaults: &d {minutes: 5}\nprogram:", 1)
    with pytest.raises(CohortError) as info:
        load_cohort(write(tmp_path, text))
    assert [path for path, _ in info.value.errors] == ["x-defaults"]  # only the unknown setting, no duplicate


@pytest.mark.parametrize("due", [date(2026, 1, 18), "2026-01-18", "20260118"], ids=["yaml-date", "text", "compact"])
def test_a_date_only_due_means_23_59_that_day(due: object) -> None:
    data = example_data()
    data["weeks"][0]["homework"]["due"] = due
    cohort = parse_cohort(data)
    assert cohort.due(1) == datetime(2026, 1, 18, 23, 59, tzinfo=cohort.zone).astimezone(UTC)
    assert cohort.due(1) == load_cohort(EXAMPLE_COHORT).due(1)  # the example writes 23:59 out


def test_every_error_is_listed_when_program_is_missing() -> None:
    data = example_data()
    del data["program"]
    data["sections"][0]["track"] = "intermediate"
    data["posting"]["channels"].pop("advanced")
    data["stipend"]["homeworks_submitted"] = 12
    assert set(errors_of(data)) == {"program", "sections[0].track", "posting.channels", "stipend.homeworks_submitted"}


def test_checks_that_read_an_invalid_setting_are_left_out() -> None:
    data = example_data()
    data["timezone"] = "Mars/Olympus"
    data["start_date"] = "soon"
    data["sections"][0]["track"] = "intermediate"
    # the due-date checks need the zone and the start, so they stay silent instead of guessing
    assert set(errors_of(data)) == {"timezone", "start_date", "sections[0].track"}


def test_cli_check_reports_every_problem_without_a_traceback(tmp_path: Path, capsys) -> None:
    from bot.cli import main

    text = example_text().replace("program: Introduction", "program: Introduction\nprogram: Again", 1)
    text = text.replace("start_date: 2026-01-12", "start_date: 2026-02-30")
    assert main(["check", str(write(tmp_path, text))]) == 1
    err = capsys.readouterr().err
    assert "'program' is given twice" in err and "start_date:" in err and "Traceback" not in err
    assert main(["check", str(write(tmp_path, b"\xff\xfe\x00\x01binary", "b.yaml"))]) == 1
    assert "not a text file" in capsys.readouterr().err

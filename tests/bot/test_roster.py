"""Roster import: good rows in, bad rows reported by line, re-import idempotent."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from bot.app import CohortBot
from bot.core.roles import Role
from bot.roster import RosterFileError, decode_roster, import_roster, import_roster_file
from tests.plugin import EXAMPLE_ROSTER

HEADER = "name,email,role,track,section,discord_id,slack_id,timezone,stipend_eligible\n"


async def test_example_roster_imports_and_reimport_changes_nothing(app: CohortBot) -> None:
    people = await app.people.all()
    assert len(people) == 12
    assert {p.role for p in people} == set(Role)
    assert sum(not p.stipend_eligible for p in people if p.role is Role.SCHOLAR) == 1
    report = await import_roster(app.people, EXAMPLE_ROSTER.read_text(), app.cohort, app.clock.now())
    assert (report.inserted, report.updated, report.unchanged, report.errors) == (0, 0, 12, [])
    assert await app.people.all() == people


async def test_bad_rows_are_reported_by_line_and_good_rows_kept(app: CohortBot) -> None:
    csv_text = HEADER + (
        "New Person,new@example.com,scholar,intro,europe-wed,,U0NEW00001,,true\n"  # line 2: good
        "Bad Email,not-an-email,scholar,intro,europe-wed,,,,true\n"  # line 3
        "Bad Role,badrole@example.com,wizard,intro,europe-wed,,,,true\n"  # line 4
        "Bad Zone,badzone@example.com,scholar,intro,europe-wed,,,Europe/Berln,true\n"  # line 5
        "Bad Section,badsec@example.com,scholar,intro,moon-base,,,,true\n"  # line 6
        "Bad Flag,badflag@example.com,scholar,intro,europe-wed,,,,maybe\n"  # line 7
        "Dup Discord,dup@example.com,scholar,intro,europe-wed,100000000000000011,,,true\n"  # line 8: Ada's id
        "Two Sections,two@example.com,scholar,intro,europe-wed;americas-tue,,,,true\n"  # line 9
        "Facilitator Two,fac2@example.com,facilitator,intro,europe-wed;americas-tue,,,,false\n"  # line 10: good
    )
    report = await import_roster(app.people, csv_text, app.cohort, app.clock.now())
    assert report.inserted == 2
    assert [line for line, _ in report.errors] == [3, 4, 5, 6, 7, 8, 9]
    messages = dict(report.errors)
    assert "not an email" in messages[3]
    assert "Europe/Berlin" in messages[5]  # suggestion
    assert "moon-base" in messages[6]
    assert "is already Ada Lovelace's" in messages[8]
    fac = await app.people.by_email("fac2@example.com")
    assert fac is not None and set(fac.sections) == {"europe-wed", "americas-tue"}
    assert await app.people.by_email("dup@example.com") is None


async def test_update_changes_only_what_changed(app: CohortBot) -> None:
    text = EXAMPLE_ROSTER.read_text().replace(
        "Ada Lovelace,ada@example.com,scholar,intro,americas-tue", "Ada King,ADA@example.com,scholar,intro,europe-wed"
    )
    report = await import_roster(app.people, text, app.cohort, app.clock.now())
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 11)
    ada = await app.people.by_email("ada@example.com")
    assert ada is not None and ada.name == "Ada King" and ada.sections == ("europe-wed",)


async def test_missing_columns_refuse_the_whole_file(app: CohortBot) -> None:
    report = await import_roster(app.people, "name,email\nX,x@example.com\n", app.cohort, app.clock.now())
    assert report.inserted == 0 and report.errors[0][0] == 1
    assert "role" in report.errors[0][1]


async def test_missing_name_email_or_role_are_said_in_plain_words(app: CohortBot) -> None:
    csv_text = HEADER + (
        ",noname@example.com,scholar,intro,europe-wed,,,,\n"  # line 2
        "No Email,,scholar,intro,europe-wed,,,,\n"  # line 3
        "No Role,norole@example.com,,intro,europe-wed,,,,\n"  # line 4
        ",,scholar,intro,europe-wed,,,Mars/Base,\n"  # line 5: two missing plus a bad zone
    )
    report = await import_roster(app.people, csv_text, app.cohort, app.clock.now())
    messages = dict(report.errors)
    assert messages[2] == "name is missing (every row needs the person's name)"
    assert messages[3].startswith("email is missing (every row needs an email address")
    assert messages[4] == "role is missing (scholar, facilitator or organizer)"
    assert messages[5].startswith("name is missing") and "email is missing" in messages[5]
    assert "timezone: unknown time zone 'Mars/Base'" in messages[5]
    assert not any("Input should" in m or "valid string" in m for m in messages.values())
    assert report.inserted == 0 and len(await app.people.all()) == 12


async def test_a_row_with_more_values_than_the_header_is_reported(app: CohortBot) -> None:
    csv_text = HEADER + (
        "Lovelace, Ada,ada2@example.com,scholar,intro,europe-wed,,,,true\n"  # line 2: an unquoted comma
        '"Lovelace, Ada",ada3@example.com,scholar,intro,europe-wed,,,,true\n'  # line 3: quoted, fine
        "Trailing Commas,trail@example.com,scholar,intro,europe-wed,,,,true,,\n"  # line 4: empty extras, fine
    )
    report = await import_roster(app.people, csv_text, app.cohort, app.clock.now())
    assert [line for line, _ in report.errors] == [2]
    assert "more values than the header's 9 columns (extra: 'true')" in report.errors[0][1]
    assert "double quotes" in report.errors[0][1]
    assert report.inserted == 2
    assert await app.people.by_email("ada2@example.com") is None


@pytest.mark.parametrize(
    ("encode", "said"),
    [
        (lambda text: text.encode("cp1252"), "read as Windows-1252: the file is not UTF-8"),
        (lambda text: text.encode("latin-1"), "read as Windows-1252: the file is not UTF-8"),
        (lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), None),
        (lambda text: text.encode("utf-16"), "read as UTF-16"),
    ],
    ids=["excel-cp1252", "latin-1", "utf-8-bom", "utf-16"],
)
async def test_excel_encodings_are_read_and_said(app: CohortBot, tmp_path: Path, encode, said) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(encode(HEADER + "Zoë Müller-Ñúñez,zoe@example.com,scholar,intro,europe-wed,,,,\n"))
    report = await import_roster_file(app.people, path, app.cohort, app.clock.now())
    assert report.inserted == 1 and not report.errors
    zoe = await app.people.by_email("zoe@example.com")
    assert zoe is not None and zoe.name == "Zoë Müller-Ñúñez"
    first_line = report.summary().splitlines()[0]
    assert (said in first_line) if said else "read as" not in first_line


def test_undecodable_or_binary_roster_files_are_refused_clearly() -> None:
    with pytest.raises(RosterFileError, match=r"neither UTF-8 nor Windows-1252 text \(byte 0x81 on line 2\)"):
        decode_roster(HEADER.encode() + b"caf\xe9 \x81\n")
    with pytest.raises(RosterFileError, match="not a CSV text file"):
        decode_roster(b"PK\x03\x04\x00\x00 an xlsx file")


def test_cli_import_of_a_cp1252_file_says_so_and_a_binary_file_changes_nothing(tmp_path: Path, capsys) -> None:
    from bot.cli import main
    from tests.plugin import EXAMPLE_COHORT

    db = tmp_path / "r.db"
    roster = tmp_path / "excel.csv"
    roster.write_bytes((HEADER + "José Núñez,jose@example.com,scholar,intro,europe-wed,,,,\n").encode("cp1252"))
    argv = ["roster", "import", str(roster), "--cohort", str(EXAMPLE_COHORT), "--db", str(db)]
    assert main(argv) == 0
    assert "1 added, 0 updated, 0 unchanged, 0 bad row(s) skipped (read as Windows-1252" in capsys.readouterr().out
    binary = tmp_path / "roster.xlsx"
    binary.write_bytes(b"PK\x03\x04\x00\x00\x00")
    fresh = tmp_path / "fresh.db"
    assert main(["roster", "import", str(binary), "--cohort", str(EXAMPLE_COHORT), "--db", str(fresh)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cohortbot: ") and "not a CSV text file" in err and len(err.splitlines()) == 1
    assert not fresh.exists()

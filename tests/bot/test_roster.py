"""Roster import: good rows in, bad rows reported by line, re-import idempotent."""

from __future__ import annotations

from bot.app import CohortBot
from bot.core.roles import Role
from bot.roster import import_roster
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

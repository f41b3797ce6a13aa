"""Calendars: the .ics parses with icalendar, its times are the bot's, UIDs are stable, a move bumps SEQUENCE,
a cancellation is STATUS:CANCELLED, and ``cohortbot export calendar`` writes the same thing."""

from __future__ import annotations

import argparse
import contextlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from bot.app import CohortBot
from bot.cli import CliError, build_parser, cmd_export
from bot.settings import Settings
from tests.plugin import EXAMPLE_COHORT


async def ics_of(as_, who: str) -> Calendar:
    reply = await as_(who, "schedule", format="ics")
    assert reply.error is None and reply.private
    [attachment] = reply.message.files
    assert attachment.filename.endswith(".ics")
    return Calendar.from_ical(attachment.content)


def events(cal: Calendar) -> dict[str, object]:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def uid(section: str, week: int) -> str:
    return f"section-{section}-week-{week}@introduction-to-ml-safety-winter-2026.cohortbot"


async def test_the_ics_parses_and_its_times_are_the_bots(app: CohortBot, as_):
    cal = await ics_of(as_, "Hedy Lamarr")
    found = events(cal)
    meetings = await app.meetings.of_section("americas-tue")
    assert {uid("americas-tue", m.week) for m in meetings} <= set(found)
    assert not any("europe-wed" in u for u in found)  # only her section
    for m in meetings:
        event = found[uid("americas-tue", m.week)]
        assert event.decoded("dtstart") == m.start and event.decoded("dtend") == m.end  # the same instants
        assert event["DTSTART"].params["TZID"] == "America/New_York"  # written in the section's zone
        assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
        assert "meet.mlsafety-course.example.org/americas-tue" in str(event["LOCATION"])
    assert {tz["TZID"] for tz in cal.walk("VTIMEZONE")} >= {"America/New_York"}
    for week in app.cohort.weeks:
        deadline = found[f"homework-week-{week.number}@introduction-to-ml-safety-winter-2026.cohortbot"]
        assert deadline.decoded("dtstart") == app.cohort.due(week.number)

    apac = events(await ics_of(as_, "Tu Youyou"))
    skipped = apac[uid("apac-thu", 6)]  # the file's exception: still in the file, cancelled
    assert str(skipped["STATUS"]) == "CANCELLED" and skipped["SEQUENCE"] == 1
    assert apac[uid("apac-thu", 1)]["DTSTART"].params["TZID"] == "Asia/Singapore"

    everyone = events(await ics_of(as_, "Grace Hopper"))
    assert len([u for u in everyone if u.startswith("section-")]) == 24  # organizers: every section


async def test_a_move_bumps_the_sequence_and_a_cancel_cancels_with_the_same_uids(app, as_):
    before = events(await ics_of(as_, "Ada Lovelace"))
    await as_("Alan Turing", "section move", section="americas-tue", week="2", to="2026-01-21 19:00")
    await as_("Alan Turing", "section move", section="americas-tue", week="2", to="2026-01-21 20:00")
    await as_("Alan Turing", "section cancel", section="americas-tue", week="3", reason="snow")
    after = events(await ics_of(as_, "Ada Lovelace"))
    assert set(before) == set(after)  # stable UIDs: a re-import updates, never duplicates
    moved = after[uid("americas-tue", 2)]
    assert moved["SEQUENCE"] == 2 and moved.decoded("dtstart") == (await app.meetings.get("americas-tue", 2)).start
    assert moved.decoded("dtstart") - before[uid("americas-tue", 2)].decoded("dtstart") == timedelta(days=1, hours=2)
    cancelled = after[uid("americas-tue", 3)]
    assert str(cancelled["STATUS"]) == "CANCELLED" and cancelled["SEQUENCE"] == 1 and "snow" in cancelled["DESCRIPTION"]
    assert after[uid("americas-tue", 4)]["SEQUENCE"] == 0


async def test_an_extension_moves_the_scholars_own_deadline(app, as_):
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until="2026-01-21 12:00")
    ada = events(await ics_of(as_, "Ada Lovelace"))["homework-week-1@introduction-to-ml-safety-winter-2026.cohortbot"]
    hedy = events(await ics_of(as_, "Hedy Lamarr"))["homework-week-1@introduction-to-ml-safety-winter-2026.cohortbot"]
    assert ada.decoded("dtstart") > hedy.decoded("dtstart") == app.cohort.due(1)
    assert ada["SEQUENCE"] == 1


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


async def test_cohortbot_export_calendar(app: CohortBot, as_, tmp_path: Path):
    await as_("Alan Turing", "section cancel", section="americas-tue", week="3")
    settings = Settings(_env_file=None)
    out = tmp_path / "ada.ics"
    common = ("--db", app.db.path, "--cohort", str(EXAMPLE_COHORT))
    assert (
        await cmd_export(args("export", "calendar", "--person", "ada@example.com", *common, "-o", str(out)), settings)
        == 0
    )
    written = events(Calendar.from_ical(out.read_bytes()))
    assert str(written[uid("americas-tue", 3)]["STATUS"]) == "CANCELLED"  # the running bot's change is in it
    assert written.keys() == events(await ics_of(as_, "Ada Lovelace")).keys()

    buffer = io.BytesIO()
    wrapper = io.TextIOWrapper(buffer)
    with contextlib.redirect_stdout(wrapper):
        assert await cmd_export(args("export", "calendar", *common), settings) == 0
        wrapper.flush()
    everyone = Calendar.from_ical(buffer.getvalue())
    assert len(everyone.walk("VEVENT")) == 24 + 8 + 2  # meetings, deadlines, the weekend workshop's two days
    sessions = sorted(str(e["SUMMARY"]) for e in everyone.walk("VEVENT") if str(e["UID"]).startswith("session-"))
    assert len(sessions) == 2

    with pytest.raises(CliError, match="nobody with the email"):
        await cmd_export(args("export", "calendar", "--person", "nobody@example.com", *common), settings)
    with pytest.raises(CliError, match="--person only goes with calendar"):
        await cmd_export(args("export", "submissions", "--person", "ada@example.com", *common), settings)


async def test_the_ics_reply_counts_each_kind_of_event(app: CohortBot, as_):
    reply = await as_("Hedy Lamarr", "schedule", format="ics")
    cal = Calendar.from_ical(reply.message.files[0].content)
    uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
    meetings = sum(u.startswith("section-") for u in uids)
    deadlines = sum(u.startswith("homework-") for u in uids)
    sessions = sum(u.startswith("session-") for u in uids)
    assert meetings and deadlines and sessions  # the example has all three
    text = reply.message.text
    assert text.startswith(f"{meetings} meetings, {deadlines} deadlines and {sessions} workshop sessions"), text

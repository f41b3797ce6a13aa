"""/schedule for each role on the console, /section move and cancel with every refusal (private, nothing changed),
and the calendar link's options."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import CohortBot
from bot.platforms.console import ConsolePlatform
from schedules.runtime import Runtime


async def state(app: CohortBot) -> tuple:
    """Everything a refused change must leave alone."""
    changes = await app.db.fetchall("SELECT * FROM meeting_changes")
    outbox = await app.db.fetchval("SELECT COUNT(*) FROM outbox")
    feeds = await app.db.fetchall("SELECT * FROM calendar_feeds")
    return [tuple(r) for r in changes], outbox, [tuple(r) for r in feeds]


async def console(app: CohortBot, lines: list[str]) -> str:
    """Run ``lines`` through the console platform (what a person typing in the demo sees)."""
    out = io.StringIO()
    platform = ConsolePlatform(app, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out, runtime=Runtime(app))
    await platform.start()
    await platform.run()
    return out.getvalue()


async def test_schedule_on_the_console_for_each_role(app, clock):
    await app.meetings.record("americas-tue", 2, "moved", starts_at=(await app.meetings.get("americas-tue", 2)).start
                              + timedelta(days=1), reason="holiday")  # fmt: skip
    await app.meetings.record("europe-wed", 1, "cancelled", reason="strike")
    out = await console(
        app,
        [
            "/as Hedy",
            "/schedule",
            "/as Katherine",
            "/schedule",
            "/as Grace",
            "/schedule weeks:1",
            "/schedule format:ics",
        ],
    )
    scholar, facilitator, organizer = out.split("> /schedule")[1:4]
    # Hedy (Los Angeles): her section's meetings in her zone, where, the move, her deadlines and the posts
    assert "Your schedule: the next 14 days" in scholar and "Hedy Lamarr (scholar)" in scholar
    assert "americas-tue, week 1: Tue 13 Jan 2026, 15:00 PST" in scholar
    assert "moved from Tue 20 Jan 2026, 15:00 PST (holiday)" in scholar
    assert "call link (https://meet.mlsafety-course.example.org/americas-tue)" in scholar
    assert "Week 1: Risk decomposition, due Sun 18 Jan 2026, 20:59 PST: not submitted yet" in scholar
    assert "Week 2 material" in scholar and "europe-wed" not in scholar
    # Katherine (London) runs europe-wed: the cancellation, the place, attendance
    assert "europe-wed, week 1: ❌ cancelled (Wed 14 Jan 2026, 18:30 GMT): strike" in facilitator
    assert "europe-wed, week 2: Wed 21 Jan 2026, 18:30 GMT" in facilitator
    assert "Room 2.14, 66 Example Street, London" in facilitator
    assert "Attendance still to record" in facilitator and "No meetings have taken place yet" in facilitator
    # Grace: every section this week
    assert "Every section, week 1" in organizer
    for name in ("americas-tue", "europe-wed", "apac-thu"):
        assert name in organizer
    assert "cancelled: strike" in organizer
    assert "[file: grace-hopper-schedule.ics" in out
    assert "Traceback" not in out


async def test_facilitators_see_which_meetings_lack_attendance(app, as_, clock):
    class Attendance:
        async def recorded(self, meetings):
            return {("americas-tue", 1)}

        async def missed(self, meeting):
            return []

    app.meetings.attendance = Attendance()
    clock.set((await app.meetings.get("americas-tue", 2)).end + timedelta(hours=1))
    reply = await as_("Alan Turing", "schedule")
    text = reply.message.as_plain_text(app.cohort.zone)
    assert "Attendance still to record\namericas-tue, week 2" in text and "week 1 (" not in text


@pytest.mark.parametrize(
    ("who", "options", "expected"),
    [
        ("Alan Turing", {"section": "atlantis", "week": "2", "to": "2026-01-21 18:00"}, "no section called 'atlantis'"),
        ("Alan Turing", {"section": "americas-tue", "week": "9", "to": "2026-01-21 18:00"}, "There is no week 9"),
        ("Alan Turing", {"section": "americas-tue", "week": "0", "to": "2026-01-21 18:00"}, "There is no week 0"),
        ("Alan Turing", {"section": "americas-tue", "week": "2", "to": "2026-01-01 18:00"}, "is in the past"),
        ("Alan Turing", {"section": "americas-tue", "week": "2", "to": "next tuesday"}, "must look like 2026-01-20"),
        (
            "Alan Turing",
            {"section": "americas-tue", "week": "2", "to": "2026-01-27 17:30"},
            "overlaps week 3's meeting",
        ),
        ("Alan Turing", {"section": "americas-tue", "week": "2", "to": "2026-01-20 18:00"}, "already starts"),
        ("Alan Turing", {"section": "europe-wed", "week": "2", "to": "2026-01-22 18:00"}, "only do that for your own"),
        ("Ada Lovelace", {"section": "americas-tue", "week": "2", "to": "2026-01-22 18:00"}, "only for facilitators"),
    ],
)
async def test_bad_moves_are_refused_privately_and_change_nothing(app, as_, who, options, expected):
    before = await state(app)
    reply = await as_(who, "section move", **options)
    assert reply.private and reply.error and expected in reply.error, reply.error
    assert "Traceback" not in reply.error
    assert await state(app) == before


async def test_a_meeting_that_took_place_cannot_be_moved_or_cancelled(app, as_, clock):
    first = await app.meetings.get("americas-tue", 1)
    clock.set(first.start + timedelta(minutes=10))
    before = await state(app)
    moved = await as_("Alan Turing", "section move", section="americas-tue", week="1", to="2026-01-30 18:00")
    assert moved.error and "already is under way" in moved.error
    cancelled = await as_("Grace Hopper", "section cancel", section="americas-tue", week="1")
    assert cancelled.error and "already is under way" in cancelled.error
    assert await state(app) == before


@pytest.mark.parametrize(
    ("who", "options", "expected"),
    [
        ("Alan Turing", {"section": "nowhere", "week": "3"}, "no section called 'nowhere'"),
        ("Alan Turing", {"section": "americas-tue", "week": "12"}, "There is no week 12"),
        ("Alan Turing", {"section": "apac-thu", "week": "3"}, "only do that for your own sections (americas-tue)"),
        ("Claude Shannon", {"section": "apac-thu", "week": "6"}, "already cancelled (Lunar New Year holidays)"),
        ("Hedy Lamarr", {"section": "americas-tue", "week": "3"}, "only for facilitators and organizers"),
    ],
)
async def test_bad_cancellations_are_refused_privately_and_change_nothing(app, as_, who, options, expected):
    before = await state(app)
    reply = await as_(who, "section cancel", **options)
    assert reply.private and reply.error and expected in reply.error, reply.error
    assert await state(app) == before


async def test_organizers_change_any_section_and_a_second_cancel_is_refused(app, as_):
    moved = await as_("Grace Hopper", "section move", section="apac-thu", week="3", to="2026-01-30 06:00")
    assert moved.error is None and "Moved: apac-thu, week 3" in moved.message.title
    meeting = await app.meetings.get("apac-thu", 3)
    assert meeting.start.isoformat() == "2026-01-30T11:00:00+00:00" and meeting.sequence == 1  # 06:00 in New York
    done = await as_("Grace Hopper", "section cancel", section="apac-thu", week="3", reason="no room")
    assert done.error is None
    before = await state(app)
    again = await as_("Claude Shannon", "section cancel", section="apac-thu", week="3")
    assert again.error and "already cancelled (no room)" in again.error
    assert await state(app) == before
    # a cancelled meeting can be brought back by moving it
    back = await as_("Claude Shannon", "section move", section="apac-thu", week="3", to="2026-01-31 06:00")
    assert back.error is None and (await app.meetings.get("apac-thu", 3)).held


async def test_schedule_option_refusals(app, as_):
    before = await state(app)
    for who, options, expected in [
        ("Ada Lovelace", {"feed": "revoke", "user": "Hedy Lamarr"}, "Only organizers can turn off someone else's"),
        ("Ada Lovelace", {"user": "Hedy Lamarr"}, "user: only goes with feed:revoke"),
        ("Ada Lovelace", {"feed": "link", "format": "ics"}, "Use feed on its own"),
        ("Ada Lovelace", {"feed": "link"}, "web server, and it is not running here"),
        ("Ada Lovelace", {"feed": "revoke"}, "You have no calendar link to turn off"),
        ("Ada Lovelace", {"weeks": "0"}, "weeks must be at least 1"),
        ("Ada Lovelace", {"weeks": "13"}, "weeks must be at most 12"),
        ("Ada Lovelace", {"format": "pdf"}, "format must be one of: text, ics"),
        ("Someone Unknown", {}, "not on the roster"),
    ]:
        reply = await as_(who, "schedule", **options)
        assert reply.private and reply.error and expected in reply.error, (options, reply.error)
    assert await state(app) == before


async def test_schedule_lists_the_workshop_sessions_in_the_readers_zone(app, as_, clock):
    clock.set(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))
    before = await as_("Emmy Noether", "schedule")  # Berlin: 10:00 New York is 16:00 there
    text = before.message.as_plain_text(ZoneInfo("Europe/Berlin"))
    assert "Workshop sessions" in text and "Disagreeing well, day 1: find the crux" in text
    assert "Sat 07 Feb 2026, 16:00 CET" in text
    clock.set(datetime(2026, 2, 9, 9, 0, tzinfo=UTC))  # after the weekend: nothing left to show
    after = (await as_("Emmy Noether", "schedule")).message.as_plain_text(ZoneInfo("Europe/Berlin"))
    assert "Workshop sessions" not in after


async def test_a_second_move_says_which_time_it_replaces(app):
    """The mover's confirmation names the time the meeting had just before this move, not the weekly pattern's."""
    out = await console(
        app,
        [
            "/as Alan",
            "/section move section:americas-tue week:2 to:2026-01-21 18:00",
            "/section move section:americas-tue week:2 to:2026-01-22 09:00",
        ],
    )
    first, second = out.split("> /section move")[1:3]
    assert "instead of Tue 20 Jan 2026, 18:00 EST" in first
    assert "instead of Wed 21 Jan 2026, 18:00 EST" in second

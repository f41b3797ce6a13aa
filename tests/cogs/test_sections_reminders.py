"""Meeting reminders and prep notes through the real runtime on a virtual clock: the right instant, each member
once, times in each reader's zone (across a daylight-saving change), and moves and cancellations followed."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.app import CohortBot
from bot.cli import build_parser, cmd_check
from bot.cohort import parse_cohort
from bot.core.platform import ChannelTarget, DMTarget
from bot.roster import import_roster_file
from schedules.runtime import Runtime, plan
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER, console_actor
from tests.schedules.recording import RecordingSender

NY = ZoneInfo("America/New_York")
AMERICAS = {"Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin", "Alan Turing"}


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def recorder(app: CohortBot) -> RecordingSender:
    sender = RecordingSender("console")
    app.senders["console"] = sender
    return sender


async def delivered(app: CohortBot, sender: RecordingSender, prefix: str) -> dict[str, str]:
    """Who got a DM whose key starts with ``prefix``: name -> the message as they read it (plain, own zone)."""
    out: dict[str, str] = {}
    for key in sender.order:
        if not key.startswith(prefix):
            continue
        target, message = sender.delivered[key]
        assert isinstance(target, DMTarget)
        person = await app.people.get(target.person_id)
        assert person.name not in out, f"{person.name} got two messages for {prefix}"
        out[person.name] = message.as_plain_text(person.zone(app.cohort.zone))
    return out


@pytest.fixture
async def spring(tmp_path, clock) -> AsyncIterator[CohortBot]:
    """The example course started five weeks later (16 February), so it runs across the US switch to daylight
    time on Sunday 8 March: americas-tue meets 3 March (EST) and 10 March (EDT), 18:00 New York time both."""
    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    data["start_date"] = date(2026, 2, 16)
    for week in data["weeks"]:
        due = datetime.fromisoformat(str(week["homework"]["due"]))
        week["homework"]["due"] = (due + timedelta(weeks=5)).isoformat(sep=" ")
    cohort = parse_cohort(data)
    app = await CohortBot.open(cohort, tmp_path / "spring.db", clock=clock)
    await import_roster_file(app.people, EXAMPLE_ROSTER, cohort, clock.now())
    clock.set(datetime(2026, 2, 16, 8, 0, tzinfo=NY))
    yield app
    await app.close()


async def test_each_member_once_at_the_right_local_time_across_dst(spring, clock):
    app = spring
    sender = recorder(app)
    runtime = Runtime(app)
    ada = await console_actor(app, "Ada Lovelace")
    await app.dispatch(ada, "timezone", {"zone": "Europe/Berlin"})  # not the section's zone (New York)
    await app.dispatch(ada, "submit", {"week": "3", "link": "https://example.com/ada-3"})
    await runtime.run_until_idle()

    # week 3: Tuesday 3 March 18:00 EST = 23:00 UTC; the reminder is an hour before
    week3 = ny(2026, 3, 3, 18, 0)
    assert week3 == datetime(2026, 3, 3, 23, 0, tzinfo=UTC) == (await app.meetings.get("americas-tue", 3)).start
    assert any(j.id.startswith("section-reminders:2026-03-03T22:00:00+00:00:") for j in await plan(app))
    clock.set(week3 - timedelta(minutes=61))
    await runtime.run_until_idle()  # weeks 1-2 passed while "running": their meetings had begun, nothing late
    assert not [k for k in sender.order if k.startswith("section-reminder:americas-tue:week-3:")]
    clock.set(week3 - timedelta(minutes=60))
    await runtime.run_until_idle()
    got = await delivered(app, sender, "section-reminder:americas-tue:week-3:")
    assert set(got) == AMERICAS  # every member and the facilitator, once each
    assert "Wed 04 Mar 2026, 00:00 CET in your time zone (Europe/Berlin)" in got["Ada Lovelace"]
    assert "Tue 03 Mar 2026, 15:00 PST in your time zone (America/Los_Angeles)" in got["Hedy Lamarr"]
    assert "Tue 03 Mar 2026, 18:00 EST in your time zone (America/New_York)" in got["Rosalind Franklin"]
    assert "#section-americas" in got["Ada Lovelace"] and "meet.mlsafety-course.example.org" in got["Ada Lovelace"]
    assert "A Baseline for Detecting Misclassified" in got["Ada Lovelace"]  # this week's readings, with links
    assert "https://arxiv.org/abs/1610.02136" in got["Ada Lovelace"]
    assert "Scaling Out-of-Distribution" not in got["Ada Lovelace"]  # the advanced track's are not hers
    assert "✅ submitted" in got["Ada Lovelace"] and "not submitted yet" in got["Rosalind Franklin"]
    assert "Your homework" not in got["Alan Turing"]  # facilitators hand in nothing
    assert await delivered(app, sender, "section-reminder:europe-wed:week-3:") == {}  # Wednesday's is not due

    clock.advance(timedelta(minutes=30))
    await runtime.run_until_idle()
    await runtime.run_until_idle()
    assert all(sender.calls[k] == 1 for k in sender.order if k.startswith("section-reminder:"))

    # week 4, after the switch: 18:00 in New York is now 22:00 UTC, and in Berlin (not switched yet) 23:00
    week4 = ny(2026, 3, 10, 18, 0)
    assert week4 == datetime(2026, 3, 10, 22, 0, tzinfo=UTC) == (await app.meetings.get("americas-tue", 4)).start
    clock.set(week4 - timedelta(minutes=61))
    await runtime.run_until_idle()
    assert await delivered(app, sender, "section-reminder:americas-tue:week-4:") == {}
    clock.set(week4 - timedelta(minutes=60))
    await runtime.run_until_idle()
    got = await delivered(app, sender, "section-reminder:americas-tue:week-4:")
    assert set(got) == AMERICAS
    assert "Tue 10 Mar 2026, 23:00 CET in your time zone (Europe/Berlin)" in got["Ada Lovelace"]
    assert "Tue 10 Mar 2026, 15:00 PDT in your time zone (America/Los_Angeles)" in got["Hedy Lamarr"]
    assert "Tue 10 Mar 2026, 18:00 EDT" in got["Rosalind Franklin"]
    assert all(sender.calls[k] == 1 for k in sender.order if k.startswith("section-reminder:"))


async def test_restart_and_replan_send_nothing_twice(app, clock):
    sender = recorder(app)
    meeting = await app.meetings.get("europe-wed", 1)
    clock.set(meeting.start - timedelta(minutes=59))
    runtime = Runtime(app)
    await runtime.run_until_idle()
    first = await delivered(app, sender, "section-reminder:europe-wed:week-1:")
    assert set(first) == {"Emmy Noether", "Marie Curie", "Katherine Johnson"}

    # the bot restarts (a new app on the same database) and the job record is lost: the outbox keys still hold
    await app.db.execute("DELETE FROM job_runs WHERE job_id LIKE 'section-reminders:%'")
    again = await CohortBot.open(app.cohort, app.db.path, clock=clock)
    try:
        again.senders["console"] = sender
        await Runtime(again).run_until_idle()
    finally:
        await again.close()
    assert all(sender.calls[k] == 1 for k in sender.order if k.startswith("section-reminder:"))
    assert await delivered(app, sender, "section-reminder:europe-wed:week-1:") == first


async def test_channel_posts_mention_the_members(tmp_path, clock):
    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    data["reminders"]["section_reminder_via"] = "channel"
    cohort = parse_cohort(data)
    app = await CohortBot.open(cohort, tmp_path / "c.db", clock=clock)
    try:
        await import_roster_file(app.people, EXAMPLE_ROSTER, cohort, clock.now())
        sender = recorder(app)
        meeting = await app.meetings.get("americas-tue", 1)
        clock.set(meeting.start - timedelta(minutes=60))
        await Runtime(app).run_until_idle()
        keys = [k for k in sender.order if k.startswith("section-reminder:")]
        assert keys == [f"section-reminder:americas-tue:week-1:{meeting.start.isoformat()}:channel"]
        target, message = sender.delivered[keys[0]]
        assert target == ChannelTarget("section-americas")
        people = await app.people.get_many(message.mentions)
        assert {p.name for p in people.values()} == AMERICAS
        assert "Your homework" not in message.as_plain_text(NY)  # personal status is never posted in public
    finally:
        await app.close()


async def test_facilitators_prep_note(app, as_, clock):
    sender = recorder(app)
    await as_("Ada Lovelace", "submit", week="2", link="https://example.com/ada")
    meeting = await app.meetings.get("americas-tue", 2)
    clock.set(meeting.start - timedelta(hours=24))
    await Runtime(app).run_until_idle()
    notes = await delivered(app, sender, "section-prep:americas-tue:week-2:")
    assert list(notes) == ["Alan Turing"]
    note = notes["Alan Turing"]
    assert "Roster (3)" in note and "Ada Lovelace, Hedy Lamarr, Rosalind Franklin" in note
    assert "1 of 3 submitted" in note and "Submitted: Ada Lovelace" in note
    assert "Not yet: Hedy Lamarr, Rosalind Franklin" in note
    assert "Attendance for week 1 has not been recorded yet" in note  # the attendance feature is installed

    # Alan takes week 2's attendance after the meeting; week 3's note names who missed it (not the excused)
    clock.set(meeting.end + timedelta(minutes=5))
    taken = await as_(
        "Alan Turing", "attendance", section="americas-tue", week="2", present="Ada Lovelace", absent="Hedy Lamarr"
    )
    assert taken.error is None
    excused = await as_(
        "Alan Turing", "attendance", section="americas-tue", week="2", excused="Rosalind Franklin", reason="ill"
    )
    assert excused.error is None
    meeting = await app.meetings.get("americas-tue", 3)
    clock.set(meeting.start - timedelta(hours=24))
    await Runtime(app).run_until_idle()
    note = (await delivered(app, sender, "section-prep:americas-tue:week-3:"))["Alan Turing"]
    assert "Missed last week\nHedy Lamarr" in note


async def check_plan(app: CohortBot) -> list[str]:
    """The job ids ``cohortbot check --db`` prints for the running bot's database."""
    args: argparse.Namespace = build_parser().parse_args(["check", str(EXAMPLE_COHORT), "--db", app.db.path])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert await cmd_check(args) == 0
    text = out.getvalue()
    jobs = text.split("Scheduled jobs the bot will run", 1)[1].splitlines()[3:]
    return [re.split(r"\s{2,}", line)[1] for line in jobs if line.strip()]  # columns: when, job, what


async def test_move_and_cancel_follow_through_reminders_and_plans(app, as_, clock):
    sender = recorder(app)
    runtime = Runtime(app)
    await runtime.run_until_idle()
    old = await app.meetings.get("americas-tue", 2)
    stale_jobs = [j for j in await plan(app) if j.when == old.start - timedelta(minutes=60)]
    assert len(stale_jobs) == 1

    # Alan moves week 2 from Tuesday 20 to Wednesday 21 January, 19:00 his time (New York)
    moved = await as_("Alan Turing", "section move", section="americas-tue", week="2", to="2026-01-21 19:00",
                      reason="MLK Day week")  # fmt: skip
    assert moved.error is None and moved.private, moved.message
    await runtime.run_until_idle()
    told = await delivered(app, sender, "section-change:americas-tue:week-2:")
    assert set(told) == AMERICAS - {"Alan Turing"}  # at once, everyone but the one who moved it
    assert "Wed 21 Jan 2026, 19:00 EST" in told["Rosalind Franklin"] and "MLK Day week" in told["Rosalind Franklin"]
    assert "Tue 20 Jan 2026, 16:00 CET" not in told["Hedy Lamarr"]  # times are in the reader's own zone
    assert "Wed 21 Jan 2026, 16:00 PST" in told["Hedy Lamarr"]

    # the job planned for the old time, had it fired anyway, sends nothing: the meeting no longer starts then
    await stale_jobs[0].run(app)
    assert not [k for k in sender.order if k.startswith("section-reminder:americas-tue:week-2:")]
    assert (await app.outbox.counts()).get("pending", 0) == 0

    # the plans agree: cohortbot check --db and the running bot, with the new instant and without the old one
    ids = [j.id for j in await plan(app)]
    assert await check_plan(app) == ids
    assert stale_jobs[0].id not in ids
    assert any(i.startswith("section-reminders:2026-01-21T23:00:00+00:00:") for i in ids)

    clock.set(old.start - timedelta(minutes=60))  # the old reminder time passes: nothing
    await runtime.run_until_idle()
    assert not [k for k in sender.order if k.startswith("section-reminder:americas-tue:week-2:")]
    new_start = datetime(2026, 1, 22, 0, 0, tzinfo=UTC)
    clock.set(new_start - timedelta(minutes=60))
    await runtime.run_until_idle()
    got = await delivered(app, sender, f"section-reminder:americas-tue:week-2:{new_start.isoformat()}:")
    assert set(got) == AMERICAS and "Wed 21 Jan 2026, 19:00 EST" in got["Rosalind Franklin"]

    # cancel week 3: members told, no reminder, the plans agree again
    cancelled = await as_("Alan Turing", "section cancel", section="americas-tue", week="3", reason="snow day")
    assert cancelled.error is None
    await runtime.run_until_idle()
    told = await delivered(app, sender, "section-change:americas-tue:week-3:")
    assert set(told) == AMERICAS - {"Alan Turing"} and "snow day" in told["Ada Lovelace"]
    assert await check_plan(app) == [j.id for j in await plan(app)]
    week3 = await app.meetings.get("americas-tue", 3)
    clock.set(week3.start - timedelta(minutes=30))
    await runtime.run_until_idle()
    assert not [k for k in sender.order if k.startswith("section-reminder:americas-tue:week-3:")]
    assert not [k for k in sender.order if k.startswith("section-prep:americas-tue:week-3:")]
    assert all(n == 1 for n in sender.calls.values())

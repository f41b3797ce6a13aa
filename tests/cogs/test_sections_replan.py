"""/section move and /section cancel re-plan at once (``app.schedule_changed``), with the real scheduler running:
a meeting moved to shortly ahead gets its reminder on time, not at the next periodic re-plan minutes later."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import yaml

from bot.app import CohortBot
from bot.cohort import Cohort, parse_cohort
from bot.core.clock import SystemClock
from bot.roster import import_roster_file
from schedules.runtime import Runtime
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER, console_actor
from tests.schedules.recording import RecordingSender

NY = ZoneInfo("America/New_York")
LEAD = timedelta(seconds=3)  # the reminder falls due this long after the move


def starting_next_week(today: date) -> Cohort:
    """The example course moved to start next Monday (so that, in real time, none of its meetings took place)."""
    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    start = today + timedelta(days=7 - today.weekday())
    shift = start - data["start_date"]
    data["start_date"] = start
    for week in data["weeks"]:
        due = datetime.fromisoformat(str(week["homework"]["due"]))
        week["homework"]["due"] = (due + shift).isoformat(sep=" ")
    data["sessions"] = []
    return parse_cohort(data)


async def test_a_meeting_moved_to_shortly_ahead_is_reminded_on_time(tmp_path):
    clock = SystemClock()
    cohort = starting_next_week(clock.now().astimezone(NY).date())
    app = await CohortBot.open(cohort, tmp_path / "real.db", clock=clock)
    await import_roster_file(app.people, EXAMPLE_ROSTER, cohort, clock.now())
    app.senders["console"] = sender = RecordingSender()
    runtime = Runtime(app)
    await runtime.start()
    try:
        minutes = cohort.reminders.section_minutes_before
        to = clock.now().replace(microsecond=0) + timedelta(minutes=minutes) + LEAD
        alan = await console_actor(app, "Alan Turing")  # New York, like the time he types
        options = {"section": "americas-tue", "week": "1", "to": to.astimezone(NY).strftime("%Y-%m-%d %H:%M:%S")}
        moved = await app.dispatch(alan, "section move", options)
        assert moved.error is None, moved.error
        assert (await app.meetings.get("americas-tue", 1)).start == to

        prefix = "section-reminder:americas-tue:week-1:"
        for _ in range(200):  # at most 10 s; the periodic re-plan is minutes away
            if len([k for k in sender.delivered if k.startswith(prefix)]) == 4:
                break
            await asyncio.sleep(0.05)
        reminded = [k for k in sender.delivered if k.startswith(prefix)]
        assert len(reminded) == 4 and all(to.isoformat() in k for k in reminded)  # the members and Alan, once
        # the prep note's time (a day before) had passed at the move: it went out at once, to Alan, once
        prepped = [k for k in sender.delivered if k.startswith("section-prep:americas-tue:week-1:")]
        assert len(prepped) == 1 and to.isoformat() in prepped[0]

        # a cancel re-plans too: the cancelled meeting's reminder and prep note jobs leave the scheduler at once
        def jobs_for(week: int) -> list[str]:
            kinds = ("plan:section-reminders:", "plan:section-prep:")
            jobs = runtime.scheduler.get_jobs()
            return [j.id for j in jobs if j.id.startswith(kinds) and f"americas-tue week {week} (" in j.name]

        assert jobs_for(2)
        cancelled = await app.dispatch(alan, "section cancel", {"section": "americas-tue", "week": "2"})
        assert cancelled.error is None, cancelled.error
        for _ in range(200):
            if not jobs_for(2):
                break
            await asyncio.sleep(0.05)
        assert jobs_for(2) == []
    finally:
        await runtime.stop()
        await app.close()

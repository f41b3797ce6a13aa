"""The runtime: a post fires at its time exactly once, across restarts, outages and reloads."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import time_machine

from bot.app import CohortBot
from bot.core.clock import ManualClock, SystemClock
from bot.core.platform import ChannelTarget
from schedules.runtime import Runtime, plan
from schedules.scheduler import build_scheduler, install_jobs
from tests.plugin import EXAMPLE_COHORT
from tests.schedules.recording import RecordingSender


def week_post_time(app: CohortBot, week: int) -> datetime:
    return app.cohort.post_time(week)


async def started(app: CohortBot, sender: RecordingSender, **kwargs: object) -> Runtime:
    app.senders["console"] = sender
    runtime = Runtime(app, **kwargs)
    await runtime.start()
    return runtime


async def test_post_fires_at_its_time_exactly_once(app: CohortBot, clock: ManualClock):
    sender = RecordingSender()
    runtime = await started(app, sender)
    try:
        due = week_post_time(app, 2)
        clock.set(due - timedelta(minutes=1))
        await runtime.run_until_idle()
        assert "post:week-2:intro" not in sender.delivered
        clock.set(due)
        await runtime.run_until_idle()
        await runtime.run_until_idle()
        clock.advance(timedelta(hours=1))
        await runtime.run_until_idle()
    finally:
        await runtime.stop()
    assert sender.calls["post:week-2:intro"] == 1
    assert sender.calls["post:week-2:advanced"] == 1
    target, message = sender.delivered["post:week-2:intro"]
    assert target == ChannelTarget("intro-course")
    assert message.title.startswith("Week 2:")
    assert "week-3" not in " ".join(sender.delivered)
    item = await app.outbox.get("post:week-2:advanced")
    assert item is not None and item.state == "sent" and item.attempts == 1


async def test_restart_in_between_does_not_double(tmp_path, cohort, clock: ManualClock):
    path = tmp_path / "bot.db"
    sender = RecordingSender()
    for step in range(3):
        app = await CohortBot.open(cohort, path, clock=clock)
        runtime = await started(app, sender)
        if step == 1:
            clock.set(week_post_time(app, 1) + timedelta(minutes=5))
            await runtime.run_until_idle()
        await runtime.stop()
        await app.close()
    assert sender.calls["post:week-1:intro"] == 1
    assert sender.calls["post:week-1:advanced"] == 1


async def test_outage_within_grace_sends_once_on_start_up(tmp_path, cohort, clock: ManualClock):
    path = tmp_path / "bot.db"
    sender = RecordingSender()
    app = await CohortBot.open(cohort, path, clock=clock)
    runtime = await started(app, sender)
    await runtime.stop()
    await app.close()
    clock.set(cohort.post_time(1) + timedelta(hours=5))  # down across 09:00; grace is 6 h
    for _ in range(2):
        app = await CohortBot.open(cohort, path, clock=clock)
        runtime = await started(app, sender)
        await runtime.run_until_idle()
        await runtime.stop()
        row = await app.db.fetchone("SELECT * FROM job_runs WHERE job_id = 'post:week-1'")
        await app.close()
    assert row["state"] == "done" and "late by 5.0 h" in row["reason"]
    assert sender.calls["post:week-1:intro"] == 1


async def test_outage_beyond_grace_is_logged_as_skipped(app: CohortBot, clock: ManualClock, caplog):
    sender = RecordingSender()
    clock.set(week_post_time(app, 1) + timedelta(hours=7))
    with caplog.at_level(logging.WARNING):
        runtime = await started(app, sender)
        await runtime.run_until_idle()
        await runtime.stop()
    assert not sender.posts()
    row = await app.db.fetchone("SELECT * FROM job_runs WHERE job_id = 'post:week-1'")
    assert row["state"] == "skipped"
    assert "beyond the misfire grace of 6.0 h" in row["reason"]
    assert any("skipped job post:week-1" in r.getMessage() for r in caplog.records)
    # A later start does not revive it.
    runtime = await started(app, sender)
    await runtime.run_until_idle()
    await runtime.stop()
    assert not sender.posts()


async def test_grace_comes_from_settings(app: CohortBot, clock: ManualClock):
    app.settings.misfire_grace_hours = 8
    sender = RecordingSender()
    clock.set(week_post_time(app, 1) + timedelta(hours=7))
    runtime = await started(app, sender)
    await runtime.run_until_idle()
    await runtime.stop()
    assert sender.calls["post:week-1:intro"] == 1


async def test_demo_clock_jump_while_running_posts_every_week_passed(app: CohortBot, clock: ManualClock):
    sender = RecordingSender()
    runtime = await started(app, sender)
    clock.set(week_post_time(app, 3) + timedelta(days=1))  # the bot was up the whole time
    await runtime.run_until_idle()
    await runtime.stop()
    assert [k for k in sender.order if k.startswith("post:")] == [
        f"post:week-{w}:{t}" for w in (1, 2, 3) for t in ("intro", "advanced")
    ]


async def test_reload_rebuilds_with_fixed_ids(app: CohortBot, clock: ManualClock):
    sender = RecordingSender()
    runtime = await started(app, sender)
    first = [j.id for j in await plan(app)]
    jobs = await runtime.reload()
    try:
        await asyncio.wait_for(runtime.stop(), 3)
    except TimeoutError:
        for t in asyncio.all_tasks():
            t.print_stack()
        raise
    assert [j.id for j in jobs] == first
    assert len(set(first)) == len(first)
    assert [j.id for j in jobs if j.kind == "weekly-post"] == [f"post:week-{w}" for w in range(1, 9)]


def test_scheduler_defaults_and_one_job_per_due_item(cohort):
    from datetime import UTC

    grace = timedelta(hours=6)
    scheduler = build_scheduler(grace)
    assert scheduler._job_defaults["misfire_grace_time"] == 6 * 3600
    assert scheduler._job_defaults["coalesce"] is True
    assert scheduler._job_defaults["max_instances"] == 1
    from schedules.jobs import PlannedJob

    now = datetime(2026, 1, 20, tzinfo=UTC)
    jobs = [PlannedJob(f"post:week-{n}", cohort.post_time(n), "weekly-post", "x") for n in range(1, 9)]

    async def fire(job_id: str) -> None:
        pass

    assert install_jobs(scheduler, jobs, now, fire) == 6  # weeks 1 and 2 are past: catch-up decides
    assert install_jobs(scheduler, jobs, now, fire) == 6  # rebuilding replaces, never duplicates
    assert sorted(j.id for j in scheduler.get_jobs()) == sorted(f"plan:post:week-{n}" for n in range(3, 9))


def test_rebuilding_touches_only_the_jobs_that_changed(cohort):
    from dataclasses import replace
    from datetime import UTC

    from schedules.jobs import PlannedJob

    scheduler = build_scheduler(timedelta(hours=6))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    jobs = [PlannedJob(f"post:week-{n}", cohort.post_time(n), "weekly-post", "x") for n in range(1, 9)]

    async def fire(job_id: str) -> None:
        pass

    install_jobs(scheduler, jobs, now, fire)
    before = {j.id: j for j in scheduler.get_jobs()}
    moved = replace(jobs[2], when=jobs[2].when + timedelta(hours=1))
    new = PlannedJob("announce:1", cohort.post_time(4), "announcement", "y")
    assert install_jobs(scheduler, [*jobs[:2], moved, *jobs[4:], new], now, fire) == 8
    after = {j.id: j for j in scheduler.get_jobs()}
    assert set(after) == {f"plan:post:week-{n}" for n in (1, 2, 3, 5, 6, 7, 8)} | {"plan:announce:1"}
    assert after["plan:post:week-3"].trigger.run_date == moved.when  # moved, not re-added
    for n in (1, 2, 5, 6, 7, 8):  # unchanged: the very same job objects
        assert after[f"plan:post:week-{n}"] is before[f"plan:post:week-{n}"]


async def test_apscheduler_fires_the_post_on_the_wall_clock(tmp_path, cohort):
    """Production path: a real clock (time-machine travels to a second before 09:00), APScheduler fires."""
    due = cohort.post_time(2)
    with time_machine.travel(due - timedelta(seconds=1), tick=True):
        app = await CohortBot.open(cohort, tmp_path / "bot.db", clock=SystemClock())
        sender = RecordingSender()
        app.settings.misfire_grace_hours = 0.01  # week 1 is long past: skipped, not sent
        runtime = await started(app, sender)
        assert runtime.scheduler is not None
        try:
            for _ in range(100):
                if len(sender.posts()) == 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            await runtime.stop()
            await app.close()
    assert set(sender.posts()) == {"post:week-2:intro", "post:week-2:advanced"}


def test_check_shows_the_schedule_the_runtime_uses(tmp_path, capsys):
    from datetime import UTC

    from bot.cli import main

    assert main(["check", str(EXAMPLE_COHORT)]) == 0
    out = capsys.readouterr().out

    async def planned() -> list[str]:
        app = await CohortBot.open(
            EXAMPLE_COHORT, tmp_path / "x.db", clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        )
        try:
            return [j.id for j in await plan(app)]
        finally:
            await app.close()

    ids = asyncio.run(planned())
    assert "post:week-1" in ids
    for job_id in ids:
        assert job_id in out


async def test_a_planner_that_holds_the_loop_is_named_in_the_log(app: CohortBot, caplog):
    import time

    async def dawdling_planner(app):
        time.sleep(0.12)  # noqa: ASYNC251 - holds the loop, as a planner looping over 20,000 meetings does
        return []

    app.planners.append(dawdling_planner)
    with caplog.at_level(logging.INFO, logger="schedules.scheduler"):
        await plan(app)
    [line] = [r.getMessage() for r in caplog.records if "took" in r.getMessage()]
    assert "dawdling_planner" in line and " ms" in line

"""app.schedule_changed(): with the real scheduler running, a job planned after the start is installed at once
(not at the next periodic re-plan), and several changes in a row cause one re-plan at a time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.app import CohortBot
from bot.core.clock import SystemClock
from schedules.jobs import PlannedJob
from schedules.runtime import Runtime


async def test_a_job_planned_after_the_start_runs_on_time(tmp_path, cohort):
    app = await CohortBot.open(cohort, tmp_path / "x.db", clock=SystemClock())
    ran = asyncio.Event()
    planned: list[PlannedJob] = []

    async def run(_app: CohortBot) -> None:
        ran.set()

    async def planner(_app: CohortBot) -> list[PlannedJob]:
        return planned

    app.planners = [planner]
    runtime = Runtime(app)
    replans = 0
    original = runtime._replan

    async def counting():
        nonlocal replans
        replans += 1
        return await original()

    runtime._replan = counting  # type: ignore[method-assign]
    await runtime.start()
    try:
        planned.append(PlannedJob("soon", app.clock.now() + timedelta(seconds=0.3), "test", "soon", run=run))
        for _ in range(5):
            app.schedule_changed()
        await asyncio.wait_for(ran.wait(), timeout=5)  # the periodic re-plan is minutes away
        assert 1 <= replans <= 2
    finally:
        await runtime.stop()
        await app.close()


async def test_without_the_scheduler_a_change_does_nothing_until_run_until_idle(app, clock):
    runtime = Runtime(app)
    await runtime.start()
    try:
        app.schedule_changed()
        assert runtime._replan_task is None  # the virtual clock re-plans in run_until_idle
    finally:
        await runtime.stop()

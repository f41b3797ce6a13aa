"""The periodic re-plan at scale: what the section planners cost, without timing anything (the machine is shared).

* Every meeting of every section (the timetable) is computed once per cohort file and state of the meetings'
  changes: an unchanged re-plan computes no meeting and no planner job again (counted), and a change or a reload
  recomputes, with the same plan as computed from scratch.
* When they do compute, the timetable and the planners built on it let the event loop run between slices: a
  heartbeat task sees the work in progress after every section's meetings and every planned instant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

import bot.core.pause
import bot.meetings
import cogs.attendance._alerts
import cogs.sections._reminders
from bot.app import CohortBot
from bot.cohort import Cohort, parse_cohort
from bot.core.clock import ManualClock
from bot.core.pause import Pause
from schedules.jobs import PlannedJob
from schedules.runtime import plan
from tests.plugin import EXAMPLE_COHORT

SECTIONS = 300  # x 8 weeks = 2,400 meetings: large enough to need slices, quick enough for every run


def large_cohort(sections: int = SECTIONS) -> Cohort:
    """The example course with ``sections`` sections spread over four weekly slots (as a large course has)."""
    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    slots = [("tuesday", "18:00", "America/New_York"), ("wednesday", "18:30", "Europe/London")]
    slots += [("thursday", "19:00", "Asia/Singapore"), ("tuesday", "09:00", "Asia/Singapore")]
    data["sections"] = [
        {
            "name": f"s{k:04d}",
            "track": "intro" if k % 2 == 0 else "advanced",
            "facilitators": [f"facilitator{k // 2}@scale.example.org"],
            "weekday": slots[k % 4][0],
            "start": slots[k % 4][1],
            "timezone": slots[k % 4][2],
            "duration_minutes": 60,
            "channel": f"section-{k:04d}",
            **({"exceptions": [{"week": 6, "skip": True, "reason": "holiday"}]} if k % 7 == 0 else {}),
        }
        for k in range(sections)
    ]
    return parse_cohort(data)


@pytest.fixture
async def big(tmp_path: Path, clock: ManualClock) -> AsyncIterator[CohortBot]:
    app = await CohortBot.open(large_cohort(), tmp_path / "big.db", clock=clock)
    yield app
    await app.close()


def shown(jobs: list[PlannedJob]) -> list[tuple[str, str, str, str]]:
    """What a plan is made of, to compare two plans: ids, times, kinds and descriptions."""
    return [(j.id, j.when.isoformat(), j.kind, j.description) for j in jobs]


def count_calls(monkeypatch: pytest.MonkeyPatch, sections: str, alerts: str) -> dict[str, int]:
    """Counts, updated as they happen: ``meetings`` computed (``bot.meetings.apply``), and the calls of the
    sections planner's function ``sections`` and of the attendance alerts' function ``alerts``."""
    calls: dict[str, int] = {}
    watched = {"meetings": (bot.meetings, "apply")}
    watched |= {"sections": (cogs.sections._reminders, sections), "alerts": (cogs.attendance._alerts, alerts)}
    for name, (module, attr) in watched.items():
        calls[name] = 0
        monkeypatch.setattr(module, attr, counting(calls, name, getattr(module, attr)))
    return calls


def counting(calls: dict[str, int], name: str, original: Callable[..., object]) -> Callable[..., object]:
    def wrapper(*args: object, **kwargs: object) -> object:
        calls[name] += 1
        return original(*args, **kwargs)

    return wrapper


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many meetings were computed, and how many times the section and alert plans were derived."""
    return count_calls(monkeypatch, "_plan_sections", "_plan_alerts")


async def test_an_unchanged_replan_reuses_the_timetable_and_the_planners_jobs(big, counted):
    app = big
    meetings = SECTIONS * len(app.cohort.weeks)
    first = await plan(app)
    assert counted == {"meetings": meetings, "sections": 1, "alerts": 1}
    assert any(j.kind == "section-reminder" for j in first) and any(j.kind == "stipend-check" for j in first)

    # The periodic re-plan, nothing changed: no meeting computed again, no planner job derived again.
    for _ in range(3):
        assert shown(await plan(app)) == shown(first)
    assert counted == {"meetings": meetings, "sections": 1, "alerts": 1}
    assert len(await app.meetings.all()) == meetings and counted["meetings"] == meetings

    # A move (as /section move records it): recomputed once, and the plan follows it.
    week5 = await app.meetings.get("s0001", 5)
    assert week5 is not None and week5.held
    await app.meetings.record("s0001", 5, "moved", starts_at=week5.start + timedelta(hours=26), reason="travel")
    counted["meetings"] = 0  # get() and record() computed their one meeting each
    moved = await plan(app)
    assert counted == {"meetings": meetings, "sections": 2, "alerts": 2}
    assert shown(moved) != shown(first)
    starts = {j.when for j in moved if j.kind == "section-reminder"}
    before = timedelta(minutes=app.cohort.reminders.section_minutes_before)
    assert week5.start + timedelta(hours=26) - before in starts
    assert shown(await plan(app)) == shown(moved) and counted["meetings"] == meetings

    # A reload (a new cohort object, the same file): recomputed, and the same plan as computed from scratch.
    app.cohort = large_cohort()
    assert shown(await plan(app)) == shown(moved)
    assert counted == {"meetings": 2 * meetings, "sections": 3, "alerts": 3}


async def test_the_planners_let_the_loop_run_while_they_compute(big, monkeypatch):
    app = big
    monkeypatch.setattr(bot.core.pause, "SLICE", 0.0)  # every pause yields: count the slices, not the time
    # Progress: meetings computed, section jobs digested, alert jobs made. A heartbeat task notes it each time the
    # loop lets it run; without slices it would only ever see nothing done, then everything.
    done = count_calls(monkeypatch, "digest", "_meetings_job")  # a job digested, an alert job made
    seen: dict[str, set[int]] = {name: set() for name in done}
    planning = True

    async def heartbeat() -> None:
        while planning:
            for name, count in done.items():
                seen[name].add(count)
            await asyncio.sleep(0)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)  # the heartbeat is running
    try:
        jobs = await plan(app)
    finally:
        planning = False
        await beat

    def between(name: str) -> int:
        """How many different points of the work, strictly between none and all of it, the heartbeat saw."""
        return len({n for n in seen[name] if 0 < n < done[name]})

    sections = [j for j in jobs if j.id.startswith(("section-reminders:", "section-prep:", "section-events:"))]
    alerts = [j for j in jobs if j.id.startswith("stipend-check:meetings:")]
    assert done == {"meetings": SECTIONS * len(app.cohort.weeks), "sections": len(sections), "alerts": len(alerts)}
    assert between("meetings") >= SECTIONS - 1  # after every section's meetings
    assert between("sections") >= len(sections) - 1  # after every instant's job
    assert between("alerts") >= len(alerts) - 1


async def test_a_pause_yields_only_when_its_slice_is_up():
    ran: list[int] = []

    async def other() -> None:
        ran.append(1)

    eager = Pause(0.0)
    task = asyncio.create_task(other())
    await eager()
    assert eager.count == 1 and ran == [1]  # the other task ran during the pause
    await task

    patient = Pause(3600.0)
    for _ in range(100):
        await patient()
    assert patient.count == 0

"""Running planned jobs exactly once: the ``job_runs`` table, catch-up with a misfire grace, and APScheduler.

The schedule is derived state: planners (``app.planners``) read the cohort file and the database and return
:class:`PlannedJob` s with fixed ids. ``job_runs`` records every job that ran (``done``) or was given up
(``skipped``, with the reason), so a restart, a reload or a second trigger never runs a job twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.core.clock import to_db
from schedules.jobs import PlannedJob

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
SLOW_PLANNER = 0.1  # seconds: a planner taking longer is logged (the periodic re-plan must not stall the bot)

# True while a job runs in the catch-up after a start (it fell due while the bot was not running): a job that
# only makes sense on time (the next round of a pairing session, say) can then tell "late because we were down"
# from "due just now", also when a virtual clock jumps forward while the bot is up.
CATCHING_UP: ContextVar[bool] = ContextVar("catching_up", default=False)


def catching_up() -> bool:
    """Whether the running job is being caught up after downtime (see :data:`CATCHING_UP`)."""
    return CATCHING_UP.get()


async def plan(app: CohortBot) -> list[PlannedJob]:
    """Every job the planners derive from the cohort file and the database, by time."""
    jobs: list[PlannedJob] = []
    for planner in app.planners:
        started = time.perf_counter()
        jobs.extend(await planner(app))
        took = time.perf_counter() - started
        # Wall time: a planner that computes much yields in slices meanwhile (bot/core/pause.py), one that does
        # not held the event loop that long, and every answer waited.
        if took > SLOW_PLANNER:
            log.info("planner %s.%s took %.0f ms", planner.__module__, planner.__qualname__, took * 1000)
        await asyncio.sleep(0)  # between planners, whatever answers are waiting go first
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"planned job ids must be unique: {dupes}")
    return sorted(jobs, key=lambda j: (j.when, j.id))


@dataclass(frozen=True)
class JobRun:
    """A row of ``job_runs``."""

    job_id: str
    due_at: str
    state: str
    reason: str | None
    ran_at: str


class JobRunner:
    """Runs due jobs once each and records them in ``job_runs``.

    A job due at ``when`` and not yet recorded is run when ``now - when <= grace``; beyond the grace it is
    recorded as ``skipped`` with the reason and logged. With ``lenient=True`` (a virtual clock that jumps
    while the bot is up, as in the demo), a job that fell due after the previous check runs whatever its
    lateness: the bot was running when it fell due, so it is not a missed job.
    """

    def __init__(self, app: CohortBot, grace: timedelta, *, lenient: bool = False) -> None:
        self.app = app
        self.grace = grace
        self.lenient = lenient
        self.watermark: datetime | None = None
        self._lock = asyncio.Lock()

    async def recorded(self) -> dict[str, JobRun]:
        """Every job run recorded so far, by job id."""
        rows = await self.app.db.fetchall("SELECT * FROM job_runs")
        return {r["job_id"]: JobRun(r["job_id"], r["due_at"], r["state"], r["reason"], r["ran_at"]) for r in rows}

    async def run_due(self, jobs: list[PlannedJob] | None = None) -> list[tuple[str, str]]:
        """Run (or skip) every job due by ``app.clock.now()`` not yet recorded; return ``(id, state)`` pairs."""
        async with self._lock:
            now = self.app.clock.now()
            jobs = await plan(self.app) if jobs is None else jobs
            done = await self.recorded()
            outcome: list[tuple[str, str]] = []
            for job in jobs:
                if job.when > now:
                    break
                if job.id in done:
                    continue
                late = now - job.when
                watched = self.lenient and self.watermark is not None and job.when > self.watermark
                grace = self.grace if job.grace is None else job.grace
                if late > grace and not watched:
                    reason = (
                        f"missed by {_hours(late)} (due {to_db(job.when)}, while the bot was not running or before "
                        "this job was planned, e.g. a meeting moved at short notice), "
                        f"beyond the misfire grace of {_hours(grace)}"
                    )
                    log.warning("skipped job %s (%s): %s", job.id, job.description, reason)
                    await self._record(job, "skipped", reason)
                    outcome.append((job.id, "skipped"))
                    continue
                token = CATCHING_UP.set(self.watermark is None)  # the first pass after a start is the catch-up
                try:
                    if job.run is not None:
                        await job.run(self.app)
                except Exception:
                    log.exception("job %s (%s) failed; it will be tried again", job.id, job.description)
                    outcome.append((job.id, "error"))
                    continue
                finally:
                    CATCHING_UP.reset(token)
                await self._record(job, "done", None if late <= timedelta(minutes=1) else f"late by {_hours(late)}")
                log.info("ran job %s (%s)", job.id, job.description)
                outcome.append((job.id, "done"))
            self.watermark = now if self.watermark is None else max(self.watermark, now)
            return outcome

    async def _record(self, job: PlannedJob, state: str, reason: str | None) -> None:
        await self.app.db.execute(
            "INSERT OR IGNORE INTO job_runs (job_id, due_at, state, reason, ran_at) VALUES (?, ?, ?, ?, ?)",
            (job.id, to_db(job.when), state, reason, to_db(self.app.clock.now())),
        )


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{delta.total_seconds() / 60:.0f} min"
    return f"{hours:.1f} h"


def build_scheduler(grace: timedelta) -> AsyncIOScheduler:
    """APScheduler 3.11 with an in-memory store and explicit defaults (never its 1 s misfire grace)."""
    return AsyncIOScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": AsyncIOExecutor()},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": max(1, int(grace.total_seconds())),
            "max_instances": 1,
        },
        timezone="UTC",
    )


def install_jobs(
    scheduler: AsyncIOScheduler, jobs: list[PlannedJob], now: datetime, fire: Callable[[str], Awaitable[None]]
) -> int:
    """Make the scheduler hold one DateTrigger job per future :class:`PlannedJob`; return how many it holds.

    Only what changed is touched: a job whose id and time are already installed stays as it is, a moved one is
    rescheduled, a new one added, one no longer planned removed. So the periodic re-plan costs a comparison,
    not a rebuild. Past jobs are not added: catch-up (:meth:`JobRunner.run_due`) decides about them.
    """
    wanted = {f"plan:{j.id}": j for j in jobs if j.when > now}
    installed = {job.id: job for job in scheduler.get_jobs() if job.id.startswith("plan:")}
    for job_id, job in installed.items():
        if job_id not in wanted:
            job.remove()
    for job_id, planned in wanted.items():
        current = installed.get(job_id)
        if current is None:
            scheduler.add_job(
                fire,
                DateTrigger(run_date=planned.when),
                args=[planned.id],
                id=job_id,
                name=planned.description,
            )
        elif getattr(current.trigger, "run_date", None) != planned.when:
            current.reschedule(DateTrigger(run_date=planned.when))
    return len(wanted)

"""The runtime: scheduled jobs (derived from the planners) plus the outbox worker, on the app's clock.

* ``Runtime(app)``; ``await start()`` recovers the outbox after a crash, catches up on jobs that fell due
  while the bot was down (run once within the misfire grace, recorded as skipped beyond it), installs the
  future jobs (APScheduler, wall clock only) and starts the outbox worker;
* ``await reload()`` (SIGHUP) re-reads the cohort file and rebuilds the jobs from the planners;
* ``app.schedule_changed()`` (a feature planned something new, e.g. the next round of a pairing session)
  rebuilds them at once rather than at the next periodic re-plan;
* at start-up and after each reload the features' upkeep (``app.upkeep``: join codes, linking by email, role
  sync, ...) runs once in the background (one run at a time; a reload during a run asks for one more);
* ``await run_until_idle()`` runs every job due by ``app.clock.now()`` and delivers every due outbox item,
  again until a delivery pass finds nothing (jobs may depend on deliveries: an announcement's report), then
  returns (the console demo calls it after moving its virtual clock; tests call it after moving theirs);
* after every worker pass that delivered something, due jobs are run again at once (same reason);
* ``await stop()``.

See docs/scheduling.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.cohort import CohortError, load_cohort
from bot.core.clock import ManualClock
from bot.delivery.worker import OutboxWorker
from schedules.jobs import PlannedJob
from schedules.scheduler import JobRunner, build_scheduler, install_jobs, plan

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.app import CohortBot

__all__ = ["Runtime", "plan"]
log = logging.getLogger(__name__)
REPLAN_MINUTES = 5
STOP_TIMEOUT = 10.0
IDLE_ROUNDS = 3  # run_until_idle gives up after this many rounds in a row that found due rows but delivered none


class Runtime:
    """Runs planned jobs exactly once and keeps the outbox moving."""

    def __init__(
        self,
        app: CohortBot,
        *,
        grace_hours: float | None = None,
        use_scheduler: bool | None = None,
        worker: OutboxWorker | None = None,
    ) -> None:
        self.app = app
        hours = app.settings.misfire_grace_hours if grace_hours is None else grace_hours
        self.grace = timedelta(hours=hours)
        virtual = isinstance(app.clock, ManualClock)
        # APScheduler follows the wall clock, so it only runs with a real clock; a virtual clock (the demo,
        # tests) is driven by run_until_idle() after each move.
        self.use_scheduler = (not virtual) if use_scheduler is None else use_scheduler
        self.jobs = JobRunner(app, self.grace, lenient=virtual)
        self.worker = worker or OutboxWorker(app)
        self.scheduler: AsyncIOScheduler | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._replan_task: asyncio.Task[None] | None = None
        self._replan_wanted = False
        self._upkeep_task: asyncio.Task[None] | None = None
        self._upkeep_again = False
        self._started = False

    # ---- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Recover, catch up, schedule, and start delivering."""
        if self._started:
            return
        self._started = True
        await self.worker.recover()
        jobs = await plan(self.app)
        await self.jobs.run_due(jobs)
        if self.use_scheduler:
            self.scheduler = build_scheduler(self.grace)
            install_jobs(self.scheduler, jobs, self.app.clock.now(), self._fire)
            self.scheduler.add_job(
                self._replan,
                "interval",
                minutes=self.app.settings.replan_minutes or REPLAN_MINUTES,
                id="runtime:replan",
                replace_existing=True,
            )
            self.scheduler.start()
        self.app.outbox.listeners.append(self.worker.wake)
        if self._after_pass not in self.worker.after_pass:
            self.worker.after_pass.append(self._after_pass)
        self.app.schedule_listeners.append(self.schedule_changed)
        self.worker.resume()
        self._worker_task = asyncio.create_task(self.worker.run(), name="outbox-worker")
        self.start_upkeep()

    async def stop(self) -> None:
        """Stop the scheduler, the upkeep and the worker (rows mid-delivery are retried at the next start)."""
        if self._upkeep_task is not None:
            self._upkeep_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upkeep_task
            self._upkeep_task = None
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self._worker_task is not None:
            # Gracefully: sends in flight finish and are recorded; if that takes too long, cancel (rows left
            # in 'sending' are retried at the next start).
            self.worker.request_stop()
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await asyncio.shield(self._worker_task)
            except TimeoutError:
                self._worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._worker_task
            self._worker_task = None
        with contextlib.suppress(ValueError):
            self.app.outbox.listeners.remove(self.worker.wake)
        with contextlib.suppress(ValueError):
            self.app.schedule_listeners.remove(self.schedule_changed)
        if self._replan_task is not None:
            self._replan_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replan_task
            self._replan_task = None
        self._started = False

    async def reload(self) -> list[PlannedJob]:
        """Re-read the cohort file (if it came from one) and rebuild the jobs from the planners."""
        if self.app.cohort_path is not None:
            try:  # in a thread: a large cohort file takes a while to read, and the bot keeps answering meanwhile
                self.app.cohort = await asyncio.to_thread(load_cohort, self.app.cohort_path)
            except CohortError as exc:
                log.error("reload: the cohort file is invalid; keeping the previous one\n%s", exc.report())
        jobs = await self._replan()
        log.info("reload: %d planned job(s), %d still to come", len(jobs), self._future(jobs))
        if self._started:
            self.start_upkeep()
        return jobs

    def start_upkeep(self) -> None:
        """Run the features' upkeep in the background (or once more after the run in progress)."""
        if self._upkeep_task is not None and not self._upkeep_task.done():
            self._upkeep_again = True
            return
        self._upkeep_task = asyncio.create_task(self._upkeep(), name="upkeep")

    async def _upkeep(self) -> None:
        while True:
            self._upkeep_again = False
            for line in await self.app.run_upkeep():
                log.info("upkeep: %s", line)
            self.worker.wake()
            if not self._upkeep_again:
                return

    # ---- work -----------------------------------------------------------------------------------------
    async def run_until_idle(self) -> None:
        """Run every job due now, then deliver every outbox item due now, and repeat while deliveries happen
        (a job may fall due because rows were delivered: an announcement's report); then return."""
        await self.jobs.run_due()
        idle = 0
        while idle < IDLE_ROUNDS:
            handled = await self.worker.deliver_due()
            ran = await self.jobs.run_due()
            if handled or any(state == "done" for _, state in ran):
                idle = 0
            elif await self.worker.next_due_in() == 0 or await self._in_flight():
                idle += 1  # rows the worker's own task is delivering, or about to: the next pass waits for it
            else:
                return

    async def _in_flight(self) -> bool:
        """Whether some pass is delivering rows right now."""
        return bool(await self.app.db.fetchval("SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'sending')"))

    async def _after_pass(self, handled: int) -> None:
        """The worker delivered something: run jobs that became due because of it."""
        await self.jobs.run_due()

    def schedule_changed(self) -> None:
        """A feature changed its jobs (``app.schedule_changed()``): with the scheduler running, re-plan now (once
        for several calls in a row). With a virtual clock :meth:`run_until_idle` re-plans anyway."""
        if self.scheduler is None:
            return
        self._replan_wanted = True
        if self._replan_task is None or self._replan_task.done():
            self._replan_task = asyncio.get_running_loop().create_task(self._replan_wanted_now(), name="replan")

    async def _replan_wanted_now(self) -> None:
        while self._replan_wanted:  # a change while re-planning asks for one more
            self._replan_wanted = False
            try:
                await self._replan()
            except Exception:
                log.exception("re-planning after a change failed; the periodic re-plan will try again")

    async def _replan(self) -> list[PlannedJob]:
        jobs = await plan(self.app)
        await self.jobs.run_due(jobs)
        if self.scheduler is not None:
            install_jobs(self.scheduler, jobs, self.app.clock.now(), self._fire)
        self.worker.wake()
        return jobs

    async def _fire(self, job_id: str) -> None:
        """APScheduler calls this at a job's time: run what is due (idempotent), then deliver."""
        log.debug("scheduler fired %s", job_id)
        await self.jobs.run_due()
        self.worker.wake()

    def _future(self, jobs: list[PlannedJob]) -> int:
        now = self.app.clock.now()
        return sum(1 for j in jobs if j.when > now)

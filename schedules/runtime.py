"""The runtime that runs scheduled work and delivers the outbox.

Interface used by the CLI and the console demo (the scheduler issue fills in the behaviour):

* ``Runtime(app)``; ``await start()`` rebuilds the plan from ``app.planners`` and starts delivery;
* ``await stop()``;
* ``await run_until_idle()`` runs every job due by ``app.clock.now()`` and delivers every due outbox item,
  then returns (the console demo calls it after moving its virtual clock).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schedules.jobs import PlannedJob

if TYPE_CHECKING:
    from bot.app import CohortBot


async def plan(app: CohortBot) -> list[PlannedJob]:
    """Every job the planners derive from the cohort file and the database, by time."""
    jobs: list[PlannedJob] = []
    for planner in app.planners:
        jobs.extend(await planner(app))
    return sorted(jobs, key=lambda j: (j.when, j.id))


class Runtime:
    """Placeholder runtime: plans, but does not run jobs or deliver yet (see the scheduler issue)."""

    def __init__(self, app: CohortBot) -> None:
        self.app = app

    async def start(self) -> None:
        """Start scheduled work (not yet implemented)."""

    async def stop(self) -> None:
        """Stop scheduled work."""

    async def run_until_idle(self) -> None:
        """Run what is due now (not yet implemented)."""

"""The application: cohort, database, clock, features and the platform-neutral dispatcher, in one place."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.cohort import Cohort, load_cohort
from bot.core.clock import Clock, SystemClock
from bot.core.commands import CommandRegistry
from bot.core.context import Actor, Place
from bot.core.dispatch import Dispatcher
from bot.core.messages import Reply, Table
from bot.core.platform import Sender
from bot.delivery.store import Outbox
from bot.loader import load_cogs
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.people import PeopleRepo
from schedules.jobs import Planner

log = logging.getLogger(__name__)


class CohortBot:
    """One running cohort: everything a feature or a platform adapter needs is reachable from here."""

    def __init__(
        self,
        cohort: Cohort,
        db: Database,
        *,
        clock: Clock | None = None,
        settings: Settings | None = None,
        platform: str = "console",
        cohort_path: str | Path | None = None,
    ) -> None:
        self.cohort = cohort
        self.cohort_path = Path(cohort_path) if cohort_path else None
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.settings = settings or Settings()
        self.platform = platform
        self.registry = CommandRegistry()
        self.people = PeopleRepo(db)
        self.outbox = Outbox(self)
        self.planners: list[Planner] = []
        self.senders: dict[str, Sender] = {}
        self.dispatcher = Dispatcher(self)
        self.features: list[str] = []
        # name -> async function producing a table; used by `cohortbot export NAME` and `/report NAME`.
        self.exporters: dict[str, Callable[[CohortBot], Awaitable[Table]]] = {}

    @classmethod
    async def open(
        cls,
        cohort: Cohort | str | Path,
        db_path: str | Path,
        *,
        clock: Clock | None = None,
        settings: Settings | None = None,
        platform: str = "console",
    ) -> CohortBot:
        """Load the cohort (if a path), open and migrate the database, and load every feature."""
        path = None
        if not isinstance(cohort, Cohort):
            path = cohort
            cohort = load_cohort(cohort)
        db = await Database(db_path).open()
        app = cls(cohort, db, clock=clock, settings=settings, platform=platform, cohort_path=path)
        try:
            app.features = load_cogs(app)
        except BaseException:
            await db.close()
            raise
        return app

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()

    async def dispatch(self, actor: Actor, name: str, options: dict | None = None, place: Place | None = None) -> Reply:
        """Run a command for ``actor`` (see :class:`bot.core.dispatch.Dispatcher`)."""
        return await self.dispatcher.dispatch(actor, name, options, place)

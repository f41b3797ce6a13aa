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
from bot.core.messages import Attachment, Reply, Table
from bot.core.people import Person
from bot.core.platform import Linker, Sender
from bot.delivery.store import Outbox
from bot.loader import load_cogs
from bot.meetings import Meetings
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.people import PeopleRepo
from bot.web import WebRoute
from schedules.jobs import Planner

log = logging.getLogger(__name__)
# Given a platform, an account's user id and (if the caller knows it) the account's email: link the account to
# its roster person if that can be done safely, and return the person (else None). See CohortBot.identify.
Identifier = Callable[["CohortBot", str, str, "str | None"], Awaitable[Person | None]]
# Work redone whenever the roster or the cohort file may have changed (start-up, reload, after an import); returns
# lines saying what it did, for the log or the command line.
Upkeep = Callable[["CohortBot"], Awaitable[list[str]]]


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
        self.meetings = Meetings(self)
        self.planners: list[Planner] = []
        # Called (without arguments) when a feature changed what its planner returns (a new job soon, say);
        # the runtime then rebuilds the schedule at once instead of at its next periodic re-plan.
        self.schedule_listeners: list[Callable[[], None]] = []
        self.senders: dict[str, Sender] = {}
        self.dispatcher = Dispatcher(self)
        self.features: list[str] = []
        # name -> async function producing a table; used by `cohortbot export NAME` and `/report NAME`.
        self.exporters: dict[str, Callable[[CohortBot], Awaitable[Table]]] = {}
        # name -> async function drawing a chart; `/report NAME` attaches it beside the CSV (issue 13: attendance).
        self.charts: dict[str, Callable[[CohortBot], Awaitable[Attachment]]] = {}
        # platform -> its directory (set by a running platform that has one; see bot.core.platform.Linker).
        self.linkers: dict[str, Linker] = {}
        # Features that can link an unknown account (tried in order by identify()).
        self.identifiers: list[Identifier] = []
        # Features' upkeep (run by the runtime at start-up and on reload, and by `cohortbot roster import`).
        self.upkeep: list[Upkeep] = []
        # name -> async function producing a file, for everyone or one person (`cohortbot export NAME --person`).
        self.documents: dict[str, Callable[[CohortBot, Person | None], Awaitable[Attachment]]] = {}
        # HTTP routes features serve (bot/web.py) and where they are reached, once something serves them.
        self.web_routes: list[WebRoute] = []
        self.web_url: str | None = None

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

    def schedule_changed(self) -> None:
        """Tell the runtime that a planner's jobs changed (see ``schedule_listeners``)."""
        for listener in list(self.schedule_listeners):
            listener()

    async def close(self) -> None:
        """Close the database."""
        await self.db.close()

    async def identify(self, platform: str, user_id: str, email: str | None = None) -> Person | None:
        """The roster person for an account the roster does not know yet, if a feature can link it safely.

        Called by the dispatcher for an unknown asker, and by platforms when someone joins (with the email the
        platform told them). Each of ``self.identifiers`` is tried in turn; a failing one is logged and skipped.
        """
        for identifier in list(self.identifiers):
            try:
                person = await identifier(self, platform, user_id, email)
            except Exception:
                log.exception("identifying %s account %s failed", platform, user_id)
                continue
            if person is not None:
                return person
        return None

    async def run_upkeep(self) -> list[str]:
        """Run every feature's upkeep once, in order; a failing one is logged and the rest still run."""
        lines: list[str] = []
        for upkeep in list(self.upkeep):
            try:
                lines += await upkeep(self)
            except Exception:
                log.exception("upkeep %s failed", getattr(upkeep, "__qualname__", upkeep))
        return lines

    async def dispatch(self, actor: Actor, name: str, options: dict | None = None, place: Place | None = None) -> Reply:
        """Run a command for ``actor`` (see :class:`bot.core.dispatch.Dispatcher`)."""
        return await self.dispatcher.dispatch(actor, name, options, place)

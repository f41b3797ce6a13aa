"""Shared fixtures for every feature's tests (loaded with ``-p tests.plugin``).

* ``cohort``: the example cohort, validated.
* ``clock``: a :class:`ManualClock` at 08:00 cohort time on the first day of the course.
* ``app``: a :class:`CohortBot` on a real SQLite file in ``tmp_path``, example roster imported.
* ``as_``: ``await as_("Ada Lovelace", "readings", week="2")`` runs a command as a roster member;
  ``await console_actor(app, "Ada")`` is the console's :class:`Actor` for one.
* ``slack_api``: a running fake Slack Web API (tests/fakes/slack_api.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, time
from pathlib import Path

import pytest

from bot.app import CohortBot
from bot.cohort import Cohort, load_cohort
from bot.core.clock import ManualClock
from bot.core.context import Actor, Place
from bot.core.messages import Reply
from bot.roster import import_roster_file
from tests.fakes.slack_api import slack_api

__all__ = ["slack_api"]  # the fake Slack Web API, for any test (tests/fakes/slack_api.py)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_COHORT = ROOT / "config" / "example-cohort.yaml"
EXAMPLE_ROSTER = ROOT / "config" / "example-roster.csv"


@pytest.fixture
def cohort() -> Cohort:
    """The example cohort."""
    return load_cohort(EXAMPLE_COHORT)


@pytest.fixture
def clock(cohort: Cohort) -> ManualClock:
    """08:00 cohort time on the course's first day."""
    return ManualClock(datetime.combine(cohort.start_date, time(8, 0), tzinfo=cohort.zone))


@pytest.fixture
async def app(tmp_path: Path, cohort: Cohort, clock: ManualClock) -> AsyncIterator[CohortBot]:
    """The app on a fresh database file with the example roster imported."""
    bot = await CohortBot.open(cohort, tmp_path / "cohortbot.db", clock=clock)
    report = await import_roster_file(bot.people, EXAMPLE_ROSTER, cohort, clock.now())
    assert not report.errors, report.summary()
    yield bot
    await bot.close()


RunAs = Callable[..., Awaitable[Reply]]


@pytest.fixture
def as_(app: CohortBot) -> RunAs:
    """Run a command as a roster member (by name) on the console platform."""

    async def run(name: str, command: str, **options: object) -> Reply:
        return await app.dispatch(await console_actor(app, name), command, options, Place(channel_name="console"))

    return run


async def console_actor(app: CohortBot, name: str) -> Actor:
    """The console's actor for the roster member called ``name`` (a stranger if nobody is)."""
    found = await app.people.by_name(name, limit=2, include_removed=True)  # the dispatcher refuses the removed
    if len(found) != 1:
        return Actor("console", name, name)
    return Actor("console", str(found[0].id), found[0].name, person_id=found[0].id)

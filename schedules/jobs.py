"""A planned job: one per due item (e.g. "week 3 posts"), never one per recipient."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import CohortBot


@dataclass(frozen=True)
class PlannedJob:
    """Something the bot does on its own at ``when`` (UTC); ``id`` is fixed so rebuilding never duplicates it.

    ``grace``: how late it may still run after downtime (``None``: the runtime's misfire grace); work that is
    still useful much later (e.g. making the coming week's calendar events) sets a longer one.
    """

    id: str
    when: datetime
    kind: str
    description: str
    run: Callable[[CohortBot], Awaitable[None]] | None = field(default=None, compare=False)
    channel: str | None = None
    grace: timedelta | None = None


Planner = Callable[["CohortBot"], Awaitable[list[PlannedJob]]]

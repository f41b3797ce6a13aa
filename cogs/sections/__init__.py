"""Discussion sections: ``/schedule``, meeting reminders in each person's zone, the facilitators' prep note,
``/section move`` and ``/section cancel``, calendars (``.ics`` file, ``cohortbot export calendar``, a private
subscription feed) and platform scheduled events. See docs/sections.md for the rules and choices.

Meetings themselves (the file's weekly pattern, its per-week exceptions, and changes) are ``app.meetings``
(``bot/meetings.py``); this feature only reads and changes them through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.sections._calendar import export_calendar
from cogs.sections._changes import cancel, move
from cogs.sections._feeds import feed_route
from cogs.sections._reminders import plan_sections
from cogs.sections._schedule import schedule

if TYPE_CHECKING:
    from bot.app import CohortBot

COMMANDS = (schedule, move, cancel)


def setup(app: CohortBot) -> None:
    """Register the commands, the planner, the calendar export and the feed's HTTP route."""
    for c in COMMANDS:
        app.registry.add(c)
    app.planners.append(plan_sections)
    app.documents["calendar"] = export_calendar
    app.web_routes.append(feed_route(app))

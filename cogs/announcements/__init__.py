"""Announcements: ``/announce`` (a preview with Send and Cancel, then once to each person, now or at a time) and
``/announcements`` (the list; one's delivery with Cancel and Retry failed), with a delivery report to the author.
See docs/announcements.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.announcements._commands import COMMANDS
from cogs.announcements._delivery import plan_announcements

if TYPE_CHECKING:
    from bot.app import CohortBot


def setup(app: CohortBot) -> None:
    """Register the commands and the planner (scheduled announcements, and reports once delivered)."""
    for c in COMMANDS:
        app.registry.add(c)
    app.planners.append(plan_announcements)

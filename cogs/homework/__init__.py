"""Homework: /submit, /submissions, /extend, reminders before each due time, the facilitators' digest after it,
and the ``submissions`` export. See docs/homework.md for the rules (what is late, extensions, limits)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.homework._commands import extend, submissions, submit
from cogs.homework._export import export_submissions
from cogs.homework._reminders import plan_homework

if TYPE_CHECKING:
    from bot.app import CohortBot

COMMANDS = (submit, submissions, extend)


def setup(app: CohortBot) -> None:
    """Register the commands, the planner and the exporter."""
    for c in COMMANDS:
        app.registry.add(c)
    app.planners.append(plan_homework)
    app.exporters["submissions"] = export_submissions

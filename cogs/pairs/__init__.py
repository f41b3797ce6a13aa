"""Rotating pairs: /pair start|next|stop|status|add|leave (and the Join button), /topic, and the planner that
starts each round on time. See docs/pairs.md (rules, the grouping, odd counts, restarts).

For other features: :func:`cogs.pairs._engine.open_session` starts a session (workshop pairs blocks use it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.pairs._commands import COMMANDS
from cogs.pairs._engine import open_session, plan_pairs

if TYPE_CHECKING:
    from bot.app import CohortBot

__all__ = ["open_session", "setup"]


def setup(app: CohortBot) -> None:
    """Register the commands and the planner."""
    for c in COMMANDS:
        app.registry.add(c)
    app.planners.append(plan_pairs)

"""Onboarding and the roster: ``/join`` (personal codes, or an email an organizer approves), linking by email
where the platform can, ``/roster`` (look, add, set, remove; every change logged), membership sync (server roles,
channels) through the outbox, and the ``roster``, ``roster-changes`` and ``join-codes`` exports.
See docs/roster.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.roster._commands import roster
from cogs.roster._export import export_changes, export_codes, export_roster
from cogs.roster._join import approve, deny, join
from cogs.roster._linking import EmailIdentifier
from cogs.roster._upkeep import upkeep

if TYPE_CHECKING:
    from bot.app import CohortBot

COMMANDS = (roster, join, approve, deny)


def setup(app: CohortBot) -> None:
    """Register the commands, the exporters, the upkeep and the email identifier."""
    for c in COMMANDS:
        app.registry.add(c)
    app.exporters["roster"] = export_roster
    app.exporters["roster-changes"] = export_changes
    app.exporters["join-codes"] = export_codes
    app.upkeep.append(upkeep)
    app.identifiers.append(EmailIdentifier())

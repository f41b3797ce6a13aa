"""Exports: ``roster`` (the roster CSV, import format: export, edit, import again), ``roster-changes`` (the change
log) and ``join-codes`` (name, email, code, linked platforms; ``cohortbot roster codes`` writes the mail merge)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.messages import Table
from bot.roster import roster_table
from cogs.roster._store import show_code, store

if TYPE_CHECKING:
    from bot.app import CohortBot


async def export_roster(app: CohortBot) -> Table:
    """Everyone, removed people included (with the time in ``removed``), in the import's columns."""
    return roster_table(await app.people.all(include_removed=True))


async def export_changes(app: CohortBot) -> Table:
    """The whole change log, oldest first; times in UTC."""
    changes = list(reversed(await store(app).changes(limit=None)))
    people = await app.people.get_many(c.person_id for c in changes)
    rows = []
    for c in changes:
        person = people.get(c.person_id)
        rows.append(
            [
                c.at.isoformat(),
                person.name if person else "",
                person.email if person else "",
                c.action,
                c.detail,
                c.by_text,
            ]
        )
    return Table(headers=["at_utc", "name", "email", "action", "details", "by"], rows=rows)


async def export_codes(app: CohortBot) -> Table:
    """Everyone on the roster with an unused join code (codes are made first for whoever has none yet)."""
    repo = store(app)
    await repo.ensure_codes(app.clock.now())
    return Table(
        headers=["name", "email", "code", "linked"],
        rows=[[name, email, show_code(code), linked] for _, name, email, code, linked in await repo.codes()],
    )

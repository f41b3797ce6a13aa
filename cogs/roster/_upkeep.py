"""The roster's upkeep, run at start-up, on reload and after ``cohortbot roster import``: join codes for
newcomers, linking by email where a platform can, and queuing the membership sync. Organizers are told who could
not be found by email when a run has news (someone linked, an email not found for the first time, an error)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.messages import Message
from cogs.roster._common import tell_organizers
from cogs.roster._linking import link_by_email
from cogs.roster._store import store
from cogs.roster._sync import sync_people

if TYPE_CHECKING:
    from bot.app import CohortBot

REPORT_NAMES = 40  # people named in the organizers' report; the rest are counted


async def upkeep(app: CohortBot) -> list[str]:
    """Do the roster's upkeep once; lines saying what was done."""
    now = app.clock.now()
    lines = []
    made = await store(app).ensure_codes(now)
    if made:
        export = "`cohortbot roster codes --cohort FILE -o codes.csv`"
        lines.append(f"made join codes for {made} people ({export} exports them)")
    for report in await link_by_email(app):
        lines += report.lines()
        if report.linked or report.first_missing or report.error:
            missing = report.missing[:REPORT_NAMES]
            more = len(report.missing) - len(missing)
            text = f"Linked **{len(report.linked)}** people by their email on {report.platform.capitalize()}."
            if missing:
                names = ", ".join(f"{p.name} ({p.email})" for p in missing) + (f" and {more} more" if more else "")
                text += f"\nNot found there: {names}. They can `/join` with their code, or check their email."
            if report.error:
                text += f"\nLooking people up stopped: {report.error}"
            key = f"link-report:{report.platform}:{int(now.timestamp())}"
            await tell_organizers(app, key, Message(title="Linking by email", text=text))
    queued = await sync_people(app)
    if queued:
        lines.append(f"queued {queued} role/channel update(s)")
    return lines

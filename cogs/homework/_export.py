"""``cohortbot export submissions`` and ``/report kind:submissions``: one row per scholar per week with homework."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.messages import Table
from cogs.homework._common import homework_weeks, scholars, statuses

if TYPE_CHECKING:
    from bot.app import CohortBot

HEADERS = [
    "week",
    "name",
    "email",
    "track",
    "section",
    "submitted",
    "submitted_at_utc",
    "late",
    "due_utc",
    "extension_until_utc",
    "versions",
    "link",
    "file",
    "text_chars",
]


def _iso(dt) -> str:  # noqa: ANN001 - datetime | None
    return dt.replace(microsecond=0).isoformat() if dt else ""


async def export_submissions(app: CohortBot) -> Table:
    """The latest submission (time, late flag, link), the extension and the number of versions, per person and week.

    Weeks are in order, people by name within a week; times are UTC ISO 8601; ``late`` is ``yes``/``no`` and
    empty when nothing was submitted. People removed from the roster are still in it (their history stays).
    """
    rows = []
    for s in await statuses(app, homework_weeks(app.cohort), await scholars(app, include_removed=True)):
        latest = s.latest
        rows.append(
            [
                str(s.week),
                s.person.name,
                s.person.email,
                s.person.track or "",
                s.section,
                "yes" if latest else "no",
                _iso(latest.submitted_at) if latest else "",
                ("yes" if latest.late else "no") if latest else "",
                _iso(s.due),
                _iso(s.extension.until) if s.extension else "",
                str(s.count),
                (latest.link or "") if latest else "",
                (latest.file_name or latest.file_url or "") if latest else "",
                str(len(latest.text)) if latest and latest.text else "",
            ]
        )
    return Table(headers=HEADERS, rows=rows)

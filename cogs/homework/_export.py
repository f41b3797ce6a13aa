"""``cohortbot export submissions`` and ``/report kind:submissions``: one row per scholar per week with homework.

The rows are streamed from one query on a heavy read (:meth:`bot.storage.db.Database.heavy`), so the export of
20,000 people over 8 weeks costs a batch of rows in memory, written straight into the CSV file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.exports import TableStream
from cogs.homework._common import Status, homework_weeks, stream_statuses

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


def _iso(dt: datetime | None) -> str:
    return dt.replace(microsecond=0).isoformat() if dt else ""


def export_row(s: Status) -> list[str]:
    """One person and week as the export's columns."""
    latest = s.latest
    return [
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
        str(latest.text_chars) if latest and latest.text_chars else "",
    ]


async def export_submissions(app: CohortBot) -> TableStream:
    """The latest submission (time, late flag, link), the extension and the number of versions, per person and week.

    Weeks are in order, people by name within a week; times are UTC ISO 8601; ``late`` is ``yes``/``no`` and
    empty when nothing was submitted.
    """

    async def rows() -> AsyncIterator[list[str]]:
        async for s in stream_statuses(app, homework_weeks(app.cohort), preview=0):
            yield export_row(s)

    return TableStream(HEADERS, rows())

"""``cohortbot export submissions`` and ``/report kind:submissions``: one row per scholar per week with homework.

The rows are streamed from one query on a heavy read (:meth:`bot.storage.db.Database.heavy`), with every column
formatted by SQL, so the export of 20,000 people over 8 weeks costs a batch of rows in memory and next to no
Python per row, written straight into the CSV file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.clock import to_db
from bot.core.exports import TableStream
from bot.storage.homework import SECTION_LIST, VERSIONS, weekly_query
from cogs.homework._common import homework_weeks, stream_rows

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


# The export's columns, formatted by SQL (times are stored as UTC ISO 8601, as the file shows them).
COLUMNS = (
    f"w.week, p.name, p.email, COALESCE(p.track, ''), COALESCE({SECTION_LIST}, ''),"
    " CASE WHEN s.id IS NULL THEN 'no' ELSE 'yes' END, COALESCE(s.submitted_at, ''),"
    " CASE WHEN s.id IS NULL THEN '' WHEN s.late THEN 'yes' ELSE 'no' END,"
    f" w.due, COALESCE(e.until, ''), {VERSIONS}, COALESCE(s.link, ''),"
    " COALESCE(NULLIF(s.file_name, ''), NULLIF(s.file_url, ''), ''),"
    " CASE WHEN length(s.text) > 0 THEN length(s.text) ELSE '' END"
)


async def export_submissions(app: CohortBot) -> TableStream:
    """The latest submission (time, late flag, link), the extension and the number of versions, per person and week.

    Weeks are in order, people by name within a week; times are UTC ISO 8601; ``late`` is ``yes``/``no`` and
    empty when nothing was submitted. People removed from the roster are still in it (their history stays).
    """
    weeks = homework_weeks(app.cohort)
    dues = [to_db(due) for w in weeks if (due := app.cohort.due(w)) is not None]
    sql, params = weekly_query(COLUMNS, weeks, dues=dues, include_removed=True)
    return TableStream(HEADERS, stream_rows(app, sql, params))

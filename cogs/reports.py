"""Reports: ``/report kind:<attendance|submissions|stipends>`` sends an exporter's table as a CSV file, privately
(with the kind's chart from ``app.charts``, if it has one: attendance attaches a PNG).

Each feature registers its exporter in ``app.exporters`` (the same ones ``cohortbot export NAME`` uses); a kind
whose feature is not installed is answered with a clear message instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.commands import Choice, Option, OptionType, command, declared
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.messages import Attachment, Message, Reply, Table, timestamp
from bot.core.roles import Role

if TYPE_CHECKING:
    from bot.app import CohortBot

KINDS = ("attendance", "submissions", "stipends", "roster")


def csv_attachment(table: Table, filename: str, description: str = "") -> Attachment:
    """The table as a CSV file to attach to a message."""
    return Attachment(filename=filename, content=table.as_csv(), description=description)


@command(
    "report",
    "Organizers: a CSV report (attendance, submissions, stipends or roster), sent to you privately.",
    Option("kind", "Which report", OptionType.STRING, required=True, choices=[Choice(k, k) for k in KINDS]),
    min_role=Role.ORGANIZER,
    slow=True,
)
async def report(ctx: Context, kind: str) -> Reply:
    """Run the exporter called ``kind`` and attach its CSV."""
    exporter = ctx.app.exporters.get(kind)
    if exporter is None:
        available = ", ".join(sorted(k for k in ctx.app.exporters if k in KINDS)) or "none yet"
        raise UserError(
            f"There is no {kind} report yet: that feature is not installed in this bot (available: {available}).",
            field="kind",
        )
    table = await exporter(ctx.app)
    stamp = ctx.now.astimezone(ctx.cohort.zone).strftime("%Y-%m-%d-%H%M")
    filename = f"{kind}-{stamp}.csv"
    files = [csv_attachment(table, filename, f"{kind} report")]
    text = f"{len(table.rows)} rows, as of {timestamp(ctx.now)}. Times in the file are UTC."
    chart = ctx.app.charts.get(kind)
    if chart is not None:  # e.g. attendance: a PNG of the trend beside the CSV
        files.append(await chart(ctx.app))
        text += f" The chart: {files[-1].description or files[-1].filename}."
    return Reply.of(Message(title=f"{kind.capitalize()} report", text=text, files=files))


def setup(app: CohortBot) -> None:
    """Register this feature's commands."""
    for c in declared(globals()):
        app.registry.add(c)

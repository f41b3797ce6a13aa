"""``cohortbot export attendance|stipends`` and ``/report kind:attendance|stipends`` (CSV), and the attendance
chart (PNG, matplotlib's Agg canvas) that ``/report kind:attendance`` attaches."""

from __future__ import annotations

import asyncio
import functools
import io
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from bot.core.exports import TableStream
from bot.core.messages import Attachment, Table
from bot.core.util import iso
from cogs.attendance._common import home_section, repo
from cogs.attendance._facts import Row, scholars, standings
from cogs.attendance._pay import Pay, facilitator_pay
from cogs.attendance._store import Mark

if TYPE_CHECKING:
    from bot.app import CohortBot

BATCH = 2_000  # attendance rows per batch of the stream
ATTENDANCE_HEADERS = [
    "section",
    "week",
    "meeting_start_utc",
    "meeting_status",
    "attendance_taken",
    "name",
    "email",
    "home_section",
    "mark",
    "makeup",
    "reason",
    "source",
    "marked_by",
    "marked_at_utc",
    "changes",
]
STIPEND_HEADERS = [
    "kind",
    "name",
    "email",
    "section",
    "eligible",
    "sections_counted",
    "sections_needed",
    "sections_missed",
    "sections_left",
    "sections_may_miss",
    "meetings_cancelled",
    "homework_counted",
    "homework_needed",
    "homework_missed",
    "homework_left",
    "homework_may_miss",
    "status",
    "amount",
    "meetings_held",
    "hours",
    "hourly_rate",
    "adjustments",
    "pay",
    "currency",
]


# marks saved together share a time: 160,000 rows, few distinct times
_iso = functools.lru_cache(maxsize=4096)(iso)


async def export_attendance(app: CohortBot) -> TableStream:
    """One row per person per meeting that has started (or has marks): every member of the section, and anyone
    marked there from another section (``makeup`` = yes). Meetings by time, people by name.

    Streamed (:class:`~bot.core.exports.TableStream`), ``BATCH`` rows at a time, read when it is written: the
    marks are read whole, the 160,000 rows of a large course never are."""
    return TableStream(ATTENDANCE_HEADERS, _attendance_batches(app))


async def _attendance_batches(app: CohortBot) -> AsyncIterator[list[list[str]]]:
    now = app.clock.now()
    attendance_repo = repo(app)
    everyone = await scholars(app)
    by_section: dict[str, list] = defaultdict(list)
    for p in everyone:
        home = home_section(app, p)
        if home:
            by_section[home.casefold()].append(p)
    marks: dict[tuple[str, int], dict[int, Mark]] = defaultdict(dict)
    for m in await attendance_repo.marks_of(None):
        marks[(m.section.casefold(), m.week)][m.person_id] = m
    recorded = await attendance_repo.all_recorded()
    counts = await attendance_repo.change_counts()
    people = {p.id: p for p in everyone}
    missing = {pid for found in marks.values() for pid in found} - set(people)
    markers = {m.updated_by for found in marks.values() for m in found.values() if m.updated_by}
    people.update(await app.people.get_many(missing | (markers - set(people))))
    homes = {pid: home_section(app, p) or "" for pid, p in people.items()}
    rows: list[list[str]] = []
    for meeting in await app.meetings.all():
        if len(rows) >= BATCH:
            yield rows
            rows = []
        key = (meeting.name.casefold(), meeting.week)
        here = marks.get(key, {})
        if meeting.start > now and not here:
            continue
        attendees = {p.id for p in by_section.get(key[0], [])} | set(here)
        for pid in sorted(attendees, key=lambda i: people[i].name.casefold() if i in people else ""):
            person = people.get(pid)
            if person is None:
                continue
            mark = here.get(pid)
            home = homes[pid]
            by = people.get(mark.updated_by) if mark and mark.updated_by else None
            rows.append(
                [
                    meeting.name,
                    str(meeting.week),
                    _iso(meeting.start),
                    meeting.status,
                    "yes" if key in recorded else "no",
                    person.name,
                    person.email,
                    home,
                    mark.status if mark else "",
                    "yes" if home.casefold() != key[0] else "no",
                    (mark.reason or "") if mark else "",
                    mark.source if mark else "",
                    by.name if by else "",
                    _iso(mark.updated_at) if mark else "",
                    str(counts.get((key[0], meeting.week, pid), 0)),
                ]
            )
    if rows:
        yield rows


async def export_stipends(app: CohortBot, *, rows: list[Row] | None = None, pays: list[Pay] | None = None) -> Table:
    """One row per scholar (counts, status, amount), then one per facilitator (meetings, hours, pay)."""
    rule = app.cohort.stipend
    rows = rows if rows is not None else await standings(app, await scholars(app))
    pays = pays if pays is not None else await facilitator_pay(app)
    blank_pay = ["", "", "", "", ""]
    out: list[list[str]] = []
    for r in rows:
        s = r.standing
        out.append(
            [
                "scholar",
                r.person.name,
                r.person.email,
                r.section or "",
                "yes" if s.eligible else "no",
                str(s.sections.counted),
                str(s.sections.needed),
                str(s.sections.missed),
                str(s.sections.open),
                str(s.sections.may_miss),
                str(s.sections.waived),
                str(s.homework.counted),
                str(s.homework.needed),
                str(s.homework.missed),
                str(s.homework.open),
                str(s.homework.may_miss),
                s.status,
                f"{s.earned:.2f}",
                *blank_pay,
                rule.currency,
            ]
        )
    for p in pays:
        out.append(
            [
                "facilitator",
                p.person.name,
                p.person.email,
                ";".join(p.sections),
                *[""] * 12,
                "",
                "",
                str(len(p.held)),
                f"{p.hours:.2f}",
                f"{p.rate:.2f}" if p.rate is not None else "",
                f"{p.adjusted:.2f}",
                f"{p.total:.2f}",
                rule.currency,
            ]
        )
    return Table.model_construct(headers=STIPEND_HEADERS, rows=out)  # our own strings: no re-validation


async def attendance_rates(app: CohortBot) -> dict[str, dict[int, float]]:
    """Share of each section's scholars marked present, per week whose meeting was held and taken (0–1).

    Two SQL aggregates (present per meeting, scholars per section) and the recorded meetings: no row per person.
    """
    attendance_repo = repo(app)
    recorded = await attendance_repo.all_recorded()
    sizes = await attendance_repo.section_sizes()
    present = await attendance_repo.present_counts()
    rates: dict[str, dict[int, float]] = {}
    for meeting in await app.meetings.all():
        key = (meeting.name.casefold(), meeting.week)
        size = sizes.get(key[0], 0)
        if meeting.held and key in recorded and size:
            rates.setdefault(meeting.name, {})[meeting.week] = present.get(key, 0) / size
    return rates


LINES = 12  # up to this many sections get a line each; more are drawn as a band


def draw_chart(rates: dict[str, dict[int, float]], weeks: int, title: str) -> bytes:
    """Attendance rate by week, as PNG bytes (matplotlib's Agg canvas, no GUI, no pyplot): a line per section, or
    for many sections the median with the middle half and the full range shaded."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    if len(rates) <= LINES:
        for section, by_week in sorted(rates.items()):
            xs = sorted(by_week)
            ax.plot(xs, [by_week[w] * 100 for w in xs], marker="o", label=section)
    else:
        per_week: dict[int, list[float]] = defaultdict(list)
        for by_week in rates.values():
            for week, rate in by_week.items():
                per_week[week].append(rate * 100)
        xs = sorted(per_week)
        quantiles = [statistics.quantiles(per_week[w], n=4, method="inclusive") if len(per_week[w]) > 1
                     else [per_week[w][0]] * 3 for w in xs]  # fmt: skip
        ax.fill_between(xs, [min(per_week[w]) for w in xs], [max(per_week[w]) for w in xs], alpha=0.15,
                        label="all sections")  # fmt: skip
        ax.fill_between(xs, [q[0] for q in quantiles], [q[2] for q in quantiles], alpha=0.35, label="middle half")
        ax.plot(xs, [q[1] for q in quantiles], marker="o", label=f"median of {len(rates)} sections")
    ax.set_xlim(0.5, weeks + 0.5)
    ax.set_xticks(range(1, weeks + 1))
    ax.set_ylim(0, 105)
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_xlabel("week")
    ax.set_ylabel("scholars present")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if rates:
        ax.legend(loc="lower left")
    else:
        ax.text(weeks / 2 + 0.5, 50, "no attendance taken yet", ha="center", va="center", color="grey")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def attendance_chart(app: CohortBot) -> Attachment:
    """The chart as a PNG attachment (drawn in a worker thread: the event loop keeps answering)."""
    rates = await attendance_rates(app)
    title = f"Attendance by section: {app.cohort.program}"
    png = await asyncio.to_thread(draw_chart, rates, len(app.cohort.weeks), title)
    stamp = app.clock.now().astimezone(app.cohort.zone).strftime("%Y-%m-%d-%H%M")
    return Attachment(
        filename=f"attendance-{stamp}.png", content=png, description="attendance rate per section per week"
    )

"""Homework reminders and the facilitators' digest, as planned jobs that enqueue outbox DMs.

* ``homework-reminder:week-N`` at due − ``reminders.homework_hours_before``: a DM to every scholar who has not
  submitted week N and has no extension (key ``hw-reminder:week-N:person-ID``, so a re-run sends nothing twice).
* ``homework-reminder:week-N:person-ID`` at the extension's end − the same hours, for each scholar with an
  extension: the same reminder against their own deadline (key ``hw-reminder:week-N:person-ID:until-ISO``),
  unless they have submitted by then. The runtime rebuilds the plan at start-up, on reload and every few
  minutes, so an extension granted later gets its own job from the next rebuild.
* ``homework-digest:week-N`` at due + ``reminders.facilitator_digest_hours_after``: one DM per facilitator
  listing who in their sections has not submitted (extensions shown as such); key ``hw-digest:week-N:person-ID``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.context import facilitated_sections
from bot.core.messages import Message, timestamp
from bot.core.people import Person
from bot.core.platform import DMTarget
from bot.outbox import NewItem
from cogs.homework._common import Status, homework_weeks, is_late, repo, require_homework, scholars, statuses
from schedules.jobs import PlannedJob

if TYPE_CHECKING:
    from bot.app import CohortBot

Run = Callable[["CohortBot"], Awaitable[None]]


def iso(dt: datetime) -> str:
    """UTC, to the second, for keys."""
    return dt.replace(microsecond=0).isoformat()


def reminder_message(app: CohortBot, week: int, limit: datetime, extended: bool) -> Message:
    """'Week N homework is due in ...'."""
    homework, _due = require_homework(app.cohort, week)
    whose = ", your extended deadline," if extended else ""
    return Message(
        title=f"Reminder: week {week} homework",
        text=(
            f"**{homework.title}** is due {timestamp(limit, 'F')} ({timestamp(limit, 'R')}){whose} and I have "
            f"nothing from you yet. Hand it in with /submit week:{week} (a link, a text, or a file)."
        ),
    )


def needs_reminder(s: Status, now: datetime) -> bool:
    """Not submitted, and the deadline not yet passed."""
    return not s.submitted and not is_late(now, s.deadline)


async def remind_week(app: CohortBot, week: int) -> int:
    """Enqueue the due-time reminder for every scholar without a submission or an extension; return how many."""
    now = app.clock.now()
    rows = await statuses(app, [week], await scholars(app))
    items = [
        NewItem(
            key=f"hw-reminder:week-{week}:person-{s.person.id}",
            target=DMTarget(s.person.id),
            message=reminder_message(app, week, s.due, extended=False),
        )
        for s in rows
        if s.extension is None and needs_reminder(s, now)
    ]
    return await app.outbox.enqueue_many(items) if items else 0


async def remind_extension(app: CohortBot, week: int, person_id: int) -> int:
    """The reminder against one person's extension, if they still have one and have not submitted."""
    now = app.clock.now()
    person = await app.people.get(person_id)
    if person is None:
        return 0
    rows = await statuses(app, [week], [person])
    s = rows[0] if rows else None
    if s is None or s.extension is None or not needs_reminder(s, now):
        return 0
    key = f"hw-reminder:week-{week}:person-{person_id}:until-{iso(s.extension.until)}"
    message = reminder_message(app, week, s.extension.until, extended=True)
    return int(await app.outbox.enqueue(key, DMTarget(person_id), message))


async def facilitators(app: CohortBot) -> list[tuple[Person, list[str]]]:
    """Everyone who runs a section (by role and roster, or named in the cohort file), with their sections."""
    out = []
    for p in await app.people.all():
        sections = facilitated_sections(app, p, p.role)
        if sections:
            out.append((p, sections))
    return out


def digest_message(app: CohortBot, week: int, sections: list[str], rows: list[Status]) -> Message:
    """Who in ``sections`` has not submitted week ``week``."""
    homework, due = require_homework(app.cohort, week)
    missing = [s for s in rows if not s.submitted and s.extension is None]
    extended = [s for s in rows if not s.submitted and s.extension is not None]
    late = [s for s in rows if s.latest is not None and s.latest.late]
    lines = [f"Week {week}'s homework **{homework.title}** was due {timestamp(due)}."]
    lines.append(f"{len(rows) - len(missing) - len(extended)} of {len(rows)} submitted ({len(late)} late).")
    if missing:
        lines.append("**Not submitted:** " + ", ".join(f"{s.person.name} ({s.section})" for s in missing))
    if extended:
        lines.append(
            "**With an extension:** " + ", ".join(f"{s.person.name} (until {timestamp(s.deadline)})" for s in extended)
        )
    if not missing and not extended:
        lines.append("Everyone has submitted. 🎉")
    lines.append(f"Details: /submissions week:{week}")
    return Message(title=f"Week {week} homework digest: {', '.join(sections)}", text="\n".join(lines))


async def digest_week(app: CohortBot, week: int) -> int:
    """Enqueue one digest DM per facilitator; return how many were new."""
    everyone = await scholars(app)
    items = []
    for facilitator, sections in await facilitators(app):
        people = [p for p in everyone if any(p.in_section(s) for s in sections)]
        rows = await statuses(app, [week], people)
        items.append(
            NewItem(
                key=f"hw-digest:week-{week}:person-{facilitator.id}",
                target=DMTarget(facilitator.id),
                message=digest_message(app, week, sections, rows),
            )
        )
    return await app.outbox.enqueue_many(items) if items else 0


def _week_job(fn: Callable[[CohortBot, int], Awaitable[int]], week: int) -> Run:
    async def run(app: CohortBot) -> None:
        await fn(app, week)

    return run


def _extension_job(week: int, person_id: int) -> Run:
    async def run(app: CohortBot) -> None:
        await remind_extension(app, week, person_id)

    return run


async def plan_homework(app: CohortBot) -> list[PlannedJob]:
    """Per week with homework: the reminder and the digest; per extension: its own reminder."""
    cohort = app.cohort
    before = timedelta(hours=cohort.reminders.homework_hours_before)
    after = timedelta(hours=cohort.reminders.facilitator_digest_hours_after)
    jobs = []
    for week in homework_weeks(cohort):
        due = cohort.due(week)
        assert due is not None
        jobs.append(
            PlannedJob(
                id=f"homework-reminder:week-{week}",
                when=due - before,
                kind="homework-reminder",
                description=f"homework reminder week {week}",
                run=_week_job(remind_week, week),
            )
        )
        jobs.append(
            PlannedJob(
                id=f"homework-digest:week-{week}",
                when=due + after,
                kind="homework-digest",
                description=f"facilitator digest week {week}",
                run=_week_job(digest_week, week),
            )
        )
    for (person_id, week), ext in sorted((await repo(app).extensions()).items()):
        if cohort.due(week) is None:
            continue
        jobs.append(
            PlannedJob(
                id=f"homework-reminder:week-{week}:person-{person_id}",
                when=ext.until - before,
                kind="homework-reminder",
                description=f"homework reminder week {week} (extension, person {person_id})",
                run=_extension_job(week, person_id),
            )
        )
    return jobs

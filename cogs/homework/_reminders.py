"""Homework reminders and the facilitators' digest: planned jobs (one per week, never one per person) and outbox DMs.

* ``homework-reminder:week-N`` at due − ``reminders.homework_hours_before``: a DM to every scholar who has not
  submitted week N and has no extension (key ``hw-reminder:week-N:person-ID``, so a re-run sends nothing twice).
  One query finds exactly them.
* An extension's reminder is not a job but an outbox row, queued when the extension is granted (``/extend``, in
  the same transaction) with ``not_before`` = the extension's end − the same hours and key
  ``hw-reminder:week-N:person-ID:rev-R`` (``R``, the extension's revision, grows with each new deadline, so
  every grant, even a return to an earlier date, has its own): the outbox sends it then. A new grant skips the
  waiting reminder of any earlier one (``Outbox.skip`` by the keys' start ``hw-reminder:week-N:person-ID:``), and
  so does handing in; an extension whose reminder time has already passed when it is granted gets none (its DM
  already says the new deadline). Extensions granted before reminders were outbox rows are queued once by the
  planner (``reminder_planned = 0``).
  So the plan, and rebuilding it, cost the same for 20 or 20,000 extensions.
* ``homework-digest:week-N`` at due + ``reminders.facilitator_digest_hours_after``: one DM per facilitator
  listing who in their sections has not submitted (extensions shown as such); key ``hw-digest:week-N:person-ID``.
  A few queries whatever the number of facilitators: who runs which sections, and the week for those sections.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

from bot.core.messages import Message, timestamp
from bot.core.people import Person
from bot.core.platform import DMTarget
from bot.delivery import NewItem, skip_statement
from bot.membership import runners
from bot.storage.homework import Extension
from cogs.homework._common import Status, homework_weeks, is_late, repo, require_homework, statuses
from schedules.jobs import PlannedJob

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.storage.db import Statement

Run = Callable[["CohortBot"], Awaitable[None]]
T = TypeVar("T")
ENQUEUE_BATCH = 500  # outbox rows per transaction: the loop is never held long by one large reminder run


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


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (``itertools.batched`` arrives in Python 3.12)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


async def enqueue_batched(app: CohortBot, items: Iterable[NewItem]) -> int:
    """Enqueue ``items`` a batch at a time (each batch one transaction); return how many were new."""
    added = 0
    for batch in batched(items, ENQUEUE_BATCH):
        added += await app.outbox.enqueue_many(batch)
    return added


async def remind_week(app: CohortBot, week: int) -> int:
    """Enqueue the due-time reminder for every scholar without a submission or an extension; return how many."""
    due = app.cohort.due(week)
    if due is None or is_late(app.clock.now(), due):
        return 0
    message = reminder_message(app, week, due, extended=False)
    ids = await repo(app).unsubmitted(week)
    return await enqueue_batched(
        app, (NewItem(f"hw-reminder:week-{week}:person-{pid}", DMTarget(pid), message) for pid in ids)
    )


# ---- extension reminders: outbox rows with not_before -------------------------------------------------------
def extension_reminder_prefix(week: int, person_id: int) -> str:
    """The start of the keys of every reminder for this person's extensions of ``week`` (whatever the grant)."""
    return f"hw-reminder:week-{week}:person-{person_id}:"


def extension_reminder_key(ext: Extension) -> str:
    """The outbox key of the reminder for one grant of an extension (each new deadline is a new revision)."""
    return f"{extension_reminder_prefix(ext.week, ext.person_id)}rev-{ext.revision}"


def extension_reminder_item(app: CohortBot, ext: Extension, now: datetime) -> NewItem | None:
    """The reminder for ``ext``, due ``homework_hours_before`` its end; ``None`` if that time has passed."""
    when = ext.until - timedelta(hours=app.cohort.reminders.homework_hours_before)
    if when <= now or app.cohort.due(ext.week) is None:
        return None
    return NewItem(
        key=extension_reminder_key(ext),
        target=DMTarget(ext.person_id),
        message=reminder_message(app, ext.week, ext.until, extended=True),
        not_before=when,
    )


async def skip_extension_reminders(app: CohortBot, week: int, person_id: int, reason: str) -> int:
    """Skip whatever reminder of this person's extension of ``week`` is still waiting; how many."""
    return await app.outbox.skip([], reason, prefixes=[extension_reminder_prefix(week, person_id)])


def extension_reminders_skip(week: int, person_id: int, reason: str) -> Statement:
    """The statement of :func:`skip_extension_reminders`, to run in the same write as what makes them unneeded."""
    statement = skip_statement([], reason, prefixes=[extension_reminder_prefix(week, person_id)])
    assert statement is not None  # a prefix is given
    return statement


async def replan_extension_reminder(
    app: CohortBot, ext: Extension, earlier: Extension | None, *, submitted: bool
) -> bool:
    """After granting ``ext`` (replacing ``earlier``): if it is a new revision, skip the waiting reminder of any
    earlier grant and queue this one's, unless the person has already submitted. Call it inside the grant's
    transaction. Returns whether one was queued."""
    if earlier is not None and earlier.revision == ext.revision:
        return False  # the same deadline again: its reminder (if any) is already planned
    await skip_extension_reminders(app, ext.week, ext.person_id, "extension replaced")
    item = None if submitted else extension_reminder_item(app, ext, app.clock.now())
    added = await app.outbox.enqueue_many([item]) if item else 0
    await repo(app).mark_reminders_planned([(ext.person_id, ext.week)])
    return bool(added)


async def queue_unplanned_reminders(app: CohortBot) -> int:
    """Queue the reminders of extensions granted before reminders were outbox rows (normally none: one indexed
    query); return how many were queued."""
    homework = repo(app)
    pending = await homework.unplanned_extensions()
    now = app.clock.now()
    added = 0
    for batch in batched(pending, ENQUEUE_BATCH):
        items = [item for e, submitted in batch if not submitted and (item := extension_reminder_item(app, e, now))]
        async with app.db.transaction():
            added += await app.outbox.enqueue_many(items) if items else 0
            await homework.mark_reminders_planned([(e.person_id, e.week) for e, _ in batch])
    return added


# ---- the facilitators' digest ----------------------------------------------------------------------------------
async def section_leads(app: CohortBot) -> list[tuple[Person, list[str]]]:
    """Everyone who runs a section, by name, with their sections: :func:`bot.membership.runners` (the one rule,
    in a few queries however many facilitators)."""
    return await runners(app)


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
    """Enqueue one digest DM per facilitator; return how many were new. A few queries, however many facilitators."""
    leads = await section_leads(app)
    if not leads:
        return 0
    wanted = sorted({s.casefold(): s for _, sections in leads for s in sections}.values(), key=str.casefold)
    by_section: dict[str, list[Status]] = {}
    for s in await statuses(app, [week], sections=wanted, preview=0):
        for section in s.person.sections:
            by_section.setdefault(section.casefold(), []).append(s)
    items = []
    for lead, sections in leads:
        mine = {s.person.id: s for section in sections for s in by_section.get(section.casefold(), [])}
        rows = sorted(mine.values(), key=lambda s: (s.person.name.casefold(), s.person.id))
        items.append(
            NewItem(
                key=f"hw-digest:week-{week}:person-{lead.id}",
                target=DMTarget(lead.id),
                message=digest_message(app, week, sections, rows),
            )
        )
    return await enqueue_batched(app, items)


def _week_job(fn: Callable[[CohortBot, int], Awaitable[int]], week: int) -> Run:
    async def run(app: CohortBot) -> None:
        await fn(app, week)

    return run


async def plan_homework(app: CohortBot) -> list[PlannedJob]:
    """Per week with homework: the reminder and the digest (extensions' reminders are outbox rows, see above;
    the few granted before that are queued here, once)."""
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
    await queue_unplanned_reminders(app)
    return jobs

"""Meeting reminders, the facilitators' prep note and the coming week's events, as planned jobs.

One job per due instant, never one per person or per meeting: meetings whose reminder falls at the same moment
share a job. A job's id holds its instant and a digest of the meetings it covers (section, week, start,
status), so moving or cancelling a meeting changes the plan: the old instant's job no longer covers it, and a
new job covers the new time. When a job runs it checks that each meeting still starts when it was planned and
is still held, so a stale job (a move an instant before it ran) sends nothing for it.

* ``section-reminders:<instant>:<digest>`` at start − ``reminders.section_minutes_before``: each member (and
  facilitator) gets one reminder, keyed ``section-reminder:<section>:week-N:<start>:person-ID`` (or one post in
  the section's channel mentioning them, key ``…:<start>:channel``, when ``section_reminder_via: channel``).
  The start is in the key: a re-plan or a restart sends nothing twice, and a moved meeting is reminded once
  for its new time.
* ``section-prep:<instant>:<digest>`` at start − ``reminders.facilitator_prep_hours_before``: each facilitator's
  prep note (roster, who submitted the week's homework, who missed last week), key
  ``section-prep:<section>:week-N:<start>:person-ID``.
* ``section-events:<instant>:<digest>`` a week before each meeting: its platform event (see ``_events.py``);
  it may run late (grace: a week), since the event is useful until the meeting starts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.cohort import Cohort
from bot.core.messages import Message, MessageField, format_local, timestamp
from bot.core.pause import Pause
from bot.core.people import Person
from bot.core.platform import ChannelTarget, DMTarget
from bot.core.util import iso
from bot.delivery import NewItem
from bot.meetings import Meeting, Timetable
from cogs.sections._common import (
    Homework,
    Roster,
    digest,
    homework_of,
    local_time,
    reading_lines,
    roster,
    where,
)
from cogs.sections._events import WINDOW, sync_events
from schedules.jobs import PlannedJob

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
Work = Callable[["CohortBot", list[Meeting]], Awaitable[int]]
Planned = tuple[str, int, datetime]  # section, week, start
PAUSE_EVERY = 256  # meetings grouped between two checks of the pause


# ---- the messages ----------------------------------------------------------------------------------------
def readings_field(app: CohortBot, meeting: Meeting) -> MessageField | None:
    """This week's readings for the section's track."""
    lines = reading_lines(app.cohort, meeting.week, meeting.section.track)
    week = app.cohort.week(meeting.week)
    if not lines or week is None:
        return None
    return MessageField(name=f"This week's readings (week {meeting.week}: {week.title})", value="\n".join(lines))


def reminder_dm(app: CohortBot, meeting: Meeting, person: Person, homework: Homework | None, now: datetime) -> Message:
    """One member's reminder: the time (also written out in their own zone), where, readings, their homework."""
    zone = person.zone(app.cohort.zone)
    text = (
        f"Your section **{meeting.name}** meets {timestamp(meeting.start, 'F')} ({timestamp(meeting.start, 'R')}) "
        f"for {meeting.minutes} min.\nThat is **{local_time(meeting.start, zone)}** in your time zone ({zone.key})."
    )
    fields = [MessageField(name="Where", value=where(meeting))]
    if (readings := readings_field(app, meeting)) is not None:
        fields.append(readings)
    if homework is not None:
        fields.append(MessageField(name="Your homework", value=homework.line(now)))
    return Message(title=f"Section reminder: {meeting.name}, week {meeting.week}", text=text, fields=fields)


def reminder_post(app: CohortBot, meeting: Meeting, people: Sequence[Person]) -> Message:
    """The reminder as one post in the section's channel, mentioning everyone (times shown in each reader's
    zone by the platform; homework status stays private, so the post only points to it)."""
    fields = [MessageField(name="Where", value=where(meeting))]
    if (readings := readings_field(app, meeting)) is not None:
        fields.append(readings)
    due = app.cohort.due(meeting.week)
    if due is not None:
        fields.append(
            MessageField(
                name="Homework",
                value=f"Week {meeting.week}'s homework is due {timestamp(due, 'F')}. See yours with /submissions.",
            )
        )
    return Message(
        title=f"Section reminder: {meeting.name}, week {meeting.week}",
        text=f"We meet {timestamp(meeting.start, 'F')} ({timestamp(meeting.start, 'R')}) for {meeting.minutes} min.",
        fields=fields,
        mentions=[p.id for p in people],
    )


async def missed_last_week(app: CohortBot, meeting: Meeting, people: Sequence[Person]) -> str:
    """Who missed the section's previous meeting, from the attendance feature (if installed)."""
    if meeting.week == 1:
        return "This is the first meeting."
    previous = await app.meetings.get(meeting.name, meeting.week - 1)
    if previous is None or not previous.held:
        return f"There was no meeting in week {meeting.week - 1} (cancelled)."
    hook = app.meetings.attendance
    if hook is None:
        return "Attendance is not tracked by this bot yet, so I can't say."
    if (previous.name.casefold(), previous.week) not in await hook.recorded([previous]):
        return f"Attendance for week {previous.week} has not been recorded yet."
    absent = set(await hook.missed(previous))
    names = [p.name for p in people if p.id in absent]
    return ", ".join(names) if names else "Nobody: everyone was there (or excused)."


async def prep_note(app: CohortBot, meeting: Meeting, who: Roster, now: datetime) -> Message:
    """The facilitator's prep note: when and where, the roster, who submitted, who missed last week."""
    scholars = who.scholars
    homework = await homework_of(app, meeting.week, scholars)
    fields = [
        MessageField(name="Where", value=where(meeting)),
        MessageField(name=f"Roster ({len(scholars)})", value=", ".join(p.name for p in scholars) or "nobody yet"),
    ]
    if homework:
        first = next(iter(homework.values()))
        done = [f"{p.name}{' (late)' if h.latest.late else ''}" for p in scholars if (h := homework[p.id]).latest]
        extended = [p.name for p in scholars if not homework[p.id].latest and homework[p.id].extension]
        missing = [p.name for p in scholars if not homework[p.id].latest and not homework[p.id].extension]
        lines = [f"**{first.title}**, due {timestamp(first.due, 'F')}: {len(done)} of {len(scholars)} submitted."]
        if done:
            lines.append("Submitted: " + ", ".join(done))
        if missing:
            lines.append("Not yet: " + ", ".join(missing))
        if extended:
            lines.append("With an extension: " + ", ".join(extended))
        fields.append(MessageField(name=f"Week {meeting.week} homework", value="\n".join(lines)))
    fields.append(MessageField(name="Missed last week", value=await missed_last_week(app, meeting, scholars)))
    if (readings := readings_field(app, meeting)) is not None:
        fields.append(readings)
    return Message(
        title=f"Prep: {meeting.name}, week {meeting.week}",
        text=f"You run **{meeting.name}** {timestamp(meeting.start, 'F')} ({timestamp(meeting.start, 'R')}).",
        fields=fields,
        footer="Details: /submissions section:" + meeting.name,
    )


# ---- the work a job does ---------------------------------------------------------------------------------
def reminder_key(meeting: Meeting, who: str) -> str:
    """``section-reminder:<section>:week-N:<start>:<who>``."""
    return f"section-reminder:{meeting.name}:week-{meeting.week}:{iso(meeting.start)}:{who}"


async def remind(app: CohortBot, meetings: list[Meeting]) -> int:
    """Enqueue the reminders of ``meetings`` (each still planned and held); return how many were new."""
    now = app.clock.now()
    via_channel = app.cohort.reminders.section_reminder_via == "channel"
    items: list[NewItem] = []
    for meeting in meetings:
        who = await roster(app, meeting.section)
        people = who.everyone
        if via_channel and meeting.channel:
            post = reminder_post(app, meeting, people)
            items.append(NewItem(reminder_key(meeting, "channel"), ChannelTarget(meeting.channel), post))
            continue
        homework = await homework_of(app, meeting.week, people)
        items += [
            NewItem(
                reminder_key(meeting, f"person-{p.id}"),
                DMTarget(p.id),
                reminder_dm(app, meeting, p, homework.get(p.id), now),
            )
            for p in people
        ]
    return await app.outbox.enqueue_many(items) if items else 0


async def prepare(app: CohortBot, meetings: list[Meeting]) -> int:
    """Enqueue each facilitator's prep note for ``meetings``; return how many were new."""
    now = app.clock.now()
    items: list[NewItem] = []
    for meeting in meetings:
        who = await roster(app, meeting.section)
        if not who.facilitators:
            continue
        note = await prep_note(app, meeting, who, now)
        items += [
            NewItem(
                f"section-prep:{meeting.name}:week-{meeting.week}:{iso(meeting.start)}:person-{f.id}",
                DMTarget(f.id),
                note,
            )
            for f in who.facilitators
        ]
    return await app.outbox.enqueue_many(items) if items else 0


async def make_events(app: CohortBot, meetings: list[Meeting]) -> int:
    """The coming week's events for ``meetings``."""
    return await sync_events(app, meetings, app.clock.now(), in_window=True)


async def still_planned(app: CohortBot, planned: Sequence[Planned], *, held: bool = True) -> list[Meeting]:
    """The meetings that still start when the job was planned (and are held, with ``held``), as they are now."""
    now = app.clock.now()
    out = []
    for section, week, start in planned:
        meeting = await app.meetings.get(section, week)
        if meeting is None or meeting.start != start or (held and not meeting.held):
            log.info("%s week %d no longer starts at %s as planned; nothing to send for it", section, week, iso(start))
            continue
        if held and now > meeting.start:
            log.info("%s week %d has already started; its reminder is not sent late", section, week)
            continue
        out.append(meeting)
    return out


def _job(work: Work, planned: list[Planned], *, held: bool) -> Callable[[CohortBot], Awaitable[None]]:
    async def run(app: CohortBot) -> None:
        meetings = await still_planned(app, planned, held=held)
        if meetings:
            await work(app, meetings)

    return run


def _describe(what: str, meetings: Sequence[Meeting], cohort: Cohort) -> str:
    shown = ", ".join(
        f"{m.name} week {m.week} ({format_local(m.start, cohort.section_zone(m.section), 't')})" for m in meetings[:3]
    )
    return f"{what}: {shown}" + (f" and {len(meetings) - 3} more" if len(meetings) > 3 else "")


async def grouped(
    cohort: Cohort,
    meetings: Sequence[Meeting],
    pause: Pause,
    *,
    before: timedelta,
    prefix: str,
    kind: str,
    what: str,
    work: Work,
    held: bool = True,
    grace: timedelta | None = None,
) -> list[PlannedJob]:
    """One job per instant ``before`` the meetings' starts (letting the loop run between instants)."""
    by_instant: dict[datetime, list[Meeting]] = {}
    for n, m in enumerate(meetings):
        if n % PAUSE_EVERY == 0:
            await pause()
        if m.held or not held:
            by_instant.setdefault(m.start - before, []).append(m)
    jobs = []
    for when, group in sorted(by_instant.items()):
        await pause()
        group.sort(key=lambda m: (m.name.casefold(), m.week))
        covers = digest(f"{m.name}/{m.week}/{iso(m.start)}/{m.status}" for m in group)
        planned = [(m.name, m.week, m.start) for m in group]
        jobs.append(
            PlannedJob(
                id=f"{prefix}:{iso(when)}:{covers}",
                when=when,
                kind=kind,
                description=_describe(what, group, cohort),
                run=_job(work, planned, held=held),
                grace=grace,
            )
        )
    return jobs


async def plan_sections(app: CohortBot) -> list[PlannedJob]:
    """Reminders, prep notes and events for every meeting of every section (file, exceptions and changes).

    Derived from the timetable alone, so computed once per cohort file and state of the changes (a re-plan with
    neither changed reuses the jobs), and then in slices that let the event loop run.
    """
    timetable = await app.meetings.timetable()
    return list(await timetable.derive("sections:plan", _plan_sections))


async def _plan_sections(timetable: Timetable) -> list[PlannedJob]:
    cohort, meetings = timetable.cohort, timetable.meetings
    settings = cohort.reminders
    pause = Pause()
    return [
        *await grouped(
            cohort,
            meetings,
            pause,
            before=timedelta(minutes=settings.section_minutes_before),
            prefix="section-reminders",
            kind="section-reminder",
            what=f"section reminders ({settings.section_reminder_via})",
            work=remind,
            grace=timedelta(minutes=settings.section_minutes_before),  # late, until the meeting starts
        ),
        *await grouped(
            cohort,
            meetings,
            pause,
            before=timedelta(hours=settings.facilitator_prep_hours_before),
            prefix="section-prep",
            kind="section-prep",
            what="facilitator prep notes",
            work=prepare,
            # a meeting moved at shorter notice than the prep lead (or a bot down at its time) still gets its prep
            # note at once, until the meeting starts (``still_planned`` sends nothing after that)
            grace=timedelta(hours=settings.facilitator_prep_hours_before),
        ),
        *await grouped(
            cohort,
            meetings,
            pause,
            before=WINDOW,
            prefix="section-events",
            kind="section-events",
            what="server events (where the platform has them)",
            work=make_events,
            held=False,
            grace=WINDOW,
        ),
    ]

"""Calendars (iCalendar, with the ``icalendar`` library): one person's meetings and deadlines, or everyone's.

* Every section meeting of the course is an event with a stable ``UID`` (section, week, program), so importing
  the file again, or a subscribed feed refreshing, updates the events instead of adding copies.
* Times carry a ``TZID``: a meeting is written in its section's zone, a deadline in the cohort's, and the
  ``VTIMEZONE`` definitions are included (``Calendar.add_missing_timezones``).
* ``SEQUENCE`` is the meeting's: 0 as planned, +1 for the file's exception and for every move or cancellation,
  so calendar programs take the newer version. A cancelled (or skipped) meeting stays in with
  ``STATUS:CANCELLED``, so it disappears from calendars that had it.
* A scholar's homework deadline is their own: an extension moves it (and bumps its ``SEQUENCE``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.messages import Attachment
from bot.core.people import Person
from bot.core.roles import Role
from bot.core.util import slug
from bot.meetings import Meeting
from cogs.sections._common import homework_of, sections_of, where_plain
from cogs.workshops import ScheduledSession, scheduled, sessions_for

if TYPE_CHECKING:
    from icalendar import Calendar, Event

    from bot.app import CohortBot

PRODID = "-//cohortbot//sections//EN"


def meeting_uid(app: CohortBot, meeting: Meeting) -> str:
    """A meeting's UID: the same in every file and feed, for as long as the section and program keep their names."""
    return f"section-{slug(meeting.name)}-week-{meeting.week}@{slug(app.cohort.program)}.cohortbot"


def homework_uid(app: CohortBot, week: int) -> str:
    """A week's homework deadline's UID."""
    return f"homework-week-{week}@{slug(app.cohort.program)}.cohortbot"


def meeting_event(app: CohortBot, meeting: Meeting, stamp: datetime) -> Event:
    """One meeting as a ``VEVENT`` (times in the section's zone)."""
    from icalendar import Event  # imported on first use: most runs of the bot never build a calendar

    zone = app.cohort.section_zone(meeting.section)
    event = Event()
    event.add("uid", meeting_uid(app, meeting))
    event.add("dtstamp", stamp)
    event.add("dtstart", meeting.start.astimezone(zone))
    event.add("dtend", meeting.end.astimezone(zone))
    event.add("summary", f"{meeting.name}: week {meeting.week} discussion")
    event.add("sequence", meeting.sequence)
    event.add("status", "CONFIRMED" if meeting.held else "CANCELLED")
    event.add("location", where_plain(meeting))
    if meeting.link:
        event.add("url", meeting.link)
    week = app.cohort.week(meeting.week)
    lines = [f"Week {meeting.week} of {app.cohort.program}" + (f": {week.title}" if week else "")]
    if not meeting.held:
        lines.insert(0, "Cancelled" + (f": {meeting.reason}" if meeting.reason else "."))
    elif meeting.reason:
        lines.insert(0, f"Moved: {meeting.reason}")
    for r in app.cohort.readings_for(meeting.week, meeting.section.track):
        lines.append(f"- {r.title} ({r.minutes} min): {r.url}")
    event.add("description", "\n".join(lines))
    return event


def session_event(app: CohortBot, session: ScheduledSession, stamp: datetime) -> Event:
    """A workshop session as a ``VEVENT`` (times in its zone; the agenda in the description)."""
    from icalendar import Event

    zone = app.cohort.session_zone(session.session)
    event = Event()
    event.add("uid", f"session-{slug(session.session.name)}@{slug(app.cohort.program)}.cohortbot")
    event.add("dtstamp", stamp)
    event.add("dtstart", session.start.astimezone(zone))
    event.add("dtend", session.end.astimezone(zone))
    event.add("summary", session.session.title)
    event.add("location", f"#{session.session.channel}")
    lines = [
        f"{b.title} ({b.minutes} min, {b.kind}) at {start.astimezone(zone):%H:%M}" for b, start, _ in session.blocks
    ]
    lines += [f"Read first: {r.title} {r.url}" for r in session.session.pre_reads]
    event.add("description", "\n".join(lines))
    return event


async def build_calendar(app: CohortBot, person: Person | None, role: Role | None = None) -> Calendar:
    """The calendar of ``person`` (their sections' meetings, the ones they run, their deadlines), or of the whole
    cohort (``person`` ``None``, or an organizer: every section)."""
    from icalendar import Calendar, Event

    cohort = app.cohort
    stamp = app.clock.now().replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    title = cohort.program if person is None else f"{cohort.program}: {person.name}"
    cal.add("x-wr-calname", title)
    cal.add("x-wr-timezone", (person.zone(cohort.zone) if person else cohort.zone).key)

    wanted = None if person is None else sections_of(app, person, role or person.role)
    meetings = await (app.meetings.all() if wanted is None else app.meetings.of_sections(wanted))
    for meeting in meetings:
        cal.add_component(meeting_event(app, meeting, stamp))

    for week in cohort.weeks:
        due = cohort.due(week.number)
        if week.homework is None or due is None:
            continue
        own = (await homework_of(app, week.number, [person])).get(person.id) if person is not None else None
        deadline = own.deadline if own else due
        event = Event()
        event.add("uid", homework_uid(app, week.number))
        event.add("dtstamp", stamp)
        event.add("dtstart", deadline.astimezone(cohort.zone))  # an instant: no DTEND (RFC 5545, 3.6.1)
        event.add("summary", f"Homework due: week {week.number}, {week.homework.title}")
        event.add("sequence", 1 if own and own.extension else 0)
        event.add(
            "description",
            "Your extension." if own and own.extension else f"Hand it in with /submit week:{week.number}.",
        )
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    if person is None:
        sessions = [scheduled(cohort, s) for s in cohort.sessions]
    else:
        sessions = sessions_for(cohort, person, datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))
    for session in sessions:
        cal.add_component(session_event(app, session, stamp))
    moments = [c.decoded("dtstart") for c in cal.walk("VEVENT")] or [stamp]
    # VTIMEZONEs for the span the calendar covers (a year either side), not icalendar's default 1970-2038
    cal.add_missing_timezones(
        first_date=(min(moments) - timedelta(days=365)).date(), last_date=(max(moments) + timedelta(days=365)).date()
    )
    return cal


def as_file(app: CohortBot, cal: Calendar, person: Person | None) -> Attachment:
    """A calendar as an ``.ics`` attachment."""
    name = f"{slug(person.name) if person else slug(app.cohort.program)}-schedule.ics"
    return Attachment(filename=name, content=cal.to_ical(), description="Calendar (iCalendar .ics)")


async def export_calendar(app: CohortBot, person: Person | None) -> Attachment:
    """``cohortbot export calendar [--person EMAIL]``: everyone's calendar, or one person's."""
    return as_file(app, await build_calendar(app, person), person)

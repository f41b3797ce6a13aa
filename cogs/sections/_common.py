"""What the sections feature's commands, reminders and calendars share: who is in a section, where it meets,
this week's readings, and a person's homework status."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import membership
from bot.cohort import Cohort, SectionMeeting
from bot.core.messages import format_local, timestamp
from bot.core.people import Person
from bot.core.roles import Role
from bot.meetings import Meeting
from bot.membership import section_runners
from bot.storage.homework import Extension, HomeworkRepo, Submission
from cogs.attendance import LateWork, late_work

if TYPE_CHECKING:
    from bot.app import CohortBot


def digest(parts: Iterable[str], size: int = 8) -> str:
    """A short stable hash of ``parts`` (for ids that must change when what they cover changes)."""
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:size]


def ref(meeting: Meeting) -> str:
    """What identifies a meeting across changes: ``section:americas-tue:week-2``."""
    return f"section:{meeting.name}:week-{meeting.week}"


# ---- where -----------------------------------------------------------------------------------------------
def where(meeting: Meeting) -> str:
    """Where it happens, in markup: the section channel, the call link, the place (whichever it has)."""
    parts = []
    if meeting.channel:
        parts.append(f"#{meeting.channel}")
    if meeting.link:
        parts.append(f"[call link]({meeting.link})")
    if meeting.location:
        parts.append(meeting.location)
    return " · ".join(parts) or "see your facilitator"


def where_plain(meeting: Meeting) -> str:
    """Where it happens as plain text (calendar LOCATION, event location): the link, place and channel."""
    parts = [p for p in (meeting.location, meeting.link, f"#{meeting.channel}" if meeting.channel else None) if p]
    return " · ".join(parts) or meeting.name


def when(meeting: Meeting) -> str:
    """``<t:F> (<t:R>), 60 min``, plus what changed (moved from the usual time, cancelled and why)."""
    text = f"{timestamp(meeting.start, 'F')} ({timestamp(meeting.start, 'R')}), {meeting.minutes} min"
    if not meeting.held:
        return f"❌ **cancelled** ({timestamp(meeting.start, 'F')})" + (f": {meeting.reason}" if meeting.reason else "")
    if meeting.usual_start is not None:
        text += f" — **moved** from {timestamp(meeting.usual_start, 'f')}"
        if meeting.reason:
            text += f" ({meeting.reason})"
    return text


def local_time(dt: datetime, zone: ZoneInfo) -> str:
    """``Tue 13 Jan 2026, 18:00 EST`` in ``zone``."""
    return format_local(dt, zone, "f")


# ---- who -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Roster:
    """A section's people: its members (everyone on the roster in it) and who runs it."""

    section: SectionMeeting
    members: tuple[Person, ...]
    facilitators: tuple[Person, ...]

    @property
    def scholars(self) -> list[Person]:
        """The members who are scholars."""
        return [p for p in self.members if p.role == Role.SCHOLAR]

    @property
    def everyone(self) -> list[Person]:
        """Members and facilitators, each once, by name."""
        found = {p.id: p for p in (*self.members, *self.facilitators)}
        return sorted(found.values(), key=lambda p: p.name.casefold())


async def roster(app: CohortBot, section: SectionMeeting) -> Roster:
    """Who is in ``section`` (its scholars on the roster) and who runs it (:func:`bot.membership.section_runners`)."""
    members = tuple(await app.people.in_section(section.name, Role.SCHOLAR))
    runners = (await section_runners(app, [section.name])).get(section.name, [])
    return Roster(section, members, tuple(runners))


def sections_of(app: CohortBot, person: Person, role: Role) -> list[str] | None:
    """The sections whose meetings ``person`` sees: ``None`` (all) for organizers; else the sections they belong
    to on the roster and those they run (:func:`bot.membership.sections_of`)."""
    return None if role >= Role.ORGANIZER else membership.sections_of(app.cohort, person, role)


# ---- what to prepare -------------------------------------------------------------------------------------
def reading_lines(cohort: Cohort, week: int, track: str | None) -> list[str]:
    """Week ``week``'s readings for ``track``: ``• [title](url) — 40 min``."""
    return [
        f"• [{r.title}]({r.url}) — {r.minutes} min" + (" (optional)" if r.optional else "")
        for r in cohort.readings_for(week, track)
    ]


@dataclass(frozen=True)
class Homework:
    """One person's homework for one week: the submission that counts and any extension."""

    week: int
    title: str
    due: datetime
    latest: Submission | None
    extension: Extension | None
    late_work: LateWork | None = None  # what the stipend rule makes of late work; None: no stipend rule applies

    @property
    def deadline(self) -> datetime:
        """The due time, or the extension's."""
        return self.extension.until if self.extension else self.due

    def overdue_but_counts(self, now: datetime) -> bool:
        """Not handed in, past the deadline, and handed in now it would still count toward the stipend."""
        if self.latest is not None or now <= self.deadline or self.late_work is None:
            return False
        return self.late_work.still_counts(now)

    def line(self, now: datetime) -> str:
        """``Week 2: **Break a classifier**, due <t>: not submitted yet — /submit week:2``."""
        head = f"Week {self.week}: **{self.title}**, due {timestamp(self.deadline, 'F')}"
        if self.extension:
            head += " (your extension)"
        if self.latest is not None:
            late = " (late)" if self.latest.late else ""
            return f"{head}: ✅ submitted {timestamp(self.latest.submitted_at, 'f')}{late}."
        if now <= self.deadline:
            return f"{head}: not submitted yet — /submit week:{self.week}"
        if self.late_work is None:
            return f"{head}: ❌ not submitted, and the deadline has passed."
        if self.overdue_but_counts(now):
            return (
                f"{head}: ⏳ not submitted yet — late now, but it still counts toward your stipend until "
                f"{timestamp(self.late_work.counts_until, 'F')}. /submit week:{self.week}"
            )
        window = " and the late window have" if self.late_work.rule.late_counts else " has"
        return f"{head}: ❌ not submitted, and the deadline{window} passed."


async def homework_of(app: CohortBot, week: int, people: Sequence[Person]) -> dict[int, Homework]:
    """Each scholar's homework for ``week`` (empty if the week has none).

    Reads only these people's rows (two index queries per 900 people), so one person's /schedule or one section's
    reminders cost their own audience, not the whole cohort's week.
    """
    found = app.cohort.week(week)
    due = app.cohort.due(week)
    scholars = [p for p in people if p.role == Role.SCHOLAR]
    if found is None or found.homework is None or due is None or not scholars:
        return {}
    latest, extensions = await HomeworkRepo(app.db).of_people(week, [p.id for p in scholars])
    out = {}
    for p in scholars:
        extension = extensions.get(p.id)
        late = late_work(app.cohort, p, extension.until if extension else due)
        out[p.id] = Homework(week, found.homework.title, due, latest.get(p.id), extension, late)
    return out

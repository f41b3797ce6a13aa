"""What the attendance commands, check-in, the stipend engine and the exports share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.core.errors import UserError
from bot.core.messages import timestamp
from bot.core.people import Person
from bot.core.roles import Role
from bot.meetings import Meeting, latest_started
from cogs.attendance._store import AttendanceRepo

if TYPE_CHECKING:
    from datetime import datetime

    from bot.app import CohortBot
    from bot.cohort import Cohort

INLINE_ROWS = 25  # longer lists come as a CSV file


def repo(app: CohortBot) -> AttendanceRepo:
    """The attendance repository (stateless, so a new one is as good as a kept one)."""
    return AttendanceRepo(app.db)


_SECTION_NAMES: dict[int, tuple[Cohort, dict[str, str]]] = {}


def section_names(cohort: Cohort) -> dict[str, str]:
    """The cohort file's section names by their folded form (built once per cohort: 800 sections, 20,000 lookups)."""
    cached = _SECTION_NAMES.get(id(cohort))
    if cached is None or cached[0] is not cohort:
        _SECTION_NAMES.clear()  # one cohort at a time (a reload replaces it)
        cached = (cohort, {s.name.strip().casefold(): s.name for s in cohort.sections})
        _SECTION_NAMES[id(cohort)] = cached
    return cached[1]


def home_section(app: CohortBot, person: Person) -> str | None:
    """The section a scholar belongs to (the cohort file's spelling), if any."""
    names = section_names(app.cohort)
    for name in person.sections:
        found = names.get(name.strip().casefold())
        if found is not None:
            return found
    return None


async def members(app: CohortBot, section: str) -> list[Person]:
    """The scholars of ``section``, by name."""
    return await app.people.in_section(section, Role.SCHOLAR)


def names(people: Iterable[Person]) -> str:
    """``Ada Lovelace, Hedy Lamarr`` or ``nobody``."""
    return ", ".join(p.name for p in people) or "nobody"


def meeting_words(meeting: Meeting) -> str:
    """``week 3's meeting of americas-tue (Tue 27 Jan, 18:00)`` with the time as markup."""
    moved = " (moved)" if meeting.status == "moved" else ""
    return f"week {meeting.week}'s meeting of {meeting.name} ({timestamp(meeting.start, 'F')}{moved})"


async def held_meeting(app: CohortBot, section: str, week: int, now: datetime, *, field: str = "week") -> Meeting:
    """The meeting, or a clear :class:`UserError` if it was cancelled or has not started yet."""
    meeting = await app.meetings.get(section, week)
    if meeting is None:
        raise UserError(f"There is no week {week} meeting of {section}.", field=field)
    if not meeting.held:
        why = f" ({meeting.reason})" if meeting.reason else ""
        raise UserError(
            f"Week {week}'s meeting of {meeting.name} was cancelled{why}. A cancelled meeting is not held: nobody is "
            "marked for it and it never counts against anyone.",
            field=field,
        )
    if meeting.start > now:
        raise UserError(
            f"Week {week}'s meeting of {meeting.name} has not started yet (it starts {timestamp(meeting.start, 'F')}, "
            f"{timestamp(meeting.start, 'R')}). Attendance can be taken from its start.",
            field=field,
        )
    return meeting


async def default_meeting(app: CohortBot, section: str, now: datetime) -> tuple[Meeting, str]:
    """This week's meeting of ``section``; before it starts, last week's. Returns it with a note on the choice.

    Refused clearly (as by :func:`held_meeting`) if that meeting was cancelled or none has started yet.
    """
    meeting = await app.meetings.current(section, now)  # this week's, in the section's zone
    week = meeting.week if meeting is not None else 1
    note = ""
    if meeting is not None and meeting.start > now:
        # the latest meeting that has started (moved meetings at their new time), not simply the week before
        latest = latest_started(await app.meetings.of_section(section), now)
        if latest is not None:
            note = (
                f"Week {week}'s meeting has not started yet ({timestamp(meeting.start, 'F')}), so this is week "
                f"{latest.week}'s. Give week:N for another."
            )
            week = latest.week
    return await held_meeting(app, section, week, now), note

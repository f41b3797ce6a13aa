"""Attendance, check-in codes, the stipend engine and facilitator pay (docs/attendance.md, docs/stipends.md).

Commands: /attendance (typed, or a checklist of buttons and selects), /checkin-code, /checkin, /stipend,
/stipend-adjust. A planner evaluates at-risk alerts after each meeting and deadline; ``attendance`` and
``stipends`` exporters (and the attendance chart) feed ``cohortbot export`` and ``/report``.

For other features:

* :func:`present_at` — who was present at (or checked in to) a section's meeting of a week, make-ups included
  (the pairing helper);
* :func:`missed` — the section's scholars who missed its meeting of a week (the sections helper's prep note);
* :func:`late_work` — whether a scholar's late homework still counts toward the stipend, and until when (the
  homework status in /schedule and reminders, and /submit's receipt).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.core.people import Person
from bot.meetings import Meeting
from cogs.attendance._alerts import plan_alerts
from cogs.attendance._checkin import COMMANDS as CHECKIN_COMMANDS
from cogs.attendance._commands import COMMANDS as ATTENDANCE_COMMANDS
from cogs.attendance._common import members, repo
from cogs.attendance._export import attendance_chart, export_attendance, export_stipends
from cogs.attendance._facts import LateWork, late_work, standings
from cogs.attendance._stipend import COMMANDS as STIPEND_COMMANDS

if TYPE_CHECKING:
    from bot.app import CohortBot

__all__ = ["LateWork", "late_work", "missed", "present_at", "setup", "standings"]


async def present_at(app: CohortBot, section: str, week: int) -> list[Person]:
    """Everyone marked present at ``section``'s meeting of ``week`` (checked in with the code, ticked in the
    checklist or typed; people from other sections on a make-up included), by name. A cancelled meeting has
    nobody."""
    meeting = await app.meetings.get(section, week)
    if meeting is None or not meeting.held:
        return []
    marks = await repo(app).marks(meeting.name, week)
    ids = [pid for pid, m in marks.items() if m.status == "present"]
    return sorted((await app.people.get_many(ids)).values(), key=lambda p: p.name.casefold())


async def missed(app: CohortBot, section: str, week: int) -> list[Person]:
    """The section's scholars who missed its meeting of ``week``: marked absent or excused, or without a mark
    once attendance was taken. Before attendance is taken only explicit marks count; a cancelled meeting has
    nobody. By name."""
    meeting = await app.meetings.get(section, week)
    if meeting is None or not meeting.held:
        return []
    attendance_repo = repo(app)
    marks = await attendance_repo.marks(meeting.name, week)
    taken = await attendance_repo.recorded(meeting.name, week) is not None
    out = []
    for person in await members(app, meeting.name):
        mark = marks.get(person.id)
        if (mark is not None and mark.status != "present") or (mark is None and taken):
            out.append(person)
    return out


class MeetingAttendance:
    """What ``/schedule`` and the facilitators' prep note ask of attendance (``app.meetings.attendance``)."""

    def __init__(self, app: CohortBot) -> None:
        self.app = app

    async def recorded(self, meetings: Sequence[Meeting]) -> set[tuple[str, int]]:
        """Which of ``meetings`` have their attendance taken, as ``(section name casefolded, week)``."""
        taken = await repo(self.app).all_recorded({m.name for m in meetings})
        return {(m.name.casefold(), m.week) for m in meetings if (m.name.casefold(), m.week) in taken}

    async def missed(self, meeting: Meeting) -> list[int]:
        """Roster ids of the section's scholars who missed ``meeting`` without an excuse."""
        excused = {
            pid for pid, m in (await repo(self.app).marks(meeting.name, meeting.week)).items() if m.status == "excused"
        }
        return [p.id for p in await missed(self.app, meeting.name, meeting.week) if p.id not in excused]


def setup(app: CohortBot) -> None:
    """Register the commands, the alerts planner, the exporters, the chart, and attendance for the meetings."""
    for c in (*ATTENDANCE_COMMANDS, *CHECKIN_COMMANDS, *STIPEND_COMMANDS):
        app.registry.add(c)
    app.meetings.attendance = MeetingAttendance(app)
    app.planners.append(plan_alerts)
    app.exporters["attendance"] = export_attendance
    app.exporters["stipends"] = export_stipends
    app.charts["attendance"] = attendance_chart

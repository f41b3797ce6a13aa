"""Platform scheduled events for section meetings (a server's Events list), through the outbox.

Each meeting of the coming week becomes a :class:`PlatformTask` ``scheduled_event`` with what the event should
show (name, description, start, end, location, cancelled). The platform's sender creates the event, or updates
the one it made before (it stores the event ids by ``ref``), so a retry or a restart never makes a second one.
The outbox key holds a digest of the data: the same meeting enqueued again is a no-op, a changed one (moved,
cancelled, another link) is a new task that updates the event.

Tasks are enqueued only if the running platform's sender does ``scheduled_event`` tasks (``task_kinds``); on the
others nothing is queued. When a meeting changes, its event is updated at once if it is in the coming week or
an event was asked for before (``/section move`` and ``/section cancel`` call :func:`sync_events`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.platform import PlatformTask, does_task
from bot.core.util import iso
from bot.meetings import Meeting
from cogs.sections._common import digest, ref, where_plain

if TYPE_CHECKING:
    from bot.app import CohortBot

KIND = "scheduled_event"
WINDOW = timedelta(days=7)  # how far ahead a meeting appears in the platform's events


def event_task(app: CohortBot, meeting: Meeting) -> PlatformTask:
    """What the meeting's event should show."""
    week = app.cohort.week(meeting.week)
    lines = [f"Week {meeting.week} discussion of section {meeting.name}" + (f": {week.title}" if week else "")]
    if meeting.link:
        lines.append(f"Call: {meeting.link}")
    if meeting.location:
        lines.append(f"Where: {meeting.location}")
    if meeting.channel:
        lines.append(f"Channel: #{meeting.channel}")
    if not meeting.held and meeting.reason:
        lines.append(f"Cancelled: {meeting.reason}")
    data = {
        "ref": ref(meeting),
        "name": f"{meeting.name}: week {meeting.week} discussion"[:100],
        "description": "\n".join(lines)[:900],
        "start": iso(meeting.start),
        "end": iso(meeting.end),
        "location": where_plain(meeting)[:100],
        "cancelled": not meeting.held,
    }
    return PlatformTask(KIND, data)


def event_key(task: PlatformTask) -> str:
    """``section-event:<ref>:<digest of the data>``: the same data is enqueued once."""
    body = json.dumps(task.data, sort_keys=True, separators=(",", ":"))
    return f"section-event:{task.data['ref']}:{digest([body], 12)}"


def wanted(app: CohortBot) -> bool:
    """Whether the running platform makes scheduled events."""
    return does_task(app.senders.get(app.platform), KIND)


async def asked_before(app: CohortBot, meeting: Meeting) -> bool:
    """Whether an event was ever requested for this meeting (one index range read of the outbox keys)."""
    prefix = f"section-event:{ref(meeting)}:"
    found = await app.db.fetchval(
        "SELECT 1 FROM outbox WHERE key >= ? AND key < ? LIMIT 1", (prefix, prefix + "\U0010ffff")
    )
    return found is not None


async def sync_events(app: CohortBot, meetings: Sequence[Meeting], now: datetime, *, in_window: bool = False) -> int:
    """Enqueue the event tasks ``meetings`` need; return how many were new.

    A held meeting gets its event if it starts within the coming week (``in_window``: the caller knows it does)
    or had one asked for before (then it is updated); a cancelled one is cancelled only if it had one.
    """
    if not wanted(app):
        return 0
    added = 0
    for meeting in meetings:
        coming = in_window or meeting.start - WINDOW <= now < meeting.start
        if not ((meeting.held and coming) or await asked_before(app, meeting)):
            continue
        task = event_task(app, meeting)
        added += await app.outbox.enqueue_task(event_key(task), task)
    return added

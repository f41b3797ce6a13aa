"""Platform scheduled events for section meetings (a server's Events list), through the outbox.

Each meeting of the coming week becomes a :class:`PlatformTask` ``scheduled_event`` with what the event should
show (name, description, start, end, location, cancelled). The platform's sender creates the event, or updates
the one it made before (it stores the event ids by ``ref``), so a retry or a restart never makes a second one.
Every change is a new task, and the same data again is none: a meeting's task is enqueued only when its data
differs from the last task asked for that meeting (read in the same write transaction, so two at once cannot
both enqueue). Its key, ``section-event:<ref>:v<sequence>:<digest of the data>``, carries the meeting's
``sequence`` (bumped by every move and cancel), so a meeting moved back to where it was (cancel then move back,
A -> B -> A) is a new task, not the first one's key already ``sent``; a cohort-file edit undone (the same
sequence and data as an earlier task) gets ``:after-<id of the last task>`` on its key.

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


def event_key(task: PlatformTask, sequence: int) -> str:
    """``section-event:<ref>:v<sequence>:<digest of the data>`` (see the module's docstring)."""
    body = json.dumps(task.data, sort_keys=True, separators=(",", ":"))
    return f"section-event:{task.data['ref']}:v{sequence}:{digest([body], 12)}"


def wanted(app: CohortBot) -> bool:
    """Whether the running platform makes scheduled events."""
    return does_task(app.senders.get(app.platform), KIND)


async def last_asked(app: CohortBot, meeting: Meeting) -> tuple[int, dict] | None:
    """The id and data of the last event task asked for this meeting, if any (an index range read of the keys)."""
    prefix = f"section-event:{ref(meeting)}:"
    row = await app.db.fetchone(
        "SELECT id, payload FROM outbox WHERE key >= ? AND key < ? ORDER BY id DESC LIMIT 1",
        (prefix, prefix + "\U0010ffff"),
    )
    return (row["id"], json.loads(row["payload"])) if row else None


async def sync_events(app: CohortBot, meetings: Sequence[Meeting], now: datetime, *, in_window: bool = False) -> int:
    """Enqueue the event tasks ``meetings`` need; return how many were new.

    A held meeting gets its event if it starts within the coming week (``in_window``: the caller knows it does)
    or had one asked for before (then it is updated); a cancelled one is cancelled only if it had one. Nothing is
    enqueued for a meeting whose last task already shows what it is now.
    """
    if not wanted(app):
        return 0
    added = 0
    for meeting in meetings:
        coming = in_window or meeting.start - WINDOW <= now < meeting.start
        async with app.db.transaction():  # the last task read and the new one written with no other between
            last = await last_asked(app, meeting)
            if not ((meeting.held and coming) or last is not None):
                continue
            task = event_task(app, meeting)
            if last is not None and last[1] == task.data:
                continue
            key = event_key(task, meeting.sequence)
            if last is not None and await app.outbox.get(key) is not None:
                # back to an earlier task's data (a cohort-file edit undone): a new task all the same
                key += f":after-{last[0]}"
            added += await app.outbox.enqueue_task(key, task)
    return added

"""Sending an announcement: queue its rows once, notice when they are all settled, tell the author.

* :func:`go_out` (Send for "now", or the planned job ``announce:<id>`` at its time): asks the platform who it cannot
  reach, then in one transaction queues a DM per reachable person (or the one post) with fixed keys, records who
  was not reachable and why, and marks it ``sending``. Run twice, it queues nothing twice.
* The planner (:func:`plan_announcements`) gives one job per scheduled announcement, at its time, and one
  ``announce-report:<id>:<round>`` job for each announcement whose rows are all settled: the completion check. The
  runtime re-plans after every delivery pass, so the report follows the last DM at once.
* Drafts (previews never sent) are purged once :data:`DRAFTS_KEPT` old, by a planned job at the oldest one's
  age (``announce-drafts:<id>``), so they never pile up.
* :func:`send_report` DMs the author the counts and marks it ``done``; a "Retry failed" starts a new round (and so
  a new report).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core.people import Person
from bot.core.platform import ChannelTarget, DMTarget
from bot.delivery import NewItem
from cogs.announcements._audience import unreachable as platform_unreachable
from cogs.announcements._messages import report
from cogs.announcements._outbox import counts, dm_key, post_key, report_key, unsettled
from cogs.announcements._store import Announcement, repo
from schedules.jobs import PlannedJob

if TYPE_CHECKING:
    from bot.app import CohortBot

# A report job is due as soon as the planner notices its announcement settled; "a little in the past", so that a
# job runner whose notion of now was taken just before planning still sees it due.
NOTICED = timedelta(seconds=30)
GONE = "was removed from the roster"
# A draft (a preview never sent) is kept this long, then purged: its Send expired after an hour
# (``PREVIEW_VALID``), and a day is ample for /announcements id:<n> to say what became of it.
DRAFTS_KEPT = timedelta(days=1)

log = logging.getLogger(__name__)


async def reach(app: CohortBot, person_ids: list[int]) -> tuple[dict[int, Person], dict[int, str]]:
    """The people still on the roster (one query per 900) and, for those who cannot be reached, why: removed
    from the roster since the preview (gone: never sent to), or unreachable on the platform."""
    found = await app.people.get_many(person_ids)
    people = {i: p for i, p in found.items() if not p.removed}
    reasons = await platform_unreachable(app, list(people.values()))
    reasons.update({i: GONE for i in person_ids if i not in people})
    return people, reasons


def items(a: Announcement, reachable: list[int]) -> list[NewItem]:
    """The outbox rows: a DM per reachable person, or the one post."""
    if not a.dm:
        assert a.channel is not None
        return [NewItem(post_key(a.id, a.channel), ChannelTarget(a.channel), a.message)]
    return [NewItem(dm_key(a.id, person_id), DMTarget(person_id), a.message) for person_id in reachable]


async def go_out(app: CohortBot, announcement_id: int, from_state: str) -> bool:
    """Queue the announcement (if it is still in ``from_state``); ``False`` if it was not."""
    store = repo(app)
    a = await store.get(announcement_id)
    if a is None or a.state != from_state:
        return False
    now = app.clock.now()
    if from_state == "scheduled" and a.author_id is not None:
        author = await app.people.get(a.author_id)
        if author is None or author.removed:  # nobody speaks in the name of someone who has left the roster
            log.info("announcement #%d not sent: its author left the roster before its time", a.id)
            await store.move(a.id, ["scheduled"], "cancelled", cancelled_at=now)  # by nobody: see state_text
            return False
    ids = await store.recipient_ids(a.id)
    _people, reasons = await reach(app, ids)
    reachable = [i for i in ids if i not in reasons]
    async with app.db.transaction():
        fields = {"started_at": now} if from_state == "scheduled" else {"started_at": now, "send_at": now}
        if from_state == "draft":  # Send pressed for "now"
            fields["confirmed_at"] = now
        if not await store.move(a.id, [from_state], "sending", **fields):
            return False
        await store.set_unreachable(a.id, reasons)
        await app.outbox.enqueue_many(items(a, reachable))
    return True


async def recheck(app: CohortBot, a: Announcement) -> dict[int, str | None]:
    """For a retry: those it could not reach, asked about again: person id -> why still not (``None``: reachable
    now, e.g. they linked an account since). Asks the platform, so call it outside a transaction."""
    before = await repo(app).unreachable(a.id)
    if not before or not a.dm:
        return {}
    _people, reasons = await reach(app, list(before))
    return {i: reasons.get(i) for i in before}


async def requeue(app: CohortBot, a: Announcement, rechecked: dict[int, str | None]) -> int:
    """Record :func:`recheck`'s answer and queue a DM for each person now reachable; return how many."""
    await repo(app).set_unreachable(a.id, rechecked)
    now_reachable = [i for i, reason in rechecked.items() if reason is None]
    return await app.outbox.enqueue_many(items(a, now_reachable)) if now_reachable else 0


async def send_report(app: CohortBot, announcement_id: int, round_: int) -> None:
    """Once every row is settled: DM the author the counts and mark the announcement done (once per round)."""
    store = repo(app)
    a = await store.get(announcement_id)
    if a is None or a.state != "sending" or a.round != round_:
        return
    c = await counts(app, a.id)
    if not c.settled:
        return
    missed = Counter((await store.unreachable(a.id)).values())
    message = report(a, c, missed, await store.size(a.id))
    async with app.db.transaction():
        if await store.move(a.id, ["sending"], "done", done_at=app.clock.now()) and a.author_id is not None:
            await app.outbox.enqueue(report_key(a.id, a.round), DMTarget(a.author_id), message)


def _go(announcement_id: int):  # noqa: ANN202 - a job's run function
    async def run(app: CohortBot) -> None:
        await go_out(app, announcement_id, "scheduled")

    return run


def _report(announcement_id: int, round_: int):  # noqa: ANN202 - a job's run function
    async def run(app: CohortBot) -> None:
        await send_report(app, announcement_id, round_)

    return run


def _purge(before: timedelta):  # noqa: ANN202 - a job's run function
    async def run(app: CohortBot) -> None:
        await repo(app).purge_drafts(app.clock.now() - before)

    return run


async def plan_announcements(app: CohortBot) -> list[PlannedJob]:
    """One job per scheduled announcement (at its time), one report job per settled one still sending, and one
    that purges drafts once the oldest is :data:`DRAFTS_KEPT` old (the next one is planned after it ran)."""
    store = repo(app)
    jobs = [
        PlannedJob(
            id=f"announce:{a.id}",
            when=a.send_at,
            kind="announcement",
            description=f"announcement #{a.id} to {a.label}, {a.how}",
            run=_go(a.id),
            channel=a.channel,
        )
        for a in await store.in_state("scheduled")
    ]
    oldest = await store.oldest_draft()
    if oldest is not None:
        draft_id, previewed = oldest
        jobs.append(
            PlannedJob(
                id=f"announce-drafts:{draft_id}",
                when=previewed + DRAFTS_KEPT,
                kind="announcement-drafts",
                description=f"purge announcement previews never sent, older than {DRAFTS_KEPT.days} day(s)",
                run=_purge(DRAFTS_KEPT),
                grace=timedelta(days=3650),  # late is fine (after downtime): it only deletes
            )
        )
    now = app.clock.now()
    for a in await store.in_state("sending"):
        if await unsettled(app, a.id) == 0:
            jobs.append(
                PlannedJob(
                    id=f"announce-report:{a.id}:{a.round}",
                    when=now - NOTICED,
                    kind="announcement-report",
                    description=f"delivery report of announcement #{a.id}",
                    run=_report(a.id, a.round),
                )
            )
    return jobs

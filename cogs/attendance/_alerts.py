"""At-risk alerts: durable, sent once.

* When an eligible scholar reaches "can miss no more" for sections or for homework, they are told (kindly),
  and so is their section's facilitator.
* When an eligible scholar can no longer qualify, their facilitator and the organizers are told (by DM, never in
  a channel).

Each (person, kind) is alerted once: an evaluation claims it by writing its ``stipend_alerts`` row and, in the
same transaction (writers take turns), enqueues messages for what it claimed only. So a re-run, a restart, a
re-plan or two evaluations at once (a planned check and a facilitator's correction) neither send an alert twice
nor drop one. Facilitators and organizers get one message per evaluation listing everyone new for them.

When: a planned job ``alert_hours_after`` each meeting's end (one job per instant; it looks at the members and
visitors of the sections meeting then), after each homework deadline and at the end of the course (everyone),
and at once when a facilitator changes marks (the people changed). The cost is that audience's, never the
whole course for one meeting.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.clock import to_db
from bot.core.messages import Message
from bot.core.pause import Pause
from bot.core.people import Person
from bot.core.platform import DMTarget
from bot.core.roles import Role
from bot.core.util import batched, iso
from bot.delivery import NewItem
from bot.meetings import Timetable
from bot.membership import section_runners
from cogs.attendance._common import members, repo
from cogs.attendance._engine import Requirement
from cogs.attendance._facts import Row, scholars, standings
from schedules.jobs import PlannedJob

if TYPE_CHECKING:
    import aiosqlite

    from bot.app import CohortBot

Run = Callable[["CohortBot"], Awaitable[None]]
PAUSE_EVERY = 256  # meetings grouped between two checks of the pause


def due_alerts(row: Row) -> list[str]:
    """The alert kinds this standing calls for: ``sections``/``homework`` (can miss no more), ``lost``."""
    s = row.standing
    if not s.eligible or s.qualified or row.person.role != Role.SCHOLAR:
        return []
    if s.status == "cannot qualify":
        return ["lost"]
    return [r.name for r in (s.sections, s.homework) if r.last_chance]


def scholar_message(row: Row, kind: str, program: str, makeups: bool) -> Message:
    """The kind heads-up to the scholar."""
    first = row.person.name.split(" ")[0]
    req: Requirement = row.standing.sections if kind == "sections" else row.standing.homework
    if kind == "sections":
        what = (
            f"you have attended {req.counted} section meeting(s) and the stipend needs {req.needed}, so each of "
            f"the {req.open} still to come counts."
        )
        tip = (
            " If a week is hard, another section's meeting in the same week counts too: ask your facilitator."
            if makeups
            else " If something gets in the way, tell your facilitator early."
        )
    else:
        what = (
            f"you have handed in {req.counted} homework(s) and the stipend needs {req.needed}, so each of the "
            f"{req.open} still open counts."
        )
        tip = " /submit takes a link, a text or a file; /stipend shows where you stand any time."
    return Message(
        title="A friendly heads-up about your stipend",
        text=f"Hi {first}! You're doing the work for {program} — thank you. Just so nothing surprises you: {what}"
        f" You can still make it.{tip}",
    )


def line(row: Row, kind: str) -> str:
    """One person in a facilitator's or organizer's digest."""
    s = row.standing
    where = f" ({row.section})" if row.section else ""
    if kind == "lost":
        why = [
            f"{r.name} {r.counted} of {r.needed} needed with {r.open} left"
            for r in (s.sections, s.homework)
            if not r.reachable
        ]
        return f"**{row.person.name}**{where}: can no longer qualify ({'; '.join(why)})"
    req = s.sections if kind == "sections" else s.homework
    return f"**{row.person.name}**{where}: can miss no more {kind} ({req.counted} of {req.needed}, {req.open} left)"


def digest_key(recipient: int, items: Iterable[tuple[int, str]]) -> str:
    """A key fixed by who is told about whom."""
    text = ",".join(f"{pid}:{kind}" for pid, kind in sorted(items))
    return f"stipend-alert:to-{recipient}:{hashlib.sha1(text.encode()).hexdigest()[:16]}"


async def sent_alerts(app: CohortBot, ids: list[int], conn: aiosqlite.Connection | None = None) -> set[tuple[int, str]]:
    """``(person, kind)`` already alerted (read on ``conn``, the writer's, inside a transaction)."""
    out: set[tuple[int, str]] = set()
    for chunk in batched(ids):
        sql = f"SELECT person_id, kind FROM stipend_alerts WHERE person_id IN ({','.join('?' * len(chunk))})"
        rows = await (conn.execute_fetchall(sql, chunk) if conn is not None else app.db.fetchall(sql, chunk))
        out |= {(r["person_id"], r["kind"]) for r in rows}
    return out


async def check(app: CohortBot, people: list[Person]) -> int:
    """Evaluate ``people`` and enqueue the alerts not sent before; return how many (person, kind) were new."""
    rows = await standings(app, [p for p in people if p.role == Role.SCHOLAR])
    if not rows:
        return 0
    already = await sent_alerts(app, [r.person.id for r in rows])
    new: list[tuple[Row, str]] = [
        (row, kind) for row in rows for kind in due_alerts(row) if (row.person.id, kind) not in already
    ]
    if not new:
        return 0
    runners = await section_runners(app, {row.section for row, _kind in new if row.section})
    organizers = await app.people.with_role(Role.ORGANIZER) if any(kind == "lost" for _r, kind in new) else []
    now = to_db(app.clock.now())
    async with app.db.transaction() as conn:  # one writer at a time: what it reads here, nobody claims meanwhile
        taken = await sent_alerts(app, sorted({row.person.id for row, _kind in new}), conn)
        mine = [(row, kind) for row, kind in new if (row.person.id, kind) not in taken]
        await conn.executemany(
            "INSERT INTO stipend_alerts (person_id, kind, sent_at) VALUES (?, ?, ?)",
            [(row.person.id, kind, now) for row, kind in mine],
        )
        await app.outbox.enqueue_many(alert_items(app, mine, runners, organizers))
    return len(mine)


def alert_items(
    app: CohortBot, new: list[tuple[Row, str]], runners: dict[str, list[Person]], organizers: list[Person]
) -> list[NewItem]:
    """The messages for the alerts ``new``: each scholar's heads-up, one digest per facilitator and organizer.

    Each (person, kind) is in one evaluation's ``new`` only (its claim in ``stipend_alerts``), so a digest's key,
    fixed by who is told about whom, is never reused for other news."""
    rule = app.cohort.stipend
    items: list[NewItem] = []
    to_runner: dict[int, list[tuple[Row, str]]] = defaultdict(list)
    to_organizer: list[tuple[Row, str]] = []
    for row, kind in new:
        if kind != "lost":
            items.append(
                NewItem(
                    key=f"stipend-alert:{kind}:person-{row.person.id}",
                    target=DMTarget(row.person.id),
                    message=scholar_message(row, kind, app.cohort.program, rule.makeups_count),
                )
            )
        else:
            to_organizer.append((row, kind))
        for runner in runners.get(row.section or "", []):
            to_runner[runner.id].append((row, kind))
    for runner_id, entries in to_runner.items():
        items.append(
            NewItem(
                key=digest_key(runner_id, ((r.person.id, k) for r, k in entries)),
                target=DMTarget(runner_id),
                message=Message(
                    title="Stipend alerts for your section",
                    text="\n".join(line(r, k) for r, k in entries)
                    + "\nThey may need a word from you. Details: /stipend user:<name>",
                ),
            )
        )
    if to_organizer:
        for organizer in organizers:
            items.append(
                NewItem(
                    key=digest_key(organizer.id, ((r.person.id, k) for r, k in to_organizer)),
                    target=DMTarget(organizer.id),
                    message=Message(
                        title="Scholars who can no longer qualify for the stipend",
                        text="\n".join(line(r, k) for r, k in to_organizer)
                        + "\nTheir facilitators have been told. Everyone: /stipend",
                    ),
                )
            )
    return items


async def check_people(app: CohortBot, ids: list[int]) -> int:
    """Evaluate the people with these ids (after their marks changed)."""
    found = await app.people.get_many(ids)
    return await check(app, list(found.values()))


async def check_sections(app: CohortBot, meetings: list[tuple[str, int]]) -> int:
    """Evaluate the members and visitors of these meetings (those whose standing a meeting can change)."""
    wanted: dict[int, Person] = {}
    visitors: set[int] = set()
    for section, week in meetings:
        for p in await members(app, section):
            wanted[p.id] = p
        visitors |= set(await repo(app).visitors(section, week))
    extra = await app.people.get_many(visitors - set(wanted))
    return await check(app, [*wanted.values(), *extra.values()])


async def check_everyone(app: CohortBot) -> int:
    """Evaluate every scholar (after a homework deadline, and at the end of the course)."""
    return await check(app, await scholars(app))


def _meetings_job(meetings: list[tuple[str, int]], when: datetime) -> Run:
    async def run(app: CohortBot) -> None:
        delay = timedelta(hours=app.cohort.stipend.alert_hours_after)
        still = []
        for section, week in meetings:  # a meeting moved since the plan was made has its own job now
            meeting = await app.meetings.get(section, week)
            if meeting is not None and meeting.held and meeting.end + delay == when:
                still.append((section, week))
        await check_sections(app, still)

    return run


async def _everyone(app: CohortBot) -> None:
    await check_everyone(app)


async def plan_alerts(app: CohortBot) -> list[PlannedJob]:
    """One job per instant some meetings end (+ the delay), one per homework deadline, one at the course's end.

    Derived from the timetable alone: computed once per cohort file and state of the meetings' changes (an
    unchanged re-plan reuses the jobs), and then in slices that let the event loop run.
    """
    timetable = await app.meetings.timetable()
    return list(await timetable.derive("attendance:alerts", _plan_alerts))


async def _plan_alerts(timetable: Timetable) -> list[PlannedJob]:
    cohort = timetable.cohort
    delay = timedelta(hours=cohort.stipend.alert_hours_after)
    pause = Pause()
    by_instant: dict[datetime, list[tuple[str, int]]] = defaultdict(list)
    for n, meeting in enumerate(timetable.meetings):
        if n % PAUSE_EVERY == 0:
            await pause()
        if meeting.held:
            by_instant[meeting.end + delay].append((meeting.name, meeting.week))
    jobs = []
    for when, found in sorted(by_instant.items()):
        await pause()
        jobs.append(
            PlannedJob(
                id=f"stipend-check:meetings:{iso(when)}",
                when=when,
                kind="stipend-check",
                description="stipend alerts after " + ", ".join(f"{s} week {w}" for s, w in found),
                run=_meetings_job(found, when),
            )
        )
    for week in cohort.weeks:
        due = cohort.due(week.number)
        if due is not None:
            jobs.append(
                PlannedJob(
                    id=f"stipend-check:homework:week-{week.number}",
                    when=due + delay,
                    kind="stipend-check",
                    description=f"stipend alerts after week {week.number}'s homework deadline",
                    run=_everyone,
                )
            )
    jobs.append(
        PlannedJob(
            id="stipend-check:course-end",
            when=cohort.week_start(len(cohort.weeks) + 1),
            kind="stipend-check",
            description="stipend alerts at the end of the course",
            run=_everyone,
        )
    )
    return jobs

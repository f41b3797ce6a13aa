"""Workshop sessions (``sessions:`` in the cohort file): the agenda posted beforehand, each block announced as it
starts, and a ``pairs`` block that starts rotating pairs by itself. See docs/pairs.md ("Workshops").

Planned jobs, one per due instant, with fixed ids that are also the outbox keys of what they post:
``workshop:NAME:agenda`` (``agenda_hours_before`` the start), ``workshop:NAME:block-N`` (each block's start) and
``workshop:NAME:end``.

For other features: :func:`sessions_for` lists a person's sessions between two instants (``/schedule``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.cohort import AgendaBlock, Cohort, WorkshopSession
from bot.core.clock import utc
from bot.core.messages import Message, MessageField, timestamp
from bot.core.people import Person
from bot.core.platform import ChannelTarget
from bot.core.roles import Role
from cogs.pairs import _participants, open_session
from cogs.pairs._engine import finish
from cogs.pairs._store import repo as pairs_repo
from schedules.jobs import PlannedJob

if TYPE_CHECKING:
    from bot.app import CohortBot

KINDS = {"talk": "Talk", "discussion": "Discussion", "pairs": "Rotating pairs", "break": "Break"}


@dataclass(frozen=True)
class ScheduledSession:
    """A workshop session with its times (UTC) and its blocks' times."""

    session: WorkshopSession
    start: datetime
    end: datetime
    blocks: list[tuple[AgendaBlock, datetime, datetime]]


def scheduled(cohort: Cohort, session: WorkshopSession) -> ScheduledSession:
    """``session`` with its times."""
    blocks = cohort.session_blocks(session)
    return ScheduledSession(session, blocks[0][1], blocks[-1][2], blocks)


def for_person(session: WorkshopSession, person: Person) -> bool:
    """Whether ``session``'s audience includes ``person`` (organizers are in every audience)."""
    if person.role >= Role.ORGANIZER or session.audience == "all":
        return True
    if session.audience == "scholars":
        return person.role == Role.SCHOLAR
    if session.audience == "facilitators":
        return person.role >= Role.FACILITATOR
    kind, _, value = session.audience.partition(":")
    if kind == "track":
        return person.track == value
    return kind == "section" and person.in_section(value)


def sessions_for(cohort: Cohort, person: Person, start: datetime, end: datetime) -> list[ScheduledSession]:
    """The workshop sessions for ``person`` that overlap ``[start, end)``, by start time (for ``/schedule``)."""
    start, end = utc(start), utc(end)
    found = [scheduled(cohort, s) for s in cohort.sessions if for_person(s, person)]
    return sorted((s for s in found if s.start < end and s.end > start), key=lambda s: (s.start, s.session.name))


# ---- messages -------------------------------------------------------------------------------------------
def agenda_message(cohort: Cohort, session: WorkshopSession) -> Message:
    """The agenda, with pre-reads, posted beforehand."""
    when = scheduled(cohort, session)
    lines = []
    for block, start, end in when.blocks:
        extra = ""
        if block.kind == "pairs":
            size, rounds, minutes = cohort.pairs_settings(block)
            extra = f" ({rounds} × {minutes} min in {'pairs' if size == 2 else 'trios'})"
        lines.append(
            f"{timestamp(start, 't')}–{timestamp(end, 't')} **{block.title}**, {KINDS[block.kind].lower()}{extra}"
        )
    fields = []
    if session.pre_reads:
        reads = [f"• [{r.title}]({r.url})" + (f" — {r.minutes} min" if r.minutes else "") for r in session.pre_reads]
        fields.append(MessageField(name="Before you come", value="\n".join(reads)))
    fields.append(MessageField(name="Agenda", value="\n".join(lines)))
    return Message(
        title=session.title,
        text=(
            f"{timestamp(when.start, 'F')} ({timestamp(when.start, 'R')}) in #{session.channel}, "
            f"{session.minutes} minutes. Each part is announced here as it starts."
        ),
        fields=fields,
    )


def block_message(cohort: Cohort, session: WorkshopSession, index: int, pairing: str = "") -> Message:
    """The announcement of block ``index`` (0-based) as it starts, with what comes next."""
    blocks = cohort.session_blocks(session)
    block, _start, end = blocks[index]
    lines = [f"{KINDS[block.kind]} until {timestamp(end, 't')} ({block.minutes} min)."]
    if block.notes:
        lines.append(block.notes.strip())
    if pairing:
        lines.append(pairing)
    if index + 1 < len(blocks):
        upcoming, at, _ = blocks[index + 1]
        lines.append(f"Next: **{upcoming.title}** at {timestamp(at, 't')}.")
    else:
        lines.append("That is the last part of the day.")
    return Message(title=f"Now: {block.title}", text="\n".join(lines), footer=session.title)


def end_message(session: WorkshopSession) -> Message:
    """After the last block."""
    return Message(title=f"{session.title}: that's all", text="Thank you for taking part!")


# ---- jobs -----------------------------------------------------------------------------------------------
async def post_agenda(app: CohortBot, name: str) -> None:
    """Post the agenda of session ``name`` (once: the key is fixed)."""
    session = app.cohort.session(name)
    if session is not None:
        message = agenda_message(app.cohort, session)
        await app.outbox.enqueue(f"workshop:{name}:agenda", ChannelTarget(session.channel), message)


async def start_block(app: CohortBot, name: str, index: int) -> None:
    """Announce block ``index`` (0-based) of session ``name``; a pairs block also starts rotating pairs."""
    session = app.cohort.session(name)
    if session is None or index >= len(session.agenda):
        return
    block = session.agenda[index]
    pairing = ""
    if block.kind == "pairs":
        pairing = await start_pairs(app, session, index)
    message = block_message(app.cohort, session, index, pairing)
    await app.outbox.enqueue(f"workshop:{name}:block-{index + 1}", ChannelTarget(session.channel), message)


async def start_pairs(app: CohortBot, session: WorkshopSession, index: int) -> str:
    """Start the pairs of a block (once): those checked in for ``session.section``'s meeting, else a lobby.
    A session still running in the channel (an earlier block that overran) is ended first."""
    tag = f"{session.name}#{index + 1}"
    found = await app.db.fetchval("SELECT id FROM pair_sessions WHERE workshop = ?", (tag,))
    if found is not None:
        return ""
    for running in await pairs_repo(app).active():
        if running.channel.casefold() == session.channel.casefold():
            await finish(app, running, "stopped", "The workshop's next part is starting.")
    people = None
    if session.section:
        meeting = await app.meetings.current(session.section, app.clock.now())  # this week's, in its zone
        people = (await _participants.present_people(app, session.section, meeting.week) if meeting else []) or None
        if people is not None and len(people) < 2:
            people = None
    size, rounds, minutes = app.cohort.pairs_settings(session.agenda[index])
    started = await open_session(
        app,
        section=None,
        channel=session.channel,
        size=size,
        rounds=rounds,
        minutes=minutes,
        people=people,
        started_by=None,
        workshop=tag,
    )
    if started.state == "lobby":
        return "Press **Join** on the pairs message to take part; round 1 starts in a moment."
    return f"Round 1 has started with the {len(people or [])} people checked in: your partner comes by DM."


def _agenda_job(name: str):  # noqa: ANN202 - a job function
    async def run(app: CohortBot) -> None:
        await post_agenda(app, name)

    return run


def _block_job(name: str, index: int):  # noqa: ANN202 - a job function
    async def run(app: CohortBot) -> None:
        await start_block(app, name, index)

    return run


def _end_job(name: str):  # noqa: ANN202 - a job function
    async def run(app: CohortBot) -> None:
        session = app.cohort.session(name)
        if session is not None:
            await app.outbox.enqueue(f"workshop:{name}:end", ChannelTarget(session.channel), end_message(session))

    return run


async def plan_workshops(app: CohortBot) -> list[PlannedJob]:
    """Per session: the agenda post, one job per block, and the end."""
    cohort = app.cohort
    jobs = []
    for session in cohort.sessions:
        when = scheduled(cohort, session)
        name = session.name
        if session.agenda_hours_before > 0:
            jobs.append(
                PlannedJob(
                    id=f"workshop:{name}:agenda",
                    when=when.start - timedelta(hours=session.agenda_hours_before),
                    kind="workshop-agenda",
                    description=f"{name}: the agenda to #{session.channel}",
                    run=_agenda_job(name),
                    channel=session.channel,
                )
            )
        for index, (block, start, _end) in enumerate(when.blocks):
            what = "starts rotating pairs" if block.kind == "pairs" else "is announced"
            jobs.append(
                PlannedJob(
                    id=f"workshop:{name}:block-{index + 1}",
                    when=start,
                    kind="workshop-block",
                    description=f"{name}: “{block.title}” {what}",
                    run=_block_job(name, index),
                    channel=session.channel,
                )
            )
        jobs.append(
            PlannedJob(
                id=f"workshop:{name}:end",
                when=when.end,
                kind="workshop-end",
                description=f"{name}: the end",
                run=_end_job(name),
                channel=session.channel,
            )
        )
    return jobs


def setup(app: CohortBot) -> None:
    """Register the planner."""
    app.planners.append(plan_workshops)


__all__ = ["ScheduledSession", "agenda_message", "block_message", "for_person", "sessions_for", "setup"]

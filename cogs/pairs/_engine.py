"""Running a pairing session: the lobby, each round (groups, posts, DMs), the end, and the planner.

Every step is a planned job with a fixed id (``pairs:<session>:step-<n>``: step 1 closes the lobby and starts
round 1, step n starts round n, step rounds + 1 ends the session) at the session's ``next_at``. A step runs once:
it checks, in one transaction with its writes, that the session is still where the step expects it, and its
messages have fixed outbox keys. So a restart, a re-plan or ``/pair next`` never loses or repeats a round.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.messages import Action, Button, Message, timestamp
from bot.core.people import Person
from bot.core.platform import ChannelTarget, DMTarget
from bot.delivery import NewItem
from cogs.pairs import _topics
from cogs.pairs._store import PlayedRound, Session, repo
from cogs.pairs.grouping import Formed, Plan, next_round
from schedules.jobs import PlannedJob
from schedules.scheduler import catching_up

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
LISTED_GROUPS = 60  # a round's post lists the groups up to this many; beyond, everyone has theirs by DM
JOIN = "pair join"


def join_button(session_id: int) -> Button:
    """The Join button of a session (works in the lobby and while it runs: late joiners start next round)."""
    return Button(label="Join", style="primary", action=Action(command=JOIN, options={"s": str(session_id)}))


def kind_words(size: int) -> str:
    """``pairs`` or ``trios``."""
    return "pairs" if size == 2 else "trios"


# ---- messages -------------------------------------------------------------------------------------------
def lobby_message(session: Session, prompt: str) -> Message:
    """The lobby post: what is about to happen, and the Join button."""
    assert session.next_at is not None
    return Message(
        title=f"Rotating {kind_words(session.size)}: press Join to take part",
        text=(
            f"{session.rounds} round{'s' if session.rounds != 1 else ''} of {session.minutes} minutes in "
            f"{kind_words(session.size)}, a new partner each round. Round 1 starts at "
            f"{timestamp(session.next_at, 't')} ({timestamp(session.next_at, 'R')}).\n{prompt}"
        ),
        footer="Joining later is fine: you will be paired from the next round. /pair leave takes you out.",
        actions=[join_button(session.id)],
    )


def _names(group: Sequence[int], people: dict[int, Person]) -> str:
    """``Ada & Hedy`` or ``Ada, Hedy & Rosalind``."""
    shown = [people[p].name for p in group if p in people]
    if len(shown) <= 2:
        return " & ".join(shown)
    return ", ".join(shown[:-1]) + " & " + shown[-1]


def round_post(
    session: Session, number: int, formed: Formed, people: dict[int, Person], ends_at: datetime, prompt: str
) -> Message:
    """The channel post for a round: the prompt and the groups, everyone in them mentioned (notified); when the
    groups are too many to list, a count (everyone has theirs by DM)."""
    lines = [f"Until {timestamp(ends_at, 't')} ({timestamp(ends_at, 'R')}). {prompt}"]
    listed = len(formed.groups) <= LISTED_GROUPS
    if listed:
        for n, group in enumerate(formed.groups, start=1):
            note = " (trio)" if session.size == 2 and len(group) == 3 else ""
            note = " (pair)" if session.size == 3 and len(group) == 2 else note
            lines.append(f"{n}. {_names(group, people)}{note}")
        if formed.resting:
            lines.append(f"Resting this round: {_names(formed.resting, people)}")
    else:
        count = sum(len(g) for g in formed.groups)
        lines.append(f"{len(formed.groups)} groups, {count} people: everyone has their partners by direct message.")
    return Message(
        title=f"Round {number} of {session.rounds}",
        text="\n".join(lines),
        footer="Log your group's disagreement with /topic text:<what you disagree about>. Late? Press Join.",
        actions=[join_button(session.id)],
        mentions=[p for g in formed.groups for p in g] + list(formed.resting) if listed else [],
    )


def round_dm(
    session: Session,
    number: int,
    me: int,
    group: Sequence[int],
    people: dict[int, Person],
    ends_at: datetime,
    prompt: str,
    suggestion: str | None,
) -> Message:
    """A person's own message for a round: their partner(s), the prompt, a suggested topic, the end time."""
    others = [p for p in group if p != me]
    lines = [
        f"You're with {_names(others, people)} in {session.where} until {timestamp(ends_at, 't')} "
        f"({timestamp(ends_at, 'R')}).",
        f"**{prompt}**",
    ]
    if suggestion:
        lines.append(f"Stuck? Try: “{suggestion}”")
    lines.append("When you have it: /topic text:<your disagreement> (it counts for your whole group).")
    return Message(
        title=f"Round {number} of {session.rounds}: your {'partners' if len(others) > 1 else 'partner'}",
        text="\n".join(lines),
    )


def resting_dm(session: Session, number: int, ends_at: datetime) -> Message:
    """For the one who rests this round (an odd count without trios)."""
    return Message(
        title=f"Round {number} of {session.rounds}: you rest this round",
        text=f"There is an odd number of people and no trios in {session.where}, so you rest until "
        f"{timestamp(ends_at, 't')}. You'll be paired in the next round.",
    )


def end_message(session: Session, reason: str) -> Message:
    """The closing post."""
    return Message(
        title=f"Rotating {kind_words(session.size)} finished",
        text=f"{reason} Thank you! /topic shows the disagreements you have logged.",
    )


# ---- steps ----------------------------------------------------------------------------------------------
async def open_session(
    app: CohortBot,
    *,
    section: str | None,
    channel: str,
    size: int,
    rounds: int,
    minutes: int,
    people: Sequence[int] | None,
    started_by: int | None,
    workshop: str | None = None,
) -> Session:
    """Create a session: with ``people`` (2 or more) round 1 starts at once; otherwise a lobby opens.

    The caller has checked permissions and input; this writes.
    """
    now = app.clock.now()
    pairing = app.cohort.pairing
    store = repo(app)
    lobby = not people
    next_at = now + timedelta(minutes=pairing.lobby_minutes) if lobby else now
    async with app.db.transaction():
        session_id = await store.create(
            section=section,
            channel=channel,
            workshop=workshop,
            size=size,
            rounds=rounds,
            minutes=minutes,
            trios=pairing.trios_for_odd,
            avoid_history=pairing.avoid_repeats_across_sessions,
            state="lobby",
            next_at=next_at,
            seed=random.SystemRandom().randrange(2**31),
            started_by=started_by,
            now=now,
        )
        session = await store.get(session_id)
        assert session is not None
        if lobby:
            await app.outbox.enqueue(
                f"pairs:{session_id}:lobby", ChannelTarget(channel), lobby_message(session, pairing.prompt)
            )
        else:
            assert people is not None
            await store.join(session_id, list(people), 1, now)
            await step(app, session_id, 1, manual=True)
    app.schedule_changed()
    found = await store.get(session_id)
    assert found is not None
    return found


async def step(app: CohortBot, session_id: int, number: int, *, manual: bool = False) -> bool:
    """Start round ``number`` (or end the session after its last round), once; ``False`` if it was not due.

    ``manual``: run now on someone's request (``/pair next``), not by the scheduler. A step caught up after the
    bot was down for longer than a round ends the session instead (its people have moved on); one that is late
    only because a virtual clock jumped forward while the bot was up runs now.
    """
    store = repo(app)
    now = app.clock.now()
    async with app.db.transaction():
        session = await store.get(session_id)
        if session is None or not session.active or session.current_round != number - 1:
            return False
        if number > session.rounds:
            await finish(app, session, "done", f"That was the last of {session.rounds} rounds.")
            return True
        late = session.next_at is not None and now - session.next_at > timedelta(minutes=session.minutes)
        if late and not manual and catching_up():
            await finish(
                app, session, "stopped", "I was offline when the next round was due, so this session has ended."
            )
            return True
        members = await store.members(session_id)
        present = [m.person_id for m in members if m.takes_part(number)]
        if len(present) < 2:
            who = "Nobody" if not present else "Only one person"
            await finish(app, session, "stopped", f"{who} is taking part in round {number}, so the session ends.")
            return True
        played = await store.played(session_id)
        formed, kept_plan = await _form(app, session, number, present, played)
        ends_at = now + timedelta(minutes=session.minutes)
        people = await app.people.get_many(present)
        suggestions = await _suggestions(app, number, formed, played)
        await store.record_round(session_id, number, formed, suggestions, now, ends_at)
        await store.update(session_id, state="running", current_round=number, next_at=ends_at, plan=kept_plan)
        prompt = app.cohort.pairing.prompt
        items = [
            NewItem(
                f"pairs:{session_id}:round-{number}:post",
                ChannelTarget(session.channel),
                round_post(session, number, formed, people, ends_at, prompt),
            )
        ]
        for group, suggestion in zip(formed.groups, suggestions, strict=True):
            for p in group:
                message = round_dm(session, number, p, group, people, ends_at, prompt, suggestion)
                items.append(NewItem(f"pairs:{session_id}:round-{number}:dm-{p}", DMTarget(p), message))
        for p in formed.resting:
            items.append(
                NewItem(f"pairs:{session_id}:round-{number}:dm-{p}", DMTarget(p), resting_dm(session, number, ends_at))
            )
        await app.outbox.enqueue_many(items)
    app.schedule_changed()
    return True


async def _form(
    app: CohortBot, session: Session, number: int, present: list[int], played: list[PlayedRound]
) -> tuple[Formed, dict | None]:
    """The groups for round ``number`` and the plan to keep (see :func:`cogs.pairs.grouping.next_round`)."""
    state = await repo(app).state(session, present, played)
    formed, kept = next_round(
        present,
        number,
        state,
        rounds=session.rounds,
        size=session.size,
        trios=session.trios,
        seed=session.seed,
        kept=Plan.from_json(session.plan),
    )
    return formed, kept.as_json() if kept else None


async def _suggestions(app: CohortBot, number: int, formed: Formed, played: list[PlayedRound]) -> list[str | None]:
    """For each group, a topic from the bank that nobody in it has used (nor, if possible, been suggested)."""
    bank = app.cohort.pairing.topics
    if not bank:
        return [None] * len(formed.groups)
    store = repo(app)
    everyone = [p for g in formed.groups for p in g]
    used: dict[int, list[str]] = {}
    for use in await store.topics_of(everyone):
        used.setdefault(use.person_id, []).append(use.normalized)
    ruled = _topics.ruled_out(bank, [t for topics in used.values() for t in topics])
    suggested: dict[int, set[str]] = {}
    for done in played:
        for g, members in done.groups.items():
            if done.suggestions.get(g):
                for p in members:
                    suggested.setdefault(p, set()).add(done.suggestions[g] or "")
    out = []
    for index, group in enumerate(formed.groups):
        blocked = {i for p in group for t in used.get(p, []) for i in ruled.get(t, set())}
        before = {s for p in group for s in suggested.get(p, set())}
        out.append(_topics.pick(bank, blocked, before, offset=index + number * len(formed.groups)))
    return out


async def finish(app: CohortBot, session: Session, state: str, reason: str) -> None:
    """End a session (``done`` or ``stopped``) and say so in its channel (once)."""
    now = app.clock.now()
    async with app.db.transaction():
        await repo(app).update(session.id, state=state, next_at=None, ended_at=now, end_reason=reason)
        await app.outbox.enqueue(
            f"pairs:{session.id}:end", ChannelTarget(session.channel), end_message(session, reason)
        )
    app.schedule_changed()


async def expire_stale(app: CohortBot) -> None:
    """End sessions whose next step is overdue beyond the misfire grace (the bot was down; their job was
    skipped), so they do not block the channel forever."""
    now = app.clock.now()
    grace = timedelta(hours=app.settings.misfire_grace_hours)
    for session in await repo(app).active():
        if session.next_at is not None and now - session.next_at > grace + timedelta(minutes=session.minutes):
            await finish(app, session, "stopped", "I was offline when the next round was due, so this session ended.")


# ---- the planner ----------------------------------------------------------------------------------------
def _step_job(session_id: int, number: int):  # noqa: ANN202 - a job function
    async def run(app: CohortBot) -> None:
        await step(app, session_id, number)

    return run


async def plan_pairs(app: CohortBot) -> list[PlannedJob]:
    """One job per active session: its next step at its ``next_at``."""
    jobs = []
    for s in await repo(app).active():
        if s.next_at is None:
            continue
        number = s.current_round + 1
        what = "closes the lobby, round 1" if number == 1 else f"round {number}"
        if number > s.rounds:
            what = "the end"
        jobs.append(
            PlannedJob(
                id=f"pairs:{s.id}:step-{number}",
                when=s.next_at,
                kind="pairs",
                description=f"pairs in #{s.channel}: {what}",
                run=_step_job(s.id, number),
                channel=s.channel,
            )
        )
    return jobs

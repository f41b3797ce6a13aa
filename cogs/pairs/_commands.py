"""/pair start|next|stop|status|add|leave, the Join button (``pair join``), and /topic.

Every handler checks everything first and writes last, so a refusal (a :class:`UserError`) changes nothing.
"""

from __future__ import annotations

from bot.cohort import MAX_PAIR_ROUNDS
from bot.core.commands import Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import PermissionDenied, UserError
from bot.core.messages import Message, MessageField, Reply, Table, timestamp
from bot.core.people import Person
from bot.core.platform import DMTarget
from bot.core.roles import Role
from cogs.pairs import _participants, _topics
from cogs.pairs._engine import JOIN, expire_stale, finish, kind_words, open_session, step
from cogs.pairs._store import Session, repo

TOPIC_GRACE_MINUTES = 15  # /topic still counts for the last round this long after a session ends
SECTION = Option("section", "The section (default: the one of this channel, or your only one)", OptionType.SECTION)


# ---- finding the session --------------------------------------------------------------------------------
def manages(ctx: Context, session: Session) -> bool:
    """Organizers run every session; facilitators their sections' ones, workshop ones, and those they started."""
    if ctx.role >= Role.ORGANIZER:
        return True
    if ctx.role < Role.FACILITATOR:
        return False
    if session.section:
        return ctx.may_manage_section(session.section)
    return session.workshop is not None or session.started_by == ctx.person.id


async def find_session(ctx: Context, section: str | None, *, member_ok: bool = False) -> Session:
    """The active session meant: of ``section``; else of this channel; else the only one the asker runs (or,
    with ``member_ok``, takes part in). A clear refusal if there is none or several."""
    await expire_stale(ctx.app)
    store = repo(ctx.app)
    active = await store.active()
    if section is not None:
        found = next((s for s in active if s.section and s.section.casefold() == section.casefold()), None)
        if found is None:
            raise UserError(f"No pairing session is running for {section}. Start one with /pair start.")
        return found
    channel = (ctx.place.channel_name or "").lstrip("#").casefold()
    here = next((s for s in active if channel and s.channel.casefold() == channel), None)
    if here is not None:
        return here
    mine = [s for s in active if manages(ctx, s)]
    if member_ok and not mine:
        busy = await store.busy([ctx.person.id])
        mine = [busy[ctx.person.id]] if ctx.person.id in busy else []
    if len(mine) == 1:
        return mine[0]
    if mine:
        names = ", ".join(f"#{s.channel}" + (f" (section:{s.section})" if s.section else "") for s in mine)
        raise UserError(f"Several pairing sessions are running ({names}); say which with section:, or ask here.")
    if member_ok:
        raise UserError("You are not in a pairing session right now.")
    raise UserError("No pairing session is running that you run. Start one with /pair start.")


def words(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def require_manager(ctx: Context, session: Session) -> None:
    """Refuse unless the asker runs ``session``."""
    if not manages(ctx, session):
        whose = f"section {session.section}" if session.section else f"#{session.channel}"
        raise PermissionDenied(f"Only the facilitators of {whose} and the organizers can do that.")


def describe(session: Session) -> str:
    """``round 2 of 4 in #channel`` or ``the lobby in #channel``."""
    if session.state == "lobby":
        return f"the lobby in #{session.channel}"
    return f"round {session.current_round} of {session.rounds} in #{session.channel}"


# ---- /pair start ----------------------------------------------------------------------------------------
@command(
    "pair start",
    "Start rotating pairs: with those checked in, the people you name, or a lobby with a Join button.",
    Option("section", "The section (default: your only one)", OptionType.SECTION, own_sections=True),
    Option(
        "rounds", f"How many rounds (1-{MAX_PAIR_ROUNDS})", OptionType.INTEGER, min_value=1, max_value=MAX_PAIR_ROUNDS
    ),
    Option("size", "2 for pairs (a trio when odd), 3 for trios", OptionType.INTEGER, min_value=2, max_value=3),
    Option("minutes", "Minutes per round (1-180)", OptionType.INTEGER, min_value=1, max_value=180),
    Option("people", "Who takes part (names, separated by commas)", OptionType.PEOPLE, own_sections=True),
    min_role=Role.FACILITATOR,
    slow=True,
)
async def pair_start(
    ctx: Context,
    section: str | None = None,
    rounds: int | None = None,
    size: int | None = None,
    minutes: int | None = None,
    people: tuple[Person, ...] = (),
) -> Reply:
    """Check, then open the session (round 1 at once, or a lobby)."""
    pairing = ctx.cohort.pairing
    rounds, size, minutes = rounds or pairing.rounds, size or pairing.size, minutes or pairing.minutes
    if section is None and ctx.role < Role.ORGANIZER:
        mine = ctx.own_sections
        if len(mine) == 1:
            section = mine[0]
        elif len(mine) > 1:
            raise UserError(f"You run several sections ({', '.join(mine)}); say which with section:.", field="section")
        else:
            raise UserError("You don't run a section, so I don't know whose pairs these are.", field="section")
    channel = None
    if section is not None:
        ctx.require_section(section)
        meeting = ctx.cohort.section(section)
        channel = meeting.channel if meeting else None
    if channel is None:
        if ctx.place.is_dm or not ctx.place.channel_name:
            raise UserError("Run /pair start in the channel where people should pair, or give a section:.")
        channel = ctx.place.channel_name.lstrip("#")
    if len(people) == 1:
        raise UserError(
            "Pairs need at least 2 people; name more, or leave people: out to open a lobby.", field="people"
        )
    await expire_stale(ctx.app)
    store = repo(ctx.app)
    for s in await store.active():
        if s.channel.casefold() == channel.casefold() or (
            section and (s.section or "").casefold() == section.casefold()
        ):
            raise UserError(f"A pairing session is already running: {describe(s)}. End it with /pair stop first.")
    chosen = [p.id for p in people]
    source = "the people you named"
    if not chosen and section is not None:
        this_week = await ctx.app.meetings.current(section, ctx.now)  # in the section's zone
        chosen = await _participants.present_people(ctx.app, section, this_week.week) if this_week else []
        source = "those checked in for this week's meeting"
        if len(chosen) < 2:
            chosen = []
    busy = await store.busy(chosen)
    if busy:
        names = ", ".join(sorted(p.name for p in people if p.id in busy)) or f"{len(busy)} of them"
        raise UserError(f"{names} already take part in another pairing session; they must /pair leave it first.")
    session = await open_session(
        ctx.app,
        section=section,
        channel=channel,
        size=size,
        rounds=rounds,
        minutes=minutes,
        people=chosen or None,
        started_by=ctx.person.id,
    )
    words = f"{rounds} round{'s' if rounds != 1 else ''} of {minutes} min in {kind_words(size)}"
    if session.state == "lobby":
        assert session.next_at is not None
        text = (
            f"The lobby is open in #{channel}: people press **Join**. Round 1 starts at "
            f"{timestamp(session.next_at, 't')} ({words}); /pair next starts it now."
        )
    elif session.state == "running":
        assert session.next_at is not None
        text = (
            f"Round 1 of {rounds} has started in #{channel} with {len(chosen)} people ({source}); everyone has "
            f"their partner by direct message. Round 2 starts at {timestamp(session.next_at, 't')} by itself."
        )
    else:
        text = f"The session ended at once: {session.end_reason}"
    return Reply.text(text, title="Rotating pairs")


# ---- /pair next, /pair stop, /pair status ---------------------------------------------------------------
@command("pair next", "Move on to the next round now (or end after the last).", SECTION, min_role=Role.FACILITATOR)
async def pair_next(ctx: Context, section: str | None = None) -> Reply:
    """Run the session's next step now."""
    session = await find_session(ctx, section)
    require_manager(ctx, session)
    number = session.current_round + 1
    await step(ctx.app, session.id, number, manual=True)
    after = await repo(ctx.app).get(session.id)
    assert after is not None
    if after.active:
        assert after.next_at is not None
        text = f"Round {after.current_round} of {after.rounds} has started in #{after.channel}; the next at "
        text += f"{timestamp(after.next_at, 't')}."
    else:
        text = f"The session in #{after.channel} has ended: {after.end_reason}"
    return Reply.text(text)


@command("pair stop", "End the pairing session now.", SECTION, min_role=Role.FACILITATOR)
async def pair_stop(ctx: Context, section: str | None = None) -> Reply:
    """End the session; its channel is told."""
    session = await find_session(ctx, section)
    require_manager(ctx, session)
    await finish(ctx.app, session, "stopped", f"{ctx.person.name} ended the session after {describe(session)}.")
    return Reply.text(f"Stopped the pairing session in #{session.channel} ({describe(session)}).")


@command("pair status", "The pairing session: its round and groups.", SECTION, min_role=Role.SCHOLAR)
async def pair_status(ctx: Context, section: str | None = None) -> Reply:
    """Round, times, groups (all for those who run it or take part; large sessions show your own group)."""
    session = await find_session(ctx, section, member_ok=True)
    store = repo(ctx.app)
    member = await store.member(session.id, ctx.person.id)
    if not manages(ctx, session) and member is None:
        raise PermissionDenied(f"You are not in the pairing session in #{session.channel}.")
    members = await store.members(session.id)
    people = await ctx.app.people.get_many([m.person_id for m in members])
    fields = []
    if session.state == "lobby":
        assert session.next_at is not None
        joined = [people[m.person_id].name for m in members if m.person_id in people]
        text = f"The lobby is open until {timestamp(session.next_at, 't')}: {len(joined)} joined so far."
        if joined:
            fields.append(MessageField(name="Joined", value=", ".join(joined)))
    else:
        [played] = await store.played(session.id, session.current_round) or [None]
        text = f"Round {session.current_round} of {session.rounds}"
        if session.next_at is not None:
            text += f", until {timestamp(session.next_at, 't')} ({timestamp(session.next_at, 'R')})."
        if played is not None:
            groups = list(played.groups.items())
            mine = played.group_of(ctx.person.id)
            if len(groups) > 60:
                groups = [(g, m) for g, m in groups if g == mine]
                text += f" {len(played.groups)} groups; yours is below."
            lines = [f"{g}. " + " & ".join(people[p].name for p in m if p in people) for g, m in groups]
            fields.append(MessageField(name="Groups", value="\n".join(lines) or "(none)"))
            if played.resting:
                fields.append(MessageField(name="Resting", value=", ".join(people[p].name for p in played.resting)))
        coming = [people[m.person_id].name for m in members if m.joined_round > session.current_round]
        leaving = [
            people[m.person_id].name
            for m in members
            if m.left_round is not None and m.left_round > session.current_round
        ]
        if coming:
            fields.append(MessageField(name="Joining next round", value=", ".join(coming)))
        if leaving:
            fields.append(MessageField(name="Leaving after this round", value=", ".join(leaving)))
    return Reply.of(
        Message(title=f"Rotating {kind_words(session.size)} in #{session.channel}", text=text, fields=fields)
    )


# ---- joining and leaving ----------------------------------------------------------------------------------
async def _enter(ctx: Context, session: Session, person: Person) -> tuple[int, str]:
    """Check that ``person`` can join ``session`` now; the round they start in and when, as words."""
    if not session.active:
        raise UserError("That pairing session has ended.")
    store = repo(ctx.app)
    member = await store.member(session.id, person.id)
    who = "You are" if person.id == ctx.person.id else f"{person.name} is"
    if member is not None and member.left_round is None:
        raise UserError(f"{who} already in the pairing session in #{session.channel}.")
    busy = await store.busy([person.id], but=session.id)
    if person.id in busy:
        raise UserError(f"{who} already in the pairing session in #{busy[person.id].channel}; /pair leave it first.")
    if session.state == "lobby":
        assert session.next_at is not None
        return 1, f"round 1, at {timestamp(session.next_at, 't')}"
    number = session.current_round + 1
    if number > session.rounds:
        raise UserError(f"The pairing session in #{session.channel} is in its last round; there is no next one.")
    assert session.next_at is not None
    return number, f"round {number}, at {timestamp(session.next_at, 't')}"


@command(
    "pair join", "Join a pairing session.", Option("s", "Session", required=True), min_role=Role.SCHOLAR, hidden=True
)
async def pair_join(ctx: Context, s: str) -> Reply:
    """The Join button: take part from the next round (round 1 in the lobby)."""
    session = await repo(ctx.app).get(int(s)) if s.isdigit() else None
    if session is None:
        raise UserError("That pairing session no longer exists.")
    number, when = await _enter(ctx, session, ctx.person)
    await repo(ctx.app).join(session.id, [ctx.person.id], number, ctx.now)
    return Reply.text(f"You're in! You will be paired from {when}; your partner comes by direct message.")


@command(
    "pair add",
    "Add someone to the running pairing session (from its next round).",
    Option("user", "Who", OptionType.PERSON, required=True, own_sections=True),
    SECTION,
    min_role=Role.FACILITATOR,
)
async def pair_add(ctx: Context, user: Person, section: str | None = None) -> Reply:
    """Add a person; they are told by DM."""
    session = await find_session(ctx, section)
    require_manager(ctx, session)
    number, when = await _enter(ctx, session, user)
    async with ctx.app.db.transaction():
        await repo(ctx.app).join(session.id, [user.id], number, ctx.now)
        await ctx.app.outbox.enqueue(
            f"pairs:{session.id}:added-{user.id}-{number}",
            DMTarget(user.id),
            Message(
                title="You're in the rotating pairs",
                text=f"{ctx.person.name} added you to the pairs in #{session.channel}. You will be paired from "
                f"{when}; your partner comes by direct message.",
            ),
        )
    return Reply.text(f"Added {user.name}: paired from {when}.")


@command(
    "pair leave",
    "Leave the pairing session from its next round (facilitators: take someone out).",
    Option("user", "Someone else to take out (facilitators and organizers)", OptionType.PERSON),
    min_role=Role.SCHOLAR,
)
async def pair_leave(ctx: Context, user: Person | None = None) -> Reply:
    """Take the asker (or, for those who run the session, ``user``) out from the next round."""
    target = user or ctx.person
    store = repo(ctx.app)
    await expire_stale(ctx.app)
    busy = await store.busy([target.id])
    session = busy.get(target.id)
    who = "You are" if target.id == ctx.person.id else f"{target.name} is"
    if session is None:
        raise UserError(f"{who} not in a pairing session right now.")
    if target.id != ctx.person.id:
        require_manager(ctx, session)
        ctx.require_person(target)
    number = 1 if session.state == "lobby" else session.current_round + 1
    await store.leave(session.id, target.id, number)
    whom = "You have" if target.id == ctx.person.id else f"{target.name} has"
    if number == 1:
        return Reply.text(f"{whom} left the lobby in #{session.channel}.")
    return Reply.text(f"{whom} left the pairs in #{session.channel}: not in round {number} or after.")


# ---- /topic ---------------------------------------------------------------------------------------------
async def current_group(ctx: Context) -> tuple[Session, int, int, tuple[int, ...]]:
    """The asker's group now: (session, round, group number, members). Refused outside a session."""
    store = repo(ctx.app)
    rows = await ctx.app.db.fetchall(
        "SELECT g.session_id, g.round, g.grp FROM pair_groups g JOIN pair_sessions s ON s.id = g.session_id"
        " WHERE g.person_id = ? ORDER BY g.session_id DESC, g.round DESC LIMIT 1",
        (ctx.person.id,),
    )
    session = await store.get(rows[0]["session_id"]) if rows else None
    recent = session is not None and (
        session.active
        or (session.ended_at is not None and (ctx.now - session.ended_at).total_seconds() <= TOPIC_GRACE_MINUTES * 60)
    )
    if session is None or not recent or rows[0]["round"] != session.current_round:
        raise UserError(
            "You are not in a pairing round right now, so there is no group to log a topic for. "
            "/topic without text lists the topics you have used."
        )
    number, grp = rows[0]["round"], rows[0]["grp"]
    if grp == 0:
        raise UserError("You are resting this round, so there is no group to log a topic for.")
    [played] = await store.played(session.id, number)
    return session, number, grp, played.groups[grp]


@command(
    "topic",
    "Log your group's disagreement for this round; without text, list the ones you have used.",
    Option(
        "text",
        f"What you disagree about ({_topics.MIN_CHARS}-{_topics.MAX_CHARS} characters)",
        max_length=_topics.MAX_CHARS,
    ),
    min_role=Role.SCHOLAR,
)
async def topic(ctx: Context, text: str | None = None) -> Reply:
    """Refuse a topic anyone in the group used before (same or near-identical), else log it for the group."""
    if text is None:
        return await my_topics(ctx)
    text = " ".join(text.split())
    normalized = _topics.normalize(text)
    if len(normalized) < _topics.MIN_CHARS:
        raise UserError(f"Say a bit more: a topic needs at least {_topics.MIN_CHARS} characters.", field="text")
    session, number, grp, group = await current_group(ctx)
    store = repo(ctx.app)
    logged = await store.group_topic(session.id, number, grp)
    if logged is not None:
        by = await ctx.app.people.get(logged[1]) if logged[1] else None
        raise UserError(
            f"Your group already logged “{logged[0]}” this round{f' ({by.name})' if by else ''}. "
            "Next round, next disagreement."
        )
    uses = await store.topics_of(group)
    clash = _topics.first_same(normalized, [u.normalized for u in uses])
    if clash is not None:
        earlier = uses[clash]
        users = (await store.topic_users([earlier.topic_id]))[earlier.topic_id]
        people = await ctx.app.people.get_many(set(users) | set(group))
        in_group = [p for p in users if p in group]
        who = words(["you"] * (ctx.person.id in in_group) + [people[p].name for p in in_group if p != ctx.person.id])
        others = [people[p].name for p in users if p not in in_group and p in people]
        with_whom = f" with {', '.join(others)}" if others else ""
        how = "That is the same disagreement as" if earlier.normalized == normalized else "That is nearly the same as"
        raise UserError(
            f"{how} “{earlier.text}”, which {who} used on {timestamp(earlier.logged_at, 'd')}{with_whom}. "
            "A disagreement can only be used once: find another one.",
            field="text",
        )
    await store.add_topic(session.id, number, grp, text, normalized, ctx.person.id, group, ctx.now)
    partners = await ctx.app.people.get_many([p for p in group if p != ctx.person.id])
    names = words([p.name for p in partners.values()])
    return Reply.text(f"Logged “{text}” for you and {names} (round {number} in #{session.channel}).")


async def my_topics(ctx: Context) -> Reply:
    """The asker's past topics: when, what, with whom."""
    store = repo(ctx.app)
    uses = await store.topics_of([ctx.person.id])
    if not uses:
        return Reply.text(
            "You have not logged a disagreement yet. In a pairing round: /topic text:<what you disagree about>."
        )
    users = await store.topic_users([u.topic_id for u in uses])
    people = await ctx.app.people.get_many({p for ids in users.values() for p in ids})
    rows = [
        [
            timestamp(u.logged_at, "d"),
            u.text,
            ", ".join(people[p].name for p in users.get(u.topic_id, []) if p != ctx.person.id and p in people),
        ]
        for u in uses
    ]
    return Reply.of(
        Message(
            title="Your disagreements",
            text=f"{len(uses)} so far. Each can be used once: you and your partners cannot use them again.",
            table=Table(headers=["When", "Topic", "With"], rows=rows),
        )
    )


COMMANDS = (pair_start, pair_next, pair_stop, pair_status, pair_join, pair_add, pair_leave, topic)
__all__ = ["COMMANDS", "JOIN"]

"""``/schedule``: my next meetings, deadlines and posts in my zone; a calendar file; my subscription link.

* Scholars: their section's meetings (where: channel, call link, place; moved or cancelled ones marked), their
  homework deadlines with their own status (an extension moves the deadline), and the weekly material posts.
* Facilitators: also the meetings of the sections they run, and which past meetings still lack attendance
  (from the attendance feature through ``app.meetings.attendance``; without it, the reply says so).
* Organizers: every section's meetings of this course week, plus the deadlines and posts.
* ``format:ics``: the whole course as an ``.ics`` file; ``feed:link|new|revoke``: the private subscription link.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from bot.core.commands import Choice, Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import PermissionDenied, UserError
from bot.core.messages import Message, MessageField, Reply, Table, timestamp
from bot.core.people import Person
from bot.core.roles import Role
from bot.core.util import article, plural
from bot.meetings import Meeting
from cogs.sections._calendar import as_file, build_calendar
from cogs.sections._common import homework_of, sections_of, when, where
from cogs.sections._feeds import Feeds, feed_url
from cogs.workshops import sessions_for

DEFAULT_DAYS = 14
MAX_WEEKS = 12
FORMATS = (Choice("text", "text"), Choice("calendar file (.ics)", "ics"))
FEEDS = (
    Choice("show my calendar link", "link"),
    Choice("replace my link with a new one", "new"),
    Choice("turn a calendar link off", "revoke"),
)


@command(
    "schedule",
    "My next meetings, deadlines and posts, in my time zone (format:ics for a calendar file; feed: a link).",
    Option(
        "weeks",
        f"How many weeks ahead (default 2, at most {MAX_WEEKS})",
        OptionType.INTEGER,
        min_value=1,
        max_value=MAX_WEEKS,
    ),
    Option("format", "text (default), or ics: a calendar file", OptionType.STRING, choices=FORMATS),
    Option("feed", "Your private calendar subscription link: link, new or revoke", OptionType.STRING, choices=FEEDS),
    Option("user", "Organizers, with feed:revoke: whose link to turn off", OptionType.PERSON, removed_ok=True),
)
async def schedule(
    ctx: Context,
    weeks: int | None = None,
    format: str | None = None,
    feed: str | None = None,
    user: Person | None = None,
) -> Reply:
    """Route to the text view, the calendar file or the subscription link."""
    if user is not None and feed != "revoke":
        raise UserError("user: only goes with feed:revoke (an organizer turning off someone's calendar link).")
    if feed is not None:
        if weeks is not None or format is not None:
            raise UserError("Use feed on its own: /schedule feed:link (or new, or revoke).", field="feed")
        return await feed_reply(ctx, feed, user)
    if format == "ics":
        return await ics_reply(ctx)
    return await text_reply(ctx, timedelta(days=7 * weeks) if weeks else timedelta(days=DEFAULT_DAYS))


# ---- the subscription link -------------------------------------------------------------------------------
async def feed_reply(ctx: Context, feed: str, user: Person | None) -> Reply:
    """Show, replace or revoke a calendar link."""
    feeds = Feeds(ctx.app)
    if feed == "revoke":
        whose = user or ctx.person
        if whose.id != ctx.person.id and ctx.role < Role.ORGANIZER:
            raise PermissionDenied(
                f"Only organizers can turn off someone else's calendar link; you are {article(ctx.role.label)}."
            )
        if not await feeds.revoke(whose.id, ctx.person.id):
            name = "You have" if whose.id == ctx.person.id else f"{whose.name} has"
            raise UserError(f"{name} no calendar link to turn off.", field="user" if user else "feed")
        owner = "Your" if whose.id == ctx.person.id else f"{whose.name}'s"
        return Reply.text(
            f"{owner} calendar link is off: it now answers “not found”. /schedule feed:new makes a new one.",
            title="Calendar link revoked",
        )
    if ctx.app.web_url is None:
        raise UserError(
            "Calendar links need the bot's web server, and it is not running here (an organizer can set "
            "COHORTBOT_HTTP_PORT). Meanwhile /schedule format:ics gives you the calendar as a file.",
            field="feed",
        )
    issued = await feeds.issue(ctx.person.id, replace=feed == "new")
    url = feed_url(ctx.app, issued)
    intro = "Your new calendar link (the old one no longer works)" if feed == "new" else "Your calendar link"
    return Reply.of(
        Message(
            title="Subscribe to your schedule",
            text=f"{intro}:\n{url}\n\nAdd it to Google Calendar, Outlook or Apple Calendar as a subscription "
            "(“from URL”): your meetings and deadlines stay up to date, moves and cancellations included.",
            footer="Keep it to yourself: anyone with the link sees your schedule. /schedule feed:new replaces it; "
            "/schedule feed:revoke turns it off.",
        )
    )


# ---- the calendar file -----------------------------------------------------------------------------------
async def ics_reply(ctx: Context) -> Reply:
    """The whole course's meetings and deadlines as an ``.ics`` attachment."""
    cal = await build_calendar(ctx.app, ctx.person, ctx.role)
    attachment = as_file(ctx.app, cal, ctx.person)
    events = cal.walk("VEVENT")
    kinds = Counter(str(e.get("uid", "")).split("-", 1)[0] for e in events)  # section-, homework-, session-
    parts = [
        plural(kinds[kind], noun)
        for kind, noun in (("section", "meeting"), ("homework", "deadline"), ("session", "workshop session"))
        if kinds[kind]
    ]
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else (parts[0] if parts else "nothing")
    return Reply.of(
        Message(
            title="Your calendar",
            text=f"{listed}, for the whole course. Import the file "
            "into your calendar; importing a newer one updates the same events (moves and cancellations too).",
            files=[attachment],
        )
    )


# ---- the text view ---------------------------------------------------------------------------------------
def meeting_line(meeting: Meeting) -> str:
    """``**americas-tue**, week 2: <when> · <where>``."""
    line = f"**{meeting.name}**, week {meeting.week}: {when(meeting)}"
    return line + (f" · {where(meeting)}" if meeting.held else "")


def in_window(meeting: Meeting, now: datetime, end: datetime) -> bool:
    """Not over yet, and starting before ``end``."""
    return meeting.end > now and meeting.start < end


async def deadline_lines(ctx: Context, end: datetime) -> list[str]:
    """Homework due in the window: for a scholar, their own deadline and status (also an earlier one not handed in
    that would still count toward the stipend if handed in late now)."""
    lines = []
    for week in ctx.cohort.weeks:
        due = ctx.cohort.due(week.number)
        if week.homework is None or due is None:
            continue
        if ctx.role == Role.SCHOLAR:
            own = (await homework_of(ctx.app, week.number, [ctx.person])).get(ctx.person.id)
            recent = own is not None and ctx.now - timedelta(days=1) < own.deadline
            if own is not None and own.deadline < end and (recent or own.overdue_but_counts(ctx.now)):
                lines.append(own.line(ctx.now))
        elif ctx.now < due < end:
            lines.append(f"Week {week.number}: **{week.homework.title}**, due {timestamp(due, 'F')}")
    return lines


def post_lines(ctx: Context, end: datetime) -> list[str]:
    """The weekly material posts in the window, with the lecture."""
    tracks = ctx.cohort.track_names if ctx.role >= Role.FACILITATOR or not ctx.person.track else [ctx.person.track]
    channels = ", ".join(f"#{c}" for t in tracks if (c := ctx.cohort.channel_for(t)))
    lines = []
    for week in ctx.cohort.weeks:
        at = ctx.cohort.post_time(week.number)
        if ctx.now < at < end:
            lecture = f"; lecture: {week.lecture.title}" if week.lecture else ""
            count = len(
                ctx.cohort.readings_for(week.number, None if ctx.role >= Role.FACILITATOR else ctx.person.track)
            )
            lines.append(
                f"Week {week.number} material ({week.title}): {timestamp(at, 'F')} in {channels or 'the course'}"
                f" — {count} readings{lecture}"
            )
    return lines


def session_lines(ctx: Context, end: datetime) -> list[str]:
    """The workshop sessions (``sessions:`` in the cohort file) for this person in ``[now, end)``."""
    lines = []
    for s in sessions_for(ctx.cohort, ctx.person, ctx.now, end):
        lines.append(
            f"**{s.session.title}**: {timestamp(s.start, 'F')}–{timestamp(s.end, 't')} in #{s.session.channel}"
            f" ({len(s.blocks)} parts)"
        )
    return lines


async def attendance_lines(ctx: Context, meetings: list[Meeting]) -> str:
    """The facilitator's past meetings still without attendance."""
    past = [m for m in meetings if m.held and m.start <= ctx.now]
    hook = ctx.app.meetings.attendance
    if hook is None:
        return "Attendance is not tracked by this bot yet."
    if not past:
        return "No meetings have taken place yet."
    recorded = await hook.recorded(past)
    missing = [m for m in past if (m.name.casefold(), m.week) not in recorded]
    if not missing:
        return "All recorded. ✅"
    return "\n".join(f"**{m.name}**, week {m.week} ({timestamp(m.start, 'f')})" for m in missing)


def field(name: str, lines: list[str], empty: str) -> MessageField:
    """A field of lines, or ``empty``."""
    return MessageField(name=name, value="\n".join(lines) if lines else empty)


async def text_reply(ctx: Context, span: timedelta) -> Reply:
    """The schedule for the next ``span``."""
    end = ctx.now + span
    mine = sections_of(ctx.app, ctx.person, ctx.role)
    days = span.days
    fields: list[MessageField] = []
    table: Table | None = None

    if mine is not None:
        own = await ctx.app.meetings.of_sections(mine)
        shown = [meeting_line(m) for m in own if in_window(m, ctx.now, end)]
        empty = "None in this period." if mine else "You are not in a section yet; ask an organizer."
        fields.append(field("Meetings", shown, empty))
    if ctx.role >= Role.ORGANIZER:
        week = ctx.cohort.current_week(ctx.now)
        this_week = await ctx.app.meetings.in_week(week)
        table = Table(
            headers=["Section", "When", "Where", "Status"],
            rows=[
                [
                    m.name,
                    timestamp(m.start, "f"),
                    where(m),
                    "cancelled" + (f": {m.reason}" if m.reason else "")
                    if not m.held
                    else ("moved" if m.usual_start else "scheduled"),
                ]
                for m in this_week
            ],
        )
        fields.append(MessageField(name=f"Every section, week {week}", value=f"{len(this_week)} meetings (below)."))

    fields.append(field("Deadlines", await deadline_lines(ctx, end), "None in this period."))
    sessions = session_lines(ctx, end)
    if sessions:
        fields.append(field("Workshop sessions", sessions, ""))
    fields.append(field("Weekly material", post_lines(ctx, end), "No posts in this period."))
    if ctx.role >= Role.FACILITATOR and ctx.own_sections:
        run = await ctx.app.meetings.of_sections(ctx.own_sections)
        fields.append(MessageField(name="Attendance still to record", value=await attendance_lines(ctx, run)))

    link = "/schedule feed:link" if ctx.app.web_url else None
    footer = f"Times are in your time zone, {ctx.zone.key} (/timezone changes it). Calendar file: /schedule format:ics"
    footer += f"; subscribe: {link}." if link else "."
    return Reply.of(
        Message(
            title=f"Your schedule: the next {days} days",
            text=f"{ctx.person.name} ({ctx.role.label}), from {timestamp(ctx.now, 'f')}.",
            fields=fields,
            table=table,
            footer=footer,
        )
    )

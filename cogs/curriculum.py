"""Curriculum: /readings, and each week's post (readings, lecture, homework) to each track's channel.

The weekly post is one planned job per week (``post:week-N`` at ``cohort.post_time(N)``), never one per
recipient; when it runs it enqueues one outbox item per track, keyed ``post:week-N:TRACK`` so it is sent once.
"""

from __future__ import annotations

from bot.app import CohortBot
from bot.cohort import Cohort
from bot.core.commands import Option, OptionType, command, declared
from bot.core.context import Context
from bot.core.messages import Message, MessageField, Reply, timestamp
from bot.core.platform import ChannelTarget
from bot.delivery import NewItem
from schedules.jobs import PlannedJob


def week_message(cohort: Cohort, number: int, track: str | None) -> Message:
    """Week ``number``'s readings, lecture and homework (with due date) for ``track`` (or every track)."""
    week = cohort.week(number)
    if week is None:
        raise ValueError(f"no week {number}")
    readings = cohort.readings_for(number, track)
    fields: list[MessageField] = []
    if readings:
        total = sum(r.minutes for r in readings if not r.optional)
        lines = []
        for r in readings:
            extra = " (optional)" if r.optional else ""
            only = f" [{r.track}]" if r.track and track is None else ""
            lines.append(f"• [{r.title}]({r.url}) — {r.minutes} min{extra}{only}")
        fields.append(MessageField(name=f"Readings (about {total} min)", value="\n".join(lines)))
    if week.lecture is not None:
        length = f" — {week.lecture.minutes} min" if week.lecture.minutes else ""
        fields.append(MessageField(name="Lecture", value=f"[{week.lecture.title}]({week.lecture.url}){length}"))
    if week.homework is not None:
        due = cohort.due(number)
        assert due is not None
        text = f"**{week.homework.title}**, due {timestamp(due, 'F')} ({timestamp(due, 'R')})"
        if week.homework.instructions:
            text += f"\n{week.homework.instructions.strip()}"
        fields.append(MessageField(name="Homework", value=text))
    track_label = f" ({track} track)" if track else ""
    return Message(
        title=f"Week {number}: {week.title}{track_label}",
        text=(
            f"Week {number} of {len(cohort.weeks)} of {cohort.program}, "
            f"starting {cohort.week_start_date(number):%a %d %b}."
        ),
        fields=fields,
    )


@command(
    "readings",
    "That week's readings, lecture and homework (default: this week).",
    Option("week", "Week number", OptionType.WEEK),
)
async def readings(ctx: Context, week: int | None = None) -> Reply:
    """Show a week's material for the asking person's track."""
    number = week or ctx.cohort.current_week(ctx.now)
    return Reply.of(week_message(ctx.cohort, number, ctx.person.track))


def post_key(number: int, track: str) -> str:
    """The outbox idempotency key of week ``number``'s post for ``track``."""
    return f"post:week-{number}:{track}"


def post_items(cohort: Cohort, number: int) -> list[NewItem]:
    """Week ``number``'s post for every track that has a channel."""
    items = []
    for track in cohort.track_names:
        channel = cohort.channel_for(track)
        if channel:
            items.append(NewItem(post_key(number, track), ChannelTarget(channel), week_message(cohort, number, track)))
    return items


async def post_week(app: CohortBot, number: int) -> None:
    """Enqueue week ``number``'s post for each track (idempotent: keys are fixed)."""
    await app.outbox.enqueue_many(post_items(app.cohort, number))


async def plan_weekly_posts(app: CohortBot) -> list[PlannedJob]:
    """One job per week: post its material to each track's channel at the configured time."""
    cohort = app.cohort
    jobs = []
    for week in cohort.weeks:
        channels = ", ".join(f"#{c}" for t in cohort.track_names if (c := cohort.channel_for(t)))
        jobs.append(
            PlannedJob(
                id=f"post:week-{week.number}",
                when=cohort.post_time(week.number),
                kind="weekly-post",
                description=f"week {week.number} posts ({week.title}) to {channels}",
                run=lambda app, n=week.number: post_week(app, n),
            )
        )
    return jobs


def setup(app: CohortBot) -> None:
    """Register this feature's commands and the weekly posts."""
    for c in declared(globals()):
        app.registry.add(c)
    app.planners.append(plan_weekly_posts)

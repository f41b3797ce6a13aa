"""Curriculum: /readings, and the weekly message used by both /readings and the scheduled weekly post."""

from __future__ import annotations

from bot.app import CohortBot
from bot.cohort import Cohort
from bot.core.commands import Option, OptionType, command, declared
from bot.core.context import Context
from bot.core.messages import Message, MessageField, Reply, timestamp


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


def setup(app: CohortBot) -> None:
    """Register this feature's commands."""
    for c in declared(globals()):
        app.registry.add(c)

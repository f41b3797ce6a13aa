"""``/section move`` and ``/section cancel``: changes at short notice to one week's meeting.

Facilitators change their own sections, organizers any. Everything is checked first and written last (a refusal
changes nothing): the section and week exist (the option types), the section is the asker's, the new time is in
the future and not onto another of the section's meetings, the meeting has not already taken place. Then, in
one transaction, the change is recorded (``app.meetings.record``) and the members are told (a DM each, or one
post in the section's channel, as ``reminders.section_reminder_via`` says), keyed by the meeting's new
``sequence`` so a retry tells nobody twice. Then ``app.schedule_changed()``: the reminder jobs are derived from
``app.meetings``, and the running scheduler re-plans at once (not at the next periodic re-plan, minutes later),
so the old time's reminders are not sent and the new time's are, even for a meeting moved to shortly ahead.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.commands import Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.messages import Message, MessageField, Reply, timestamp
from bot.core.people import Person
from bot.core.platform import ChannelTarget, DMTarget
from bot.core.roles import Role
from bot.delivery import NewItem
from bot.meetings import Meeting
from cogs.sections._common import roster, where
from cogs.sections._events import sync_events

MAX_REASON = 200


async def current(ctx: Context, section: str, week: int) -> Meeting:
    """The meeting as it is now (the option types already checked the section and the week)."""
    ctx.require_section(section)
    meeting = await ctx.app.meetings.get(section, week)
    if meeting is None:  # only if the cohort file changed under us
        raise UserError(f"There is no meeting of {section} in week {week}.", field="week")
    return meeting


def not_past(ctx: Context, meeting: Meeting, verb: str) -> None:
    """Refuse to change a held meeting that has already begun."""
    if meeting.held and meeting.start <= ctx.now:
        ended = "took place" if meeting.end <= ctx.now else "is under way"
        raise UserError(
            f"Week {meeting.week}'s meeting of {meeting.name} already {ended} ({timestamp(meeting.start, 'f')}), "
            f"so it can't be {verb}.",
            field="week",
        )


def notice(meeting: Meeting, before: Meeting, by: Person, people: list[Person]) -> Message:
    """What the members are told."""
    if meeting.held:
        title = f"{meeting.name}: week {meeting.week} moved"
        start = meeting.start
        text = f"Week {meeting.week}'s meeting now starts {timestamp(start, 'F')} ({timestamp(start, 'R')})"
        text += f", instead of {timestamp(before.start, 'F')}." if before.held else " (it was cancelled before)."
    else:
        title = f"{meeting.name}: week {meeting.week} cancelled"
        text = f"Week {meeting.week}'s meeting on {timestamp(before.start, 'F')} will not take place."
        text += " It does not count against anyone."
    fields = []
    if meeting.reason:
        fields.append(MessageField(name="Why", value=meeting.reason))
    if meeting.held:
        fields.append(MessageField(name="Where", value=where(meeting)))
    return Message(
        title=title,
        text=text,
        fields=fields,
        footer=f"Changed by {by.name}. Your calendar link and /schedule show the new plan.",
        mentions=[p.id for p in people],
    )


async def tell_members(ctx: Context, meeting: Meeting, before: Meeting) -> tuple[int, str]:
    """Enqueue the notice (a DM each, or one channel post); return how many people and how."""
    who = await roster(ctx.app, meeting.section)
    people = [p for p in who.everyone if p.id != ctx.person.id]
    message = notice(meeting, before, ctx.person, people)
    key = f"section-change:{meeting.name}:week-{meeting.week}:v{meeting.sequence}"
    if ctx.cohort.reminders.section_reminder_via == "channel" and meeting.channel:
        await ctx.app.outbox.enqueue(f"{key}:channel", ChannelTarget(meeting.channel), message)
        return len(people), f"in #{meeting.channel}"
    dm = message.model_copy(update={"mentions": []})
    items = [NewItem(f"{key}:person-{p.id}", DMTarget(p.id), dm) for p in people]
    if items:
        await ctx.app.outbox.enqueue_many(items)
    return len(people), "by DM"


@command(
    "section move",
    "Move one week's meeting of a section to another time (facilitators: their own sections).",
    Option("section", "Which section", OptionType.SECTION, required=True, own_sections=True),
    Option("week", "Which week's meeting", OptionType.WEEK, required=True),
    Option("to", "The new start, your time (YYYY-MM-DD HH:MM)", OptionType.DATETIME, required=True),
    Option("reason", "Why (the members see it)", OptionType.STRING, max_length=MAX_REASON),
    min_role=Role.FACILITATOR,
)
async def move(ctx: Context, section: str, week: int, to: datetime, reason: str | None = None) -> Reply:
    """Move the meeting; the members are told at once."""
    before = await current(ctx, section, week)
    if to <= ctx.now:
        raise UserError(f"{timestamp(to, 'F')} is in the past; give a time after now.", field="to")
    not_past(ctx, before, "moved")
    if before.held and to == before.start:
        raise UserError(f"Week {week}'s meeting of {before.name} already starts {timestamp(to, 'F')}.", field="to")
    length = before.end - before.start
    for other in await ctx.app.meetings.of_section(before.name):
        if other.week != week and other.held and other.overlaps(to, to + length):
            raise UserError(
                f"{timestamp(to, 'F')} overlaps week {other.week}'s meeting of {before.name} "
                f"({timestamp(other.start, 'F')}). Pick another time, or move that meeting first.",
                field="to",
            )
    async with ctx.app.db.transaction():
        moved = await ctx.app.meetings.record(before.name, week, "moved", starts_at=to, reason=reason, by=ctx.person.id)
        told, how = await tell_members(ctx, moved, before)
        await sync_events(ctx.app, [moved], ctx.now)
    ctx.app.schedule_changed()  # the new time's reminder and prep note are planned now, not at the next re-plan
    return Reply.of(
        Message(
            title=f"Moved: {moved.name}, week {week}",
            text=(
                f"It now meets {timestamp(moved.start, 'F')} ({timestamp(moved.start, 'R')}), {moved.minutes} min,"
                f" instead of {timestamp(before.start, 'f')}.\nI've told {told} people {how}; reminders follow the"
                " new time."
            ),
        )
    )


@command(
    "section cancel",
    "Cancel one week's meeting of a section (facilitators: their own sections); it counts against nobody.",
    Option("section", "Which section", OptionType.SECTION, required=True, own_sections=True),
    Option("week", "Which week's meeting", OptionType.WEEK, required=True),
    Option("reason", "Why (the members see it)", OptionType.STRING, max_length=MAX_REASON),
    min_role=Role.FACILITATOR,
)
async def cancel(ctx: Context, section: str, week: int, reason: str | None = None) -> Reply:
    """Cancel the meeting; the members are told at once."""
    before = await current(ctx, section, week)
    if not before.held:
        why = f" ({before.reason})" if before.reason else ""
        raise UserError(f"Week {week}'s meeting of {before.name} is already cancelled{why}.", field="week")
    not_past(ctx, before, "cancelled")
    async with ctx.app.db.transaction():
        cancelled = await ctx.app.meetings.record(before.name, week, "cancelled", reason=reason, by=ctx.person.id)
        told, how = await tell_members(ctx, cancelled, before)
        await sync_events(ctx.app, [cancelled], ctx.now)
    ctx.app.schedule_changed()  # its reminder and prep note jobs go now
    return Reply.of(
        Message(
            title=f"Cancelled: {cancelled.name}, week {week}",
            text=f"{timestamp(before.start, 'F')} will not take place; it counts against nobody.\n"
            f"I've told {told} people {how}; its reminders will not be sent.",
        )
    )

"""/checkin-code (facilitators) and /checkin (scholars).

A code is 6 characters from an alphabet without look-alikes (no 0/O, 1/I/L), valid for ``minutes`` (default 15),
shown privately to the facilitator, and counts for this week's meeting of the section. A new code for a section
replaces its open one. A scholar of that section who types it while it is open is marked present (source
``checkin``; the facilitator's checklist is pre-filled with them). While a window of their section is open, each
wrong code (a typo, an expired code, another section's code) counts against that window: after 5 the window is
locked for that person, who then asks the facilitator to mark them.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from bot.core.commands import Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import PermissionDenied, UserError
from bot.core.messages import Message, Reply, timestamp
from bot.core.roles import Role
from bot.core.util import article
from cogs.attendance._common import home_section, meeting_words, repo
from cogs.attendance._store import NewMark

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
DEFAULT_MINUTES = 15
MAX_MINUTES = 240
MAX_TRIES = 5
CODE_RE = re.compile(r"[\s\-]")


def new_code() -> str:
    """A random code: 6 characters from :data:`ALPHABET`."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize(code: str) -> str:
    """What was typed, upper-cased, without spaces or dashes."""
    return CODE_RE.sub("", code).upper()


@command(
    "checkin-code",
    "Facilitators: open a check-in window now, with a short code for your section's scholars.",
    Option("section", "Which section", OptionType.SECTION, required=True, own_sections=True),
    Option(
        "minutes",
        f"How long the code works (default {DEFAULT_MINUTES})",
        OptionType.INTEGER,
        min_value=1,
        max_value=MAX_MINUTES,
    ),
    min_role=Role.FACILITATOR,
)
async def checkin_code(ctx: Context, section: str, minutes: int = DEFAULT_MINUTES) -> Reply:
    """Open a window for this week's meeting and show its code privately."""
    ctx.require_section(section)
    meeting = await ctx.app.meetings.current(section, ctx.now)  # this week's, in the section's zone
    if meeting is None:
        raise UserError(f"There is no meeting of {section}.")
    week = meeting.week
    if not meeting.held:
        why = f" ({meeting.reason})" if meeting.reason else ""
        raise UserError(f"Week {week}'s meeting of {section} was cancelled{why}, so there is nothing to check in to.")
    attendance_repo = repo(ctx.app)
    for _ in range(50):
        code = new_code()
        if not await attendance_repo.code_in_use(code, ctx.now):
            break
    else:  # pragma: no cover - 31^6 codes; only reachable with a broken random source
        raise UserError("I could not find a free code; please try again.")
    expires = ctx.now + timedelta(minutes=minutes)
    await attendance_repo.open_window(section, week, code, by=ctx.person.id, now=ctx.now, expires=expires)
    return Reply.of(
        Message(
            title=f"Check-in code for {section}: {code}",
            text=(
                f"**{code}** works until {timestamp(expires, 't')} ({minutes} minute{'s' if minutes != 1 else ''}). "
                f"Scholars of {section} type **/checkin code:{code}** and are marked present for "
                f"{meeting_words(meeting)}.\nShare it in the meeting (this message is only for you). A new code "
                "replaces this one; 5 wrong codes lock a person out of this check-in."
            ),
        )
    )


@command(
    "checkin",
    "Scholars: check in to your section's meeting with the code your facilitator shares.",
    Option("code", "The 6-character code", OptionType.STRING, required=True, max_length=40),
    only_for=Role.SCHOLAR,
)
async def checkin(ctx: Context, code: str) -> Reply:
    """Mark the scholar present if ``code`` is their section's open code."""
    if ctx.role > Role.SCHOLAR:
        raise PermissionDenied(
            f"/checkin is for scholars; you are {article(ctx.role.label)}. Facilitators take attendance with "
            "/attendance."
        )
    home = home_section(ctx.app, ctx.person)
    if home is None:
        raise UserError("You are not in a section, so there is no check-in for you. Ask an organizer to add you.")
    typed = normalize(code)
    attendance_repo = repo(ctx.app)
    same_code = await attendance_repo.windows_with_code(typed) if typed else []
    open_now = await attendance_repo.open_windows([home], ctx.now)
    if not open_now:
        mine = next((w for w in same_code if w.section.casefold() == home.casefold()), None)
        if mine is not None:
            raise UserError(
                f"That code expired {timestamp(mine.expires_at, 'R')} (at {timestamp(mine.expires_at, 't')}). "
                "Ask your facilitator for a new one, or to mark you present.",
                field="code",
            )
        other = next((w for w in same_code if w.is_open(ctx.now)), None)
        if other is not None:
            raise UserError(f"That code is for {other.section}'s check-in; you are in {home}.", field="code")
        raise UserError(f"No check-in is open for {home} right now. Your facilitator opens one during the meeting.")

    window = open_now[0]
    tries = await attendance_repo.failures(window.id, ctx.person.id)
    if tries >= MAX_TRIES:
        raise UserError(
            f"You typed {MAX_TRIES} wrong codes for this check-in, so it is locked for you. Ask your facilitator to "
            "mark you present.",
            field="code",
        )
    if typed == window.code:
        marks = await attendance_repo.marks(window.section, window.week)
        mine = marks.get(ctx.person.id)
        if mine is not None and mine.status == "present":
            return Reply.text(f"You are already marked present for week {window.week} ({window.section}).")
        await attendance_repo.apply(
            window.section,
            window.week,
            [NewMark(ctx.person.id, "present")],
            by=ctx.person.id,
            now=ctx.now,
            source="checkin",
            record=False,
        )
        meeting = await ctx.app.meetings.get(window.section, window.week)
        where = meeting_words(meeting) if meeting else f"week {window.week} of {window.section}"
        return Reply.text(f"✅ You're checked in: present for {where}.", title="Checked in")

    count = await attendance_repo.add_failure(window.id, ctx.person.id, ctx.now)
    other = next((w for w in same_code if w.is_open(ctx.now)), None)
    if other is not None:
        why = f"That code is for {other.section}'s check-in; you are in {home}."
    elif same_code:
        why = "That code has expired; your section has a newer one."
    else:
        why = f"That is not the code for {home}'s check-in."
    left = MAX_TRIES - count
    if left <= 0:
        why += f" That was wrong code number {MAX_TRIES}, so this check-in is now locked for you: ask your facilitator."
    else:
        why += f" {left} more wrong {'try' if left == 1 else 'tries'} and this check-in locks for you."
    raise UserError(why, field="code")


COMMANDS = (checkin_code, checkin)

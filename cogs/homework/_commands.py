"""/submit, /submissions and /extend.

Every handler checks everything first and writes last, so a refusal (a :class:`UserError`) changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from bot.core.clock import from_db, to_db
from bot.core.commands import Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import PermissionDenied, UserError
from bot.core.exports import TableStream, csv_file
from bot.core.messages import Attachment, Form, FormField, Message, MessageField, Reply, Table, timestamp
from bot.core.options import MAX_URL
from bot.core.people import Person
from bot.core.platform import DMTarget
from bot.core.roles import Role
from bot.core.util import article
from bot.storage.homework import SECTION_LIST, VERSIONS, NewSubmission, Submission, human_size, weekly_query
from cogs.attendance import late_work
from cogs.homework._common import (
    INLINE_ROWS,
    MAX_FILE_BYTES,
    MAX_TEXT,
    Status,
    deadline,
    default_week,
    homework_weeks,
    is_late,
    repo,
    require_homework,
    statuses,
    stream_rows,
)
from cogs.homework._reminders import extension_reminders_skip, replan_extension_reminder

MAX_FILE_NAME = 200
MISSING_NAMES = 40  # names listed in a long view's text; the attached file has everyone


def human_delta(delta: timedelta) -> str:
    """``2 d 3 h``, ``5 h 10 min``, ``42 min``, ``30 s``."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# ---- /submit --------------------------------------------------------------------------------------------
def submit_form(ctx: Context, week: int) -> Form:
    """The modal asking for a link or a text, with the week's instructions."""
    homework, due = require_homework(ctx.cohort, week)
    intro = f"Week {week}: {homework.title}, due {timestamp(due, 'F')}."
    if homework.instructions:
        intro += f"\n{homework.instructions.strip()}"
    intro += "\nGive a link, a text, or both. " + file_hint(ctx, week)
    return Form(
        title=f"Week {week} homework",
        command="submit",
        fixed={"week": str(week)},
        intro=intro,
        fields=[
            FormField(
                name="link",
                label="Link (http:// or https://)",
                required=False,
                max_length=MAX_URL,
                placeholder="https://…",
            ),
            FormField(
                name="text",
                label="Your answer, or a note",
                long=True,
                required=False,
                max_length=MAX_TEXT,
            ),
        ],
    )


def file_hint(ctx: Context, week: int) -> str:
    """How to hand in a file where the asker is: attach it to the command, or share it and give the link."""
    if ctx.actor.caps.files:
        return f"To hand in a file, attach it: /submit week:{week} file:<upload>."
    return "To hand in a file, share it (Google Drive, GitHub, a file link) and paste the link."


def check_file(file: Attachment) -> tuple[str, bytes]:
    """The file's name and bytes, or a :class:`UserError` if it is empty or too big."""
    name = (file.filename or "").strip().replace("/", "_").replace("\\", "_")[:MAX_FILE_NAME] or "file"
    size = len(file.content)
    if size == 0:
        raise UserError(f"The file {name} is empty.", field="file")
    if size > MAX_FILE_BYTES:
        raise UserError(
            f"The file {name} is {human_size(size)}; the limit is {human_size(MAX_FILE_BYTES)}. "
            "Upload it somewhere (Google Drive, GitHub) and submit the link instead.",
            field="file",
        )
    return name, file.content


@command(
    "submit",
    "Hand in a week's homework: a link, a text, or a file (attached, or shared as a link).",
    Option("week", "Week number", OptionType.WEEK, required=True),
    Option("link", "A link to your work (http/https)", OptionType.URL),
    Option("text", f"Your answer or a note (up to {MAX_TEXT} characters)", OptionType.STRING, max_length=MAX_TEXT),
    Option("file", f"A file (up to {MAX_FILE_BYTES // (1024 * 1024)} MB)", OptionType.FILE),
    only_for=Role.SCHOLAR,
)
async def submit(
    ctx: Context, week: int, link: str | None = None, text: str | None = None, file: Attachment | None = None
) -> Reply:
    """Record a submission; without link, text or file, open the form."""
    if ctx.role > Role.SCHOLAR:
        raise PermissionDenied(f"Only scholars hand in homework; you are {article(ctx.role.label)}.")
    homework, due = require_homework(ctx.cohort, week)
    if link is None and text is None and file is None:
        return Reply.ask(submit_form(ctx, week))
    if text is not None:
        text = text.strip()
        if len(text) > MAX_TEXT:
            raise UserError(f"The text is too long ({len(text)} characters; the limit is {MAX_TEXT}).", field="text")
    file_name, content = check_file(file) if file is not None else (None, None)

    homework_repo = repo(ctx.app)
    extension, earlier = await homework_repo.standing(ctx.person.id, week)
    limit = deadline(due, extension)
    late = is_late(ctx.now, limit)
    # With an extension, its reminder (if still waiting) is no longer needed: skipped in the submission's write.
    handed_in = extension_reminders_skip(week, ctx.person.id, "handed in before the reminder")
    saved = await homework_repo.add_submission(
        NewSubmission(
            person_id=ctx.person.id,
            week=week,
            submitted_at=ctx.now,
            late=late,
            platform=ctx.actor.platform,
            link=link,
            text=text or None,
            file_name=file_name,
            file_content=content,
        ),
        also=[handed_in] if extension is not None else [],
    )
    late = late_work(ctx.cohort, ctx.person, limit)
    counts = late is None or late.counts(saved.submitted_at, saved.late)
    return Reply.of(receipt(saved, homework.title, due, limit, extension is not None, earlier, counts=counts))


def receipt(
    saved: Submission, title: str, due: datetime, limit: datetime, extended: bool, earlier: int, *, counts: bool = True
) -> Message:
    """The private confirmation: what was recorded, when, whether it was late and (``counts``) whether it still
    counts toward the stipend."""
    whose = f"your extension until {timestamp(limit)}" if extended else f"due {timestamp(due)}"
    if saved.late:
        status = f"⏰ **Late**: {human_delta(saved.submitted_at - limit)} after the deadline ({whose})."
        if not counts:
            status += " It is recorded, but too late to count toward the stipend."
    else:
        status = f"✅ **On time** ({whose})."
    fields = [MessageField(name="What I recorded", value=saved.summary(text_chars=300))]
    if earlier:
        fields.append(
            MessageField(
                name="Resubmission",
                value=f"This is your {ordinal(earlier + 1)} submission for week {saved.week}. The latest counts; "
                "the earlier ones are kept in your history (/submissions).",
            )
        )
    return Message(
        title=f"Week {saved.week} homework received: {title}",
        text=f"Recorded at {timestamp(saved.submitted_at)}. {status}",
        fields=fields,
    )


# ---- /submissions ---------------------------------------------------------------------------------------
def status_label(s: Status, now: datetime) -> str:
    """``on time``, ``late``, ``missing`` (deadline passed) or ``not yet``."""
    if s.latest is not None:
        return "late" if s.latest.late else "on time"
    return "missing" if now > s.deadline else "not yet"


def extension_text(s: Status) -> str:
    """``until <time>`` or empty."""
    return f"until {timestamp(s.extension.until)}" if s.extension else ""


@command(
    "submissions",
    "Homework handed in: scholars see their own; facilitators their sections (and who is missing); organizers all.",
    Option("week", "Week number (default: this week)", OptionType.WEEK),
    Option("section", "Only this section", OptionType.SECTION, own_sections=True),
)
async def submissions(ctx: Context, week: int | None = None, section: str | None = None) -> Reply:
    """A scholar's own history, or a week's submissions for the sections one may see."""
    if week is not None:
        require_homework(ctx.cohort, week)
    if ctx.role < Role.FACILITATOR:
        return await own_history(ctx, week)
    return await section_view(ctx, week or default_week(ctx.cohort, ctx.now), section)


async def own_history(ctx: Context, week: int | None) -> Reply:
    """Every week with homework so far (or one week in full): submitted when, late or not, extension."""
    homework_repo = repo(ctx.app)
    if week is not None:
        homework, due = require_homework(ctx.cohort, week)
        versions = await homework_repo.history(ctx.person.id, week)
        extension = await homework_repo.extension(ctx.person.id, week)
        lines = [
            f"{n}. {timestamp(v.submitted_at)} — {'late' if v.late else 'on time'} — {v.summary()}"
            for n, v in enumerate(versions, 1)
        ]
        text = f"Due {timestamp(due)}."
        if extension:
            text += f" Your extension: until {timestamp(extension.until)}."
        if versions:
            text += f"\nYou submitted {len(versions)} time(s); the latest (number {len(versions)}) counts."
        else:
            text += "\nYou have not submitted this week's homework yet: /submit week:" + str(week)
        fields = [MessageField(name="History", value="\n".join(lines))] if lines else []
        return Reply.of(Message(title=f"Week {week}: {homework.title}", text=text, fields=fields))

    current = ctx.cohort.current_week(ctx.now)
    rows = await statuses(ctx.app, homework_weeks(ctx.cohort), person_id=ctx.person.id)
    rows = [s for s in rows if s.week <= current or s.submitted]
    table = Table(
        headers=["Week", "Status", "Submitted", "Deadline", "Versions", "What"],
        rows=[
            [
                str(s.week),
                status_label(s, ctx.now),
                timestamp(s.latest.submitted_at) if s.latest else "",
                timestamp(s.deadline) + (" (extension)" if s.extension else ""),
                str(s.count),
                s.latest.summary(30) if s.latest else "",
            ]
            for s in rows
        ],
    )
    done = sum(1 for s in rows if s.submitted)
    return Reply.of(
        Message(
            title="Your homework",
            text=f"You have handed in {done} of {len(rows)} homework(s) so far. "
            "For one week's full history: /submissions week:N",
            table=table,
        )
    )


def audience(ctx: Context, section: str | None) -> tuple[list[str] | None, str]:
    """The sections whose scholars this facilitator or organizer sees (``None``: everyone), and a label."""
    if section is not None:
        return [section], section
    if ctx.role >= Role.ORGANIZER:
        return None, "all sections"
    mine = ctx.own_sections
    if not mine:
        raise UserError("You don't run any section, so there are no submissions to show you.")
    return mine, ", ".join(mine)


class WeekSummary:
    """Counts, and the first names of those who have not submitted, gathered as the rows go by."""

    def __init__(self) -> None:
        self.total = self.handed = self.late = self.missing = 0
        self.names: list[str] = []

    def add(self, s: Status, now: datetime) -> Status:
        """Count ``s`` (and return it)."""
        self.count(s.person.name, status_label(s, now), s.extension.until if s.extension else None)
        return s

    def count(self, name: str, status: str, extension: datetime | str | None) -> None:
        """Count one person by their status label and extension (a datetime, or as stored)."""
        self.total += 1
        if status in ("on time", "late"):
            self.handed += 1
            self.late += status == "late"
            return
        self.missing += 1
        if len(self.names) < MISSING_NAMES:
            until = (from_db(extension) if extension else None) if isinstance(extension, str) else extension
            self.names.append(f"{name} (extension until {timestamp(until)})" if until else name)

    def text(self, due: datetime) -> str:
        """``Due …. **h of n** submitted (l late).`` and who has not (the first :data:`MISSING_NAMES`)."""
        text = f"Due {timestamp(due)}. **{self.handed} of {self.total}** submitted ({self.late} late)."
        if self.missing:
            more = self.missing - len(self.names)
            text += "\n**Not submitted:** " + ", ".join(self.names)
            if more:
                text += f" and {more} more (all in the attached file)"
        elif self.total:
            text += "\nEveryone has submitted."
        return text


TABLE_HEADERS = ["Name", "Section", "Status", "Submitted", "Extension", "Versions", "What"]
CSV_HEADERS = ["name", "email", "section", "status", "submitted_at_utc", "extension_until_utc", "versions", "link"]


def table_row(s: Status, now: datetime) -> list[str]:
    """One person's line in the inline table."""
    return [
        s.person.name,
        s.section,
        status_label(s, now),
        timestamp(s.latest.submitted_at) if s.latest else "",
        extension_text(s),
        str(s.count),
        s.latest.summary(30) if s.latest else "",
    ]


# The CSV's columns, formatted by SQL: a large view costs next to no Python per row.
CSV_COLUMNS = (
    f"p.name, p.email, COALESCE({SECTION_LIST}, ''),"
    " CASE WHEN s.id IS NULL THEN (CASE WHEN w.now > COALESCE(e.until, w.due) THEN 'missing' ELSE 'not yet' END)"
    " WHEN s.late THEN 'late' ELSE 'on time' END,"
    f" COALESCE(s.submitted_at, ''), COALESCE(e.until, ''), {VERSIONS}, COALESCE(s.link, '')"
)


async def section_view(ctx: Context, week: int, section: str | None) -> Reply:
    """Who submitted (when, late or not) and who has not, for one week.

    Up to :data:`INLINE_ROWS` people: a table, from one query. More: a CSV file streamed from a heavy read (one
    at a time, on its own connection, see :meth:`Database.heavy`) into a temporary file, counting as it goes:
    the memory it takes does not grow with the course.
    """
    homework, due = require_homework(ctx.cohort, week)
    sections, label = audience(ctx, section)
    summary = WeekSummary()
    message = Message(title=f"Week {week} homework ({label}): {homework.title}")
    if await repo(ctx.app).scholar_count(sections) <= INLINE_ROWS:
        rows = [summary.add(s, ctx.now) for s in await statuses(ctx.app, [week], sections=sections)]
        message.table = Table(headers=TABLE_HEADERS, rows=[table_row(s, ctx.now) for s in rows])
    else:
        sql, params = weekly_query(CSV_COLUMNS, [week], dues=[to_db(due)], now=to_db(ctx.now), sections=sections)

        async def counted() -> AsyncIterator[list]:
            async for rows in stream_rows(ctx.app, sql, params):
                for row in rows:
                    summary.count(row[0], row[3], row[5])
                yield rows

        attachment, count = await csv_file(TableStream(CSV_HEADERS, counted()), f"week-{week}-submissions.csv")
        message.files.append(attachment)
        message.footer = f"{count} rows: the full list is in the attached file."
    message.text = summary.text(due)
    return Reply.of(message)


# ---- /extend --------------------------------------------------------------------------------------------
def extension_dm_prefix(week: int, person_id: int) -> str:
    """The start of the keys of the DMs announcing this person's extensions of ``week``; each grant's key ends
    in its revision (``rev-R``), so each new deadline is told, and the same one is never told twice."""
    return f"extension:week-{week}:person-{person_id}:"


@command(
    "extend",
    "Give a scholar more time for a week's homework (facilitators: people in their own sections).",
    Option("user", "Who", OptionType.PERSON, required=True, own_sections=True),
    Option("week", "Week number", OptionType.WEEK, required=True),
    Option("until", "The new deadline, your time (YYYY-MM-DD HH:MM)", OptionType.DATETIME, required=True),
    min_role=Role.FACILITATOR,
)
async def extend(ctx: Context, user: Person, week: int, until: datetime) -> Reply:
    """Grant (or replace) an extension; the person is told by DM."""
    ctx.require_person(user)
    if user.role != Role.SCHOLAR:
        raise UserError(f"{user.name} is {article(user.role.label)}; only scholars hand in homework.", field="user")
    homework, due = require_homework(ctx.cohort, week)
    if until <= ctx.now:
        raise UserError(f"{timestamp(until)} is in the past; give a time after now.", field="until")
    if until <= due:
        raise UserError(
            f"{timestamp(until)} is not after the due time ({timestamp(due)}), so it would not be an extension.",
            field="until",
        )
    homework_repo = repo(ctx.app)
    earlier = await homework_repo.extension(user.id, week)
    submitted = bool(await homework_repo.history(user.id, week))
    async with ctx.app.db.transaction():
        granted, changed = await homework_repo.set_extension(user.id, week, until, ctx.person.id, ctx.now)
        if submitted:  # already handed in: say what the new deadline means for it, not "hand it in"
            after = (
                " Your late submission now counts as on time." if changed else " Your submission is judged against it."
            )
            after += f" You may hand in a newer version until then with /submit week:{week}."
        else:
            after = f" Hand it in with /submit week:{week}."
        dm = Message(
            title=f"Extension for week {week}",
            text=(
                f"{ctx.person.name} gave you until {timestamp(until, 'F')} ({timestamp(until, 'R')}) for week {week}'s "
                f"homework **{homework.title}** (due {timestamp(due)}).{after}"
            ),
        )
        if earlier is None or granted.revision != earlier.revision:  # a new deadline: told, even a former one
            prefix = extension_dm_prefix(week, user.id)
            await ctx.app.outbox.skip([], "a later extension replaced it", prefixes=[prefix])
            await ctx.app.outbox.enqueue(f"{prefix}rev-{granted.revision}", DMTarget(user.id), dm)
        await replan_extension_reminder(ctx.app, granted, earlier, submitted=submitted)

    text = f"{user.name} now has until {timestamp(until)} for week {week} (due {timestamp(due)})."
    if earlier is not None and earlier.revision == granted.revision:
        return Reply.text(text + " That was already their extension, so I did not tell them again.", title="No change")
    if earlier:
        text += f" This replaces the earlier extension until {timestamp(earlier.until)}."
    if changed:
        text += f" {changed} of their submissions for that week were re-judged against the new deadline."
    text += " I've told them by DM."
    return Reply.text(text, title="Extension granted")

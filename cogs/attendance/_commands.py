"""/attendance: the typed form, and the interactive checklist (a select of the section's roster and Save).

A select runs its command every time the choice changes, so the checklist keeps what is ticked as a **draft**
(per meeting and facilitator) and replaces itself to show it; **Save** records the draft: the ticked present,
every other member it shows absent (the excused stay excused; members past the selects' limit are left as they
are), and the meeting as taken. Save carries the meeting's revision, so a checklist shown before someone else
saved is refused as stale instead of overwriting; and each control carries a digest of the people it shows
(:func:`shown_digest`), so a click after the roster changed under it (someone joined or left the section) is
refused instead of marking people the facilitator never saw. Every changed mark goes to the audit trail
(``/attendance ... history:true`` shows it). Buttons name the section by its key
(:func:`bot.core.options.section_key`), so their ids fit every platform whatever the section's name.

Handlers check everything first and write last: a refusal changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import timedelta

from bot.core.commands import Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.messages import Action, Button, Form, FormField, Message, Reply, Select, SelectChoice, Table, timestamp
from bot.core.options import person_ref, section_key
from bot.core.people import Person
from bot.core.roles import Role
from bot.core.util import article
from bot.meetings import Meeting
from cogs.attendance._alerts import check_people
from cogs.attendance._common import default_meeting, held_meeting, home_section, meeting_words, members, names, repo
from cogs.attendance._store import Mark, NewMark, Source

PAGE = 25  # people per select (the platforms' limit)
PAGES = 4  # selects per checklist: Discord allows five rows, one is for the buttons
CHECKLIST_HOURS = 12  # a checklist's controls expire after this
MAX_REASON = 200
SHOWN_DIGEST = 12  # hex digits of shown_digest


# ---- the typed form ------------------------------------------------------------------------------------
@command(
    "attendance",
    "Facilitators: take or correct attendance for a meeting of your section (no people: a checklist).",
    Option("section", "Which section", OptionType.SECTION, required=True, own_sections=True),
    Option("week", "Which week's meeting (default: this week's)", OptionType.WEEK),
    Option("present", "Who was there (names, emails or mentions, separated by commas)", OptionType.PEOPLE),
    Option("excused", "Who was excused (give the reason too)", OptionType.PEOPLE),
    Option("absent", "Who was absent", OptionType.PEOPLE),
    Option("reason", "Why the excused were excused", OptionType.STRING, max_length=MAX_REASON),
    Option("history", "Show every change made to this meeting's attendance", OptionType.BOOLEAN),
    min_role=Role.FACILITATOR,
)
async def attendance(
    ctx: Context,
    section: str,
    week: int | None = None,
    present: tuple[Person, ...] = (),
    excused: tuple[Person, ...] = (),
    absent: tuple[Person, ...] = (),
    reason: str | None = None,
    history: bool = False,
) -> Reply:
    """Record the marks given, show the meeting's history, or open the checklist."""
    ctx.require_section(section)
    if history:
        this_week = await ctx.app.meetings.current(section, ctx.now)  # in the section's zone
        return await history_reply(ctx, section, week or (this_week.week if this_week else 1))
    if week is None:
        meeting, note = await default_meeting(ctx.app, section, ctx.now)
    else:
        meeting, note = await held_meeting(ctx.app, section, week, ctx.now), ""
    if not (present or excused or absent):
        if reason:
            raise UserError("reason is for excused absences: give excused:<people> with it.", field="reason")
        return await checklist(ctx, meeting, note=note)
    return await record_typed(ctx, meeting, present, excused, absent, reason, note)


def check_marks(
    section: str,
    roster: list[Person],
    present: tuple[Person, ...],
    excused: tuple[Person, ...],
    absent: tuple[Person, ...],
    reason: str | None,
) -> None:
    """Refuse contradictions, people who cannot be marked here, and an excuse without a reason."""
    groups = {"present": present, "excused": excused, "absent": absent}
    seen: dict[int, str] = {}
    for label, people in groups.items():
        for p in people:
            if p.id in seen:
                raise UserError(f"{p.name} is marked both {seen[p.id]} and {label}: choose one.", field=label)
            seen[p.id] = label
            if p.role != Role.SCHOLAR:
                raise UserError(f"{p.name} is {article(p.role.label)}; attendance is taken for scholars.", field=label)
    mine = {p.id for p in roster}
    for label in ("excused", "absent"):
        outsiders = [p for p in groups[label] if p.id not in mine]
        if outsiders:
            raise UserError(
                f"{names(outsiders)} {'is' if len(outsiders) == 1 else 'are'} not in {section}, so cannot be marked "
                f"{label} there (someone from another section can be marked present: a make-up).",
                field=label,
            )
    if excused and not (reason and reason.strip()):
        raise UserError('Excused absences carry a reason: add reason:"..." (for example reason:"ill").', field="reason")
    if reason and not excused:
        raise UserError("reason is for excused absences: give excused:<people> with it.", field="reason")


async def record_typed(
    ctx: Context,
    meeting: Meeting,
    present: tuple[Person, ...],
    excused: tuple[Person, ...],
    absent: tuple[Person, ...],
    reason: str | None,
    note: str,
) -> Reply:
    """Apply typed marks. A first roll call (``present`` given) also records everyone else as absent."""
    section, week = meeting.name, meeting.week
    roster = await members(ctx.app, section)
    check_marks(section, roster, present, excused, absent, reason)
    attendance_repo = repo(ctx.app)
    current = await attendance_repo.marks(section, week)
    recorded = await attendance_repo.recorded(section, week)
    why = reason.strip() if reason else None
    marks = [NewMark(p.id, "present") for p in present]
    marks += [NewMark(p.id, "excused", why) for p in excused]
    marks += [NewMark(p.id, "absent") for p in absent]
    roll_call = bool(present) and recorded is None
    if roll_call:
        named = {m.person_id for m in marks}
        marks += [NewMark(p.id, "absent") for p in roster if p.id not in named and p.id not in current]
    changed = await attendance_repo.apply(
        section, week, marks, by=ctx.person.id, now=ctx.now, source="typed", record=roll_call or recorded is not None
    )
    await after_change(ctx, section, week, [c[0] for c in changed])
    return Reply.of(await summary(ctx, meeting, changed, note, corrected=recorded is not None))


async def after_change(ctx: Context, section: str, week: int, person_ids: list[int]) -> None:
    """Let the stipend alerts look at the people whose marks changed (their section's facilitators may be told)."""
    if not person_ids:
        return
    await check_people(ctx.app, person_ids)


async def summary(
    ctx: Context, meeting: Meeting, changed: list[tuple[int, str | None, str]], note: str = "", *, corrected: bool
) -> Message:
    """Who is marked what now, make-ups named, and what this save changed."""
    section, week = meeting.name, meeting.week
    marks = await repo(ctx.app).marks(section, week)
    people = await ctx.app.people.get_many(marks)
    by_status: dict[str, list[str]] = {"present": [], "excused": [], "absent": []}
    makeups = []
    for pid, mark in sorted(marks.items(), key=lambda kv: people[kv[0]].name.casefold() if kv[0] in people else ""):
        person = people.get(pid)
        if person is None:
            continue
        home = home_section(ctx.app, person)
        label = person.name + (f" ({mark.reason})" if mark.status == "excused" and mark.reason else "")
        if mark.status == "present" and home is not None and home.casefold() != section.casefold():
            makeups.append(f"{person.name} ({home}: a make-up for their own week {week} meeting)")
            continue
        by_status[mark.status].append(label)
    lines = [
        f"**Present ({len(by_status['present'])}):** {', '.join(by_status['present']) or 'nobody'}",
        f"**Excused ({len(by_status['excused'])}):** {', '.join(by_status['excused']) or 'nobody'}",
        f"**Absent ({len(by_status['absent'])}):** {', '.join(by_status['absent']) or 'nobody'}",
    ]
    if makeups:
        lines.append(f"**Make-ups ({len(makeups)}):** " + "; ".join(makeups))
    unmarked = [p for p in await members(ctx.app, section) if p.id not in marks]
    if unmarked:  # a roll call is complete only when every scholar of the section has a mark
        shown = ", ".join(p.name for p in unmarked[:25]) + (
            f" and {len(unmarked) - 25} more" if len(unmarked) > 25 else ""
        )
        lines.append(
            f"**Not marked yet ({len(unmarked)}):** {shown}. The roll call is not complete until they are: mark them "
            f"with present:/absent:, or /attendance section:{section} week:{week} for the checklist."
        )
    if changed:
        words = [f"{people[pid].name}: {old or 'no mark'} → {new}" for pid, old, new in changed if pid in people]
        lines.append(f"{len(changed)} mark(s) changed: " + "; ".join(words) + ".")
    else:
        lines.append("Nothing changed: every mark was already so.")
    if note:
        lines.insert(0, note)
    lines.append(f"Every change is kept: /attendance section:{section} week:{week} history:true")
    title = f"Attendance {'corrected' if corrected else 'recorded'}: {section}, week {week}"
    return Message(title=title, text=f"For {meeting_words(meeting)}.\n" + "\n".join(lines))


async def history_reply(ctx: Context, section: str, week: int) -> Reply:
    """The audit trail of one meeting: every change, who made it and when."""
    changes = await repo(ctx.app).history(section, week)
    if not changes:
        return Reply.text(f"No attendance has been recorded for week {week} of {section} yet.", title="History")
    people = await ctx.app.people.get_many({c.person_id for c in changes} | {c.changed_by or 0 for c in changes})
    rows = [
        [
            timestamp(c.changed_at, "f"),
            people[c.person_id].name if c.person_id in people else f"#{c.person_id}",
            f"{c.old_status or '-'} → {c.new_status}",
            c.reason or "",
            c.source,
            people[c.changed_by].name if c.changed_by in people else "",
        ]
        for c in changes
    ]
    table = Table(headers=["When", "Who", "Change", "Reason", "How", "By"], rows=rows)
    return Reply.of(
        Message(title=f"Attendance history: {section}, week {week}", text=f"{len(rows)} change(s).", table=table)
    )


# ---- the checklist -------------------------------------------------------------------------------------
def _pages(roster: list[Person]) -> list[list[Person]]:
    return [roster[i : i + PAGE] for i in range(0, min(len(roster), PAGE * PAGES), PAGE)]


def shown_digest(people: Iterable[Person]) -> str:
    """12 hex digits of a hash of these people's roster ids (in any order): what a control of the checklist
    carries to say whom it showed, so a click can tell that the roster changed since (and fit in any id)."""
    ids = ",".join(str(i) for i in sorted({p.id for p in people}))
    return hashlib.sha256(ids.encode()).hexdigest()[:SHOWN_DIGEST]


def ticked_now(
    roster: list[Person], marks: dict[int, Mark], draft: tuple[set[int], object] | None
) -> tuple[set[int], bool]:
    """Who the checklist shows ticked: the draft, plus anyone who checked in since it changed; else who is marked
    present (check-ins, or an earlier save). The flag says whether it comes from a draft."""
    mine = {p.id for p in roster}
    present = {pid for pid, m in marks.items() if m.status == "present" and pid in mine}
    if draft is None:
        return present, False
    ticked, changed_at = draft
    later = {pid for pid in present if marks[pid].source == "checkin" and marks[pid].updated_at > changed_at}
    return (set(ticked) & mine) | later, True


async def checklist(ctx: Context, meeting: Meeting, *, note: str = "", replace: bool = False) -> Reply:
    """The checklist message for ``meeting``: the roster as a multi-select, Save, and Excuse someone…."""
    section, week = meeting.name, meeting.week
    attendance_repo = repo(ctx.app)
    roster = await members(ctx.app, section)
    marks = await attendance_repo.marks(section, week)
    recorded = await attendance_repo.recorded(section, week)
    ticked, from_draft = ticked_now(roster, marks, await attendance_repo.draft(section, week, ctx.person.id))
    by_id = {p.id: p for p in roster}
    lines = [f"For {meeting_words(meeting)}."]
    if note:
        lines.append(note)
    if recorded is not None:
        who = await ctx.app.people.get(recorded.recorded_by) if recorded.recorded_by else None
        lines.append(
            f"Already saved{' by ' + who.name if who else ''} {timestamp(recorded.recorded_at, 'R')}: saving again "
            "records a correction (every change is kept)."
        )
    checked_in = [by_id[pid] for pid, m in marks.items() if m.source == "checkin" and pid in by_id]
    if checked_in:
        lines.append(f"Checked in with the code: {names(sorted(checked_in, key=lambda p: p.name))}.")
    excused = [(by_id[pid], m.reason) for pid, m in marks.items() if m.status == "excused" and pid in by_id]
    if excused:
        lines.append("Excused: " + ", ".join(f"{p.name} ({r})" if r else p.name for p, r in excused) + ".")
    chosen = [p for p in roster if p.id in ticked]
    state = "Ticked, not saved yet" if from_draft else "Pre-filled"
    lines.append(f"**{state}: {len(chosen)} of {len(roster)} present** ({names(chosen)}).")
    lines.append(
        "Tick who was there, then press **Save**: the ticked are recorded present and everyone else listed "
        "absent (the excused stay excused)."
    )
    if len(roster) > PAGE * PAGES:
        lines.append(
            f"This section has {len(roster)} scholars; the checklist shows the first {PAGE * PAGES}, and Save "
            f"leaves the others as they are. Mark them with /attendance section:{section} week:{week} "
            "present:<names>."
        )
    expires = ctx.now + timedelta(hours=CHECKLIST_HOURS)
    revision = recorded.revision if recorded else 0
    fixed = {"s": section_key(section), "w": str(week)}  # a key, not the name: ids fit any section name
    controls: list[Button | Select] = []
    pages = _pages(roster)
    for n, page in enumerate(pages):
        controls.append(
            Select(
                placeholder="Who was there?"
                if len(pages) == 1
                else f"Who was there? ({n * PAGE + 1}–{n * PAGE + len(page)})",
                action=Action(
                    command="attendance tick",
                    options={**fixed, "p": str(n), "r": str(revision), "d": shown_digest(page)},
                    expires=expires,
                ),
                into="present",
                choices=[SelectChoice(label=p.name, value=person_ref(p)) for p in page],
                min_values=0,
                max_values=len(page),
                selected=[person_ref(p) for p in page if p.id in ticked],
            )
        )
    controls.append(
        Button(
            label="Save",
            style="primary",
            action=Action(
                command="attendance save",
                options={**fixed, "r": str(revision), "d": shown_digest(p for page in pages for p in page)},
                expires=expires,
            ),
        )
    )
    if roster:
        controls.append(
            Button(label="Excuse someone…", action=Action(command="attendance excuse", options=fixed, expires=expires))
        )
    message = Message(title=f"Attendance: {section}, week {week}", text="\n".join(lines), actions=controls)
    return Reply(message=message, private=True, replace=replace)


async def clicked_checklist(
    ctx: Context, section: str, week: int, shown: int, page: int | None, digest: str
) -> tuple[Meeting, list[Person], dict[int, Mark], set[int]]:
    """For a click on a checklist: the meeting (still held and started), the people the control showed (its
    ``page``, or with ``None`` every page), the meeting's marks and who is ticked.

    Refused if someone saved since the checklist was shown (its revision ``shown`` is no longer the meeting's), or
    if the roster changed under the control since (the people it would show now do not match its ``digest``).
    """
    ctx.require_section(section)
    meeting = await held_meeting(ctx.app, section, week, ctx.now)
    attendance_repo = repo(ctx.app)
    recorded = await attendance_repo.recorded(section, week)
    if (recorded.revision if recorded else 0) != shown:
        raise UserError(
            f"Attendance for week {week} of {section} was saved since this checklist was shown, so I did not "
            f"change anything. Run /attendance section:{section} week:{week} to see it as it is now."
        )
    roster = await members(ctx.app, section)
    pages = _pages(roster)
    covered = pages if page is None else pages[page : page + 1]  # a page the roster no longer fills: nobody
    people = [p for each in covered for p in each]
    if shown_digest(people) != digest:
        raise UserError(
            f"The roster of {section} changed since this checklist was shown (someone joined or left the section), "
            f"so I did not change anything (your earlier ticks are kept). Run /attendance section:{section} "
            f"week:{week} to see the list as it is now, then Save."
        )
    marks = await attendance_repo.marks(section, week)
    ticked, _ = ticked_now(roster, marks, await attendance_repo.draft(section, week, ctx.person.id))
    return meeting, people, marks, ticked


@command(
    "attendance tick",
    "Tick who was there (the checklist's select).",
    Option("s", "Section", OptionType.SECTION, required=True, own_sections=True),
    Option("w", "Week", OptionType.WEEK, required=True),
    Option("p", "Page", OptionType.INTEGER, min_value=0, max_value=PAGES - 1),
    Option("r", "Revision shown", OptionType.INTEGER, min_value=0),
    Option("d", "Digest of the people shown", OptionType.STRING, max_length=SHOWN_DIGEST),
    Option("present", "Who", OptionType.PEOPLE),
    min_role=Role.FACILITATOR,
    hidden=True,
)
async def tick(
    ctx: Context, s: str, w: int, p: int = 0, r: int = 0, d: str = "", present: tuple[Person, ...] = ()
) -> Reply:
    """Keep the ticked people of one page as this facilitator's draft; show the checklist again."""
    meeting, shown, _marks, ticked = await clicked_checklist(ctx, s, w, r, p, d)
    page = {x.id for x in shown}
    strangers = [x for x in present if x.id not in page]
    if strangers:
        raise UserError(
            f"{names(strangers)} {'is' if len(strangers) == 1 else 'are'} not on this list any more: "
            f"run /attendance section:{s} week:{w} again."
        )
    await repo(ctx.app).set_draft(s, w, ctx.person.id, (ticked - page) | {x.id for x in present}, ctx.now)
    return await checklist(ctx, meeting, replace=True)


@command(
    "attendance save",
    "Save the checklist.",
    Option("s", "Section", OptionType.SECTION, required=True, own_sections=True),
    Option("w", "Week", OptionType.WEEK, required=True),
    Option("r", "Revision shown", OptionType.INTEGER, min_value=0),
    Option("d", "Digest of the people shown", OptionType.STRING, max_length=SHOWN_DIGEST),
    min_role=Role.FACILITATOR,
    hidden=True,
)
async def save(ctx: Context, s: str, w: int, r: int = 0, d: str = "") -> Reply:
    """Record the ticked present and every other member the checklist shows absent (the excused stay excused).

    Exactly the people its selects showed (the first ``PAGE * PAGES``) change: the others keep their marks, and a
    roster changed since the checklist was shown is refused (see :func:`clicked_checklist`)."""
    meeting, shown, marks, ticked = await clicked_checklist(ctx, s, w, r, None, d)
    new: list[NewMark] = []
    for person in shown:
        current = marks.get(person.id)
        if person.id in ticked:
            new.append(NewMark(person.id, "present"))
        elif current is not None and current.status == "excused":
            new.append(NewMark(person.id, "excused", current.reason))
        else:
            new.append(NewMark(person.id, "absent"))
    source: Source = "checklist"
    changed = await repo(ctx.app).apply(s, w, new, by=ctx.person.id, now=ctx.now, source=source, record=True)
    await after_change(ctx, s, w, [c[0] for c in changed])
    message = await summary(ctx, meeting, changed, corrected=r > 0)
    return Reply(message=message, private=True, replace=True)


@command(
    "attendance excuse",
    "Excuse an absence, with its reason (opens a form).",
    Option("s", "Section", OptionType.SECTION, required=True, own_sections=True),
    Option("w", "Week", OptionType.WEEK, required=True),
    min_role=Role.FACILITATOR,
    hidden=True,
)
async def excuse(ctx: Context, s: str, w: int) -> Reply:
    """A form asking who and why; it submits as /attendance section week excused reason."""
    ctx.require_section(s)
    meeting = await held_meeting(ctx.app, s, w, ctx.now)
    roster = await members(ctx.app, s)
    return Reply.ask(
        Form(
            title=f"Excuse an absence: week {w}",
            command="attendance",
            fixed={"section": s, "week": str(w)},
            intro=f"For {meeting_words(meeting)}. Members: {names(roster)}.",
            fields=[
                FormField(name="excused", label="Who (names, separated by commas)", max_length=500),
                FormField(name="reason", label="Why", max_length=MAX_REASON, placeholder="ill, travelling, ..."),
            ],
        )
    )


COMMANDS = (attendance, tick, save, excuse)

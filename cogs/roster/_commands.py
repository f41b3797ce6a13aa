"""``/roster``: who is on the roster and linked, and changing it (organizers; facilitators look at their sections).

One command whose first option says what to do, so that ``/roster`` alone works everywhere:

* ``/roster``: counts by role, linked accounts, who is not linked yet (on the platform asked from), and waiting
  join requests with Approve/Deny buttons (organizers);
* ``/roster show user:<who>``: one person, their accounts, join code and latest changes;
* ``/roster add name:<...> email:<...> role:<...> [track] [section] [eligible]`` (an email of someone removed puts
  them back);
* ``/roster set user:<who> [name] [role] [track] [section] [eligible]``;
* ``/roster remove user:<who>``: they lose access, their history stays (reports and exports keep it);
* ``/roster log [user:<who>]``: the latest changes, who made them and when.

Checks first, writes last; every change goes to the change log and queues the membership sync.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.core.commands import Choice, Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import PermissionDenied, UserError
from bot.core.messages import Button, Message, MessageField, Reply, Table, timestamp
from bot.core.people import Person, PersonInput
from bot.core.roles import Role
from bot.core.util import article, plural
from bot.roster import validate_row
from cogs.roster._common import describe
from cogs.roster._join import decision_buttons, request_line
from cogs.roster._linking import link_by_email
from cogs.roster._store import show_code, store
from cogs.roster._sync import sync_people

ACTIONS = ("show", "add", "set", "remove", "log")
EDITS = ("add", "set", "remove")
TAKES: dict[str | None, set[str]] = {
    None: set(),
    "show": {"user"},
    "add": {"name", "email", "role", "track", "section", "eligible"},
    "set": {"user", "name", "role", "track", "section", "eligible"},
    "remove": {"user"},
    "log": {"user"},
}
NONE_WORDS = {"none", "-", ""}
SHOWN = 25  # people listed by name in the summary; the rest are counted (the full list: /report kind:roster)
REQUESTS_SHOWN = 5


async def track_choices(ctx: Context, current: str) -> list[Choice]:
    """The cohort's tracks (and ``none``)."""
    names = [*ctx.cohort.track_names, "none"]
    return [Choice(n, n) for n in names if current.strip().casefold() in n.casefold()]


async def section_choices(ctx: Context, current: str) -> list[Choice]:
    """The cohort's sections (and ``none``); several are written ``a;b``."""
    before, _, last = current.rpartition(";")
    lead = f"{before};" if before else ""
    names = [*(s.name for s in ctx.cohort.sections), "none"]
    return [Choice(f"{lead}{n}", f"{lead}{n}") for n in names if last.strip().casefold() in n.casefold()]


@command(
    "roster",
    "Who is on the roster and linked; organizers: show, add, set or remove a person (history kept).",
    Option("action", "What to do (nothing: the overview)", choices=[Choice(a, a) for a in ACTIONS]),
    Option("user", "The person (show, set, remove, log)", OptionType.PERSON, own_sections=True, removed_ok=True),
    Option("name", "Full name (add, set)", max_length=100),
    Option("email", "Email, the roster's key (add)", max_length=254),
    Option("role", "Role (add, set)", choices=[Choice(r.label, r.label) for r in Role]),
    Option("track", "Track, or none (add, set)", max_length=60, autocomplete=track_choices),
    Option(
        "section",
        "Section; a facilitator's several as a;b; none to clear (add, set)",
        max_length=200,
        autocomplete=section_choices,
    ),
    Option("eligible", "Eligible for a stipend (add, set)", OptionType.BOOLEAN),
    min_role=Role.FACILITATOR,
)
async def roster(ctx: Context, action: str | None = None, **given: Any) -> Reply:
    """Dispatch on ``action`` after checking that the options fit it and that the asker may do it."""
    extra = sorted(k for k, v in given.items() if v is not None and k not in TAKES[action])
    if extra:
        what = f"/roster {action}" if action else "/roster alone"
        allowed = ", ".join(sorted(TAKES[action])) or "no options"
        raise UserError(f"{what} takes {allowed}, not {', '.join(extra)}.", field=extra[0])
    if action in EDITS and ctx.role < Role.ORGANIZER:
        raise PermissionDenied(
            f"Only organizers can change the roster; you are {article(ctx.role.label)}. You can look: /roster, "
            "/roster show user:<who>."
        )
    if action is None:
        return await overview(ctx)
    if action == "log":
        return await change_log(ctx, given.get("user"))
    if action == "add":
        return await add(ctx, **{k: v for k, v in given.items() if k in TAKES["add"]})
    user: Person | None = given.get("user")
    if user is None:
        raise UserError(f"/roster {action} needs user:<who>.", field="user")
    if action == "show":
        return await show(ctx, user)
    if action == "set":
        return await change(ctx, user, **{k: v for k, v in given.items() if k in TAKES["set"] - {"user"}})
    return await remove(ctx, user)


# ---- looking ---------------------------------------------------------------------------------------------------
async def overview(ctx: Context) -> Reply:
    """Counts, linked accounts, who is not linked yet, and (organizers) the join requests waiting."""
    repo = store(ctx.app)
    scope = None if ctx.role >= Role.ORGANIZER else ctx.own_sections
    counts, removed = await repo.counts(scope)
    total = sum(counts.values())
    by_role = ", ".join(plural(counts.get(r.label, 0), r.label) for r in Role)
    where = f"your sections ({', '.join(scope) or 'none'})" if scope is not None else "the roster"
    text = f"**{total}** on {where}: {by_role}." + (f" {removed} removed (history kept)." if removed else "")
    fields = []
    linked = await repo.linked_counts(scope)
    if linked:
        fields.append(
            MessageField(name="Linked accounts", value=" · ".join(f"{p.capitalize()} {n}" for p, n in linked.items()))
        )
    # A platform where people are picked directly (the console) has no accounts: list who has none anywhere.
    platform = None if ctx.actor.person_id is not None else ctx.actor.platform
    ids, missing = await repo.unlinked(platform, scope, limit=SHOWN)
    table = None
    if missing:
        people = await ctx.app.people.get_many(ids)
        notes = await lookup_notes(ctx, [people[i] for i in ids if i in people])
        table = Table(
            headers=["name", "role", "section", "note"],
            rows=[
                [p.name, p.role.label, ";".join(p.sections) or "-", notes.get(p.id, "")]
                for p in (people[i] for i in ids if i in people)
            ],
        )
        label = "any account" if platform is None else ctx.actor.caps.label
        more = f"; the first {len(ids)} below, all of them in /report kind:roster" if missing > len(ids) else ""
        fields.append(MessageField(name=f"Not linked to {label} yet: {missing}", value=f"By name{more}."))
    else:
        fields.append(MessageField(name="Not linked yet", value="Nobody: everyone is linked."))
    actions: list[Button] = []
    if ctx.role >= Role.ORGANIZER:
        requests, waiting = await repo.pending_requests(REQUESTS_SHOWN)
        if waiting:
            lines = [await request_line(ctx, r) for r in requests]
            if waiting > len(requests):
                lines.append(f"… and {waiting - len(requests)} more (the oldest are shown).")
            fields.append(MessageField(name=f"Join requests waiting: {waiting}", value="\n".join(lines)))
            for r in requests:
                actions += decision_buttons(r.id, numbered=True)
    return Reply.of(
        Message(title=f"Roster of {ctx.cohort.program}", text=text, fields=fields, table=table, actions=actions)
    )


async def lookup_notes(ctx: Context, people: list[Person]) -> dict[int, str]:
    """``not found by email (when)`` for people a platform's directory did not find."""
    notes: dict[int, str] = {}
    for platform in ctx.app.linkers:
        found = await store(ctx.app).lookups(platform, (p.email for p in people))
        for p in people:
            seen = found.get(p.email.casefold())
            if seen is not None and seen[0] is None and not p.platform_id(platform):
                notes[p.id] = f"not found by email {timestamp(seen[1], 'd')}"
    return notes


async def show(ctx: Context, person: Person) -> Reply:
    """One person: what the roster says, their accounts, their join code, and the latest changes."""
    repo = store(ctx.app)
    status = f"removed {timestamp(person.removed_at, 'D')}" if person.removed_at else "on the roster"
    fields = [
        MessageField(name="Email", value=person.email, inline=True),
        MessageField(name="Role", value=person.role.label, inline=True),
        MessageField(name="Track", value=person.track or "-", inline=True),
        MessageField(name="Sections", value=", ".join(person.sections) or "-", inline=True),
        MessageField(name="Time zone", value=person.timezone or f"{ctx.cohort.timezone} (the cohort's)", inline=True),
        MessageField(name="Stipend eligible", value="yes" if person.stipend_eligible else "no", inline=True),
        MessageField(name="Status", value=status, inline=True),
        MessageField(
            name="Accounts",
            value=", ".join(f"{p.capitalize()} {uid}" for p, uid in sorted(person.identities.items())) or "none yet",
        ),
    ]
    code = await repo.code_of(person.id)
    if code is not None:
        used = f"used {timestamp(code.used_at, 'd')} by {code.used_by}" if code.used_at else "not used yet"
        shown = f"`{show_code(code.code)}`, " if ctx.role >= Role.ORGANIZER else ""
        fields.append(MessageField(name="Join code", value=f"{shown}{used}"))
    changes = await repo.changes(person.id, limit=5)
    if changes:
        fields.append(
            MessageField(
                name="Latest changes",
                value="\n".join(f"{timestamp(c.at, 'd')} {c.action} by {c.by_text}: {c.detail}" for c in changes),
            )
        )
    return Reply.of(Message(title=person.name, text=describe(person), fields=fields))


async def change_log(ctx: Context, person: Person | None) -> Reply:
    """The latest changes (of one person, of the facilitator's sections, or of everyone)."""
    repo = store(ctx.app)
    if person is not None:
        changes = await repo.changes(person.id, limit=30)
    elif ctx.role >= Role.ORGANIZER:
        changes = await repo.changes(limit=30)
    else:
        changes = await repo.changes(sections=ctx.own_sections, limit=30)
    if not changes:
        return Reply.text("No changes recorded yet.")
    people = await ctx.app.people.get_many(c.person_id for c in changes)
    table = Table(
        headers=["when", "person", "what", "by", "details"],
        rows=[
            [timestamp(c.at), people[c.person_id].name if c.person_id in people else "?", c.action, c.by_text, c.detail]
            for c in changes
        ],
    )
    return Reply.of(Message(title="Roster changes (latest first)", table=table))


# ---- changing ---------------------------------------------------------------------------------------------------
def parse_sections(text: str | None) -> tuple[str, ...]:
    """``a;b`` (or ``a, b``) as section names; ``none`` clears."""
    if text is None or text.strip().casefold() in NONE_WORDS:
        return ()
    return tuple(s.strip() for s in text.replace(",", ";").split(";") if s.strip())


def parse_track(text: str | None) -> str | None:
    """A track name, or ``None`` for ``none``."""
    return None if text is None or text.strip().casefold() in NONE_WORDS else text.strip()


def checked(ctx: Context, data: dict[str, Any]) -> PersonInput:
    """The row, validated as a roster CSV row would be (with the same messages)."""
    try:
        row = validate_row(data, ctx.cohort).to_input()
    except ValueError as exc:
        raise UserError(f"That does not fit the roster: {exc}.") from None
    meetings = [ctx.cohort.section(s) for s in row.sections]  # each exists: validate_row checked
    return replace(row, sections=tuple(m.name if m else s for m, s in zip(meetings, row.sections, strict=True)))


async def add(
    ctx: Context,
    name: str | None = None,
    email: str | None = None,
    role: str | None = None,
    track: str | None = None,
    section: str | None = None,
    eligible: bool | None = None,
) -> Reply:
    """Add a person (or put a removed one back), make their join code, link by email where possible, sync."""
    missing = [n for n, v in (("name", name), ("email", email), ("role", role)) if not v]
    if missing:
        raise UserError(f"/roster add needs {', '.join(missing)}.", field=missing[0])
    data = {
        "name": name,
        "email": email,
        "role": role,
        "track": parse_track(track),
        "sections": parse_sections(section),
        "stipend_eligible": True if eligible is None else eligible,
    }
    existing = await ctx.app.people.by_email(str(email))
    if existing is not None and not existing.removed:
        raise UserError(
            f"{existing.email} is already on the roster as {existing.name}; change them with /roster set.",
            field="email",
        )
    wanted = checked(ctx, data)
    restoring = existing is not None
    if existing is not None:  # keep what the command does not set
        wanted = replace(wanted, timezone=existing.timezone, removed=False)
    await ctx.app.people.upsert(wanted, ctx.now)
    person = await ctx.app.people.by_email(wanted.email)
    assert person is not None
    repo = store(ctx.app)
    await repo.record(
        person.id, ctx.now, ctx.person.id, ctx.person.name, "restored" if restoring else "added", describe(person)
    )
    await repo.ensure_codes(ctx.now)
    code = await repo.code_of(person.id)
    linked = []
    for report in await link_by_email(ctx.app, [person]):
        linked += [f"linked to their {report.platform.capitalize()} account by email" for _ in report.linked]
    person = await ctx.app.people.get(person.id) or person
    await sync_people(ctx.app, [person])
    lines = [f"{'Put back' if restoring else 'Added'} **{person.name}** ({describe(person)}), {person.email}."]
    lines += [f"They were {text}." for text in linked]
    if code is not None and not code.used_at:
        lines.append(f"Their join code: `{show_code(code.code)}` (they run `/join code:{show_code(code.code)}`).")
    namesakes = [p for p in await ctx.app.people.by_name(person.name) if p.id != person.id and p.name == person.name]
    if namesakes:  # allowed (people share names), but commands must then tell them apart
        others = ", ".join(f"#{p.id} ({p.email})" for p in namesakes)
        lines.append(
            f"Note: {others} on the roster {'is' if len(namesakes) == 1 else 'are'} also called {person.name}; "
            f"in commands, name this one #{person.id} or by email."
        )
    return Reply.text("\n".join(lines))


async def change(
    ctx: Context,
    person: Person,
    name: str | None = None,
    role: str | None = None,
    track: str | None = None,
    section: str | None = None,
    eligible: bool | None = None,
) -> Reply:
    """Change a person's name, role, track, sections or eligibility; say what changed."""
    if person.removed:
        raise UserError(f"{person.name} was removed from the roster; /roster add with their email puts them back.")
    if all(v is None for v in (name, role, track, section, eligible)):
        raise UserError("/roster set needs something to change: name, role, track, section or eligible.")
    if person.id == ctx.person.id and role is not None and Role.parse(role) < person.role:
        raise UserError("You cannot lower your own role; ask another organizer.", field="role")
    data = {
        "name": name or person.name,
        "email": person.email,
        "role": role or person.role.label,
        "track": parse_track(track) if track is not None else person.track,
        "sections": parse_sections(section) if section is not None else person.sections,
        "timezone": person.timezone,
        "stipend_eligible": person.stipend_eligible if eligible is None else eligible,
    }
    wanted = checked(ctx, data)
    before = {
        "name": person.name,
        "role": person.role.label,
        "track": person.track or "-",
        "section": ";".join(person.sections) or "-",
        "eligible": "yes" if person.stipend_eligible else "no",
    }
    after = {
        "name": wanted.name,
        "role": wanted.role.label,
        "track": wanted.track or "-",
        "section": ";".join(wanted.sections) or "-",
        "eligible": "yes" if wanted.stipend_eligible else "no",
    }
    diff = [f"{k}: {before[k]} → {after[k]}" for k in before if before[k].casefold() != after[k].casefold()]
    if not diff:
        return Reply.text(f"Nothing to change: {person.name} is already {describe(person)}.")
    await ctx.app.people.upsert(wanted, ctx.now)
    await store(ctx.app).record(person.id, ctx.now, ctx.person.id, ctx.person.name, "changed", "; ".join(diff))
    changed = await ctx.app.people.get(person.id)
    assert changed is not None
    await sync_people(ctx.app, [changed])
    return Reply.text(f"Changed **{changed.name}**: " + "; ".join(diff) + ".")


async def remove(ctx: Context, person: Person) -> Reply:
    """Take a person off the roster: no more access, history kept."""
    if person.id == ctx.person.id:
        raise UserError("You cannot remove yourself; ask another organizer.", field="user")
    if person.removed_at is not None:
        raise UserError(f"{person.name} was already removed {timestamp(person.removed_at, 'R')}.", field="user")
    await ctx.app.people.set_removed(person.id, True, ctx.now)
    await store(ctx.app).record(person.id, ctx.now, ctx.person.id, ctx.person.name, "removed", describe(person))
    gone = await ctx.app.people.get(person.id)
    assert gone is not None
    await sync_people(ctx.app, [gone])
    return Reply.text(
        f"Removed **{person.name}** from the roster: they can no longer use the bot, and lose the roles and "
        "reminders that came with it. Their submissions and history stay in the reports and exports. To undo, "
        f'`/roster add name:"{person.name}" email:{person.email} role:{person.role.label}` puts them back.'
    )

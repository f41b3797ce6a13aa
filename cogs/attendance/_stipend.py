"""/stipend and /stipend-adjust: where a scholar stands, a facilitator's hours and pay, everyone's totals."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from bot.cohort import MONEY_RE
from bot.core.commands import Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import PermissionDenied, UserError
from bot.core.messages import Message, MessageField, Reply, Table, timestamp
from bot.core.people import Person
from bot.core.roles import Role
from bot.core.util import article
from cogs.attendance._common import INLINE_ROWS, members
from cogs.attendance._engine import Requirement, Standing, sentence, totals
from cogs.attendance._export import export_stipends
from cogs.attendance._facts import Row, scholars, standings
from cogs.attendance._pay import Pay, add_adjustment, facilitator_pay, hours_text
from cogs.reports import csv_attachment

MAX_ADJUSTMENT = Decimal("100000")
MAX_REASON = 200
STATUS_ICONS = {"qualified": "✅", "on track": "🟢", "at risk": "🟠", "cannot qualify": "🔴", "not eligible": "⚪"}


def signed(money: Callable[[Decimal], str], amount: Decimal) -> str:
    """``+USD 20`` / ``−USD 15.50``."""
    return f"{'+' if amount >= 0 else ''}{money(amount)}"  # money() writes the minus sign


def short(req: Requirement) -> str:
    """``5/6 (miss ≤1)`` for tables."""
    if req.met:
        return f"{req.counted}/{req.needed} ✓"
    if not req.reachable:
        return f"{req.counted}/{req.needed} out of reach"
    return f"{req.counted}/{req.needed} (may miss {req.may_miss} of {req.open})"


def standing_message(ctx: Context, row: Row, *, own: bool) -> Message:
    """One scholar's status in plain words; ``own``: speaking to them."""
    s: Standing = row.standing
    rule = ctx.cohort.stipend
    who = "you" if own else "they"
    name = "Your" if own else f"{row.person.name}'s"
    lines = [
        f"**Sections:** {sentence(s.sections, 'section', who)}",
        f"**Homework:** {sentence(s.homework, 'homework', who)}",
    ]
    if s.sections.waived:
        lines.append(
            f"{s.sections.waived} meeting(s) of {row.section} {'were' if s.sections.waived > 1 else 'was'} cancelled: "
            f"a cancelled meeting never counts against anyone, so {rule.sections_attended - s.sections.waived} "
            f"are needed instead of {rule.sections_attended}."
        )
    amount = rule.money(rule.amount) if rule.amount is not None else "the stipend"
    if not s.eligible:
        lines.insert(
            0,
            f"⚪ **Not eligible to be paid:** the roster marks {'you' if own else 'them'} as not eligible for the "
            f"stipend (in this course only people who may be paid are; ask an organizer if this is wrong). "
            f"{'Your' if own else 'Their'} progress still counts and is shown here.",
        )
    elif s.qualified:
        lines.insert(0, f"✅ **Qualified:** every requirement is met; {amount} will be paid.")
    elif s.status == "cannot qualify":
        lines.insert(0, f"🔴 **Can no longer qualify** for {amount} under the course's rules.")
    elif s.status == "at risk":
        lines.insert(0, f"🟠 **At risk:** {who} can miss no more. {amount} is still within reach.")
    else:
        lines.insert(0, f"🟢 **On track** for {amount}.")
    rules = [f"late homework {'counts' if rule.late_counts else 'does not count'}"]
    if rule.late_counts and rule.late_grace_days is not None:
        rules[0] += f" within {rule.late_grace_days:g} days"
    rules.append(f"an excused absence {'counts as attended' if rule.excused_counts else 'counts as missed'}")
    rules.append("another section's meeting in the same week counts" if rule.makeups_count else "make-ups do not count")
    section = f" ({row.section})" if row.section else " (not in a section)"
    return Message(
        title=f"{name} stipend: {s.status}",
        text="\n".join(lines),
        footer=f"{row.person.name}{section}. Rules: " + "; ".join(rules) + f". As of {timestamp(ctx.now, 'f')}.",
    )


def pay_message(ctx: Context, pay: Pay, *, own: bool) -> Message:
    """A facilitator's hours and pay, meeting by meeting."""
    rule = ctx.cohort.stipend
    rate = f"{rule.money(pay.rate)}/hour" if pay.rate is not None else "no hourly rate set in the cohort file"
    prep = rule.facilitator_prep_minutes
    lines = [
        f"**{len(pay.held)} meeting(s) held** (attendance taken) in {', '.join(pay.sections) or 'no section'}: "
        f"**{hours_text(pay.hours)} hours**"
        + (f", including {prep} minutes of preparation each" if prep else "")
        + f", at {rate}.",
        f"**Pay: {rule.money(pay.base)}**"
        + (f" + adjustments {rule.money(pay.adjusted)} = **{rule.money(pay.total)}**" if pay.adjustments else ""),
    ]
    fields = []
    if pay.held:
        fields.append(
            MessageField(
                name="Meetings",
                value="\n".join(f"week {h.week}, {h.section}: {h.minutes} min" for h in pay.held),
            )
        )
    if pay.adjustments:
        fields.append(
            MessageField(
                name="Adjustments",
                value="\n".join(
                    f"{signed(rule.money, a.amount)}: {a.reason} ({timestamp(a.added_at, 'd')})"
                    for a in pay.adjustments
                ),
            )
        )
    title = "Your hours and pay" if own else f"{pay.person.name}: hours and pay"
    return Message(title=title, text="\n".join(lines), fields=fields)


def scholars_table(rows: list[Row]) -> Table:
    """Name, section, sections, homework, status, amount."""
    return Table(
        headers=["Name", "Section", "Sections", "Homework", "Status"],
        rows=[
            [r.person.name, r.section or "", short(r.standing.sections), short(r.standing.homework), r.standing.status]
            for r in rows
        ],
    )


def totals_text(ctx: Context, rows: list[Row]) -> str:
    """ "12 scholars: 2 qualified, ...; committed USD 1,000; up to USD 4,000"."""
    rule = ctx.cohort.stipend
    t = totals([r.standing for r in rows])
    counts = ", ".join(f"{STATUS_ICONS[k]} {n} {k}" for k, n in t.counts.items())
    text = f"**{t.people} scholar(s):** {counts}."
    if rule.amount is not None:
        text += (
            f"\n**Committed:** {rule.money(t.committed)} to the qualified; up to {rule.money(t.in_reach)} if everyone "
            "still in reach qualifies."
        )
    return text


async def everyone(ctx: Context) -> Reply:
    """The organizer's view: every scholar with totals, and every facilitator's pay."""
    rows = await standings(ctx.app, await scholars(ctx.app), ctx.now)
    pays = await facilitator_pay(ctx.app)
    rule = ctx.cohort.stipend
    message = Message(title="Stipends: everyone", text=totals_text(ctx, rows))
    if pays:
        total = sum((p.total for p in pays), Decimal(0))
        value = "\n".join(
            f"{p.person.name}: {len(p.held)} meeting(s), {hours_text(p.hours)} h, {rule.money(p.total)}" for p in pays
        )
        message.fields.append(MessageField(name=f"Facilitators ({rule.money(total)} in all)", value=value))
    if len(rows) > INLINE_ROWS:
        stamp = ctx.now.astimezone(ctx.cohort.zone).strftime("%Y-%m-%d-%H%M")
        table = await export_stipends(ctx.app, rows=rows, pays=pays)
        message.files.append(csv_attachment(table, f"stipends-{stamp}.csv", "stipends"))
        message.footer = f"{len(rows)} scholars: one row each (and one per facilitator) in the attached file."
    else:
        message.table = scholars_table(rows)
    return Reply.of(message)


async def facilitator_view(ctx: Context) -> Reply:
    """A facilitator's own hours and pay, and where their sections' scholars stand."""
    [pay] = await facilitator_pay(ctx.app, only=ctx.person.id) or [None]
    mine = {p.id: p for s in ctx.own_sections for p in await members(ctx.app, s)}
    rows = await standings(ctx.app, sorted(mine.values(), key=lambda p: p.name.casefold()), ctx.now)
    if pay is not None:
        message = pay_message(ctx, pay, own=True)
    else:
        message = Message(title="Your hours and pay", text="You run no section, so no hours are counted for you.")
    if rows:
        message.fields.append(
            MessageField(name=f"Your scholars ({', '.join(ctx.own_sections)})", value=totals_text(ctx, rows))
        )
        message.table = scholars_table(rows[:INLINE_ROWS])
        if len(rows) > INLINE_ROWS:
            message.footer = f"The first {INLINE_ROWS} of {len(rows)}; one person: /stipend user:<name>."
    return Reply.of(message)


@command(
    "stipend",
    "Where you stand for the stipend; facilitators: your hours and pay; organizers: everyone.",
    Option("user", "Someone else (facilitators: your sections' scholars; organizers: anyone)", OptionType.PERSON),
)
async def stipend(ctx: Context, user: Person | None = None) -> Reply:
    """The asker's own status or pay, one person's (if allowed), or everyone's with totals (organizers)."""
    if user is not None and user.id != ctx.person.id:
        if ctx.role < Role.FACILITATOR:
            raise PermissionDenied("Scholars can see only their own stipend: run /stipend without a user.")
        if user.role != Role.SCHOLAR and ctx.role < Role.ORGANIZER:
            raise PermissionDenied(
                f"Only organizers see someone else's pay, and {user.name} is {article(user.role.label)}: facilitators "
                "see their own scholars' stipends and their own pay."
            )
        ctx.require_person(user)
        return await one_person(ctx, user)
    if user is None and ctx.role >= Role.ORGANIZER:
        return await everyone(ctx)
    if ctx.role >= Role.FACILITATOR:
        return await facilitator_view(ctx)
    return await one_person(ctx, ctx.person)


async def one_person(ctx: Context, person: Person) -> Reply:
    """A scholar's standing, or a facilitator's pay."""
    own = person.id == ctx.person.id
    if person.role == Role.SCHOLAR:
        [row] = await standings(ctx.app, [person], ctx.now)
        return Reply.of(standing_message(ctx, row, own=own))
    pays = await facilitator_pay(ctx.app, only=person.id)
    if not pays:
        raise UserError(
            f"{person.name} is {article(person.role.label)} and runs no section: no stipend or pay is counted."
        )
    return Reply.of(pay_message(ctx, pays[0], own=own))


def parse_amount(text: str, currency: str) -> Decimal:
    """``20``, ``+20``, ``-15.50``, ``USD 20`` -> a non-zero amount within :data:`MAX_ADJUSTMENT`."""
    raw = text.strip()
    sign = -1 if raw.startswith(("-", "−")) else 1
    raw = raw.lstrip("+-−").strip()
    match = MONEY_RE.match(raw)
    code = (match.group(1) or match.group(3) or "").upper() if match else ""
    try:
        value = Decimal(match.group(2).replace(",", "")) * sign if match else None
    except InvalidOperation:
        value = None
    if value is None or (code and code != currency):
        raise UserError(f"amount must be a number in {currency}, like 20 or -15.50, not {text!r}.", field="amount")
    if value == 0 or abs(value) > MAX_ADJUSTMENT or value != value.quantize(Decimal("0.01")):
        raise UserError(
            f"amount must be non-zero, at most {MAX_ADJUSTMENT:,} either way, with at most 2 decimals.", field="amount"
        )
    return value


@command(
    "stipend-adjust",
    "Organizers: add to (or take from) a facilitator's pay, with the reason.",
    Option("user", "Which facilitator", OptionType.PERSON, required=True, removed_ok=True),
    Option(
        "amount",
        "How much, in the cohort's currency (negative to take off)",
        OptionType.STRING,
        required=True,
        max_length=40,
    ),
    Option("reason", "Why (kept with the adjustment)", OptionType.STRING, required=True, max_length=MAX_REASON),
    min_role=Role.ORGANIZER,
)
async def stipend_adjust(ctx: Context, user: Person, amount: str, reason: str) -> Reply:
    """Record an adjustment; answer with the new total."""
    rule = ctx.cohort.stipend
    value = parse_amount(amount, rule.currency)
    if not reason.strip():
        raise UserError("Give the reason for the adjustment.", field="reason")
    before = await facilitator_pay(ctx.app, only=user.id)
    if not before:
        raise UserError(f"{user.name} runs no section, so there is no facilitator pay to adjust.", field="user")
    if before[0].total + value < 0:
        raise UserError(
            f"That would make {user.name}'s pay {rule.money(before[0].total + value)}: pay cannot go below zero. "
            f"Their pay is {rule.money(before[0].total)} now; take off at most that much.",
            field="amount",
        )
    await add_adjustment(ctx.app, user.id, value, reason.strip(), ctx.person.id, ctx.now)
    [pay] = await facilitator_pay(ctx.app, only=user.id)
    return Reply.text(
        f"Recorded {signed(rule.money, value)} for {user.name} ({reason.strip()}). Their pay is now "
        f"{rule.money(pay.total)} ({hours_text(pay.hours)} h at {rule.money(pay.rate)}/hour + adjustments "
        f"{rule.money(pay.adjusted)}).",
        title="Pay adjusted",
    )


COMMANDS = (stipend, stipend_adjust)

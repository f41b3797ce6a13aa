"""``/announce`` (preview, then Send or Cancel), ``/announcements`` (the list, one's delivery, Cancel, Retry failed).

Every handler checks everything first and writes last, so a refusal (a :class:`UserError`) changes nothing. The
buttons run hidden commands (``announce send|cancel|retry``) as the person who clicks, with the same checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.core.commands import Command, Handler, Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import PermissionDenied, UserError
from bot.core.messages import Action, Button, Form, FormField, Message, MessageField, Reply, Table, timestamp
from bot.core.roles import Role
from bot.core.util import plural
from cogs.announcements._audience import (
    Audience,
    channel_for,
    check_allowed,
    default_audience,
    members,
    parse_to,
    suggest_to,
    unreachable,
)
from cogs.announcements._delivery import go_out, recheck, requeue
from cogs.announcements._messages import (
    MAX_MESSAGE,
    announcement_message,
    counted,
    group,
    preview,
    reason_lines,
    summary,
)
from cogs.announcements._outbox import counts, on_hold, retry_failed
from cogs.announcements._store import Announcement, NewAnnouncement, repo

PREVIEW_VALID = timedelta(hours=1)  # a preview's Send and Cancel buttons work this long
HOLD = "Nothing is lost: what is queued goes out, once each, as soon as the platform answers again."
RECENT = 10


# ---- /announce ------------------------------------------------------------------------------------------------
def message_form(audience: Audience, how: str, fixed: dict[str, str]) -> Form:
    """Ask for the message (a long text is easier to write in a form than in a command)."""
    return Form(
        title="Announcement",
        command="announce",
        intro=f"To {audience.label}, {how}. You will see a preview before anything is sent.",
        fields=[
            FormField(
                name="message",
                label="Your announcement",
                long=True,
                max_length=MAX_MESSAGE,
                placeholder="**bold** and [links](https://…) work",
            )
        ],
        fixed=fixed,
    )


@command(
    "announce",
    "Tell everyone, a role, a track, a section or some people (a preview with Send and Cancel first).",
    Option(
        "message",
        f"What to say (up to {MAX_MESSAGE} characters; **bold** and [links](https://…) work)",
        OptionType.STRING,
        max_length=MAX_MESSAGE,
    ),
    Option(
        "to",
        "all (the default), scholars, facilitators, organizers, track:<t>, section:<s> or people:<names>",
        OptionType.STRING,
        autocomplete=suggest_to,
    ),
    Option("dm", "true: a DM to each person; false (default): one post in their channel", OptionType.BOOLEAN),
    Option("at", "Send it later, at this time (yours, e.g. 2026-01-20 18:00); default: now", OptionType.DATETIME),
    Option("ping", "Notify everyone in the channel (default: false, nobody is mentioned)", OptionType.BOOLEAN),
    min_role=Role.FACILITATOR,
)
async def announce(
    ctx: Context,
    message: str | None = None,
    to: str | None = None,
    dm: bool | None = None,
    at: datetime | None = None,
    ping: bool = False,
) -> Reply:
    """Check, resolve the audience, store a draft and show the preview (nothing is queued until Send)."""
    audience = await parse_to(ctx, to) if to else default_audience(ctx)
    check_allowed(ctx, audience)
    if dm is None:
        dm = audience.kind == "people"
    elif not dm and audience.kind == "people":
        raise UserError("An announcement to chosen people goes to each of them by DM: leave dm out, or dm:true.")
    channel = None if dm else channel_for(ctx.cohort, audience)
    how = "by DM to each person" if dm else f"posted in #{channel}"
    if at is not None and at <= ctx.now:
        raise UserError(f"at: {timestamp(at, 'F')} has already passed; give a later time, or leave at out.", field="at")
    if message is None:
        fixed = {"to": to or audience.spec, "dm": str(dm).lower(), "ping": str(ping).lower()}
        if at is not None:
            fixed["at"] = at.isoformat()
        return Reply.ask(message_form(audience, how, fixed))
    text = message.strip()
    if not text:
        raise UserError("The message is empty: write what to announce.", field="message")
    people = await members(ctx.app, audience)
    if not people:
        raise UserError(f"Nobody is in {audience.label} yet, so there is no one to tell.", field="to")
    reasons = await unreachable(ctx.app, people)
    if len(reasons) == len(people):
        raise UserError(
            f"None of the {len(people)} people in {audience.label} can be reached here: "
            f"{counted(Counter(reasons.values()))}. Nothing to send.",
            field="to",
        )

    announcement = announcement_message(
        ctx.person.name, ctx.cohort.program, audience.label, text, ping=bool(ping) and not dm
    )
    send_at = at or ctx.now
    scheduled = at is not None
    new = NewAnnouncement(ctx.person.id, audience.spec, audience.label, announcement, dm, channel, send_at, scheduled)
    announcement_id = await repo(ctx.app).create_draft(new, [p.id for p in people], ctx.now)
    shown = preview(
        announcement,
        label=audience.label,
        how=how,
        audience=people,
        unreachable=reasons,
        send_at=send_at,
        scheduled=scheduled,
        ping_asked=bool(ping),
        dm=dm,
    )
    hold = on_hold(ctx.app)
    if hold:
        shown.fields.append(MessageField(name="On hold", value=f"{hold}. {HOLD}"))
    expires = ctx.now + PREVIEW_VALID
    options = {"id": str(announcement_id)}
    send_now = Action(command="announce send", options=options, expires=expires)
    drop = Action(command="announce cancel", options=options, expires=expires)
    shown.actions = [
        Button(label="Send", style="primary", action=send_now),
        Button(label="Cancel", style="danger", action=drop),
    ]
    return Reply.of(shown, private=True)


# ---- the buttons --------------------------------------------------------------------------------------------
def button_command(name: str, description: str) -> Callable[[Handler], Command]:
    """A command only this feature's buttons run, on one announcement (option ``id``), as the clicker."""
    option = Option("id", "The announcement", OptionType.INTEGER, required=True)
    return command(name, description, option, min_role=Role.FACILITATOR, hidden=True)


def already(a: Announcement) -> str:
    """Why a Send or Cancel no longer applies: what has happened to the announcement instead."""
    if a.state == "scheduled":
        return (
            f"Announcement #{a.id} is already scheduled for {timestamp(a.send_at, 'F')}; "
            f"to stop it, use Cancel in /announcements id:{a.id}."
        )
    if a.state in ("sending", "done"):
        when = timestamp(a.started_at or a.send_at, "F")
        return f"Announcement #{a.id} was already sent ({when}); it is never sent twice. See /announcements id:{a.id}."
    if a.state == "cancelled":
        when = timestamp(a.cancelled_at, "F") if a.cancelled_at else "earlier"
        return f"Announcement #{a.id} was cancelled ({when}), so nothing was sent. Run /announce again to send it."
    return f"Announcement #{a.id} has not been sent."


async def get_announcement(ctx: Context, announcement_id: int, *, author_only: bool = False) -> Announcement:
    """The announcement, if this person may act on it: its author, or (unless ``author_only``) an organizer."""
    a = await repo(ctx.app).get(announcement_id)
    if a is None:
        raise UserError(f"There is no announcement #{announcement_id}. /announcements lists them.", field="id")
    mine = a.author_id == ctx.person.id
    if not mine and (author_only or ctx.role < Role.ORGANIZER):
        raise PermissionDenied(f"Announcement #{a.id} is not yours: only its author (or an organizer) may do that.")
    return a


@button_command("announce send", "Send a previewed announcement.")
async def send(ctx: Context, id: int) -> Reply:
    """Send now, or schedule; refused if it was already sent or cancelled."""
    store = repo(ctx.app)
    a = await get_announcement(ctx, id, author_only=True)
    if a.state != "draft":
        raise UserError(already(a))
    if a.scheduled:
        if a.send_at <= ctx.now:
            raise UserError(
                f"The time you chose, {timestamp(a.send_at, 'F')}, has passed since the preview. Run /announce again "
                "with a later at: (or without it, to send now)."
            )
        if not await store.move(a.id, ["draft"], "scheduled", confirmed_at=ctx.now):
            raise UserError(already(await store.get(a.id) or a))
        ctx.app.schedule_changed()  # its job is installed now, not at the next periodic re-plan
        text = (
            f"Scheduled: announcement #{a.id} to {a.label} goes out {timestamp(a.send_at, 'F')} "
            f"({timestamp(a.send_at, 'R')}), {a.how}. You will get a delivery report then. "
            f"To cancel it before then: /announcements id:{a.id}."
        )
        return Reply(message=Message(title="📣 Announcement scheduled", text=text), replace=True)
    if not await go_out(ctx.app, a.id, "draft"):
        raise UserError(already(await store.get(a.id) or a))
    size = await store.size(a.id)
    missed = len(await store.unreachable(a.id))
    text = (
        f"Sent: announcement #{a.id} to {a.label} is on its way to {size - missed} of {size}, {a.how}. "
        f"I will DM you a delivery report when it is done; meanwhile /announcements id:{a.id}."
    )
    return Reply(message=Message(title="📣 Announcement sent", text=text), replace=True)


@button_command("announce cancel", "Cancel an announcement before it goes out.")
async def cancel(ctx: Context, id: int) -> Reply:
    """Drop a preview, or cancel a scheduled announcement before its time."""
    store = repo(ctx.app)
    a = await get_announcement(ctx, id, author_only=False)
    if a.state == "scheduled" and a.send_at <= ctx.now and a.id not in await store.missed([a.id]):
        raise UserError(f"Announcement #{a.id} is due now ({timestamp(a.send_at, 'F')}) and going out; too late.")
    if a.state not in ("draft", "scheduled"):
        raise UserError(already(a))
    if not await store.move(a.id, [a.state], "cancelled", cancelled_at=ctx.now, cancelled_by=ctx.person.id):
        raise UserError(already(await store.get(a.id) or a))
    if a.state == "scheduled":
        ctx.app.schedule_changed()  # its job goes (it would find the announcement cancelled anyway)
    if a.state == "draft":
        text = f"Cancelled: announcement #{a.id} was not sent, and nothing was queued."
    else:
        text = f"Cancelled: announcement #{a.id} to {a.label} will not go out {timestamp(a.send_at, 'F')}."
    return Reply(message=Message(title="📣 Announcement cancelled", text=text), replace=True)


@button_command("announce retry", "Try an announcement's failed deliveries again.")
async def retry(ctx: Context, id: int) -> Reply:
    """Queue the failed rows again, and anyone unreachable who can be reached now; a new report follows."""
    store = repo(ctx.app)
    a = await get_announcement(ctx, id)
    if a.state not in ("sending", "done"):
        raise UserError(f"Announcement #{a.id} has not gone out, so there is nothing to retry.")
    rechecked = await recheck(ctx.app, a)
    async with ctx.app.db.transaction():
        again = await retry_failed(ctx.app, a.id)
        again += await requeue(ctx.app, a, rechecked)
        if not again:
            raise UserError(
                f"Nothing to retry for announcement #{a.id}: no delivery failed, and nobody it could not reach can "
                "be reached now (they would need to link an account)."
            )
        await store.move(a.id, ["sending", "done"], "sending", round=a.round + 1, done_at=None)
    text = f"Trying {again} delivery(ies) of announcement #{a.id} again; a new delivery report follows."
    return Reply(message=Message(title="📣 Retrying", text=text), replace=True)


# ---- /announcements -----------------------------------------------------------------------------------------
async def status_text(ctx: Context, a: Announcement) -> str:
    """One line of where it stands, for the list."""
    if a.state == "scheduled":
        return "scheduled"
    if a.state == "cancelled":
        return "cancelled"
    c = await counts(ctx.app, a.id)
    size = await repo(ctx.app).size(a.id)
    if not a.dm:
        return "posted" if c.delivered else ("failed" if c.failed else "posting")
    return f"{'sending' if a.state == 'sending' else 'done'}: {c.delivered}/{size} reached"


@command(
    "announcements",
    "Scheduled and recent announcements; with id, one's delivery (delivered, pending, failed and why).",
    Option("id", "An announcement's number, for its details", OptionType.INTEGER, min_value=1),
    min_role=Role.FACILITATOR,
)
async def announcements(ctx: Context, id: int | None = None) -> Reply:
    """The list (organizers: all; facilitators: their own), or one announcement in detail."""
    if id is not None:
        return await details(ctx, id)
    mine = None if ctx.role >= Role.ORGANIZER else ctx.person.id
    scheduled, recent = await repo(ctx.app).listing(mine, RECENT)
    if not scheduled and not recent:
        return Reply.text("No announcements yet. /announce makes one (you see a preview first).")
    fields = []
    if scheduled:
        missed = await repo(ctx.app).missed(a.id for a in scheduled)
        lines = [
            f"**#{a.id}** {timestamp(a.send_at, 'F')} ({timestamp(a.send_at, 'R')}): to {a.label}, {a.how}"
            + (" (**missed**: the bot was down then)" if a.id in missed else "")
            for a in scheduled
        ]
        fields.append(MessageField(name="Scheduled", value="\n".join(lines)))
    table = None
    if recent:
        rows = [
            [
                f"#{a.id}",
                timestamp(a.started_at or a.cancelled_at or a.send_at),
                a.label,
                a.how,
                await status_text(ctx, a),
            ]
            for a in recent
        ]
        table = Table(headers=["#", "when", "to", "how", "status"], rows=rows)
    whose = "" if mine is None else "Yours only. "
    return Reply.of(
        Message(
            title="📣 Announcements",
            text=f"{whose}{len(scheduled)} scheduled; the {len(recent)} most recent below. "
            "/announcements id:<n> shows one's delivery, with Cancel and Retry failed.",
            fields=fields,
            table=table,
        )
    )


def state_text(a: Announcement, canceller: str | None, missed: str | None) -> str:
    """Where the announcement stands, in a sentence."""
    if a.state == "draft":
        return "A preview that was never sent."
    if a.state == "scheduled":
        if missed:
            return f"It was missed: {missed}. Run /announce again to send it."
        return f"Scheduled for {timestamp(a.send_at, 'F')} ({timestamp(a.send_at, 'R')}), {a.how}."
    if a.state == "cancelled":
        when = timestamp(a.cancelled_at or a.send_at, "F")
        if a.cancelled_by is None:  # by the bot, at its time (see _delivery.go_out)
            return f"Not sent {when}: its author is no longer on the roster, so it was cancelled; nothing was sent."
        return f"Cancelled {when} by {canceller or 'someone'}; nothing was sent."
    started = timestamp(a.started_at or a.send_at, "F")
    if a.state == "sending":
        return f"Going out since {started}, {a.how}."
    return f"Sent {started}, {a.how}; finished {timestamp(a.done_at or a.send_at, 'F')}."


async def details(ctx: Context, announcement_id: int) -> Reply:
    """One announcement: the message, its state, delivered/pending/failed with reasons, Cancel and Retry failed."""
    app = ctx.app
    store = repo(app)
    a = await get_announcement(ctx, announcement_id)
    size = await store.size(a.id)
    missed_reasons = await store.unreachable(a.id)
    c = await counts(app, a.id)
    failed_ids = [p for ids in c.failed_people.values() for p in ids]
    wanted = {*missed_reasons, *failed_ids, *(x for x in (a.author_id, a.cancelled_by) if x is not None)}
    people = await app.people.get_many(wanted)
    skipped = (await store.missed([a.id])).get(a.id)
    canceller = people[a.cancelled_by].name if a.cancelled_by in people else None
    author = people[a.author_id].name if a.author_id in people else "someone no longer on the roster"
    fields = [
        MessageField(name="Status", value=state_text(a, canceller, skipped)),
        MessageField(name="To", value=f"{a.label} ({plural(size, 'person', 'people')}), by {author}"),
    ]
    if a.state in ("sending", "done"):
        if a.dm:
            line = (
                f"delivered **{c.delivered}** · pending **{c.pending}** · failed **{c.failed}** · "
                f"not reachable **{len(missed_reasons)}** (of {size})"
            )
        else:
            line = summary(a, c, Counter(missed_reasons.values()), size)
        fields.append(MessageField(name="Delivery", value=line))
        if c.failed_people:
            by_reason = {
                r: [people[i].name if i in people else f"#{i}" for i in ids] for r, ids in c.failed_people.items()
            }
            fields.append(MessageField(name="Failed", value=reason_lines(by_reason)))
        elif c.post_error:
            fields.append(MessageField(name="Failed", value=c.post_error))
    if missed_reasons:
        fields.append(MessageField(name="Not reachable", value=reason_lines(group(missed_reasons, people))))
    hold = on_hold(app)
    if hold and (c.pending or a.state == "scheduled"):
        fields.append(MessageField(name="On hold", value=f"{hold}. {HOLD}"))
    actions = []
    options = {"id": str(a.id)}
    if a.state == "scheduled" and (a.send_at > ctx.now or skipped):
        stop = Action(command="announce cancel", options=options)
        actions.append(Button(label="Cancel", style="danger", action=stop))
    if a.state in ("sending", "done") and (c.failed or (a.dm and missed_reasons)):
        actions.append(Button(label="Retry failed", action=Action(command="announce retry", options=options)))
    return Reply.of(
        Message(
            title=f"📣 Announcement #{a.id} to {a.label}",
            text=a.message.text,
            fields=fields,
            actions=actions,
        )
    )


COMMANDS = (announce, send, cancel, retry, announcements)

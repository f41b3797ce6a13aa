"""``/join``: link your own account to your place on the roster.

* ``/join code:<code>``: the personal code from the invitation links the account at once. A code works once; a
  wrong one is refused and counted: an account may type ``roster.join_code_tries`` wrong codes per hour.
* ``/join email:<address>``: asks the organizers (their private channel, or DMs) to approve, with Approve and
  Deny buttons (the hidden commands ``join approve`` and ``join deny``, organizers only). Nothing tells the
  asker whether the email is on the roster; the organizers see it. One request at a time per account, at most
  :data:`REQUESTS_PER_DAY` a day. An approval is sent to the person by DM; ``/join`` alone shows where a request
  stands.
* An account already linked to someone on the roster cannot be linked to anyone else this way, and a code never
  moves a place that is linked already (an organizer's approval can).

It is open to ``anyone`` (people not on the roster yet get a guest context).
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.commands import Option, OptionType, command
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.messages import Action, Button, Message, MessageField, Reply, timestamp
from bot.core.people import Person
from bot.core.platform import DMTarget
from bot.core.roles import Role
from bot.roster import EMAIL_RE
from cogs.roster._common import IdentityTaken, describe, link_account, tell_organizers
from cogs.roster._store import JoinRequest, store

TRIES_WINDOW = timedelta(hours=1)
REQUESTS_PER_DAY = 3
CODE_HINT = "Codes look like ABCD-EFGH-JK"


def welcome(ctx: Context, person: Person) -> str:
    """What someone just linked is told."""
    return (
        f"Welcome, **{person.name}**! This {ctx.actor.caps.label} account is now linked to your place on the roster "
        f"of {ctx.cohort.program} ({describe(person)}). Try /help to see what you can do."
    )


@command(
    "join",
    "Link your account to the roster: the code from your invitation, or your email (an organizer OKs it).",
    Option("code", "Your personal join code, from your invitation", max_length=40),
    Option("email", "The email you signed up with (an organizer confirms it)", max_length=254),
    min_role=None,
    anyone=True,
)
async def join(ctx: Context, code: str | None = None, email: str | None = None) -> Reply:
    """Link the asker's account with a code, ask organizers to approve an email, or say where things stand."""
    if not ctx.guest:
        found = await store(ctx.app).find_code(code) if code else None
        mine = (found is not None and found.person_id == ctx.person.id) or (
            email is not None and email.strip().casefold() == ctx.person.email.casefold()
        )
        if (code or email) and not mine:
            raise UserError(
                f"This account is already linked to **{ctx.person.name}** on the roster, so it cannot be linked to "
                "anyone else. If that is wrong, ask an organizer."
            )
        return Reply.text(f"You're all set: this account is linked to **{ctx.person.name}** ({describe(ctx.person)}).")
    if code and email:
        raise UserError("Give either your code or your email, not both.", field="email")
    if code:
        return await join_with_code(ctx, code)
    if email:
        return await ask_to_join(ctx, email)
    return await join_status(ctx)


async def join_with_code(ctx: Context, code: str) -> Reply:
    """``/join code:``: check the tries left, then the code; link at once."""
    repo = store(ctx.app)
    platform, user_id = ctx.actor.platform, ctx.actor.user_id
    limit = ctx.cohort.roster.join_code_tries
    tries = await repo.wrong_tries(platform, user_id, ctx.now - TRIES_WINDOW)
    if len(tries) >= limit:
        again = tries[-limit] + TRIES_WINDOW
        raise UserError(
            f"Too many wrong codes from this account: try again {timestamp(again, 'R')} ({timestamp(again, 't')}), "
            "or use `/join email:<address>` to ask the organizers.",
            field="code",
        )
    found = await repo.find_code(code)
    person = await ctx.app.people.get(found.person_id) if found else None
    problem = None
    if found is None or person is None:
        problem = f"That code is not right. {CODE_HINT}; check your invitation."
    elif found.used_at is not None:
        problem = "That code has already been used. If that was not you, tell an organizer."
    elif person.removed:
        problem = "That code belongs to someone no longer on the roster. Ask an organizer."
    if problem is not None or person is None or found is None:
        await repo.add_wrong_try(platform, user_id, ctx.now)
        left = limit - len(tries) - 1
        more = f" You can try {left} more time{'s' if left != 1 else ''} this hour." if left else ""
        raise UserError(f"{problem}{more}", field="code")
    if person.platform_id(platform):  # a code never moves a place that is linked already (an organizer can)
        raise UserError(
            f"That place on the roster is already linked to another {ctx.actor.caps.label} account. If that account "
            "is not yours, ask the organizers with `/join email:<address>`.",
            field="code",
        )
    async with ctx.app.db.transaction():
        if not await repo.spend_code(found.code, f"{platform}:{user_id}", ctx.now):
            raise UserError("That code has already been used. If that was not you, tell an organizer.", field="code")
        try:
            linked = await link_account(ctx.app, person, platform, user_id, by=None, by_text="join code")
        except IdentityTaken as exc:
            raise UserError(f"This account is already linked to {exc.holder} on the roster.") from None
    return Reply.text(welcome(ctx, linked))


async def ask_to_join(ctx: Context, email: str) -> Reply:
    """``/join email:``: one pending request per account, a few a day; the organizers get Approve/Deny."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise UserError(f"{email!r} is not an email address.", field="email")
    repo = store(ctx.app)
    platform, user_id = ctx.actor.platform, ctx.actor.user_id
    recent = await repo.requests_of(platform, user_id, ctx.now - timedelta(days=1))
    pending = next((r for r in recent if r.state == "pending"), None)
    if pending is not None:
        raise UserError(
            f"You already asked {timestamp(pending.created_at, 'R')} (as {pending.email}); an organizer will answer. "
            "You'll get a message from me when they do."
        )
    if len(recent) >= REQUESTS_PER_DAY:
        raise UserError(f"You have asked {len(recent)} times today; please wait a day. {ctx.cohort.contact}")
    request_id = await repo.add_request(platform, user_id, ctx.actor.display_name, email, ctx.now)
    request = await repo.request(request_id)
    assert request is not None
    told = await tell_organizers(ctx.app, f"join-request:{request_id}", await request_message(ctx, request))
    text = (
        f"Thanks! I've asked the organizers to confirm that this account belongs to **{email}**. "
        "You'll get a message from me when they do."
    )
    if not told:
        text += f" (I could not reach any organizer myself: {ctx.cohort.contact})"
    return Reply.text(text)


async def request_message(ctx: Context, request: JoinRequest) -> Message:
    """What organizers see: who asks, as whom, what the roster says, and the buttons."""
    person = await ctx.app.people.by_email(request.email)
    if person is None:
        roster = "Nobody with this email is on the roster: add them first with `/roster add`, then approve."
    elif person.removed_at is not None:
        roster = f"{person.name} was removed from the roster {timestamp(person.removed_at, 'D')}."
    elif person.platform_id(request.platform):
        roster = (
            f"{person.name} ({describe(person)}), already linked to another account "
            f"({person.platform_id(request.platform)}): approving moves the link to this one."
        )
    else:
        roster = f"{person.name} ({describe(person)}), not linked yet."
    return Message(
        title="Join request",
        text=f"**{request.display_name or 'Someone'}** asks to join as **{request.email}**.",
        fields=[
            MessageField(
                name="Account", value=f"{request.display_name or '?'} ({ctx.actor.caps.label} {request.user_id})"
            ),
            MessageField(name="On the roster", value=roster),
        ],
        footer=f"Request {request.id}, {timestamp(request.created_at)}",
        actions=decision_buttons(request.id),
    )


def decision_buttons(request_id: int, numbered: bool = False) -> list[Button]:
    """Approve and Deny for a request (``numbered``: with its number in the labels, for a list of several)."""
    options = {"request": str(request_id)}
    suffix = f" #{request_id}" if numbered else ""
    return [
        Button(label=f"Approve{suffix}", style="success", action=Action(command="join approve", options=options)),
        Button(label=f"Deny{suffix}", style="danger", action=Action(command="join deny", options=options)),
    ]


async def request_line(ctx: Context, request: JoinRequest) -> str:
    """One line about a waiting request, for the roster's overview."""
    person = await ctx.app.people.by_email(request.email)
    who = f"on the roster as {person.name}" if person is not None and not person.removed else "not on the roster"
    return (
        f"#{request.id} {request.display_name or request.user_id} as {request.email} ({who}), "
        f"{timestamp(request.created_at, 'R')}"
    )


async def join_status(ctx: Context) -> Reply:
    """``/join`` alone: the latest request's state, or how to join."""
    latest = await store(ctx.app).latest_request(ctx.actor.platform, ctx.actor.user_id)
    usage = (
        "Run `/join code:<code>` with the code from your invitation, or `/join email:<address>` with the email "
        "you signed up with (an organizer confirms it)."
    )
    if latest is None:
        return Reply.text(usage)
    when = timestamp(latest.decided_at or latest.created_at, "R")
    if latest.state == "pending":
        return Reply.text(f"Your request to join as {latest.email} ({when}) is waiting for an organizer.")
    if latest.state == "denied":
        return Reply.text(f"Your request to join as {latest.email} was declined {when}. {ctx.cohort.contact}")
    return Reply.text(usage)


async def pending_request(ctx: Context, request_id: int) -> JoinRequest:
    """The request, if it still waits for a decision (else a :class:`UserError` saying who decided when)."""
    request = await store(ctx.app).request(request_id)
    if request is None:
        raise UserError(f"There is no join request {request_id}.")
    if request.state != "pending":
        by = await ctx.app.people.get(request.decided_by) if request.decided_by else None
        when = timestamp(request.decided_at or request.created_at, "R")
        raise UserError(f"That request was already {request.state} by {by.name if by else 'an organizer'} {when}.")
    return request


@command(
    "join approve",
    "Approve a join request.",
    Option("request", "The request's number", OptionType.INTEGER, required=True, min_value=1),
    min_role=Role.ORGANIZER,
    hidden=True,
)
async def approve(ctx: Context, request: int) -> Reply:
    """Link the request's account to the roster person with its email, tell them, and update the message."""
    found = await pending_request(ctx, request)
    person = await ctx.app.people.by_email(found.email)
    if person is None:
        raise UserError(
            f"Nobody with {found.email} is on the roster. Add them with `/roster add email:{found.email} ...` "
            "first, then press Approve again (or Deny)."
        )
    if person.removed:
        raise UserError(f"{person.name} was removed from the roster; add them again with `/roster add` first.")
    holder = await ctx.app.people.by_platform(found.platform, found.user_id)
    if holder is not None:
        raise UserError(
            f"That account is already linked to {holder.name}"
            + (" (nothing to approve)." if holder.id == person.id else "; it cannot be linked to someone else.")
        )
    async with ctx.app.db.transaction():
        if not await store(ctx.app).decide(found.id, "approved", ctx.person.id, ctx.now):
            raise UserError("Someone decided on that request a moment ago.")
        try:
            linked = await link_account(ctx.app, person, found.platform, found.user_id, by=ctx.person, by_text="")
        except IdentityTaken as exc:
            raise UserError(f"That account is already linked to {exc.holder}.") from None
    welcome_text = (
        f"Welcome, **{linked.name}**! An organizer approved your request: your {ctx.actor.caps.label} account is now "
        f"linked to your place on the roster of {ctx.cohort.program} ({describe(linked)}). Try /help."
    )
    await ctx.app.outbox.enqueue(f"join-approved:{found.id}", DMTarget(linked.id), Message(text=welcome_text))
    return decided(
        f"✅ Approved by {ctx.person.name}: {found.display_name or found.user_id} is now **{linked.name}** "
        f"({describe(linked)}).",
        found,
    )


@command(
    "join deny",
    "Deny a join request.",
    Option("request", "The request's number", OptionType.INTEGER, required=True, min_value=1),
    min_role=Role.ORGANIZER,
    hidden=True,
)
async def deny(ctx: Context, request: int) -> Reply:
    """Decline the request (the asker sees it with ``/join``) and update the message."""
    found = await pending_request(ctx, request)
    if not await store(ctx.app).decide(found.id, "denied", ctx.person.id, ctx.now):
        raise UserError("Someone decided on that request a moment ago.")
    return decided(f"❌ Denied by {ctx.person.name}: {found.display_name or found.user_id} as {found.email}.", found)


def decided(text: str, request: JoinRequest) -> Reply:
    """The request's message, replaced by its outcome (buttons gone)."""
    return Reply(
        message=Message(title="Join request", text=text, footer=f"Request {request.id}"), replace=True, private=False
    )

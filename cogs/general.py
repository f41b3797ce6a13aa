"""General commands: /help and /timezone."""

from __future__ import annotations

from bot.app import CohortBot
from bot.core.commands import Option, OptionType, command, declared
from bot.core.context import Context
from bot.core.messages import Message, MessageField, Reply
from bot.core.roles import Role


@command("help", "What I can do here, for your role.", min_role=None)
async def help_(ctx: Context) -> Reply:
    """List the commands the asking person may run, with usage."""
    allowed = [c for c in ctx.app.registry if c.listed_for(ctx.role)]
    lines = [f"`{c.usage_for(ctx.actor.caps)}`\n{c.description}" for c in allowed]
    sections = ""
    if ctx.role >= Role.FACILITATOR and ctx.own_sections:
        sections = f" You run: {', '.join(ctx.own_sections)}."
    return Reply.of(
        Message(
            title=f"{ctx.app.cohort.program}: what you can do",
            text=f"You are **{ctx.person.name}** ({ctx.role.label}).{sections}\n\n" + "\n\n".join(lines),
            footer=f"Times are shown in {ctx.zone.key}; change it with /timezone.",
        )
    )


@command(
    "timezone",
    "Set your time zone, so times are shown in your local time.",
    Option("zone", "An IANA zone such as Europe/Berlin", OptionType.ZONE, required=True),
)
async def timezone(ctx: Context, zone: str) -> Reply:
    """Store the person's zone (validated by the option type, with a suggestion for near misses)."""
    await ctx.app.people.set_timezone(ctx.person.id, zone, ctx.now)
    from zoneinfo import ZoneInfo

    local = ctx.now.astimezone(ZoneInfo(zone))
    return Reply.of(
        Message(
            text=f"Your time zone is now **{zone}** (it is {local:%H:%M} there).",
            fields=[MessageField(name="Times in my messages", value="are now shown in this zone where I can.")],
        )
    )


def setup(app: CohortBot) -> None:
    """Register this feature's commands."""
    for c in declared(globals()):
        app.registry.add(c)

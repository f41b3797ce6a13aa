"""/outbox (organizers): what the bot has queued, sent and failed to send on its own, and why."""

from __future__ import annotations

from bot.app import CohortBot
from bot.core.commands import Option, OptionType, command, declared
from bot.core.context import Context
from bot.core.messages import Message, MessageField, Reply, Table, timestamp
from bot.core.roles import Role

STATES = ("pending", "sending", "sent", "failed", "skipped")


@command(
    "outbox",
    "What I have queued, sent and failed to send on my own (organizers).",
    Option("failures", "How many recent failures to list (default 10)", OptionType.INTEGER, min_value=0, max_value=50),
    min_role=Role.ORGANIZER,
)
async def outbox(ctx: Context, failures: int | None = None) -> Reply:
    """Counts by state, the next item due, and the latest failures with their reasons (always private)."""
    counts = await ctx.app.outbox.counts()
    summary = ", ".join(
        f"{counts.get(s, 0)} {s}" for s in STATES if counts.get(s) or s in ("pending", "sent", "failed")
    )
    fields = []
    pending = await ctx.app.outbox.items("pending", limit=1000)
    if pending:
        nxt = min(pending, key=lambda i: i.not_before)
        fields.append(
            MessageField(name="Next", value=f"`{nxt.key}` to {nxt.target.describe()} at {timestamp(nxt.not_before)}")
        )
    failed = await ctx.app.outbox.latest_failures(10 if failures is None else failures)
    table = None
    if failed:
        table = Table(
            headers=["key", "to", "attempts", "reason"],
            rows=[[i.key, i.target.describe(), str(i.attempts), i.last_error or "-"] for i in failed],
        )
    return Reply.of(
        Message(title="Outbox", text=f"**{summary}**.", fields=fields, table=table),
        private=True,
    )


def setup(app: CohortBot) -> None:
    """Register /outbox."""
    for c in declared(globals()):
        app.registry.add(c)

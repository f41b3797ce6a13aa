"""/outbox (organizers): what the bot has queued, sent and failed to send on its own, and why; re-queue failures."""

from __future__ import annotations

from bot.app import CohortBot
from bot.core.commands import Option, OptionType, command, declared
from bot.core.context import Context
from bot.core.messages import Action, Button, Message, MessageField, Reply, Table, timestamp
from bot.core.roles import Role
from bot.delivery.store import STATES


@command(
    "outbox",
    "What I have queued, sent and failed to send on my own (organizers).",
    Option("failures", "How many recent failures to list (default 10)", OptionType.INTEGER, min_value=0, max_value=50),
    Option("retry", "Send every failed message again", OptionType.BOOLEAN),
    min_role=Role.ORGANIZER,
)
async def outbox(ctx: Context, failures: int | None = None, retry: bool | None = None) -> Reply:
    """Counts by state, the next item due, paused platforms, and the latest failures with their reasons (private).

    ``retry:true`` first re-queues every failed message (what a Retry button on the failures view dispatches).
    """
    store = ctx.app.outbox
    notes = []
    if retry:
        count = await store.requeue(ctx.now)
        notes.append(f"Re-queued {count} failed message(s)." if count else "There were no failed messages to re-queue.")
    counts = await store.counts()
    summary = ", ".join(
        f"{counts.get(s, 0)} {s}" for s in STATES if counts.get(s) or s in ("pending", "sent", "failed")
    )
    fields = []
    nxt = await store.next_pending()
    if nxt is not None:
        fields.append(
            MessageField(name="Next", value=f"`{nxt.key}` to {nxt.target.describe()} at {timestamp(nxt.not_before)}")
        )
    paused = [line for h in store.health.values() if (line := h.describe())]
    if paused:
        fields.append(MessageField(name="Paused", value="\n".join(paused)))
    failed = await store.latest_failures(10 if failures is None else failures)
    table = None
    actions: list[Button] = []
    if failed:
        table = Table(
            headers=["key", "to", "attempts", "reason"],
            rows=[[i.key, i.target.describe(), str(i.attempts), i.last_error or "-"] for i in failed],
        )
        notes.append("**Retry** (or `/outbox retry:true`) sends the failed ones again.")
        actions.append(
            Button(label="Retry failed", style="primary", action=Action(command="outbox", options={"retry": "true"}))
        )
    text = " ".join([f"**{summary}**.", *notes])
    message = Message(title="Outbox", text=text, fields=fields, table=table, actions=actions)
    return Reply(message=message, private=True, replace=ctx.clicked)


def setup(app: CohortBot) -> None:
    """Register /outbox."""
    for c in declared(globals()):
        app.registry.add(c)

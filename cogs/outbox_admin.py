"""/outbox (organizers): what the bot has queued, sent and failed to send on its own, and why; re-queue failures.

``retry:true`` (and the view's Retry button) re-queues only what failed in the last ``RETRY_DAYS`` days: an older
failure is a message whose moment has passed (a reminder for a deadline long gone), and re-sending every failure
ever would flood people with them. ``cohortbot outbox retry`` (the operator's tool) still re-queues all.
"""

from __future__ import annotations

from datetime import timedelta

from bot.app import CohortBot
from bot.core.commands import Option, OptionType, command, declared
from bot.core.context import Context
from bot.core.messages import Action, Button, Message, MessageField, Reply, Table, timestamp
from bot.core.roles import Role
from bot.delivery.store import STATES

RETRY_DAYS = 7  # /outbox retry:true re-queues what failed this recently
RETRY_BUTTON_VALID = timedelta(hours=1)  # a view's Retry button works this long; then /outbox shows the state anew


@command(
    "outbox",
    "What I have queued, sent and failed to send on my own (organizers).",
    Option("failures", "How many recent failures to list (default 10)", OptionType.INTEGER, min_value=0, max_value=50),
    Option("retry", f"Send again the messages that failed in the last {RETRY_DAYS} days", OptionType.BOOLEAN),
    min_role=Role.ORGANIZER,
)
async def outbox(ctx: Context, failures: int | None = None, retry: bool | None = None) -> Reply:
    """Counts by state, the next item due, paused platforms, and the latest failures with their reasons (private).

    ``retry:true`` first re-queues the messages that failed in the last ``RETRY_DAYS`` days (what the Retry button
    on the failures view dispatches).
    """
    store = ctx.app.outbox
    notes = []
    if retry:
        count = await store.requeue(ctx.now, failed_since=ctx.now - timedelta(days=RETRY_DAYS))
        if count:
            notes.append(f"Re-queued {count} failed in the last {RETRY_DAYS} days.")
        else:
            notes.append(f"Nothing that failed in the last {RETRY_DAYS} days was left to re-queue.")
            if ctx.clicked:
                notes.append("(This view was out of date: someone re-queued them already, or they are older now.)")
    counts = await store.counts()
    if retry and counts.get("failed"):
        notes.append(
            f"{counts['failed']} older failure(s) stay failed: their moment has passed"
            " (`cohortbot outbox retry` re-queues every failure)."
        )
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
        recent = await store.count_failed(since=ctx.now - timedelta(days=RETRY_DAYS))
        if recent:
            notes.append(
                f"**Retry** (or `/outbox retry:true`) sends again the {recent} failed in the last {RETRY_DAYS} days."
            )
            retry_action = Action(command="outbox", options={"retry": "true"}, expires=ctx.now + RETRY_BUTTON_VALID)
            actions.append(Button(label="Retry failed", style="primary", action=retry_action))
        elif not retry:
            notes.append(f"None failed in the last {RETRY_DAYS} days, so there is nothing to retry.")
    text = " ".join([f"**{summary}**.", *notes])
    message = Message(title="Outbox", text=text, fields=fields, table=table, actions=actions)
    return Reply(message=message, private=True, replace=ctx.clicked)


def setup(app: CohortBot) -> None:
    """Register /outbox."""
    for c in declared(globals()):
        app.registry.add(c)

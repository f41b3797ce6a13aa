"""What announcements say: the message recipients get, the author's preview, status and delivery report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from bot.core.messages import Message, MessageField, timestamp
from bot.core.people import Person
from cogs.announcements._outbox import Counts
from cogs.announcements._store import Announcement

MAX_MESSAGE = 4000  # fits one message on every platform (Discord's embed text: 4096; Slack splits at 3000 cleanly)
NAMES_SHOWN = 10
VERBS = {"has": "have", "is": "are", "was": "were", "could": "could", "failed": "failed"}


def announcement_message(author: str, program: str, label: str, text: str, *, ping: bool) -> Message:
    """What each recipient sees (the preview shows exactly this, above its own fields)."""
    return Message(title=f"📣 Announcement from {author}", text=text, footer=f"To {label} · {program}", ping=ping)


def plural(reason: str, n: int) -> str:
    """``has DMs closed`` -> ``have DMs closed`` for more than one (reasons are worded in the singular)."""
    verb, _, rest = reason.partition(" ")
    if n == 1 or verb not in VERBS:
        return reason
    return f"{VERBS[verb]} {rest}".strip()


def counted(reasons: Mapping[str, int]) -> str:
    """``2 have DMs closed, 1 is not in the server`` (most first)."""
    ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{n} {plural(reason, n)}" for reason, n in ordered if n)


def names(people: Iterable[str]) -> str:
    """Up to :data:`NAMES_SHOWN` names, then how many more."""
    listed = sorted(people)
    shown = ", ".join(listed[:NAMES_SHOWN])
    return shown + (f" and {len(listed) - NAMES_SHOWN} more" if len(listed) > NAMES_SHOWN else "")


def reason_lines(by_reason: Mapping[str, Iterable[str]]) -> str:
    """One line per reason: ``2 have no Discord account linked: Hedy Lamarr, Rosalind Franklin``."""
    lines = []
    for reason, who in sorted(by_reason.items(), key=lambda kv: kv[0]):
        who = list(who)
        lines.append(f"{len(who)} {plural(reason, len(who))}: {names(who)}")
    return "\n".join(lines)


def group(reasons: Mapping[int, str], people: Mapping[int, Person]) -> dict[str, list[str]]:
    """Person id -> reason, as reason -> names."""
    out: dict[str, list[str]] = {}
    for person_id, reason in reasons.items():
        person = people.get(person_id)
        out.setdefault(reason, []).append(person.name if person else f"#{person_id}")
    return out


def when_text(send_at: datetime, scheduled: bool) -> str:
    """``now`` or the time, in each reader's zone."""
    return f"{timestamp(send_at, 'F')} ({timestamp(send_at, 'R')})" if scheduled else "now, when you press Send"


def preview(
    message: Message,
    *,
    label: str,
    how: str,
    audience: list[Person],
    unreachable: Mapping[int, str],
    send_at: datetime,
    scheduled: bool,
    ping_asked: bool,
    dm: bool,
) -> Message:
    """The author's preview: the message exactly as recipients see it, then who it reaches and who it cannot."""
    by_id = {p.id: p for p in audience}
    reached = len(audience) - len(unreachable)
    if dm:
        ping = "no (a DM notifies each person anyway)" if ping_asked else "no"
    else:
        ping = "**yes**: everyone in the channel is notified" if message.ping else "no: nobody is mentioned"
    size = f"{len(audience)} {'person' if len(audience) == 1 else 'people'}"
    fields = [
        MessageField(name="Preview", value="Above is what they will see. Nothing is sent until you press Send."),
        MessageField(name="To", value=f"{label} ({size}), {how}"),
        MessageField(name="Reaches", value=f"**{reached} of {len(audience)}**", inline=True),
        MessageField(name="When", value=when_text(send_at, scheduled), inline=True),
        MessageField(name="Ping", value=ping, inline=True),
    ]
    if unreachable:
        fields.append(MessageField(name="Cannot reach", value=reason_lines(group(unreachable, by_id))))
    return message.model_copy(update={"fields": [*message.fields, *fields], "ping": False})


def summary(a: Announcement, c: Counts, unreachable: Counter[str], size: int) -> str:
    """``reached 212 of 215; 2 have DMs closed, 1 is not in the server`` (or how the post went)."""
    if not a.dm:
        if c.failed:
            return f"could not be posted in #{a.channel}: {c.post_error or 'it failed'}"
        if c.pending:
            return f"is waiting to be posted in #{a.channel}"
        unseen = f"; {counted(unreachable)}, so they will not see it" if unreachable else ""
        return f"was posted in #{a.channel} for {a.label} ({size} people{unseen})"
    missed = counted(c.reasons + unreachable)
    text = f"reached {c.delivered} of {size}"
    if c.pending:
        text += f", {c.pending} still on the way"
    return f"{text}; {missed}" if missed else text


def report(a: Announcement, c: Counts, unreachable: Counter[str], size: int) -> Message:
    """The author's DM once every row is settled."""
    what = summary(a, c, unreachable, size)
    return Message(
        title=f"📣 Announcement #{a.id}: delivery report",
        text=f"Your announcement to {a.label} {what}.",
        fields=[MessageField(name="Details", value=f"/announcements id:{a.id} (with Retry failed, if any did)")],
    )

"""Everything announcements know about the outbox, in one place: the keys, reading the rows' states and failure
reasons back, Retry failed (``app.outbox.requeue``) and the platform's delivery health. ``app.outbox.enqueue_many``
does the writing; nothing here changes a row's state itself (the outbox's state machine, ``bot/delivery/store.py``,
does).

An announcement's rows are found by their key prefix (``announce:<id>:``): a range scan of the outbox's unique
key index, whatever the outbox's size, costing about the announcement's own size.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.core.platform import (
    CHANNEL_MISSING,
    DEACTIVATED,
    DMS_CLOSED,
    EXPIRED,
    NOT_LINKED,
    NOT_MEMBER,
    REMOVED,
)
from bot.core.util import batched

if TYPE_CHECKING:
    from bot.app import CohortBot

UNSETTLED = ("pending", "sending")


def dm_key(announcement_id: int, person_id: int) -> str:
    """The outbox key of one person's DM: sent once, whatever happens."""
    return f"announce:{announcement_id}:{person_id}"


def post_key(announcement_id: int, channel: str) -> str:
    """The outbox key of the post in ``channel``."""
    return f"announce:{announcement_id}:#{channel}"


def report_key(announcement_id: int, round_: int) -> str:
    """The outbox key of the author's delivery report (one per round: a retry gets its own report)."""
    return f"announce-report:{announcement_id}:{round_}"


def key_range(announcement_id: int) -> tuple[str, str]:
    """``lo <= key < hi`` for every row of the announcement (``;`` sorts right after ``:``)."""
    return f"announce:{announcement_id}:", f"announce:{announcement_id};"


def person_of(key: str) -> int | None:
    """The person a DM key is for (``None`` for a post)."""
    tail = key.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


# A failed row's kind (``PermanentSendError.kind``: the sender classifies its platform's error codes, so this
# feature never names them), in a few words people understand; worded in the singular, to follow a count.
WORDS: dict[str, str] = {
    DMS_CLOSED: "has DMs closed or left",  # some platforms cannot tell the two apart
    NOT_MEMBER: "is not a member (left, or never joined)",
    DEACTIVATED: "has a deactivated account",
    NOT_LINKED: "has no account linked",
    REMOVED: "was removed from the roster",
    CHANNEL_MISSING: "could not be found",
    EXPIRED: "was not reached in time (the platform was down)",
}


def failure_reason(kind: str | None, last_error: str | None) -> str:
    """A failed row's reason in a few words: from its ``kind`` (see :data:`WORDS`); unclassified, the sender's
    own reason, shortened."""
    if kind in WORDS:
        return WORDS[kind]
    text = last_error or "failed for an unknown reason"
    text = re.sub(r"^gave up after \d+ attempts: ", "", text)
    return f"failed ({text[:120]})"


@dataclass
class Counts:
    """Where an announcement's outbox rows stand."""

    delivered: int = 0
    pending: int = 0
    failed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # failure reason -> how many
    failed_people: dict[str, list[int]] = field(default_factory=dict)  # failure reason -> person ids (DMs)
    post_error: str | None = None  # a failed post's own reason, in full

    @property
    def settled(self) -> bool:
        """Nothing left to try."""
        return self.pending == 0


async def counts(app: CohortBot, announcement_id: int) -> Counts:
    """Delivered, pending and failed rows of the announcement, with the failures' reasons."""
    lo, hi = key_range(announcement_id)
    rows = await app.db.fetchall(
        "SELECT state, COUNT(*) AS n FROM outbox WHERE key >= ? AND key < ? GROUP BY state", (lo, hi)
    )
    out = Counts()
    for r in rows:
        if r["state"] == "sent":
            out.delivered += r["n"]
        elif r["state"] in UNSETTLED:
            out.pending += r["n"]
        else:  # failed, or skipped by an organizer
            out.failed += r["n"]
    if out.failed:
        failed = await app.db.fetchall(
            "SELECT key, state, last_error, failure_kind FROM outbox WHERE key >= ? AND key < ? AND state NOT IN"
            " ('sent', 'pending', 'sending')",
            (lo, hi),
        )
        for r in failed:
            failed = r["state"] == "failed"
            reason = failure_reason(r["failure_kind"], r["last_error"]) if failed else "was skipped"
            out.reasons[reason] += 1
            person = person_of(r["key"])
            if person is None:
                out.post_error = r["last_error"] or reason
            else:
                out.failed_people.setdefault(reason, []).append(person)
    return out


async def unsettled(app: CohortBot, announcement_id: int) -> int:
    """How many of its rows are still to be tried."""
    lo, hi = key_range(announcement_id)
    value = await app.db.fetchval(
        "SELECT COUNT(*) FROM outbox WHERE key >= ? AND key < ? AND state IN ('pending', 'sending')", (lo, hi)
    )
    return int(value or 0)


async def retry_failed(app: CohortBot, announcement_id: int) -> int:
    """Put the announcement's failed rows back in the queue, due now; return how many."""
    lo, hi = key_range(announcement_id)
    rows = await app.db.fetchall("SELECT key FROM outbox WHERE key >= ? AND key < ? AND state = 'failed'", (lo, hi))
    keys = [r["key"] for r in rows]
    again = 0
    for chunk in batched(keys):  # SQLite's limit on parameters
        again += await app.outbox.requeue(app.clock.now(), chunk)
    return again


def on_hold(app: CohortBot) -> str | None:
    """Why deliveries on this bot's platform are on hold right now (its health: paused after transient errors,
    with the next probe), or ``None`` while it answers."""
    health = app.outbox.health.get(app.platform)
    return health.describe() if health is not None else None

"""The outbox and its state machine: every message the bot sends on its own is a row first, sent once.

Features use :meth:`Outbox.enqueue` / :meth:`Outbox.enqueue_many` (and the read methods). Every change of a
row's state is one named method below, one SQL statement guarded by the state it leaves; nothing else writes
the ``outbox`` table. The worker (``bot/delivery/worker.py``) only decides which transition to make::

    enqueue ─> pending ──claim──> sending ──sent──────────────> sent
                ^ ^ ^               │ │ │
                │ │ └──release──────┘ │ └──failed──────────────> failed ──requeue──> pending
                │ └────retry_later────┘                            ^
                └──────recover (sending rows no live worker holds) │
               pending ──expire (past the maximum age) ────────────┘
               pending ──skip (no longer wanted) ──> skipped

* ``tried`` (a row in ``sending``): its send is about to go out. ``attempts + 1`` (attempts count real sends,
  never claims) and ``in_flight_at`` is set: from then on, until an answer says otherwise, the message may be
  on the platform. A later try first asks the sender's ``delivered()`` (Slack) since that time.
* ``in_flight_at`` survives ``retry_later`` after an unknown outcome (timeout, dropped connection), ``recover``
  (a crash, a failed pass) and ``failed``/``requeue``, so the check before a resend is never skipped; it is
  cleared by ``sent`` and by a check that found nothing (``tried(..., checked=True)``).
* ``due_at`` is when the row was first due (``not_before`` at enqueue or re-queue); ``expire`` fails pending rows
  older than the maximum age (``COHORTBOT_OUTBOX_MAX_AGE_HOURS``, default 48 h), so a long outage does not end
  in a flood of stale reminders. ``failed_at`` is when a row failed (``failed``, ``expire``). Failed rows come
  back with ``requeue`` (``/outbox retry:true``: those failed in the last 7 days; ``cohortbot outbox retry``: all).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.clock import from_db, to_db
from bot.core.messages import Message
from bot.core.platform import EXPIRED, ChannelTarget, DMTarget, PlatformTask, Target

if TYPE_CHECKING:
    from bot.app import CohortBot
    from bot.delivery.health import PlatformHealth
    from bot.storage.db import Statement

STATES = ("pending", "sending", "sent", "failed", "skipped")


def encode_target(target: Target) -> str:
    """``channel:<name>``, ``dm:<person id>`` or ``task:<kind>`` (a task's data is the row's payload)."""
    if isinstance(target, ChannelTarget):
        return f"channel:{target.channel}"
    if isinstance(target, PlatformTask):
        return f"task:{target.kind}"
    return f"dm:{target.person_id}"


def decode_target(value: str, payload: str | None = None) -> Target:
    """The inverse of :func:`encode_target` (a task needs the row's ``payload``)."""
    kind, _, rest = value.partition(":")
    if kind == "channel":
        return ChannelTarget(rest)
    if kind == "dm":
        return DMTarget(int(rest))
    if kind == "task":
        return PlatformTask(rest, json.loads(payload) if payload else {})
    raise ValueError(f"bad outbox target {value!r}")


def encode_payload(target: Target, message: Message) -> str:
    """What a row carries: the message as JSON, or a task's data."""
    if isinstance(target, PlatformTask):
        return json.dumps(target.data, separators=(",", ":"), sort_keys=True)
    return message.model_dump_json()


@dataclass(frozen=True)
class OutboxItem:
    """A row of the outbox."""

    id: int
    key: str
    platform: str
    target: Target
    message: Message
    state: str
    attempts: int
    not_before: datetime
    last_error: str | None
    sent_at: datetime | None
    due_at: datetime | None = None
    in_flight_at: datetime | None = None
    platform_message_id: str | None = None
    failure_kind: str | None = None  # a failed row's kind of failure (bot/core/platform.py), if classified


@dataclass(frozen=True)
class NewItem:
    """What to enqueue."""

    key: str
    target: Target
    message: Message
    not_before: datetime | None = None


class Outbox:
    """The ``outbox`` table: enqueue and inspect (features), and every state transition (the worker)."""

    def __init__(self, app: CohortBot) -> None:
        self.app = app
        # Called (without arguments) after new items were enqueued; the runtime uses it to wake its worker.
        self.listeners: list[Callable[[], None]] = []
        # Each platform's delivery health, filled in by the running worker (shown by /outbox).
        self.health: dict[str, PlatformHealth] = {}

    @property
    def db(self):  # noqa: ANN201 - bot.storage.db.Database
        """The app's database."""
        return self.app.db

    # ---- for features ------------------------------------------------------------------------------------
    async def enqueue(self, key: str, target: Target, message: Message, *, not_before: datetime | None = None) -> bool:
        """Add one message; return ``False`` if ``key`` was already enqueued (it is then left alone)."""
        return await self.enqueue_many([NewItem(key, target, message, not_before)]) == 1

    async def enqueue_task(self, key: str, task: PlatformTask, *, not_before: datetime | None = None) -> bool:
        """Add one :class:`PlatformTask`; return ``False`` if ``key`` was already enqueued."""
        return await self.enqueue(key, task, Message(), not_before=not_before)

    async def enqueue_many(self, items: Iterable[NewItem]) -> int:
        """Add many messages (or tasks) in one transaction; return how many were new."""
        now = self.app.clock.now()
        rows = []
        for i in items:
            due = to_db(i.not_before or now)
            payload = encode_payload(i.target, i.message)
            rows.append((i.key, self.app.platform, encode_target(i.target), payload, due, due, to_db(now)))
        async with self.db.transaction() as conn:
            before = conn.total_changes
            await conn.executemany(
                "INSERT OR IGNORE INTO outbox (key, platform, target, payload, not_before, due_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            added = conn.total_changes - before
        if added:
            self.notify()
        return added

    def notify(self) -> None:
        """Tell the listeners (the running worker) that rows became due."""
        for listener in list(self.listeners):
            listener()

    async def get(self, key: str) -> OutboxItem | None:
        """The item with ``key``."""
        row = await self.db.fetchone("SELECT * FROM outbox WHERE key = ?", (key,))
        return row_to_item(row) if row else None

    async def items(self, state: str | None = None, limit: int = 100) -> list[OutboxItem]:
        """Recent items, newest first, optionally only in ``state``."""
        if state:
            sql, params = "SELECT * FROM outbox WHERE state = ? ORDER BY id DESC LIMIT ?", (state, limit)
        else:
            sql, params = "SELECT * FROM outbox ORDER BY id DESC LIMIT ?", (limit,)
        return [row_to_item(r) for r in await self.db.fetchall(sql, params)]

    async def counts(self) -> dict[str, int]:
        """How many items are in each state."""
        rows = await self.db.fetchall("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        return {r["state"]: r["n"] for r in rows}

    async def latest_failures(self, limit: int = 10) -> list[OutboxItem]:
        """The most recently failed items, with their reasons in ``last_error``."""
        return await self.items("failed", limit)

    async def count_failed(self, since: datetime) -> int:
        """How many rows failed at or after ``since`` (what ``requeue(failed_since=since)`` would bring back)."""
        return await self.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND failed_at >= ?", (to_db(since),)
        )

    async def next_pending(self) -> OutboxItem | None:
        """The pending item due first (``MIN(not_before)`` on the index, whatever the table's size)."""
        row = await self.db.fetchone(
            "SELECT * FROM outbox WHERE state = 'pending'"
            " AND not_before = (SELECT MIN(not_before) FROM outbox WHERE state = 'pending') ORDER BY id LIMIT 1"
        )
        return row_to_item(row) if row else None

    async def next_due(self, platforms: Iterable[str]) -> datetime | None:
        """When the earliest pending row for ``platforms`` is due, if any."""
        names = sorted(set(platforms))
        if not names:
            return None
        value = await self.db.fetchval(
            f"SELECT MIN(not_before) FROM outbox WHERE state = 'pending' AND platform IN ({_marks(names)})", names
        )
        return from_db(value) if value else None

    # ---- transitions (the worker's) ----------------------------------------------------------------------
    async def claim(self, platforms: Iterable[str], limit: int, now: datetime) -> list[OutboxItem]:
        """``pending`` -> ``sending``: up to ``limit`` rows due by ``now`` for ``platforms``, oldest first."""
        names = sorted(set(platforms))
        if not names or limit <= 0:
            return []
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE outbox SET state = 'sending' WHERE id IN ("
                f" SELECT id FROM outbox WHERE state = 'pending' AND not_before <= ? AND platform IN ({_marks(names)})"
                " ORDER BY not_before, id LIMIT ?) RETURNING *",
                (to_db(now), *names, limit),
            )
            rows = list(await cursor.fetchall())
            await cursor.close()
        items = [row_to_item(r) for r in rows]
        items.sort(key=lambda i: (i.not_before, i.id))
        return items

    async def tried(self, item: OutboxItem, at: datetime, *, checked: bool = False) -> OutboxItem:
        """A send of ``item`` is about to go out: count it, and mark it in flight since ``at`` (real UTC time).

        An earlier mark is kept (an earlier try's outcome is still unknown), unless ``checked``: the sender's
        ``delivered()`` just found no such message, so only this try can be on the platform.
        """
        since = at if checked or item.in_flight_at is None else item.in_flight_at
        await self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, in_flight_at = ? WHERE id = ? AND state = 'sending'",
            (to_db(since), item.id),
        )
        return replace(item, attempts=item.attempts + 1, in_flight_at=since)

    async def sent(self, item: OutboxItem, message_id: str | None, now: datetime) -> None:
        """``sending`` -> ``sent``, with the platform's message id."""
        await self.db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, platform_message_id = ?, last_error = NULL,"
            " in_flight_at = NULL WHERE id = ? AND state = 'sending'",
            (to_db(now), message_id, item.id),
        )

    async def retry_later(
        self, item: OutboxItem, reason: str, not_before: datetime, in_flight_at: datetime | None
    ) -> None:
        """``sending`` -> ``pending`` until ``not_before``, with the reason; ``in_flight_at`` as the worker knows it
        (kept after an unknown outcome, so the next try checks first)."""
        await self.db.execute(
            "UPDATE outbox SET state = 'pending', not_before = ?, last_error = ?, in_flight_at = ?"
            " WHERE id = ? AND state = 'sending'",
            (to_db(not_before), reason[:1000], to_db(in_flight_at) if in_flight_at else None, item.id),
        )

    async def failed(
        self,
        item: OutboxItem,
        reason: str,
        in_flight_at: datetime | None = None,
        kind: str | None = None,
        *,
        now: datetime,
    ) -> None:
        """``sending`` -> ``failed`` for good at ``now``, with the reason and its ``kind`` if the sender classified
        it (``in_flight_at`` kept if an outcome is unknown)."""
        await self.db.execute(
            "UPDATE outbox SET state = 'failed', last_error = ?, failure_kind = ?, in_flight_at = ?, failed_at = ?"
            " WHERE id = ? AND state = 'sending'",
            (reason[:1000], kind, to_db(in_flight_at) if in_flight_at else None, to_db(now), item.id),
        )

    async def release(self, items: Iterable[OutboxItem]) -> None:
        """``sending`` -> ``pending``: claimed rows handed back untried (nothing else changes)."""
        ids = [(i.id,) for i in items]
        if ids:
            await self.db.executemany("UPDATE outbox SET state = 'pending' WHERE id = ? AND state = 'sending'", ids)

    async def recover(self, keep: Iterable[int] = ()) -> int:
        """``sending`` -> ``pending`` for every row no live worker holds (all but ``keep``), after a crash or a
        failed pass; ``in_flight_at`` stays, so a row that may have gone out is checked before it is resent."""
        held = sorted(set(keep))
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                f"UPDATE outbox SET state = 'pending' WHERE state = 'sending' AND id NOT IN ({_marks(held)})", held
            )
            return cursor.rowcount

    async def expire(self, now: datetime, max_age: timedelta) -> int:
        """``pending`` -> ``failed`` for rows first due more than ``max_age`` ago (``not_before >= due_at``, so the
        index on ``(state, not_before)`` finds them)."""
        cutoff = to_db(now - max_age)
        cursor = await self.db.execute(
            f"UPDATE outbox SET state = 'failed', failure_kind = '{EXPIRED}', last_error = ? || ' (' || attempts"
            " || ' attempt(s)'"
            " || COALESCE('; last error: ' || last_error, '') || ')', failed_at = ?"
            " WHERE state = 'pending' AND not_before < ? AND due_at < ?",
            (expired(max_age), to_db(now), cutoff, cutoff),
        )
        return cursor.rowcount

    async def skip(self, keys: Iterable[str], reason: str, *, prefixes: Iterable[str] = ()) -> int:
        """``pending`` -> ``skipped``: messages no longer wanted before they went out (a reminder whose reason has
        gone: the person handed in, the extension was changed), by key or by the start of their keys (one range
        of the key's index each); how many. Joins the caller's transaction."""
        statement = skip_statement(keys, reason, prefixes=prefixes)
        if statement is None:
            return 0
        cursor = await self.db.execute(*statement)
        return cursor.rowcount

    async def requeue(
        self, now: datetime, keys: Iterable[str] | None = None, *, failed_since: datetime | None = None
    ) -> int:
        """``failed`` -> ``pending``, due ``now`` (all failed rows, or those with ``keys``; only those that failed
        at or after ``failed_since`` if given); how many."""
        sql = "UPDATE outbox SET state = 'pending', not_before = ?, due_at = ? WHERE state = 'failed'"
        params: list[str] = [to_db(now), to_db(now)]
        if failed_since is not None:
            sql += " AND failed_at >= ?"
            params.append(to_db(failed_since))
        if keys is not None:
            wanted = sorted(set(keys))
            sql += f" AND key IN ({_marks(wanted)})"
            params += wanted
        async with self.db.transaction() as conn:
            count = (await conn.execute(sql, params)).rowcount
        if count:
            self.notify()
        return count


def expired(max_age: timedelta, attempts: int | None = None, last_error: str | None = None) -> str:
    """Why a row older than ``max_age`` failed: ``not delivered within 48 h of its time (3 attempt(s); ...)``."""
    text = f"not delivered within {max_age.total_seconds() / 3600:g} h of its time"
    if attempts is None:
        return text
    return text + f" ({attempts} attempt(s)" + (f"; last error: {last_error})" if last_error else ")")


def skip_statement(keys: Iterable[str], reason: str, *, prefixes: Iterable[str] = ()) -> Statement | None:
    """The statement :meth:`Outbox.skip` runs (``None``: nothing to skip), for a caller that runs it in the same
    trip to the writer as its own write (:meth:`bot.storage.db.Database.atomic`): one transaction, one commit."""
    wanted = sorted(set(keys))
    starts = sorted({p for p in prefixes if p})
    if not wanted and not starts:
        return None
    where, params = [], []
    if wanted:
        where.append(f"key IN ({_marks(wanted)})")
        params += wanted
    for start in starts:
        where.append("(key >= ? AND key < ?)")
        params += [start, start[:-1] + chr(ord(start[-1]) + 1)]  # keys compare as bytes (BINARY collation)
    # ``+state``: found by the key's index (a range per prefix), never by scanning every pending row
    sql = f"UPDATE outbox SET state = 'skipped', last_error = ? WHERE +state = 'pending' AND ({' OR '.join(where)})"
    return sql, [reason[:1000], *params]


def _marks(values: list) -> str:
    return ", ".join("?" for _ in values)


def row_to_item(row) -> OutboxItem:  # noqa: ANN001 - aiosqlite.Row
    """An :class:`OutboxItem` from a database row (``SELECT *``: every column the migrations made)."""
    in_flight, due = row["in_flight_at"], row["due_at"]
    target = decode_target(row["target"], row["payload"])
    return OutboxItem(
        id=row["id"],
        key=row["key"],
        platform=row["platform"],
        target=target,
        message=Message() if isinstance(target, PlatformTask) else Message.model_validate_json(row["payload"]),
        state=row["state"],
        attempts=row["attempts"],
        not_before=from_db(row["not_before"]),
        last_error=row["last_error"],
        sent_at=from_db(row["sent_at"]) if row["sent_at"] else None,
        due_at=from_db(due) if due else None,
        in_flight_at=from_db(in_flight) if in_flight else None,
        platform_message_id=row["platform_message_id"],
        failure_kind=row["failure_kind"],
    )

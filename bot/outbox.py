"""The durable outbox: every message the bot sends on its own is a row first, keyed so it is sent once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.clock import from_db, to_db
from bot.core.messages import Message
from bot.core.platform import ChannelTarget, DMTarget, PlatformTask, Target

if TYPE_CHECKING:
    from bot.app import CohortBot


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


@dataclass(frozen=True)
class NewItem:
    """What to enqueue."""

    key: str
    target: Target
    message: Message
    not_before: datetime | None = None


class Outbox:
    """Enqueue and inspect outgoing messages (delivery is the worker's job)."""

    def __init__(self, app: CohortBot) -> None:
        self.app = app
        # Called (without arguments) after new items were enqueued; the runtime uses it to wake its worker.
        self.listeners: list[Callable[[], None]] = []

    async def enqueue(self, key: str, target: Target, message: Message, *, not_before: datetime | None = None) -> bool:
        """Add one message; return ``False`` if ``key`` was already enqueued (it is then left alone)."""
        return await self.enqueue_many([NewItem(key, target, message, not_before)]) == 1

    async def enqueue_task(self, key: str, task: PlatformTask, *, not_before: datetime | None = None) -> bool:
        """Add one :class:`PlatformTask`; return ``False`` if ``key`` was already enqueued."""
        return await self.enqueue(key, task, Message(), not_before=not_before)

    async def enqueue_many(self, items: Iterable[NewItem]) -> int:
        """Add many messages in one transaction; return how many were new."""
        now = self.app.clock.now()
        rows = [
            (
                i.key,
                self.app.platform,
                encode_target(i.target),
                encode_payload(i.target, i.message),
                to_db(i.not_before or now),
                to_db(now),
            )
            for i in items
        ]
        async with self.app.db.transaction() as conn:
            before = conn.total_changes
            await conn.executemany(
                "INSERT OR IGNORE INTO outbox (key, platform, target, payload, not_before, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            added = conn.total_changes - before
        if added:
            for listener in list(self.listeners):
                listener()
        return added

    async def get(self, key: str) -> OutboxItem | None:
        """The item with ``key``."""
        row = await self.app.db.fetchone("SELECT * FROM outbox WHERE key = ?", (key,))
        return _item(row) if row else None

    async def items(self, state: str | None = None, limit: int = 100) -> list[OutboxItem]:
        """Recent items, newest first, optionally only in ``state``."""
        if state:
            rows = await self.app.db.fetchall(
                "SELECT * FROM outbox WHERE state = ? ORDER BY id DESC LIMIT ?", (state, limit)
            )
        else:
            rows = await self.app.db.fetchall("SELECT * FROM outbox ORDER BY id DESC LIMIT ?", (limit,))
        return [_item(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        """How many items are in each state."""
        rows = await self.app.db.fetchall("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        return {r["state"]: r["n"] for r in rows}

    async def latest_failures(self, limit: int = 10) -> list[OutboxItem]:
        """The most recently failed items, with their reasons in ``last_error``."""
        return await self.items("failed", limit)


def row_to_item(row) -> OutboxItem:  # noqa: ANN001 - aiosqlite.Row
    """An :class:`OutboxItem` from a database row."""
    return _item(row)


def _item(row) -> OutboxItem:  # noqa: ANN001 - aiosqlite.Row
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
    )

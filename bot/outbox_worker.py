"""The outbox worker: deliver due outbox rows through ``app.senders``, paced, retried, and resumable.

* Claims due rows in batches (``pending`` -> ``sending``, ``attempts + 1``) in one transaction.
* Sends each through ``app.senders[row.platform]`` after taking a token from that platform's bucket.
* Records each outcome at once (one autocommit ``UPDATE``): ``sent`` (with the platform's message id),
  ``failed`` (permanent, with the reason), or back to ``pending`` (transient; with ``retry_after`` honoured
  by pausing the platform's bucket, otherwise exponential backoff in clock time via ``not_before``).
* Marks each row ``in_flight_at`` (real UTC time) just before it is handed to the platform, if the platform's
  sender can later tell whether it arrived (an optional ``delivered`` method; otherwise the mark would change
  nothing, so that write is skipped).
* At start (:meth:`OutboxWorker.recover`), rows a crash left in ``sending``: never tried (no ``in_flight_at``)
  go straight back to ``pending``; tried ones are checked with the sender's optional ``delivered(target, key,
  since)`` (Slack looks the key up in the conversation's history): found -> ``sent`` with that message id, not
  found / no such method / an error -> ``pending``, sent again, which the platform makes harmless where it can
  (Discord ``enforce_nonce`` with the key as the nonce).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.clock import from_db, to_db
from bot.core.platform import PermanentSendError, PlatformTask, Sender, TransientSendError
from bot.outbox import OutboxItem, decode_target, row_to_item
from schedules.pacing import TokenBucket

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)


def default_rate(platform: str, sender: Sender | None = None) -> float | None:
    """Requests per second for ``platform``: the sender's ``rate_per_second`` or the platform's settings."""
    rate = getattr(sender, "rate_per_second", None)
    if rate:
        return float(rate)
    if platform == "discord":
        from bot.settings import DiscordSettings

        return DiscordSettings().rate_per_second
    if platform == "slack":
        from bot.settings import SlackSettings

        return SlackSettings().rate_per_second
    return None


def delivered_check(sender: Sender | None) -> Callable[..., Awaitable[str | None]] | None:
    """The sender's optional ``delivered(target, key, since)`` method, if it has one (see :class:`Sender`)."""
    check = getattr(sender, "delivered", None)
    return check if callable(check) else None


class OutboxWorker:
    """Delivers the outbox; :meth:`deliver_due` for one pass, :meth:`run` to keep going."""

    def __init__(
        self,
        app: CohortBot,
        *,
        rates: dict[str, float | None] | None = None,
        batch_size: int = 200,
        concurrency: dict[str, int] | None = None,
        max_attempts: int = 8,
        base_backoff: float = 30.0,
        max_backoff: float = 3600.0,
        inline_retry_limit: float = 60.0,
        poll_seconds: float = 30.0,
    ) -> None:
        self.app = app
        self.rates = dict(rates or {})
        self.batch_size = batch_size
        self.concurrency = {"console": 1, **(concurrency or {})}
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.inline_retry_limit = inline_retry_limit
        self.poll_seconds = poll_seconds
        self.pacers: dict[str, TokenBucket] = {}
        self._pass_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self.delivered = 0
        # Awaited (with the count) after each pass of run() that handled rows: the runtime uses it to run jobs
        # that depend on delivery (an announcement's report once all its rows are settled) without waiting.
        self.after_pass: list[Callable[[int], Awaitable[None]]] = []

    # ---- pacing ---------------------------------------------------------------------------------------
    def pacer(self, platform: str) -> TokenBucket:
        """The token bucket for ``platform`` (created on first use)."""
        if platform not in self.pacers:
            rate = (
                self.rates[platform]
                if platform in self.rates
                else default_rate(platform, self.app.senders.get(platform))
            )
            self.pacers[platform] = TokenBucket(rate)
        return self.pacers[platform]

    def wake(self) -> None:
        """Something was enqueued: look again now."""
        self._wake.set()

    def resume(self) -> None:
        """Undo :meth:`request_stop` (before running again)."""
        self._stopping = False

    def request_stop(self) -> None:
        """Finish the sends in flight, release the rest of the claimed batch, and leave :meth:`run`."""
        self._stopping = True
        self._wake.set()

    # ---- crash recovery -------------------------------------------------------------------------------
    async def recover(self) -> int:
        """Settle rows a crashed worker left in ``sending``; return how many there were.

        Claimed but never tried (``in_flight_at`` NULL; also every row of a sender without ``delivered``,
        which are not marked): back to ``pending``. Tried: possibly delivered just before the crash, so the
        platform's sender is asked (its optional ``delivered(target, key, since)``): a message id -> ``sent``
        with it (no resend); ``None``, no such method any more, or an error -> ``pending`` (sent again).
        """
        async with self.app.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET state = 'pending' WHERE state = 'sending' AND in_flight_at IS NULL"
            )
            untried = cur.rowcount
        rows = await self.app.db.fetchall(
            "SELECT id, key, platform, target, payload, in_flight_at FROM outbox WHERE state = 'sending' ORDER BY id"
        )
        found = 0
        for row in rows:
            message_id = await self._delivered(row)
            if message_id is not None:
                found += 1
                await self.app.db.execute(
                    "UPDATE outbox SET state = 'sent', sent_at = ?, platform_message_id = ?, last_error = NULL,"
                    " in_flight_at = NULL WHERE id = ? AND state = 'sending'",
                    (to_db(self.app.clock.now()), message_id, row["id"]),
                )
            else:
                await self.app.db.execute(
                    "UPDATE outbox SET state = 'pending', in_flight_at = NULL WHERE id = ? AND state = 'sending'",
                    (row["id"],),
                )
        count = untried + len(rows)
        if count:
            log.warning(
                "outbox: %d item(s) were mid-delivery at a crash: %d not in flight, %d found delivered, %d to resend",
                count,
                untried,
                found,
                len(rows) - found,
            )
        return count

    async def _delivered(self, row) -> str | None:  # noqa: ANN001 - aiosqlite.Row
        """The platform's message id if the row's message is known to have arrived, else ``None``."""
        check = delivered_check(self.app.senders.get(row["platform"]))
        if check is None:
            return None
        try:
            target = decode_target(row["target"], row["payload"])
            message_id = await check(target, row["key"], since=from_db(row["in_flight_at"]))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox: could not check whether %s was delivered; sending it again", row["key"])
            return None
        return str(message_id) if message_id else None

    # ---- one pass -------------------------------------------------------------------------------------
    async def claim(self, platforms: Iterable[str], limit: int) -> list[OutboxItem]:
        """Mark up to ``limit`` due rows for ``platforms`` as ``sending`` and return them, oldest first."""
        names = sorted(set(platforms))
        if not names:
            return []
        marks = ", ".join("?" for _ in names)
        now = to_db(self.app.clock.now())
        async with self.app.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id IN ("
                f" SELECT id FROM outbox WHERE state = 'pending' AND not_before <= ? AND platform IN ({marks})"
                " ORDER BY not_before, id LIMIT ?) RETURNING *",
                (now, *names, limit),
            )
            rows = list(await cursor.fetchall())
            await cursor.close()
        items = [row_to_item(r) for r in rows]
        items.sort(key=lambda i: (i.not_before, i.id))
        return items

    async def deliver_due(self) -> int:
        """Deliver every row due by ``app.clock.now()`` (as retries allow); return how many were handled.

        One claimer keeps per-platform queues topped up (the next batch is claimed while the current one
        is being sent, so the lanes, and the platform's bucket, never wait for a claim); each platform's
        lanes take rows from its queue. The pass ends when a claim finds nothing due and nothing is in flight
        (a row a 429 put back to ``pending`` is claimed again in the same pass).
        """
        async with self._pass_lock:
            return await _Pass(self).run()

    async def release(self, items: list[OutboxItem]) -> None:
        """Put claimed but untried rows back to ``pending`` (the claim's attempt does not count)."""
        if items:
            await self.app.db.executemany(
                "UPDATE outbox SET state = 'pending', attempts = attempts - 1, in_flight_at = NULL"
                " WHERE id = ? AND state = 'sending'",
                [(i.id,) for i in items],
            )

    async def deliver_one(self, item: OutboxItem) -> str:
        """Send one claimed row and record the outcome; return the new state."""
        sender = self.app.senders.get(item.platform)
        if sender is None:  # the platform went away between claim and send
            await self._record_retry(item, "no sender for this platform", None, count=False)
            return "pending"
        pacer = self.pacer(item.platform)
        if delivered_check(sender) is not None:
            # From here on the row may reach the platform: after a crash recover() asks the platform. Recorded
            # before the token (in real time, as platforms timestamp), so the send's pacing is untouched.
            await self.app.db.execute(
                "UPDATE outbox SET in_flight_at = ? WHERE id = ?", (to_db(datetime.now(UTC)), item.id)
            )
        await pacer.acquire()
        try:
            message_id = await _perform(sender, item)
        except PermanentSendError as exc:
            await self._record_failed(item, exc.reason)
            return "failed"
        except TransientSendError as exc:
            if exc.retry_after is not None:
                pacer.pause(exc.retry_after)
            return await self._record_retry(item, exc.reason, exc.retry_after, count=exc.retry_after is None)
        except Exception as exc:  # a bug or an unexpected client error: retry with backoff, keep the reason
            log.exception("outbox: sending %s failed unexpectedly", item.key)
            return await self._record_retry(item, f"{type(exc).__name__}: {exc}", None, count=True)
        await self.app.db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, platform_message_id = ?, last_error = NULL,"
            " in_flight_at = NULL WHERE id = ?",
            (to_db(self.app.clock.now()), message_id, item.id),
        )
        self.delivered += 1
        return "sent"

    async def _record_failed(self, item: OutboxItem, reason: str) -> None:
        log.warning("outbox: %s to %s failed permanently: %s", item.key, item.target.describe(), reason)
        await self.app.db.execute(
            "UPDATE outbox SET state = 'failed', last_error = ?, in_flight_at = NULL WHERE id = ?",
            (reason[:1000], item.id),
        )

    async def _record_retry(self, item: OutboxItem, reason: str, retry_after: float | None, *, count: bool) -> str:
        """Back to ``pending``. Rate limits (``retry_after``) do not use up attempts; other errors do."""
        if count and item.attempts >= self.max_attempts:
            await self._record_failed(item, f"gave up after {item.attempts} attempts: {reason}")
            return "failed"
        attempts = item.attempts if count else item.attempts - 1
        if retry_after is not None and retry_after <= self.inline_retry_limit:
            delay = 0.0  # the paused bucket makes every send on this platform wait `retry_after` (real time)
        elif retry_after is not None:
            delay = retry_after
        else:
            delay = min(self.max_backoff, self.base_backoff * 2 ** max(0, item.attempts - 1))
        not_before = max(item.not_before, self.app.clock.now() + timedelta(seconds=delay))
        await self.app.db.execute(
            "UPDATE outbox SET state = 'pending', attempts = ?, not_before = ?, last_error = ?, in_flight_at = NULL"
            " WHERE id = ?",
            (attempts, to_db(not_before), reason[:1000], item.id),
        )
        return "pending"

    # ---- forever --------------------------------------------------------------------------------------
    async def next_due_in(self) -> float | None:
        """Seconds (clock time) until the earliest pending row is due, if any."""
        names = sorted(self.app.senders)
        if not names:
            return None
        marks = ", ".join("?" for _ in names)
        value = await self.app.db.fetchval(
            f"SELECT MIN(not_before) FROM outbox WHERE state = 'pending' AND platform IN ({marks})", names
        )
        if value is None:
            return None
        return max(0.0, (from_db(value) - self.app.clock.now()).total_seconds())

    async def run(self) -> None:
        """Deliver as rows fall due, until :meth:`request_stop` (wakes on :meth:`wake` and at the next due row)."""
        while not self._stopping:
            self._wake.clear()
            try:
                handled = await self.deliver_due()
                if handled:
                    for hook in list(self.after_pass):
                        await hook(handled)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox: delivery pass failed; retrying shortly")
                await asyncio.sleep(1.0)
                continue
            due_in = await self.next_due_in()
            timeout = self.poll_seconds if due_in is None else min(self.poll_seconds, max(0.05, due_in))
            if self._stopping:
                break
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()


class _Pass:
    """One :meth:`OutboxWorker.deliver_due` pass: a claimer feeding per-platform queues, and the lanes."""

    def __init__(self, worker: OutboxWorker) -> None:
        self.worker = worker
        self.queues: dict[str, asyncio.Queue[OutboxItem | None]] = {}
        self.lanes: dict[str, list[asyncio.Task[int]]] = {}
        self.queued = 0  # claimed, not yet taken by a lane
        self.busy = 0  # taken by a lane, outcome not yet recorded
        self.progress = asyncio.Event()
        self.error: BaseException | None = None  # a lane died (e.g. the database failed): end the pass
        # Claim the next batch once fewer than this many rows are waiting: a claim (a few ms) then always
        # finishes long before the lanes run dry, even unpaced.
        self.low_water = max(1, worker.batch_size // 2)

    async def run(self) -> int:
        claimer = asyncio.create_task(self.claim_loop())
        try:
            await claimer
            lanes = [t for ts in self.lanes.values() for t in ts]
            for platform, tasks in self.lanes.items():
                for _ in tasks:
                    self.queues[platform].put_nowait(None)  # one "no more" per lane
            done = sum(await asyncio.gather(*lanes))
        except BaseException as exc:
            claimer.cancel()
            for task in (t for ts in self.lanes.values() for t in ts):
                task.cancel()
            if isinstance(exc, Exception):  # not a crash or a cancellation: hand back the untried rows
                with contextlib.suppress(Exception):
                    await self.worker.release([i for q in self.queues.values() for i in _drain(q) if i])
            raise
        left = [i for q in self.queues.values() for i in _drain(q) if i is not None]
        await self.worker.release(left)  # stopping: hand back what was claimed but not tried
        return done

    async def claim_loop(self) -> None:
        worker = self.worker
        while not worker._stopping:
            if self.error is not None:
                raise self.error
            if self.queued >= self.low_water:
                await self.wait_progress()
                continue
            batch = await worker.claim(worker.app.senders.keys(), worker.batch_size)
            if batch:
                self.feed(batch)
                continue
            if self.queued == 0 and self.busy == 0:
                return  # nothing due, nothing in flight that could come back to pending
            await self.wait_progress()

    async def wait_progress(self) -> None:
        self.progress.clear()
        await self.progress.wait()

    def feed(self, batch: list[OutboxItem]) -> None:
        for item in batch:
            platform = item.platform
            if platform not in self.queues:
                self.queues[platform] = asyncio.Queue()
                self.lanes[platform] = []
            self.queues[platform].put_nowait(item)
            self.queued += 1
            lanes = self.lanes[platform]
            if len(lanes) < self.worker.concurrency.get(platform, 8):
                task = asyncio.create_task(self.lane(self.queues[platform]))
                task.add_done_callback(self.lane_done)
                lanes.append(task)

    def lane_done(self, task: asyncio.Task[int]) -> None:
        if not task.cancelled() and task.exception() is not None and self.error is None:
            self.error = task.exception()
            self.progress.set()

    async def lane(self, queue: asyncio.Queue[OutboxItem | None]) -> int:
        done = 0
        while not self.worker._stopping:
            item = await queue.get()
            if item is None:
                break
            self.queued -= 1
            self.busy += 1
            if self.queued < self.low_water:
                self.progress.set()
            try:
                await self.worker.deliver_one(item)
            finally:
                self.busy -= 1
                self.progress.set()
            done += 1
            await asyncio.sleep(0)  # never hog the loop, even with an instant sender
        return done


async def _perform(sender: Sender, item: OutboxItem) -> str | None:
    """Send the row's message, or run its :class:`PlatformTask` (if the sender can)."""
    if isinstance(item.target, PlatformTask):
        run = getattr(sender, "run_task", None)
        if run is None:
            raise PermanentSendError(f"{item.platform} cannot do {item.target.kind} tasks")
        return await run(item.target, key=item.key)
    return await sender.send(item.target, item.message, key=item.key)


def _drain(queue: asyncio.Queue[OutboxItem | None]) -> list[OutboxItem | None]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items

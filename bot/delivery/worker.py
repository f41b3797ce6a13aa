"""The outbox worker: deliver due rows through ``app.senders``, paced, retried, resumable. It only orchestrates:
every change of a row is a transition of :class:`bot.delivery.store.Outbox`.

A pass (:meth:`OutboxWorker.deliver_due`):

* fails rows past the maximum age (``expire``), then a claimer keeps per-platform queues topped up (``claim``,
  the next batch while the current one is being sent) and each platform's lanes (8; 1 for the console) send;
* a DM to someone removed from the roster since it was queued fails at once, unsent ("... was removed from the
  roster");
* each send: ``tried`` (attempts + 1, in flight), a slot from the platform's :class:`Pacer`, ``sender.send``,
  and the outcome recorded at once: ``sent``; ``failed`` (a permanent error, or past the maximum age);
  ``retry_later`` (a 429: the pacer pauses for ``retry_after``, the row is due again at once; another transient
  error: the row backs off 1 s, 2 s, 4 s ... up to ``max_backoff``, unless the platform is paused);
* a row whose last send has an unknown outcome (timeout, dropped connection, a crash) is first looked up with the
  sender's ``delivered()`` where it has one (Slack): found -> ``sent``, no resend; otherwise it is sent again
  with the same key (Discord's nonce with ``enforce_nonce`` makes that safe);
* platform-wide health (:class:`bot.delivery.health.PlatformHealth`): after 5 transient errors in a row a
  platform is paused, its claimed rows are handed back (``release``), and one probe row goes out after each
  pause (jittered, growing to ``max_pause``) until the platform answers;
* database writes that fail (another process holds the write lock, the disk is full) are retried until they
  succeed, so a claimed batch is never stranded; a pass that fails anyway is followed by ``recover`` before the
  next one, without a restart.

At start, :meth:`OutboxWorker.recover` hands back what a crash left in ``sending`` (``recover``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from bot.core.clock import ManualClock
from bot.core.platform import (
    EXPIRED,
    REMOVED,
    DMTarget,
    PermanentSendError,
    PlatformTask,
    Sender,
    SendRate,
    TransientSendError,
    UnknownOutcomeError,
)
from bot.delivery.health import PlatformHealth
from bot.delivery.pacing import Pacer
from bot.delivery.store import OutboxItem, expired

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
T = TypeVar("T")
RateOverride = SendRate | float | None


def sender_rate(sender: Sender | None) -> SendRate:
    """The sender's own :class:`SendRate` (unpaced if it declares none, like a test double)."""
    rate = getattr(sender, "rate", None)
    return rate if isinstance(rate, SendRate) else SendRate()


def delivered_check(sender: Sender | None) -> Callable[..., Awaitable[str | None]] | None:
    """The sender's optional ``delivered(target, key, since)`` method, if it has one (see :class:`Sender`)."""
    check = getattr(sender, "delivered", None)
    return check if callable(check) else None


class OutboxWorker:
    """Delivers the outbox; :meth:`deliver_due` for one pass, :meth:`run` to keep going.

    ``rates`` overrides a platform's :class:`SendRate` (a number is a platform-wide rate, ``None`` unpaced);
    ``health`` takes the :class:`PlatformHealth` settings (``trip_after``, ``first_pause``, ``factor``,
    ``max_pause``, ``rng``); ``max_age`` defaults to ``COHORTBOT_OUTBOX_MAX_AGE_HOURS``. ``expire`` (whether
    rows past ``max_age`` fail) defaults to on, except on a virtual clock (the demo, tests), which jumps while
    the bot counts as running all along, as for scheduled jobs.
    """

    def __init__(
        self,
        app: CohortBot,
        *,
        rates: dict[str, RateOverride] | None = None,
        batch_size: int = 200,
        concurrency: dict[str, int] | None = None,
        base_backoff: float = 1.0,
        max_backoff: float = 300.0,
        inline_retry_limit: float = 60.0,
        poll_seconds: float = 30.0,
        max_age: timedelta | None = None,
        expire: bool | None = None,
        health: dict[str, object] | None = None,
        write_retry: float = 0.5,
    ) -> None:
        self.app = app
        self.store = app.outbox
        self.rates = dict(rates or {})
        self.batch_size = batch_size
        self.concurrency = {"console": 1, **(concurrency or {})}
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.inline_retry_limit = inline_retry_limit
        self.poll_seconds = poll_seconds
        hours = getattr(app.settings, "outbox_max_age_hours", 48.0)
        self.max_age = max_age if max_age is not None else timedelta(hours=hours)
        self.expire = (not isinstance(app.clock, ManualClock)) if expire is None else expire
        self.health_settings = dict(health or {})
        self.write_retry = write_retry
        self.pacers: dict[str, Pacer] = {}
        self._health: dict[str, PlatformHealth] = {}
        self._pass_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._dirty = False  # a pass failed: hand back its rows before the next one
        self._write_failing = False
        self.delivered = 0
        # Awaited (with the count) after each pass of run() that handled rows: the runtime uses it to run jobs
        # that depend on delivery (an announcement's report once all its rows are settled) without waiting.
        self.after_pass: list[Callable[[int], Awaitable[None]]] = []

    # ---- per platform ---------------------------------------------------------------------------------
    def pacer(self, platform: str) -> Pacer:
        """The platform's pacer (created on first use from the sender's rate or the override)."""
        if platform not in self.pacers:
            if platform in self.rates:
                override = self.rates[platform]
                rate = override if isinstance(override, SendRate) else SendRate(per_second=override)
            else:
                rate = sender_rate(self.app.senders.get(platform))
            self.pacers[platform] = Pacer(rate)
        return self.pacers[platform]

    def health(self, platform: str) -> PlatformHealth:
        """The platform's circuit breaker (created on first use; also shown by /outbox via ``app.outbox.health``)."""
        found = self._health.get(platform)
        if found is None:
            found = self._health[platform] = PlatformHealth(platform, **self.health_settings)  # type: ignore[arg-type]
            self.store.health[platform] = found
        return found

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

    # ---- the database ---------------------------------------------------------------------------------
    async def persist(self, write: Callable[[], Awaitable[T]]) -> T:
        """Run a write, retrying while the database refuses it (locked by another process, disk full).

        What the worker knows (a claim, an outcome) is kept meanwhile, so nothing is stranded in ``sending``.
        While stopping it gives up (the rows are recovered at the next start).
        """
        delay = self.write_retry
        while True:
            try:
                result = await write()
            except sqlite3.OperationalError as exc:
                if self._stopping:
                    raise
                if not self._write_failing:
                    log.warning("outbox: the database refused a write (%s); retrying until it works", exc)
                    self._write_failing = True
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
                continue
            if self._write_failing:
                log.warning("outbox: the database accepts writes again")
                self._write_failing = False
            return result

    async def recover(self) -> int:
        """Hand back every row left in ``sending`` by a crash or a failed pass; return how many.

        Rows whose send may have gone out keep ``in_flight_at``: they are checked (``delivered()``) before they
        are sent again.
        """
        count = await self.persist(self.store.recover)
        if count:
            log.warning("outbox: %d item(s) were mid-delivery at a crash or a failed pass; handed back", count)
        return count

    # ---- one pass -------------------------------------------------------------------------------------
    async def deliver_due(self) -> int:
        """Deliver every row due by ``app.clock.now()`` (as retries and platform health allow); how many handled.

        The pass ends when a claim finds nothing due (or only paused platforms' rows) and nothing is in flight.
        """
        async with self._pass_lock:
            count = 0
            if self.expire:
                count = await self.persist(lambda: self.store.expire(self.app.clock.now(), self.max_age))
            if count:
                log.warning(
                    "outbox: %d item(s) were %s: marked failed "
                    "(`cohortbot outbox retry` or /outbox retry:true sends them after all)",
                    count,
                    expired(self.max_age),
                )
            return await _Pass(self).run()

    async def claim(self, platforms: Iterable[str], limit: int) -> list[OutboxItem]:
        """Claim up to ``limit`` due rows for ``platforms`` (retrying while the database refuses)."""
        names = list(platforms)
        return await self.persist(lambda: self.store.claim(names, limit, self.app.clock.now()))

    async def release(self, items: list[OutboxItem]) -> None:
        """Hand claimed, untried rows back to ``pending``."""
        if items:
            await self.persist(lambda: self.store.release(items))

    async def deliver_one(self, item: OutboxItem, *, probe: bool = False) -> str:
        """Send one claimed row and record the outcome; return the new state."""
        sender = self.app.senders.get(item.platform)
        health = self.health(item.platform)
        if sender is None:  # the platform went away between claim and send
            if probe:
                health.probe_abandoned()
            await self.release([item])
            return "pending"
        if self._too_old(item):
            if probe:
                health.probe_abandoned()
            reason = expired(self.max_age, item.attempts, item.last_error)
            await self.persist(lambda: self.store.failed(item, reason, item.in_flight_at, EXPIRED))
            return "failed"
        checked = False
        task = isinstance(item.target, PlatformTask)  # tasks are idempotent: run again, never looked up
        check = None if task else delivered_check(sender)
        if item.in_flight_at is not None and check is not None:
            try:
                found = await check(item.target, item.key, since=item.in_flight_at)
            except PermanentSendError as exc:
                log.warning("outbox: cannot tell whether %s arrived (%s); sending it again", item.key, exc.reason)
                found = None
            except TransientSendError as exc:
                return await self._retry(item, exc, item.in_flight_at)
            except Exception as exc:
                log.exception("outbox: checking whether %s arrived failed unexpectedly", item.key)
                return await self._retry(item, TransientSendError(f"{type(exc).__name__}: {exc}"), item.in_flight_at)
            if found:
                log.info("outbox: %s had reached %s before (%s); not sent again", item.key, item.platform, found)
                return await self._sent(item, str(found))
            checked = True
        known = None if checked else item.in_flight_at  # what is in flight if this send is answered "no"
        gone = await self._removed(item)
        if gone is not None:  # removed from the roster since it was queued: gone, so never sent
            if probe:
                health.probe_abandoned()
            log.info("outbox: %s not sent: %s", item.key, gone)
            await self.persist(lambda: self.store.failed(item, gone, known, REMOVED))
            return "failed"
        # From here on the row may reach the platform. Marked before the pacer's slot (in real time, as platforms
        # timestamp), so the send's timing is untouched.
        item = await self.persist(lambda: self.store.tried(item, datetime.now(UTC), checked=checked))
        pacer = self.pacer(item.platform)
        await pacer.acquire(None if task else item.target.describe())
        try:
            message_id = await _perform(sender, item)
        except PermanentSendError as exc:
            health.answered(self.app.clock.now())
            reason, kind = exc.reason, exc.kind
            log.warning("outbox: %s to %s failed permanently: %s", item.key, item.target.describe(), reason)
            await self.persist(lambda: self.store.failed(item, reason, known, kind))
            return "failed"
        except UnknownOutcomeError as exc:
            return await self._retry(item, exc, item.in_flight_at)
        except TransientSendError as exc:
            return await self._retry(item, exc, known)
        except Exception as exc:  # a bug or an unexpected client error: it may have gone out
            log.exception("outbox: sending %s failed unexpectedly", item.key)
            return await self._retry(item, UnknownOutcomeError(f"{type(exc).__name__}: {exc}"), item.in_flight_at)
        return await self._sent(item, message_id)

    async def _removed(self, item: OutboxItem) -> str | None:
        """Why a DM is not to be sent at all: its person was removed from the roster after it was queued."""
        if not isinstance(item.target, DMTarget):
            return None
        person = await self.app.people.get(item.target.person_id)
        return f"{person.name} was removed from the roster" if person is not None and person.removed else None

    async def _sent(self, item: OutboxItem, message_id: str | None) -> str:
        now = self.app.clock.now()
        self.health(item.platform).answered(now)
        await self.persist(lambda: self.store.sent(item, message_id, now))
        self.delivered += 1
        return "sent"

    async def _retry(self, item: OutboxItem, exc: TransientSendError, in_flight: datetime | None) -> str:
        """Back to ``pending`` (or ``failed`` past the maximum age). A 429 waits in the pacer; a platform-wide
        failure waits for the platform's probe; a failure of this row alone backs off exponentially."""
        now = self.app.clock.now()
        health = self.health(item.platform)
        if exc.retry_after is not None:
            self.pacer(item.platform).rate_limited(exc.retry_after)
            health.answered(now)
            delay = 0.0 if exc.retry_after <= self.inline_retry_limit else exc.retry_after
        elif health.failed(now, exc.reason):
            delay = 0.0  # the platform is paused: its probe decides when this row goes
        else:
            delay = min(self.max_backoff, self.base_backoff * 2 ** max(0, item.attempts - 1))
        if self._too_old(item):
            reason = expired(self.max_age, item.attempts, exc.reason)
            await self.persist(lambda: self.store.failed(item, reason, in_flight, EXPIRED))
            return "failed"
        not_before = max(item.not_before, now + timedelta(seconds=delay))
        await self.persist(lambda: self.store.retry_later(item, exc.reason, not_before, in_flight))
        return "pending"

    def _too_old(self, item: OutboxItem) -> bool:
        due = item.due_at or item.not_before
        return self.expire and self.app.clock.now() - due > self.max_age

    # ---- forever --------------------------------------------------------------------------------------
    async def next_due_in(self) -> float | None:
        """Seconds (clock time) until a row falls due or a paused platform's probe, if any."""
        now = self.app.clock.now()
        health = {p: self.health(p) for p in self.app.senders}
        # Rows matter for platforms that send, or whose probe may go; a paused platform wakes us at its probe.
        open_ = [p for p, h in health.items() if h.sending() or h.claim_limit(now, 1)]
        times = [h.pause_seconds(now) for p, h in health.items() if h.state == "paused"]
        due = await self.store.next_due(open_)
        if due is not None:
            times.append((due - now).total_seconds())
        return max(0.0, min(times)) if times else None

    async def run(self) -> None:
        """Deliver as rows fall due, until :meth:`request_stop` (wakes on :meth:`wake` and at the next due row)."""
        while not self._stopping:
            self._wake.clear()
            try:
                if self._dirty:
                    await self.recover()
                    self._dirty = False
                handled = await self.deliver_due()
                if handled:
                    for hook in list(self.after_pass):
                        await hook(handled)
                due_in = await self.next_due_in()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox: a delivery pass failed; its rows are handed back and tried again shortly")
                self._dirty = True
                due_in = 1.0
            if self._stopping:
                break
            timeout = self.poll_seconds if due_in is None else min(self.poll_seconds, max(0.05, due_in))
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
        self.probes: set[int] = set()  # ids of rows claimed as a paused platform's probe
        self.queued = 0  # claimed, not yet taken by a lane
        self.busy = 0  # taken by a lane, outcome not yet recorded
        self.progress = asyncio.Event()
        self.error: BaseException | None = None  # a lane died: stop taking rows, end the pass
        # Claim the next batch once fewer than this many rows are waiting: a claim (a few ms) then always
        # finishes long before the lanes run dry, even unpaced.
        self.low_water = max(1, worker.batch_size // 2)

    @property
    def stopping(self) -> bool:
        return self.worker._stopping or self.error is not None

    async def run(self) -> int:
        claimer = asyncio.create_task(self.claim_loop())
        lanes: list[asyncio.Task[int]] = []
        try:
            with contextlib.suppress(Exception):
                await asyncio.shield(claimer)  # its error is self.error or re-raised below
            lanes = [t for ts in self.lanes.values() for t in ts]
            for platform, tasks in self.lanes.items():
                for _ in tasks:
                    self.queues[platform].put_nowait(None)  # one "no more" per lane
            results = await asyncio.gather(*lanes, return_exceptions=True)
        except BaseException:  # cancelled (a crash, or stop timed out): leave the rows for recover()
            claimer.cancel()
            for task in (t for ts in self.lanes.values() for t in ts):
                task.cancel()
            raise
        left = [i for q in self.queues.values() for i in _drain(q) if i is not None]
        for item in left:
            if item.id in self.probes:
                self.worker.health(item.platform).probe_abandoned()
        await self.worker.release(left)  # stopping or failed: hand back what was claimed but not tried
        error = self.error or (claimer.exception() if claimer.done() and not claimer.cancelled() else None)
        if error is None:
            error = next((r for r in results if isinstance(r, BaseException)), None)
        if error is not None:
            raise error
        return sum(r for r in results if isinstance(r, int))

    async def claim_loop(self) -> None:
        worker = self.worker
        try:
            while not self.stopping:
                if self.queued >= self.low_water:
                    await self.wait_progress()
                    continue
                now = worker.app.clock.now()
                ready, probes = [], []
                for platform in sorted(worker.app.senders):
                    health = worker.health(platform)
                    if health.sending():
                        ready.append(platform)
                    elif health.claim_limit(now, 1):
                        probes.append(platform)
                batch = await worker.claim(ready, worker.batch_size) if ready else []
                for platform in probes:
                    for item in await worker.claim([platform], 1):
                        worker.health(platform).probe_started()
                        self.probes.add(item.id)
                        batch.append(item)
                if batch:
                    self.feed(batch)
                    continue
                if self.queued == 0 and self.busy == 0:
                    return  # nothing due, nothing in flight that could come back to pending
                await self.wait_progress()
        except Exception as exc:
            if self.error is None:
                self.error = exc
            raise

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
                task = asyncio.create_task(self.lane(platform))
                task.add_done_callback(self.lane_done)
                lanes.append(task)

    def lane_done(self, task: asyncio.Task[int]) -> None:
        if not task.cancelled() and task.exception() is not None and self.error is None:
            self.error = task.exception()
        self.progress.set()

    async def lane(self, platform: str) -> int:
        queue = self.queues[platform]
        health = self.worker.health(platform)
        done = 0
        while not self.stopping:
            item = await queue.get()
            if item is None:
                break
            self.queued -= 1
            self.busy += 1
            if self.queued < self.low_water:
                self.progress.set()
            try:
                probe = item.id in self.probes
                self.probes.discard(item.id)
                if probe or health.sending():
                    await self.worker.deliver_one(item, probe=probe)
                    done += 1
                else:  # the platform was paused meanwhile: hand back this row and the others waiting
                    await self.hand_back(platform, item)
            finally:
                self.busy -= 1
                self.progress.set()
            await asyncio.sleep(0)  # never hog the loop, even with an instant sender
        return done

    async def hand_back(self, platform: str, item: OutboxItem) -> None:
        queue = self.queues[platform]
        back, keep = [item], []
        for queued in _drain(queue):
            if queued is None or queued.id in self.probes:
                keep.append(queued)  # lane sentinels and the probe stay
            else:
                back.append(queued)
        for queued in keep:
            queue.put_nowait(queued)
        self.queued -= len(back) - 1
        await self.worker.release(back)


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

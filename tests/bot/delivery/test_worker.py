"""The outbox worker: bursts, crashes, retries and pacing, against an in-process sender."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

import pytest

from bot.app import CohortBot
from bot.core.clock import ManualClock
from bot.core.messages import Message
from bot.core.platform import ChannelTarget, DMTarget, PermanentSendError, PlatformTask, Target, TransientSendError
from bot.delivery import NewItem, OutboxWorker
from bot.delivery.pacing import TokenBucket
from tests.plugin import EXAMPLE_COHORT
from tests.schedules.recording import RecordingSender


async def heartbeat(ticks: list[int], stop: asyncio.Event) -> None:
    """Count how often the loop gets round to another task (each ``sleep(0)`` is one turn)."""
    while not stop.is_set():
        ticks[0] += 1
        await asyncio.sleep(0)


async def enqueue_dms(app: CohortBot, n: int) -> None:
    message = Message(text="Reminder: homework is due soon.")
    await app.outbox.enqueue_many(NewItem(f"dm:{i}", DMTarget(i), message) for i in range(n))


async def test_30000_items_due_at_once_are_all_delivered_without_blocking_the_loop(app: CohortBot):
    sender = RecordingSender()
    app.senders["console"] = sender
    await enqueue_dms(app, 30_000)
    worker = OutboxWorker(app, rates={"console": None}, batch_size=500)
    ticks = [0]
    stop = asyncio.Event()
    beat = asyncio.create_task(heartbeat(ticks, stop))
    handled = await worker.deliver_due()
    stop.set()
    await beat
    assert handled == 30_000
    assert len(sender.delivered) == 30_000
    assert max(sender.calls.values()) == 1
    assert await app.outbox.counts() == {"sent": 30_000}
    # Not a timing assertion (those belong in bench/): the loop got round to other work between sends, at least
    # once per 10 of them, so a 30,000-message burst never holds up commands for the length of a batch.
    assert ticks[0] >= 30_000 // 10, ticks[0]


class CrashingSender(RecordingSender):
    """Cancels the worker's task after ``after`` sends, as a crash would stop it mid-batch."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after
        self.task: asyncio.Task | None = None

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        result = await super().send(target, message, key=key)
        if self.task is not None and len(self.order) == self.after:
            self.task.cancel()
        await asyncio.sleep(0)
        return result


async def test_crash_mid_delivery_then_restart_delivers_the_rest_once(app: CohortBot):
    await enqueue_dms(app, 1_000)
    sender = CrashingSender(after=377)
    app.senders["console"] = sender
    first = OutboxWorker(app, rates={"console": None}, concurrency={"console": 4}, batch_size=100)
    sender.task = asyncio.create_task(first.run())
    with contextlib.suppress(asyncio.CancelledError):
        await sender.task
    await app.db.settle()  # the crashed worker's last write lands before we read on another connection
    counts = await app.outbox.counts()
    assert counts.get("sending", 0) > 0  # the crash left a claimed batch behind
    assert counts["pending"] > 0

    sender.task = None
    second = OutboxWorker(app, rates={"console": None}, concurrency={"console": 4})
    assert await second.recover() == counts["sending"]
    await second.deliver_due()
    assert await app.outbox.counts() == {"sent": 1_000}
    assert len(sender.delivered) == 1_000
    resent = [k for k, n in sender.calls.items() if n > 1]
    # Only the sends in flight at the crash (at most one per lane) are tried again, with the same key
    # (Discord's enforce_nonce makes that a no-op); nothing else is sent twice.
    assert len(resent) <= 4


@pytest.mark.parametrize("checks", [False, True], ids=["resend", "delivered-check"])
async def test_crash_in_a_subprocess_then_restart(tmp_path, cohort, clock, checks):
    """SIGKILL a process mid-delivery, restart, and count: every item sent, none recorded twice.

    With ``checks`` the sender can tell what reached it (``delivered()``, as Slack's does from history): then
    nothing at all is sent twice.
    """
    import os
    import signal
    import subprocess
    import sys

    db = tmp_path / "bot.db"
    log = tmp_path / "sent.log"
    app = await CohortBot.open(cohort, db, clock=clock)
    await enqueue_dms(app, 3_000)
    await app.close()
    script = f"""
import asyncio, os, sys
sys.path.insert(0, {str(os.getcwd())!r})
from datetime import datetime
from bot.app import CohortBot
from bot.core.clock import ManualClock
from bot.delivery import OutboxWorker

class FileSender:
    platform = "console"
    def __init__(self, path):
        self.out = open(path, "a", buffering=1)
    async def send(self, target, message, *, key):
        self.out.write(key + "\\n")
        await asyncio.sleep(0)
        return key
{DELIVERED if checks else ""}
async def main():
    app = await CohortBot.open({str(EXAMPLE_COHORT)!r}, {str(db)!r},
                               clock=ManualClock(datetime.fromisoformat({clock.now().isoformat()!r})))
    app.senders["console"] = FileSender({str(log)!r})
    worker = OutboxWorker(app, rates={{"console": None}}, concurrency={{"console": 4}}, batch_size=100)
    await worker.recover()
    print("ready", flush=True)
    await worker.deliver_due()
    await app.close()
    print("done", flush=True)

asyncio.run(main())
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    for _ in range(400):
        if log.exists() and len(log.read_text().splitlines()) > 500:
            break
        await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = log.read_text().splitlines()
    assert 0 < len(before) < 3_000
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)  # noqa: ASYNC221
    assert proc.returncode == 0, proc.stderr
    sent = log.read_text().splitlines()
    assert set(sent) == {f"dm:{i}" for i in range(3_000)}
    # Resent after the kill: at most what was in flight or sent-but-not-yet-recorded at that instant.
    assert len(sent) - 3_000 <= 4
    if checks:
        assert len(sent) == 3_000, "a message that reached the platform before the kill was sent again"
    app = await CohortBot.open(cohort, db, clock=clock)
    assert await app.outbox.counts() == {"sent": 3_000}
    await app.close()


DELIVERED = """
    async def delivered(self, target, key, since):
        with open(self.out.name) as f:
            return key if key in f.read().split() else None
"""


class FlakySender(RecordingSender):
    def __init__(self, errors: list[Exception]) -> None:
        super().__init__()
        self.errors = errors

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        if self.errors:
            raise self.errors.pop(0)
        return await super().send(target, message, key=key)


async def test_rate_limit_retry_after_pauses_the_platform_and_loses_nothing(app: CohortBot):
    sender = FlakySender([TransientSendError("429", retry_after=0.2), TransientSendError("429", retry_after=0.2)])
    app.senders["console"] = sender
    await enqueue_dms(app, 5)
    worker = OutboxWorker(app, rates={"console": None})
    started = time.perf_counter()
    await worker.deliver_due()
    assert time.perf_counter() - started >= 0.4
    assert len(sender.delivered) == 5
    items = await app.outbox.items("sent")
    assert len(items) == 5
    assert sum(i.attempts for i in items) == 7  # attempts count every real send, the two rate-limited ones too
    assert worker.health("console").state == "ok"  # a 429 is an answer: the platform is up


async def test_transient_failure_backs_off_in_clock_time(app: CohortBot, clock: ManualClock):
    sender = FlakySender([TransientSendError("Discord 503"), TransientSendError("Discord 503")])
    app.senders["console"] = sender
    await app.outbox.enqueue("k", ChannelTarget("general"), Message(text="hi"))
    worker = OutboxWorker(app, base_backoff=30)
    await worker.deliver_due()
    item = await app.outbox.get("k")
    assert item.state == "pending" and item.last_error == "Discord 503"
    assert item.not_before == clock.now() + timedelta(seconds=30)
    clock.advance(timedelta(seconds=30))
    await worker.deliver_due()
    assert (await app.outbox.get("k")).not_before == clock.now() + timedelta(seconds=60)  # 30 s, 60 s, ...
    clock.advance(timedelta(seconds=60))
    await worker.deliver_due()
    assert (await app.outbox.get("k")).state == "sent"


async def test_only_permanent_errors_or_the_maximum_age_fail_a_row(app: CohortBot, clock: ManualClock):
    sender = FlakySender([PermanentSendError("cannot DM this user")] + [TransientSendError("timeout")] * 40)
    app.senders["console"] = sender
    await app.outbox.enqueue("a", DMTarget(1), Message(text="a"))
    await app.outbox.enqueue("b", DMTarget(2), Message(text="b"))
    worker = OutboxWorker(app, max_age=timedelta(hours=2), expire=True, health={"trip_after": 100})
    tries = 0
    while (await app.outbox.get("b")).state == "pending":
        await worker.deliver_due()
        clock.advance(timedelta(minutes=5))
        tries += 1
    a, b = await app.outbox.get("a"), await app.outbox.get("b")
    assert (a.state, a.last_error) == ("failed", "cannot DM this user")
    # 8 attempts used to fail a row for good; now only the age does (about 2 h of 5-minute retries here).
    assert b.state == "failed" and b.attempts > 8
    assert b.last_error == f"not delivered within 2 h of its time ({b.attempts} attempt(s); last error: timeout)"
    assert 2 * 12 <= tries <= 2 * 12 + 2
    assert [i.key for i in await app.outbox.latest_failures()] == ["b", "a"]


async def test_rows_past_the_maximum_age_fail_unsent_and_can_be_requeued(app: CohortBot, clock: ManualClock):
    sender = RecordingSender()
    app.senders["console"] = sender
    await enqueue_dms(app, 3)
    clock.advance(timedelta(hours=49))  # e.g. the bot was down for two days
    worker = OutboxWorker(app, expire=True)  # 48 h from the settings
    await worker.deliver_due()
    assert await app.outbox.counts() == {"failed": 3} and not sender.calls
    assert (await app.outbox.get("dm:0")).last_error == "not delivered within 48 h of its time (0 attempt(s))"
    assert await app.outbox.requeue(clock.now()) == 3
    await worker.deliver_due()
    assert await app.outbox.counts() == {"sent": 3} and set(sender.delivered) == {"dm:0", "dm:1", "dm:2"}


async def test_items_wait_for_not_before(app: CohortBot, clock: ManualClock):
    sender = RecordingSender()
    app.senders["console"] = sender
    await app.outbox.enqueue(
        "later", ChannelTarget("x"), Message(text="x"), not_before=clock.now() + timedelta(hours=1)
    )
    worker = OutboxWorker(app)
    assert await worker.deliver_due() == 0
    assert 3599 <= await worker.next_due_in() <= 3600
    clock.advance(timedelta(hours=1))
    assert await worker.deliver_due() == 1


async def test_token_bucket_spaces_requests_and_pauses():
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(50.0, monotonic=lambda: now[0], sleep=fake_sleep)
    times = []
    for i in range(200):
        if i == 100:
            bucket.pause(2.0)
        await bucket.acquire()
        times.append(now[0])
    # Never more than rate + 1 in any one-second window; the pause is honoured.
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 1.0) <= 51
    assert times[100] - times[99] >= 2.0 - 1e-6
    assert times[-1] >= 198 / 50 + 2.0 - 1e-6


class TaskSender(RecordingSender):
    """A sender that also runs platform tasks."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks: list[tuple[PlatformTask, str]] = []

    async def run_task(self, task: PlatformTask, *, key: str) -> str | None:
        self.tasks.append((task, key))
        return f"done-{len(self.tasks)}"


async def test_platform_tasks_go_through_the_outbox_once(app: CohortBot):
    sender = TaskSender()
    app.senders["console"] = sender
    task = PlatformTask("member_roles", {"user": "42", "add": ["Scholars"], "remove": []})
    assert await app.outbox.enqueue_task("roles:42:v1", task)
    assert not await app.outbox.enqueue_task("roles:42:v1", task)  # keyed: once
    await OutboxWorker(app, rates={"console": None}).deliver_due()
    assert sender.tasks == [(task, "roles:42:v1")]
    item = await app.outbox.get("roles:42:v1")
    assert item.state == "sent" and item.target == task and item.target.describe() == "task:member_roles"


async def test_a_task_the_platform_cannot_do_fails_with_the_reason(app: CohortBot):
    app.senders["console"] = RecordingSender()
    await app.outbox.enqueue_task("event:1", PlatformTask("scheduled_event", {"name": "x"}))
    await OutboxWorker(app, rates={"console": None}).deliver_due()
    item = await app.outbox.get("event:1")
    assert item.state == "failed" and "cannot do scheduled_event tasks" in item.last_error

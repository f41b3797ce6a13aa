"""Crash recovery without resends: rows in flight at a crash are handed back and checked with the sender's
``delivered()`` before they are sent again; attempts count real sends, never claims."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.app import CohortBot
from bot.core.messages import Message
from bot.core.platform import ChannelTarget, DMTarget, PermanentSendError, Target, TransientSendError
from bot.delivery import NewItem, OutboxWorker
from bot.platforms.slack.sender import SlackSender
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI
from tests.schedules.recording import RecordingSender

HI = Message(text="Reminder: homework is due soon.")


class CheckingSender:
    """Records sends (the "platform") and answers ``delivered()`` from them; can hang to simulate a crash.

    (Not a RecordingSender: its ``delivered`` attribute, a dict, would hide the method.)

    ``hang_after``: keys whose send reaches the platform and then never returns (crash before recording);
    ``hang_before``: keys whose send never reaches the platform.
    """

    def __init__(self, hang_after: set[str] = frozenset(), hang_before: set[str] = frozenset()) -> None:
        self.platform = "console"
        self.check_error: Exception | None = None
        self.calls: Counter[str] = Counter()
        self.hang_after, self.hang_before = set(hang_after), set(hang_before)
        self.ids: dict[str, tuple[str, datetime]] = {}
        self.hanging: set[str] = set()
        self.checked: list[str] = []

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        if key in self.hang_before:
            self.hanging.add(key)
            await asyncio.Event().wait()
        self.calls[key] += 1
        message_id = f"msg-{key}-{self.calls[key]}"
        self.ids.setdefault(key, (message_id, datetime.now(UTC)))
        if key in self.hang_after:
            self.hanging.add(key)
            await asyncio.Event().wait()
        return message_id

    async def delivered(self, target: Target, key: str, since: datetime) -> str | None:
        self.checked.append(key)
        if self.check_error is not None:
            raise self.check_error
        found = self.ids.get(key)
        return found[0] if found and found[1] >= since else None


async def crash_mid_delivery(app: CohortBot, sender, hanging: int, concurrency: int) -> None:
    """Run a pass until ``hanging`` sends hang, then cancel it as a crash would (nothing is recorded or released)."""
    worker = OutboxWorker(app, rates={app.platform: None}, concurrency={app.platform: concurrency})
    task = asyncio.create_task(worker.deliver_due())
    for _ in range(500):
        if len(sender.hanging) >= hanging:
            break
        await asyncio.sleep(0.01)
    assert len(sender.hanging) == hanging
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def rows(app: CohortBot) -> dict[str, tuple[str, bool]]:
    """key -> (state, in flight)."""
    found = await app.db.fetchall("SELECT key, state, in_flight_at FROM outbox")
    return {r["key"]: (r["state"], r["in_flight_at"] is not None) for r in found}


async def test_recovery_keeps_what_reached_the_platform_and_sends_the_rest_once(app: CohortBot):
    await app.outbox.enqueue_many(NewItem(k, DMTarget(i), HI) for i, k in enumerate("ABC"))
    sender = CheckingSender(hang_after={"A"}, hang_before={"B"})
    app.senders["console"] = sender
    await crash_mid_delivery(app, sender, hanging=2, concurrency=2)
    # A reached the platform, B did not, C was claimed but never tried (both lanes were busy).
    assert await rows(app) == {"A": ("sending", True), "B": ("sending", True), "C": ("sending", False)}
    a_id = sender.ids["A"][0]

    sender.hang_after.clear()
    sender.hang_before.clear()
    worker = OutboxWorker(app, rates={"console": None}, concurrency={"console": 2})
    assert await worker.recover() == 3
    # Handed back; the two that may have gone out keep their mark, so they are checked before any resend.
    assert await rows(app) == {"A": ("pending", True), "B": ("pending", True), "C": ("pending", False)}
    assert await worker.deliver_due() == 3
    assert sorted(sender.checked) == ["A", "B"]  # only rows that were in flight are looked up
    assert dict(sender.calls) == {"A": 1, "B": 1, "C": 1}  # A was found: not sent again
    assert await app.outbox.counts() == {"sent": 3}
    assert (await app.db.fetchval("SELECT platform_message_id FROM outbox WHERE key = 'A'")) == a_id
    assert await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE in_flight_at IS NOT NULL") == 0
    attempts = {r["key"]: r["attempts"] for r in await app.db.fetchall("SELECT key, attempts FROM outbox")}
    assert attempts == {"A": 1, "B": 2, "C": 1}  # real sends: B went out twice (the first never arrived)


async def restarted_after_a_crash(app: CohortBot, check_error: Exception) -> tuple[CheckingSender, OutboxWorker]:
    """ "A" reached the platform, then the process died; restarted with a sender whose check raises."""
    await app.outbox.enqueue("A", DMTarget(1), HI)
    sender = CheckingSender(hang_after={"A"})
    app.senders["console"] = sender
    await crash_mid_delivery(app, sender, hanging=1, concurrency=1)
    sender.hang_after.clear()
    sender.check_error = check_error
    worker = OutboxWorker(app, rates={"console": None})
    assert await worker.recover() == 1
    return sender, worker


async def test_a_check_that_cannot_answer_now_never_resends(app: CohortBot, clock):
    sender, worker = await restarted_after_a_crash(app, TransientSendError("history: 503"))
    await worker.deliver_due()
    item = await app.outbox.get("A")
    assert (item.state, item.last_error, item.in_flight_at is not None) == ("pending", "history: 503", True)
    assert sender.calls["A"] == 1  # not sent again while it is unknown whether it arrived
    sender.check_error = None
    clock.advance(timedelta(minutes=1))
    await worker.deliver_due()
    assert sender.calls["A"] == 1 and (await app.outbox.get("A")).state == "sent"


async def test_a_check_that_can_never_answer_resends_with_a_warning(app: CohortBot, caplog):
    sender, worker = await restarted_after_a_crash(app, PermanentSendError("missing_scope: im:history"))
    await worker.deliver_due()
    assert sender.calls["A"] == 2 and (await app.outbox.get("A")).state == "sent"
    assert "cannot tell whether A arrived (missing_scope: im:history)" in caplog.text


async def test_crash_loops_do_not_use_up_attempts(app: CohortBot, clock):
    """Claimed-then-crashed rows were never tried: after many crash-restarts they are neither counted nor
    failed, and a short blip afterwards only delays them."""
    await app.outbox.enqueue_many(NewItem(f"k{i}", DMTarget(i), HI) for i in range(30))
    sender = CheckingSender(hang_before={f"k{i}" for i in range(30)})
    app.senders["console"] = sender
    for _ in range(8):  # the process dies each time before anything is sent (every lane hangs)
        sender.hanging.clear()
        await crash_mid_delivery(app, sender, hanging=1, concurrency=1)
        await OutboxWorker(app).recover()
    # k0 was handed to the sender each time (8 real tries, as far as anyone can tell); the rest never were.
    assert await app.db.fetchval("SELECT attempts FROM outbox WHERE key = 'k0'") == 8
    assert await app.db.fetchval("SELECT MAX(attempts) FROM outbox WHERE key != 'k0'") == 0
    sender.hang_before.clear()
    blip = FlakyOnce(sender, TransientSendError("503 blip"))
    app.senders["console"] = blip
    worker = OutboxWorker(app, rates={"console": None})
    await worker.deliver_due()
    assert await app.outbox.counts() == {"pending": 1, "sent": 29}  # the blip only delays its row
    clock.advance(timedelta(minutes=10))
    await worker.deliver_due()
    assert await app.outbox.counts() == {"sent": 30}


class FlakyOnce:
    """Delegates to ``inner`` after failing its first send with ``error``."""

    def __init__(self, inner: CheckingSender, error: Exception) -> None:
        self.platform = inner.platform
        self.inner, self.error = inner, error

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return await self.inner.send(target, message, key=key)


async def test_attempts_count_sends_not_claims(app: CohortBot):
    sender = RecordingSender()
    app.senders["console"] = sender
    await app.outbox.enqueue("A", DMTarget(1), HI)
    worker = OutboxWorker(app, rates={"console": None})
    [claimed] = await worker.claim(["console"], 10)
    await worker.release([claimed])  # handed back untried
    assert (await app.outbox.get("A")).attempts == 0
    await worker.deliver_due()
    item = await app.outbox.get("A")
    assert (item.state, item.attempts, item.in_flight_at) == ("sent", 1, None)


# ---- over the Slack fake with the real SlackSender -----------------------------------------------------


class CrashingSlackSender(SlackSender):
    """The production sender, hanging after Slack accepted ``hang_after`` keys / before posting ``hang_before``."""

    def __init__(self, *args, hang_after: set[str], hang_before: set[str]) -> None:
        super().__init__(*args)
        self.hang_after, self.hang_before = hang_after, hang_before
        self.hanging: set[str] = set()

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        if key in self.hang_before:
            self.hanging.add(key)
            await asyncio.Event().wait()
        ts = await super().send(target, message, key=key)
        if key in self.hang_after:
            self.hanging.add(key)
            await asyncio.Event().wait()
        return ts


def posts_with_key(fake: FakeSlackAPI, key: str) -> list[str]:
    """The ts of every successful chat.postMessage carrying outbox ``key``."""
    return [
        str(entry["ts"])
        for messages in fake.history.values()
        for entry in messages
        if (entry.get("metadata") or {}).get("event_payload", {}).get("key") == key
    ]


async def test_slack_recovery_finds_the_accepted_post_in_history(app: CohortBot, slack_api: FakeSlackAPI):
    app.platform = "slack"
    emmy = next(p.id for p in await app.people.all() if p.name == "Emmy Noether")
    await app.outbox.enqueue_many(
        [
            NewItem("A", ChannelTarget("intro-course"), HI),  # Slack accepted it, then the crash
            NewItem("D", DMTarget(emmy), HI),  # the same, as a DM
            NewItem("B", ChannelTarget("help"), HI),  # in flight, never reached Slack
            NewItem("C", ChannelTarget("general"), HI),  # claimed, never tried
        ]
    )
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_api.api_url)
    crashing = CrashingSlackSender(app, client, hang_after={"A", "D"}, hang_before={"B"})
    app.senders["slack"] = crashing
    await crash_mid_delivery(app, crashing, hanging=3, concurrency=3)
    assert await rows(app) == {
        "A": ("sending", True),
        "D": ("sending", True),
        "B": ("sending", True),
        "C": ("sending", False),
    }
    accepted = {k: posts_with_key(slack_api, k) for k in "ADBC"}
    assert {k: len(v) for k, v in accepted.items()} == {"A": 1, "D": 1, "B": 0, "C": 0}

    app.senders["slack"] = SlackSender(app, client)  # the restarted bot
    worker = OutboxWorker(app, rates={"slack": None}, concurrency={"slack": 3})
    assert await worker.recover() == 4
    await worker.deliver_due()
    history = slack_api.calls_to("conversations.history", ok=True)
    assert {c.body["channel"] for c in history} == {"C0INTRO0001", "D0SCH000004", "C0HELP00001"}
    assert all(c.body["include_all_metadata"] in ("1", "true", True) for c in history)
    assert slack_api.calls_to("conversations.open", ok=True)  # the DM's own id, for its history
    assert await app.outbox.counts() == {"sent": 4}
    for key in "ADBC":
        assert len(posts_with_key(slack_api, key)) == 1, key
    for key in "AD":
        found = await app.db.fetchval("SELECT platform_message_id FROM outbox WHERE key = ?", (key,))
        assert found == accepted[key][0]

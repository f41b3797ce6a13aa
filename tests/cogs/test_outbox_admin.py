"""/outbox for organizers: the next item by SQL MIN at any size, paused platforms, and retry:true."""

from __future__ import annotations

from datetime import timedelta

from bot.app import CohortBot
from bot.core.clock import ManualClock
from bot.core.messages import Message
from bot.core.platform import DMTarget, PermanentSendError
from bot.delivery import NewItem, OutboxWorker
from tests.plugin import console_actor
from tests.schedules.recording import RecordingSender


def text(reply, app: CohortBot) -> str:
    assert reply.message is not None
    return reply.message.as_plain_text(app.cohort.zone)


async def test_next_is_the_earliest_pending_however_many_rows(app: CohortBot, as_, clock: ManualClock):
    # The earliest row is the oldest of 1,500: not among the newest 1,000 rows.
    await app.outbox.enqueue("first", DMTarget(1), Message(text="x"), not_before=clock.now() + timedelta(hours=1))
    later = clock.now() + timedelta(days=1)
    await app.outbox.enqueue_many(NewItem(f"later:{i}", DMTarget(1), Message(text="x"), later) for i in range(1_499))
    assert (await app.outbox.next_pending()).key == "first"
    reply = await as_("Grace Hopper", "outbox")
    assert "`first` to dm:1" in text(reply, app) and "1500 pending" in text(reply, app)


class Refusing:
    platform = "console"

    async def send(self, target, message, *, key):
        raise PermanentSendError("DMs are closed")


async def test_retry_requeues_the_failures_for_organizers_only(app: CohortBot, as_):
    app.senders["console"] = Refusing()
    await app.outbox.enqueue_many(NewItem(f"r:{i}", DMTarget(i), Message(text="hi")) for i in range(3))
    await OutboxWorker(app).deliver_due()
    reply = await as_("Grace Hopper", "outbox")
    shown = text(reply, app)
    assert reply.private and "0 pending, 0 sent, 3 failed" in shown
    assert "r:2" in shown and "DMs are closed" in shown and "retry:true" in shown
    assert "r:2" not in text(await as_("Ada Lovelace", "outbox"), app)  # a scholar: refused, nothing shown

    refused = await as_("Alan Turing", "outbox", retry="true")  # a facilitator
    assert refused.private and "r:2" not in text(refused, app) and (await app.outbox.counts()) == {"failed": 3}

    sender = RecordingSender()
    app.senders["console"] = sender
    reply = await as_("Grace Hopper", "outbox", retry="true")
    assert "Re-queued 3 failed in the last 7 days." in text(reply, app) and "3 pending" in text(reply, app)
    await OutboxWorker(app).deliver_due()
    assert await app.outbox.counts() == {"sent": 3} and len(sender.delivered) == 3
    again = await as_("Grace Hopper", "outbox", retry="true")
    assert "Nothing that failed in the last 7 days was left to re-queue." in text(again, app)


async def test_a_paused_platform_is_shown(app: CohortBot, as_, clock: ManualClock):
    worker = OutboxWorker(app)
    health = worker.health("slack")
    for _ in range(5):
        health.failed(clock.now(), "chat.postMessage: service_unavailable")
    shown = text(await as_("Grace Hopper", "outbox"), app)
    assert "slack: paused since" in shown and "service_unavailable" in shown and "next probe at" in shown


async def test_the_failures_view_has_a_retry_button_for_organizers(app: CohortBot, as_):
    app.senders["console"] = Refusing()
    await app.outbox.enqueue_many(NewItem(f"b:{i}", DMTarget(i), Message(text="hi")) for i in range(2))
    await OutboxWorker(app).deliver_due()
    view = (await as_("Grace Hopper", "outbox")).message
    [retry] = [c for c in view.actions if c.kind == "button"]
    assert retry.label == "Retry failed"
    scholar = await app.dispatcher.click(await console_actor(app, "Ada Lovelace"), retry.id)
    assert "only for organizers" in scholar.error and (await app.outbox.counts()) == {"failed": 2}
    clicked = await app.dispatcher.click(await console_actor(app, "Grace Hopper"), retry.id)
    assert clicked.replace and "Re-queued 2 failed in the last 7 days." in text(clicked, app)
    assert (await app.outbox.counts()) == {"pending": 2} and not clicked.message.actions
    stale = await app.dispatcher.click(await console_actor(app, "Grace Hopper"), retry.id)  # the same view again
    assert "Nothing that failed in the last 7 days was left to re-queue." in text(stale, app)
    assert "This view was out of date" in text(stale, app) and (await app.outbox.counts()) == {"pending": 2}


async def fail(app: CohortBot, keys: list[str]) -> None:
    """Queue these DMs and have them refused for good, now."""
    app.senders["console"] = Refusing()
    await app.outbox.enqueue_many(NewItem(k, DMTarget(1), Message(text="hi"), app.clock.now()) for k in keys)
    await OutboxWorker(app).deliver_due()


async def test_retry_requeues_only_what_failed_in_the_last_7_days(app: CohortBot, as_, clock: ManualClock):
    await fail(app, ["old:1", "old:2", "old:3"])
    clock.advance(timedelta(days=7, minutes=1))  # now older than the window
    await fail(app, ["new:1", "new:2"])
    clock.advance(timedelta(days=6, hours=23))  # still inside it
    view = text(await as_("Grace Hopper", "outbox"), app)
    assert "5 failed" in view and "sends again the 2 failed in the last 7 days" in view

    reply = await as_("Grace Hopper", "outbox", retry="true")
    shown = text(reply, app)
    assert "Re-queued 2 failed in the last 7 days." in shown and "2 pending" in shown and "3 failed" in shown
    assert "3 older failure(s) stay failed" in shown
    states = {i.key: i.state for i in await app.outbox.items()}
    assert states == {"old:1": "failed", "old:2": "failed", "old:3": "failed", "new:1": "pending", "new:2": "pending"}
    view = await as_("Grace Hopper", "outbox")
    assert not view.message.actions  # only old failures left: no Retry button
    assert "None failed in the last 7 days, so there is nothing to retry." in text(view, app)


async def test_a_retry_button_past_its_hour_answers_clearly_and_changes_nothing(app: CohortBot, as_, clock):
    await fail(app, ["b:1"])
    [retry] = [c for c in (await as_("Grace Hopper", "outbox")).message.actions if c.kind == "button"]
    clock.advance(timedelta(hours=1))
    late = await app.dispatcher.click(await console_actor(app, "Grace Hopper"), retry.id)
    assert "That has expired" in late.error and "Run /outbox again" in late.error
    assert (await app.outbox.counts()) == {"failed": 1}


async def test_a_row_expired_past_its_maximum_age_counts_as_failed_when_it_expired(app: CohortBot, clock):
    """Its moment is when the worker gave up on it, not when it was first due."""
    await app.outbox.enqueue("late:1", DMTarget(1), Message(text="hi"), not_before=clock.now())
    clock.advance(timedelta(days=10))  # the bot was down 10 days
    assert await app.outbox.expire(clock.now(), timedelta(hours=48)) == 1
    assert await app.outbox.count_failed(since=clock.now()) == 1
    assert await app.outbox.requeue(clock.now(), failed_since=clock.now() + timedelta(seconds=1)) == 0
    assert await app.outbox.requeue(clock.now(), failed_since=clock.now() - timedelta(days=7)) == 1

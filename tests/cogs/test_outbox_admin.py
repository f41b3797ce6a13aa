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
    assert "Re-queued 3 failed message(s)." in text(reply, app) and "3 pending" in text(reply, app)
    await OutboxWorker(app).deliver_due()
    assert await app.outbox.counts() == {"sent": 3} and len(sender.delivered) == 3
    again = await as_("Grace Hopper", "outbox", retry="true")
    assert "There were no failed messages to re-queue." in text(again, app)


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
    assert clicked.replace and "Re-queued 2 failed message(s)." in text(clicked, app)
    assert (await app.outbox.counts()) == {"pending": 2} and not clicked.message.actions

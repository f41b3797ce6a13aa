"""A post the platform accepted whose answer is lost (the connection drops, or the answer comes after the
client's timeout): the outbox never shows the user a second copy, on Slack (asks ``delivered()`` first) or on
Discord (the same nonce with ``enforce_nonce``: the fake returns the earlier message, as Discord does)."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.app import CohortBot
from bot.core.clock import ManualClock
from bot.core.messages import Message
from bot.core.platform import DMTarget, UnknownOutcomeError
from bot.delivery import NewItem, OutboxWorker
from bot.platforms.slack.sender import SlackSender
from tests.fakes.discord_api import FakeDiscord, started_discord
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI

N = 24


async def enqueue(app: CohortBot) -> None:
    people = [p.id for p in await app.people.all() if p.platform_id(app.platform)]
    await app.outbox.enqueue_many(
        NewItem(f"lost:{i}", DMTarget(people[i % len(people)]), Message(text=f"message {i}")) for i in range(N)
    )


async def deliver_all(app: CohortBot, clock: ManualClock) -> OutboxWorker:
    worker = OutboxWorker(app, rates={app.platform: None}, concurrency={app.platform: 4})
    for _ in range(50):
        await worker.deliver_due()
        if (await app.outbox.counts()).get("sent") == N:
            return worker
        clock.advance(timedelta(seconds=30))  # past each row's short backoff
    raise AssertionError(await app.outbox.counts())


async def test_slack_lost_answers_are_checked_not_reposted(app: CohortBot, clock: ManualClock):
    app.platform = "slack"
    async with FakeSlackAPI.running() as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])
        app.senders["slack"] = SlackSender(app, client, timeout=0.3)
        await enqueue(app)
        fake.drop_after_accept("chat.postMessage", times=3)
        fake.answer_late("chat.postMessage", delay=1.0, times=3)
        await deliver_all(app, clock)
        posted = fake.posted_keys()
        assert set(posted) == {f"lost:{i}" for i in range(N)}
        assert fake.user_duplicates() == 0, {k: n for k, n in posted.items() if n > 1}
        # The six unanswered posts were looked up before any resend, found, and recorded with Slack's ts.
        assert len(fake.calls_to("conversations.history", ok=True)) >= 6
        assert len(fake.calls_to("chat.postMessage")) == N
        assert await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE platform_message_id IS NULL") == 0


async def test_slack_sdk_default_client_would_post_twice(app: CohortBot):
    """The control: slack-sdk's default retry handler re-posts at once after a dropped connection; the fake
    shows the user a duplicate. The outbox's client is built with ``retry_handlers=[]`` (see below)."""
    async with FakeSlackAPI.running() as fake:
        sender = SlackSender(app, AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url), timeout=5)
        fake.drop_after_accept("chat.postMessage", times=1)
        await sender.send(DMTarget((await app.people.all())[0].id), Message(text="hi"), key="k")
        assert fake.user_duplicates() == 1


def test_the_slack_outbox_client_retries_nothing(app: CohortBot):
    from bot.platforms.slack import SlackPlatform
    from bot.platforms.slack.settings import SlackSettings
    from bot.settings import Settings

    slack = SlackSettings(_env_file=None, bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET)
    platform = SlackPlatform(app, slack, Settings(_env_file=None))
    assert platform.outbox_client.retry_handlers == []
    assert platform.client.retry_handlers  # interactive replies keep theirs
    assert platform.sender.rate.per_channel == 1.0 and platform.sender.rate.adaptive


async def test_an_unanswered_slack_post_is_an_unknown_outcome(app: CohortBot):
    async with FakeSlackAPI.running() as fake:
        sender = SlackSender(app, AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[]))
        target = DMTarget((await app.people.all())[0].id)
        for knob in (
            lambda: fake.drop_after_accept("chat.postMessage"),
            lambda: fake.fail("chat.postMessage", "fatal_error"),
        ):
            knob()
            try:
                await sender.send(target, Message(text="hi"), key="k")
            except UnknownOutcomeError:
                pass
            else:
                raise AssertionError("expected an unknown outcome")


async def test_discord_lost_answers_are_resent_with_the_same_nonce(app: CohortBot, clock: ManualClock):
    app.platform = "discord"
    async with FakeDiscord() as fake:
        platform = await started_discord(app, fake)
        try:
            app.senders["discord"].timeout = 0.3
            await enqueue(app)
            await app.senders["discord"].send(DMTarget(1), Message(text="warm-up"), key="warm-up")  # opens DMs
            fake.drop_after_accept(3)
            fake.answer_late(3, delay=1.0)
            await deliver_all(app, clock)
        finally:
            await platform.stop()
        nonces = [m["nonce"] for m in fake.posted]
        assert len(nonces) == N + 1  # each message created once
        assert fake.user_duplicates() == 0
        assert fake.deduplicated >= 6  # the six resends were answered with the earlier message

"""Platform-wide health: a failing platform is paused, probed and resumed; a two-hour outage on a virtual clock
costs a bounded number of calls and loses nothing."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.app import CohortBot
from bot.core.clock import ManualClock
from bot.core.messages import Message
from bot.core.platform import DMTarget
from bot.delivery import NewItem, OutboxWorker, PlatformHealth
from bot.platforms.slack.sender import SlackSender
from tests.fakes.discord_api import FakeDiscord, started_discord
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

T0 = datetime(2026, 1, 12, 9, 0).astimezone()
HEALTH = {"trip_after": 5, "first_pause": 1.0, "factor": 1.25, "max_pause": 60.0}


def most_probes(seconds: float, first: float, factor: float, longest: float) -> int:
    """The most probes a breaker can make in ``seconds``: each pause is at least half its nominal length."""
    count, elapsed, nominal = 0, 0.0, first
    while elapsed < seconds:
        elapsed += nominal / 2
        count += 1
        nominal = min(longest, nominal * factor)
    return count


def test_the_breaker_trips_after_consecutive_failures_probes_and_resumes():
    health = PlatformHealth("slack", rng=random.Random(3), **HEALTH)
    for n in range(4):
        assert health.failed(T0, "503") is False, n
    health.answered(T0)  # an answer in between breaks the run
    for _ in range(4):
        health.failed(T0, "503")
    assert health.sending()
    assert health.failed(T0, "503") is True  # the fifth in a row
    assert not health.sending() and health.claim_limit(T0, 200) == 0
    assert 0.5 <= health.pause_seconds(T0) <= 1.0
    later = T0 + timedelta(seconds=1)
    assert health.claim_limit(later, 200) == 1  # one probe
    health.probe_started()
    assert health.claim_limit(later, 200) == 0  # and only one at a time
    health.failed(later, "503")  # the probe failed: a longer pause
    assert 0.625 <= health.pause_seconds(later) <= 1.25
    assert "slack: paused since" in (health.describe() or "")
    much_later = later + timedelta(seconds=2)
    assert health.claim_limit(much_later, 200) == 1
    health.probe_started()
    health.answered(much_later)
    assert health.sending() and health.describe() is None and health.nominal == 1.0


def test_pauses_grow_to_the_maximum_with_jitter():
    health = PlatformHealth("discord", rng=random.Random(5), **HEALTH)
    now = T0
    for _ in range(5):
        health.failed(now, "503")
    pauses = []
    for _ in range(40):
        wait = health.pause_seconds(now)
        pauses.append(wait)
        now += timedelta(seconds=wait)
        assert health.claim_limit(now, 1) == 1
        health.probe_started()
        health.failed(now, "503")
    assert all(30.0 <= p <= 60.0 for p in pauses[-10:])  # [max/2, max]
    assert len({round(p, 3) for p in pauses[-10:]}) == 10  # jittered


async def outage_of_two_hours(app: CohortBot, clock: ManualClock, fake, count_calls, n: int = 200) -> dict:
    """Enqueue ``n`` DMs, start a two-hour outage, deliver on the virtual clock until all are sent."""
    people = [p.id for p in await app.people.all() if p.platform_id(app.platform)]
    await app.outbox.enqueue_many(
        NewItem(f"outage:{i}", DMTarget(people[i % len(people)]), Message(text=f"reminder {i}")) for i in range(n)
    )
    worker = OutboxWorker(app, rates={app.platform: None}, health={**HEALTH, "rng": random.Random(7)})
    start = clock.now()
    fake.outage(503)
    before = count_calls()
    during = None
    ended_at = None
    for _ in range(5000):
        await worker.deliver_due()
        if during is None and clock.now() - start >= timedelta(hours=2):
            fake.end_outage()
            ended_at = clock.now()
            during = count_calls() - before
        counts = await app.outbox.counts()
        if counts.get("sent", 0) == n:
            break
        due_in = await worker.next_due_in()
        assert due_in is not None, counts
        clock.advance(timedelta(seconds=max(due_in, 0.001)))
    assert during is not None and ended_at is not None
    return {
        "during": during,
        "counts": await app.outbox.counts(),
        "resumed_after": (clock.now() - ended_at).total_seconds(),
        "health": worker.health(app.platform),
    }


def assert_outage_was_cheap(result: dict, n: int = 200) -> None:
    bound = HEALTH["trip_after"] + 8 + most_probes(7200, HEALTH["first_pause"], HEALTH["factor"], HEALTH["max_pause"])
    assert result["counts"] == {"sent": n}  # everything delivered after the outage, nothing failed
    # Bounded: the sends that tripped the breaker (plus the lanes' in flight), then one probe per pause. Without
    # the breaker, every row retried on its own backoff: ~40 calls a row over two hours (thousands here).
    assert 60 <= result["during"] <= bound, (result["during"], bound)
    assert result["resumed_after"] <= HEALTH["max_pause"]  # the next probe after the platform came back
    assert result["health"].sending() and result["health"].trips == 1


async def test_two_hour_slack_outage_on_a_virtual_clock(app: CohortBot, clock: ManualClock):
    app.platform = "slack"
    async with FakeSlackAPI.running() as fake:
        app.senders["slack"] = SlackSender(
            app, AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])
        )
        result = await outage_of_two_hours(app, clock, fake, lambda: len(fake.calls))
        assert fake.user_duplicates() == 0 and len(fake.posted_keys()) == 200
    assert_outage_was_cheap(result)


async def test_two_hour_discord_outage_on_a_virtual_clock(app: CohortBot, clock: ManualClock):
    app.platform = "discord"
    async with FakeDiscord() as fake:
        platform = await started_discord(app, fake)
        try:
            result = await outage_of_two_hours(app, clock, fake, lambda: len(fake.requests))
        finally:
            await platform.stop()
        assert fake.user_duplicates() == 0 and len(fake.posted) == 200
    assert_outage_was_cheap(result)

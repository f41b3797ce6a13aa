"""Weekly curriculum posts end to end: console, the Discord fake and the Slack fake; and /outbox."""

from __future__ import annotations

import io
import time
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.app import CohortBot
from bot.core.clock import ManualClock
from bot.delivery import OutboxWorker
from bot.platforms.console import ConsoleSender
from bot.platforms.slack.sender import SlackSender
from cogs.curriculum import post_key
from schedules.runtime import Runtime
from tests.fakes.discord_api import FakeDiscord, discord_platform, fake_discord  # noqa: F401 - fixtures
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

MESSAGES = r"/channels/(\d+)/messages"


async def run_week(app: CohortBot, clock: ManualClock, week: int, **worker: object) -> Runtime:
    runtime = Runtime(app, worker=OutboxWorker(app, **worker))
    await runtime.start()
    clock.set(app.cohort.post_time(week) + timedelta(minutes=1))
    await runtime.run_until_idle()
    await runtime.stop()
    return runtime


async def test_console_post_is_readable_text_with_local_due_time(app: CohortBot, clock: ManualClock):
    out = io.StringIO()
    app.senders["console"] = ConsoleSender(app, out)
    await run_week(app, clock, 2)
    text = out.getvalue()
    assert "[posted in #intro-course]\n  Week 2: Robustness" in text
    assert "[posted in #advanced-course]" in text
    assert "due Sun 25 Jan 2026, 23:59 EST" in text
    assert "<t:" not in text and "**" not in text


async def test_week_post_over_the_discord_fake(
    app: CohortBot,
    clock: ManualClock,
    fake_discord: FakeDiscord,  # noqa: F811
    discord_platform,  # noqa: F811
):
    app.platform = "discord"
    fake_discord.rate_limit(2, retry_after=0.05, path=MESSAGES)  # the first two posts meet a 429
    await run_week(app, clock, 2, rates={"discord": 48.0})
    by_channel: dict[str, dict] = {}
    nonces: dict[str, set[str]] = {}
    for p in fake_discord.find("POST", MESSAGES):  # includes the two answered with 429 (then retried)
        body = p.payload()
        if body.get("embeds") and body["embeds"][0]["title"].startswith("Week 2"):
            by_channel[p.path] = body
            nonces.setdefault(p.path, set()).add(body["nonce"])
    assert all(len(n) == 1 for n in nonces.values())  # a retry is the same message (same nonce)
    intro = by_channel[f"/channels/{fake_discord.channels['intro-course']}/messages"]
    advanced = by_channel[f"/channels/{fake_discord.channels['advanced-course']}/messages"]
    assert intro["embeds"][0]["title"] == "Week 2: Robustness to adversaries and distribution shift (intro track)"
    assert "advanced track" in advanced["embeds"][0]["title"]
    homework = next(f for f in intro["embeds"][0]["fields"] if f["name"] == "Homework")
    due = int(app.cohort.due(2).timestamp())
    assert f"<t:{due}:F>" in homework["value"]
    assert intro["enforce_nonce"] is True
    for track in ("intro", "advanced"):
        item = await app.outbox.get(post_key(2, track))
        assert item is not None and item.state == "sent"


async def test_week_post_over_the_slack_fake_honours_retry_after(app: CohortBot, clock: ManualClock):
    async with FakeSlackAPI.running() as fake:
        app.platform = "slack"
        app.senders["slack"] = SlackSender(
            app, AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])
        )
        fake.rate_limit("chat.postMessage", times=1, retry_after=1)
        started = time.perf_counter()
        await run_week(app, clock, 2, rates={"slack": 20.0})
        elapsed = time.perf_counter() - started
        calls = fake.calls_to("chat.postMessage")
    assert elapsed >= 1.0  # waited the Retry-After before the next call
    ok = [c for c in calls if c.ok]
    posts = {c.body["channel"]: c.body for c in ok if "Week 2" in str(c.body.get("blocks") or c.body.get("text"))}
    assert set(posts) == {"C0INTRO0001", "C0ADVAN0001"}
    blocks = str(posts["C0INTRO0001"]["blocks"])
    assert "Week 2: Robustness to adversaries and distribution shift (intro track)" in blocks
    assert "<!date^" in blocks  # the due date as a Slack local-time token
    for track in ("intro", "advanced"):
        assert (await app.outbox.get(post_key(2, track))).state == "sent"

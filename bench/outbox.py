"""Bench: deliver N DMs through the outbox worker to local rate-limited fakes; print time vs. the floor.

    .venv/bin/python bench/outbox.py [--n 2000] [--platform discord|slack|both] [--runs 3]
                                     [--discord-rate 49] [--slack-rate 49] [--slack-limit 50]

Discord: the production ``DiscordSender`` on the real discord.py client (``discord.Client`` logged in; a stable
nonce, so ``enforce_nonce`` is set) against a small local fake enforcing Discord's global 50 requests/s
(a sliding one-second window; beyond it, 429 with ``retry_after`` and ``X-RateLimit-Global``). DM channel ids
are already in the ``dm_channels`` table, as after each person's first DM, so a DM costs one request.
Slack: the real ``SlackSender`` (slack_sdk ``AsyncWebClient``) against ``tests/fakes/slack_api.FakeSlackAPI``
limiting ``chat.postMessage`` to ``--slack-limit`` calls in any rolling second (429 + Retry-After beyond it);
DMs use the user id as the channel.
The floor is N / limit seconds; the goal is ratio <= 1.05 with zero failures and zero duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import discord  # noqa: E402
from aiohttp import web  # noqa: E402

from bot.app import CohortBot  # noqa: E402
from bot.cohort import load_cohort  # noqa: E402
from bot.core.clock import ManualClock  # noqa: E402
from bot.core.messages import Message  # noqa: E402
from bot.core.platform import DMTarget  # noqa: E402
from bot.delivery import NewItem, OutboxWorker  # noqa: E402
from bot.platforms.discord.sender import DiscordSender  # noqa: E402
from bot.roster import import_roster_file  # noqa: E402

COHORT = ROOT / "config" / "example-cohort.yaml"
ROSTER = ROOT / "config" / "example-roster.csv"


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly "application/json" (no charset).
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={**(headers or {}), "Content-Type": "application/json"}
    )


class FakeDiscordGlobal:
    """``GET /users/@me`` and ``POST /channels/{id}/messages``, at most ``limit`` requests per second globally."""

    def __init__(self, limit: int = 50) -> None:
        self.limit = limit
        self.window: collections.deque[float] = collections.deque()
        self.too_many = 0
        self.nonces: collections.Counter[str] = collections.Counter()
        self.next_id = 10**17
        self.app = web.Application()
        self.app.router.add_get("/api/v10/users/@me", self.me)
        self.app.router.add_get("/api/v10/oauth2/applications/@me", self.application)
        self.app.router.add_post("/api/v10/channels/{cid}/messages", self.post)

    def allowed(self) -> float:
        now = time.monotonic()
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) >= self.limit:
            return self.window[0] + 1.0 - now
        self.window.append(now)
        return 0.0

    async def me(self, request: web.Request) -> web.Response:
        return _json({"id": "1", "username": "bench", "discriminator": "0", "avatar": None, "bot": True})

    async def application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": "2",
                "name": "bench",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "00",
                "flags": 0,
                "team": None,
                "owner": {"id": "3", "username": "o", "discriminator": "0", "avatar": None},
            }
        )

    async def post(self, request: web.Request) -> web.Response:
        wait = self.allowed()
        if wait > 0:
            self.too_many += 1
            body = {"message": "You are being rate limited.", "retry_after": round(wait, 3), "global": True}
            headers = {"Retry-After": f"{wait:.3f}", "X-RateLimit-Global": "true", "Via": "1.1 google"}
            return _json(body, status=429, headers=headers)
        body = await request.json()
        self.nonces[body.get("nonce")] += 1
        self.next_id += 1
        cid = request.match_info["cid"]
        return _json(
            {
                "id": str(self.next_id),
                "channel_id": cid,
                "type": 0,
                "content": body.get("content", ""),
                "author": {"id": "1", "username": "bench", "discriminator": "0", "avatar": None, "bot": True},
                "attachments": [],
                "embeds": [],
                "mentions": [],
                "mention_roles": [],
                "pinned": False,
                "mention_everyone": False,
                "tts": False,
                "timestamp": "2026-01-12T09:00:00+00:00",
                "edited_timestamp": None,
                "flags": 0,
                "nonce": body.get("nonce"),
            }
        )


async def new_app(workdir: Path, platform: str) -> CohortBot:
    cohort = load_cohort(COHORT)
    clock = ManualClock(datetime.combine(cohort.start_date, datetime.min.time(), tzinfo=cohort.zone))
    app = await CohortBot.open(cohort, workdir / f"{platform}.db", clock=clock, platform=platform)
    await import_roster_file(app.people, ROSTER, cohort, clock.now())
    return app


async def enqueue(app: CohortBot, n: int, person_ids: list[int]) -> None:
    message = Message(text="Reminder: homework 3 is due on Sunday.")
    await app.outbox.enqueue_many(
        NewItem(f"bench:{i}", DMTarget(person_ids[i % len(person_ids)]), message) for i in range(n)
    )


async def deliver(app: CohortBot, platform: str, rate: float) -> tuple[float, dict[str, int]]:
    """Deliver everything due through the outbox worker (8 lanes, paced at ``rate``); elapsed seconds and counts."""
    worker = OutboxWorker(app, rates={platform: rate}, concurrency={platform: 8})
    started = time.perf_counter()
    await worker.deliver_due()
    return time.perf_counter() - started, await app.outbox.counts()


async def bench_discord(n: int, rate: float, workdir: Path) -> dict:
    fake = FakeDiscordGlobal(50)
    runner = web.AppRunner(fake.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    client = discord.Client(intents=discord.Intents.none())
    await client.login("bench-token")
    app = await new_app(workdir, "discord")
    try:
        # The production sender; DM channel ids already cached (as after the first DM), so a DM is one request.
        app.senders["discord"] = DiscordSender(app, client, guild_id=0)
        people = [p for p in await app.people.all() if p.discord_id]
        await app.db.executemany(
            "INSERT INTO dm_channels (platform, user_id, channel_id) VALUES ('discord', ?, ?)",
            [(p.discord_id, str(500000 + p.id)) for p in people],
        )
        await enqueue(app, n, [p.id for p in people])
        elapsed, counts = await deliver(app, "discord", rate)
    finally:
        await app.close()
        await client.close()
        await runner.cleanup()
    return {
        "elapsed": elapsed,
        "floor": n / 50,
        "429s": fake.too_many,
        "failures": n - counts.get("sent", 0),
        "duplicates": sum(c - 1 for c in fake.nonces.values() if c > 1),
    }


async def bench_slack(n: int, rate: float, limit: float, workdir: Path) -> dict:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.platforms.slack.sender import SlackSender
    from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

    async with FakeSlackAPI.running() as fake, aiohttp.ClientSession() as session:
        fake.limit_rate("chat.postMessage", per_second=limit)
        app = await new_app(workdir, "slack")
        try:
            # One kept-alive session, as a long-running bot would hold (slack_sdk otherwise opens one per call).
            client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[], session=session)
            app.senders["slack"] = SlackSender(app, client)
            people = [p.id for p in await app.people.all() if p.platform_id("slack")]
            await enqueue(app, n, people)
            elapsed, counts = await deliver(app, "slack", rate)
        finally:
            await app.close()
        calls = fake.calls_to("chat.postMessage")
        keys = collections.Counter(
            str((c.body.get("metadata") or {}).get("event_payload", {}).get("key")) for c in calls if c.ok
        )
        return {
            "elapsed": elapsed,
            "floor": n / limit,
            "429s": sum(1 for c in calls if not c.ok),
            "failures": n - counts.get("sent", 0),
            "duplicates": sum(c - 1 for c in keys.values() if c > 1),
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--platform", choices=["discord", "slack", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--discord-rate", type=float, default=49.0, help="worker pace (fake allows 50/s)")
    parser.add_argument("--slack-rate", type=float, default=49.0, help="worker pace for chat.postMessage")
    parser.add_argument("--slack-limit", type=float, default=50.0, help="what the Slack fake allows per second")
    args = parser.parse_args()
    platforms = ["discord", "slack"] if args.platform == "both" else [args.platform]
    print(f"medians of {args.runs} run(s) each; the floor is N / the fake's limit")
    print(
        f"{'platform':9} {'pace/s':>7} {'N':>6} {'elapsed s':>10} {'floor s':>8} {'ratio':>6} "
        f"{'429s':>5} {'failures':>8} {'dupes':>6}   per-run elapsed s",
        flush=True,
    )
    for platform in platforms:
        results = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                if platform == "discord":
                    results.append(await bench_discord(args.n, args.discord_rate, Path(tmp)))
                else:
                    results.append(await bench_slack(args.n, args.slack_rate, args.slack_limit, Path(tmp)))
        floor = results[0]["floor"]
        pace = args.discord_rate if platform == "discord" else args.slack_rate

        def med(key: str, rs: list[dict] = results) -> float:
            return statistics.median(r[key] for r in rs)

        ratio = statistics.median(r["elapsed"] / r["floor"] for r in results)
        runs = " ".join(f"{r['elapsed']:.2f}" for r in results)
        print(
            f"{platform:9} {pace:7.1f} {args.n:6d} {med('elapsed'):10.2f} {floor:8.2f} {ratio:6.3f} "
            f"{med('429s'):5.0f} {med('failures'):8.0f} {med('duplicates'):6.0f}   {runs}",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())

"""Bench: deliver N DMs through the outbox worker to local rate-limited fakes; print time vs. the floor.

    .venv/bin/python bench/outbox.py [--run normal|faulty|both] [--n 2000] [--platform discord|slack|both]
                                     [--runs 3] [--discord-rate 49] [--slack-rate 49] [--slack-limit 50]
                                     [--error-rate 0.05] [--outage 30]

N DMs to N different people (a generated roster), through the production senders:

* Discord: ``DiscordSender`` on the real discord.py client (a stable nonce with ``enforce_nonce``) against a
  small local fake enforcing Discord's global 50 requests/s (a sliding one-second window; beyond it, 429 with
  ``retry_after`` and ``X-RateLimit-Global``) and de-duplicating by nonce as Discord does. DM channel ids are
  already in the ``dm_channels`` table, as after each person's first DM, so a DM costs one request.
* Slack: ``SlackSender`` (slack_sdk ``AsyncWebClient``, no retry handlers, one kept-alive session) against
  ``tests/fakes/slack_api.FakeSlackAPI`` limiting ``chat.postMessage`` to ``--slack-limit`` calls in any rolling
  second and 1 per second per channel (429 + Retry-After beyond it); a DM is posted to the user id.

Runs:

* ``normal``: one pass at ``--discord-rate`` / ``--slack-rate``; the floor is N / limit; goal ratio <= 1.05.
* ``faulty``: the worker as it runs in production (``run()``, the real clock, platform health, the sender's own
  pacing: Slack 1/s per channel under ``--slack-rate``), with ``--error-rate`` of the calls answered 5xx (500,
  502, 503, 504) and an outage of ``--outage`` seconds (every call answered 503) starting at half the floor.
  Goal: elapsed <= 1.25 x (floor + outage), 0 failures, 0 duplicates (what a user would see: messages created
  per nonce on Discord, posts per outbox key in Slack's history). Also printed: the calls made during the outage
  (bounded by the circuit breaker: one probe per pause, not one call per message).

Medians of ``--runs`` runs are printed; the machine's other load shows in the spread of the per-run times.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import csv
import json
import random
import shutil
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
from bot.core.clock import ManualClock, SystemClock  # noqa: E402
from bot.core.messages import Message  # noqa: E402
from bot.core.platform import DMTarget, SendRate  # noqa: E402
from bot.delivery import NewItem, OutboxWorker  # noqa: E402
from bot.platforms.discord.sender import DiscordSender  # noqa: E402
from bot.roster import import_roster_file  # noqa: E402

COHORT = ROOT / "config" / "example-cohort.yaml"
SERVER_ERRORS = (500, 502, 503, 504)
TIMELINE = False  # --timeline: print the faulty run's progress every 5 s


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly "application/json" (no charset).
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={**(headers or {}), "Content-Type": "application/json"}
    )


class FakeDiscordGlobal:
    """``GET /users/@me`` and ``POST /channels/{id}/messages``, at most ``limit`` requests per second globally;
    a nonce with ``enforce_nonce`` seen before returns the earlier message; ``error_rate`` and ``outage`` faults."""

    def __init__(self, limit: int = 50, error_rate: float = 0.0, seed: int = 1) -> None:
        self.limit = limit
        self.window: collections.deque[float] = collections.deque()
        self.too_many = 0
        self.server_errors = 0
        self.calls = 0
        self.error_rate = error_rate
        self.rng = random.Random(seed)
        self.down = False
        self.created: collections.Counter[str] = collections.Counter()  # nonce -> messages created
        self.by_nonce: dict[str, dict] = {}
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
        self.calls += 1
        if self.down:
            self.server_errors += 1
            return _json({"message": "503: Service Unavailable", "code": 0}, status=503)
        wait = self.allowed()
        if wait > 0:
            self.too_many += 1
            body = {"message": "You are being rate limited.", "retry_after": round(wait, 3), "global": True}
            headers = {"Retry-After": f"{wait:.3f}", "X-RateLimit-Global": "true", "Via": "1.1 google"}
            return _json(body, status=429, headers=headers)
        if self.error_rate and self.rng.random() < self.error_rate:
            self.server_errors += 1
            status = self.rng.choice(SERVER_ERRORS)
            return _json({"message": f"{status}: fake server error", "code": 0}, status=status)
        body = await request.json()
        nonce = body.get("nonce")
        if nonce and body.get("enforce_nonce") and nonce in self.by_nonce:
            return _json(self.by_nonce[nonce])  # as Discord: the earlier message, nothing new
        self.created[nonce] += 1
        self.next_id += 1
        message = {
            "id": str(self.next_id),
            "channel_id": request.match_info["cid"],
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
            "nonce": nonce,
        }
        if nonce:
            self.by_nonce[nonce] = message
        return _json(message)


def write_roster(path: Path, n: int) -> None:
    """``n`` scholars, each with a Discord and a Slack id."""
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["name", "email", "role", "track", "section", "discord_id", "slack_id", "timezone",
                      "stipend_eligible"])  # fmt: skip
        for i in range(n):
            out.writerow([f"Scholar {i}", f"s{i}@bench.example.org", "scholar", "intro", "europe-wed",
                          str(400000000000000000 + i), f"U2{i:09d}", "", "true"])  # fmt: skip


async def build_template(folder: Path, n: int) -> Path:
    """A database with ``n`` generated people (imported once; each run starts from a copy)."""
    roster = folder / "roster.csv"
    write_roster(roster, n)
    cohort = load_cohort(COHORT)
    app = await CohortBot.open(cohort, folder / "template.db", clock=SystemClock())
    try:
        report = await import_roster_file(app.people, roster, cohort, app.clock.now())
        assert not report.errors, report.summary()
    finally:
        await app.close()
    return folder / "template.db"


async def new_app(args: argparse.Namespace, workdir: Path, platform: str, *, real_clock: bool) -> CohortBot:
    db = workdir / f"{platform}.db"
    shutil.copy(args.template, db)
    clock = SystemClock() if real_clock else ManualClock(datetime.now().astimezone())
    return await CohortBot.open(load_cohort(COHORT), db, clock=clock, platform=platform)


async def enqueue(app: CohortBot, n: int) -> list:
    """One DM to each of ``n`` generated people; those people."""
    people = [p for p in await app.people.all() if p.email.endswith("@bench.example.org")][:n]
    message = Message(text="Reminder: homework 3 is due on Sunday.")
    await app.outbox.enqueue_many(NewItem(f"bench:{i}", DMTarget(p.id), message) for i, p in enumerate(people))
    return people


async def deliver_once(app: CohortBot, platform: str, rate: float) -> tuple[float, dict[str, int]]:
    """One pass through the outbox worker (8 lanes, paced at ``rate``); elapsed seconds and counts."""
    worker = OutboxWorker(app, rates={platform: rate}, concurrency={platform: 8})
    started = time.perf_counter()
    await worker.deliver_due()
    return time.perf_counter() - started, await app.outbox.counts()


async def deliver_through_faults(
    app: CohortBot, platform: str, n: int, outage_at: float, outage: float, set_down
) -> tuple[float, dict[str, int], int]:
    """The production loop (``run()``) with an outage of ``outage`` s from ``outage_at`` s; elapsed, counts, and
    the platform calls made during the outage (``set_down(bool)`` switches the fake, returning its call count)."""
    worker = OutboxWorker(app, concurrency={platform: 8})
    task = asyncio.create_task(worker.run())
    started = time.perf_counter()
    calls_during = 0

    async def outage_window() -> None:
        nonlocal calls_during
        await asyncio.sleep(outage_at)
        before = set_down(True)
        await asyncio.sleep(outage)
        calls_during = set_down(False) - before

    window = asyncio.create_task(outage_window())
    shown = 0.0
    try:
        while True:
            counts = await app.outbox.counts()
            if counts.get("sent", 0) + counts.get("failed", 0) >= n and window.done():
                break
            if TIMELINE and time.perf_counter() - started >= shown:
                print(f"  {shown:5.0f} s: {counts}", flush=True)
                shown += 5.0
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        worker.request_stop()
        await task
        window.cancel()
    return elapsed, await app.outbox.counts(), calls_during


async def bench_discord(args: argparse.Namespace, workdir: Path, faulty: bool) -> dict:
    fake = FakeDiscordGlobal(50, error_rate=args.error_rate if faulty else 0.0)
    runner = web.AppRunner(fake.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    client = discord.Client(intents=discord.Intents.none())
    await client.login("bench-token")
    app = await new_app(args, workdir, "discord", real_clock=faulty)
    outage_calls = 0
    try:
        rate = SendRate(per_second=args.discord_rate)
        app.senders["discord"] = DiscordSender(app, client, guild_id=0, rate=rate)
        people = await enqueue(app, args.n)
        await app.db.executemany(  # DM channels known, as after each person's first DM
            "INSERT INTO dm_channels (platform, user_id, channel_id) VALUES ('discord', ?, ?)",
            [(p.platform_id("discord"), str(500000 + p.id)) for p in people],
        )
        if faulty:

            def set_down(down: bool) -> int:
                fake.down = down
                return fake.calls

            elapsed, counts, outage_calls = await deliver_through_faults(
                app, "discord", args.n, args.n / 50 / 2, args.outage, set_down
            )
        else:
            elapsed, counts = await deliver_once(app, "discord", args.discord_rate)
    finally:
        sender = app.senders.get("discord")
        if isinstance(sender, DiscordSender):
            await sender.close()
        await app.close()
        await client.close()
        await runner.cleanup()
    return {
        "elapsed": elapsed,
        "floor": args.n / 50,
        "429s": fake.too_many,
        "5xx": fake.server_errors,
        "outage calls": outage_calls,
        "failures": args.n - counts.get("sent", 0),
        "duplicates": sum(c - 1 for c in fake.created.values() if c > 1),
    }


async def bench_slack(args: argparse.Namespace, workdir: Path, faulty: bool) -> dict:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.platforms.slack.sender import SlackSender
    from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

    outage_calls = 0
    async with FakeSlackAPI.running() as fake, aiohttp.ClientSession() as session:
        fake.limit_rate("chat.postMessage", per_second=args.slack_limit, per_channel=1.0)
        if faulty:
            fake.error_rate("chat.postMessage", args.error_rate, statuses=SERVER_ERRORS)
        app = await new_app(args, workdir, "slack", real_clock=faulty)
        try:
            # One kept-alive session and no retry handlers, as the Slack adapter builds the outbox's client.
            client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[], session=session)
            rate = SendRate(per_second=args.slack_rate, per_channel=1.0, adaptive=True)
            app.senders["slack"] = SlackSender(app, client, rate=rate)
            await enqueue(app, args.n)
            if faulty:

                def set_down(down: bool) -> int:
                    if down:
                        fake.outage(503)
                    else:
                        fake.end_outage()
                    return len(fake.calls)

                elapsed, counts, outage_calls = await deliver_through_faults(
                    app, "slack", args.n, args.n / args.slack_limit / 2, args.outage, set_down
                )
            else:
                elapsed, counts = await deliver_once(app, "slack", args.slack_rate)
        finally:
            await app.close()
        posts = fake.calls_to("chat.postMessage")
        return {
            "elapsed": elapsed,
            "floor": args.n / args.slack_limit,
            "429s": sum(1 for c in posts if c.status == 429),
            "5xx": sum(1 for c in fake.calls if c.status >= 500),
            "outage calls": outage_calls,
            "failures": args.n - counts.get("sent", 0),
            "duplicates": fake.user_duplicates(),
        }


def report(platform: str, pace: float, args: argparse.Namespace, results: list[dict], faulty: bool) -> str:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    floor = results[0]["floor"]
    ratio = statistics.median(r["elapsed"] / r["floor"] for r in results)
    runs = " ".join(f"{r['elapsed']:.2f}" for r in results)
    line = f"{platform:9} {pace:7.1f} {args.n:6d} {med('elapsed'):10.2f} {floor:8.2f} {ratio:6.3f} "
    if faulty:
        goal = statistics.median(r["elapsed"] / (r["floor"] + args.outage) for r in results)
        line += f"{goal:14.3f} {med('5xx'):5.0f} {med('outage calls'):7.0f} "
    return line + f"{med('429s'):5.0f} {med('failures'):8.0f} {med('duplicates'):6.0f}   {runs}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", choices=["normal", "faulty", "both"], default="both")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--platform", choices=["discord", "slack", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--discord-rate", type=float, default=49.0, help="worker pace (fake allows 50/s)")
    parser.add_argument("--slack-rate", type=float, default=49.0, help="worker pace for chat.postMessage")
    parser.add_argument("--slack-limit", type=float, default=50.0, help="what the Slack fake allows per second")
    parser.add_argument("--error-rate", type=float, default=0.05, help="faulty run: share of calls answered 5xx")
    parser.add_argument("--outage", type=float, default=30.0, help="faulty run: seconds of outage in the middle")
    parser.add_argument("--timeline", action="store_true", help="faulty run: print progress every 5 s")
    args = parser.parse_args()
    global TIMELINE
    TIMELINE = args.timeline
    platforms = ["discord", "slack"] if args.platform == "both" else [args.platform]
    kinds = ["normal", "faulty"] if args.run == "both" else [args.run]
    with tempfile.TemporaryDirectory() as folder:
        args.template = await build_template(Path(folder), args.n)
        await run_all(args, kinds, platforms)


async def run_all(args: argparse.Namespace, kinds: list[str], platforms: list[str]) -> None:
    for kind in kinds:
        faulty = kind == "faulty"
        print(f"\n{kind} run: medians of {args.runs} run(s) each; the floor is N / the fake's limit", flush=True)
        if faulty:
            print(
                f"{args.error_rate:.0%} of calls answered 5xx, a {args.outage:.0f} s outage (503) from half the "
                "floor; goal: elapsed / (floor + outage) <= 1.25, 0 failures, 0 duplicates",
                flush=True,
            )
        head = f"{'platform':9} {'pace/s':>7} {'N':>6} {'elapsed s':>10} {'floor s':>8} {'ratio':>6} "
        if faulty:
            head += f"{'/(floor+out)':>14} {'5xx':>5} {'out-calls':>7} "
        print(head + f"{'429s':>5} {'failures':>8} {'dupes':>6}   per-run elapsed s", flush=True)
        for platform in platforms:
            results = []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp:
                    bench = bench_discord if platform == "discord" else bench_slack
                    results.append(await bench(args, Path(tmp), faulty))
            pace = args.discord_rate if platform == "discord" else args.slack_rate
            print(report(platform, pace, args, results, faulty), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

"""Bench: ``/announce to:all dm:true`` to N people, end to end from the Send click to the last DM.

    .venv/bin/python bench/announce.py [--n 2000] [--platform discord|slack|both] [--runs 3] [--rate 49]

The roster is N people (one organizer, N - 1 scholars), every one with an account on the platform. The organizer
previews ``/announce message:... to:all dm:true`` (not timed), then the clock starts as Send is clicked
(``Dispatcher.click``, what both adapters call) and stops when the fake has accepted the N-th DM. In between, the
production path: the click queues N outbox rows in one transaction, the enqueue wakes the runtime's outbox worker
(``Runtime.start()``, as in ``cohortbot run``), which delivers them through the production sender, paced at
``--rate`` per second. The author's delivery report follows and is checked too.

Discord: the real ``DiscordSender`` on a logged-in ``discord.Client``, against ``FakeDiscordGlobal`` from
``bench/outbox.py`` (50 requests in any rolling second, 429 beyond); DM channel ids already known (as after each
person's first DM), so a DM costs one request. Slack: the real ``SlackSender`` against ``tests/fakes/slack_api``
limiting ``chat.postMessage`` to 50 in any rolling second. The floor is N / 50 seconds; the goal is ratio <= 1.05
with no failures and no duplicates.

Between the runs, the same N DMs are sent as plain outbox rows (enqueue -> last DM, same fakes and senders): the
outbox alone, measured in the same conditions, to tell the announcement's own cost from the machine's noise.
(``bench/outbox.py`` measures the outbox alone too; this file reuses its Discord fake rather than changing it.)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
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
from bot.cohort import MemberSync, load_cohort  # noqa: E402
from bot.core.clock import ManualClock  # noqa: E402
from bot.core.context import Actor, Place  # noqa: E402
from bot.core.messages import Button  # noqa: E402
from bot.core.platform import DMTarget, SendRate  # noqa: E402
from bot.delivery import NewItem  # noqa: E402
from bot.roster import import_roster_file  # noqa: E402
from schedules.runtime import Runtime  # noqa: E402

COHORT = ROOT / "config" / "example-cohort.yaml"
LIMIT = 50  # what both fakes allow in any rolling second
_spec = importlib.util.spec_from_file_location("bench_outbox", ROOT / "bench" / "outbox.py")
assert _spec is not None and _spec.loader is not None
bench_outbox = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_outbox)


class TimedDiscord(bench_outbox.FakeDiscordGlobal):
    """The outbox bench's Discord fake, noting when each message was accepted."""

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__(limit)
        self.accepted: list[float] = []

    async def post(self, request: web.Request) -> web.Response:
        before = sum(self.created.values())
        response = await super().post(request)
        if sum(self.created.values()) > before:  # a new message (a resend with a known nonce creates none)
            self.accepted.append(time.perf_counter())
        return response


def discord_id(n: int) -> str:
    return str(300000000000000000 + n)


def slack_id(n: int) -> str:
    return f"U0B{n:07d}"


async def new_app(workdir: Path, platform: str, n: int) -> tuple[CohortBot, Actor]:
    """An app whose roster is N people with accounts on ``platform``; the organizer's actor."""
    cohort = load_cohort(COHORT)
    # Membership sync off (a cohort-file choice): it would queue a role task per person at start-up, beside the
    # announcement, against a fake that has no role endpoints.
    cohort = cohort.model_copy(update={"roster": cohort.roster.model_copy(update={"sync": MemberSync()})})
    clock = ManualClock(datetime.combine(cohort.start_date, datetime.min.time(), tzinfo=cohort.zone))
    app = await CohortBot.open(cohort, workdir / f"{platform}.db", clock=clock, platform=platform)
    lines = ["name,email,role,track,section,discord_id,slack_id,timezone,stipend_eligible"]
    for i in range(n):
        role = "organizer" if i == 0 else "scholar"
        track, section = ("", "") if i == 0 else ("intro", "europe-wed")
        lines.append(f"Person {i:05d},p{i}@example.com,{role},{track},{section},{discord_id(i)},{slack_id(i)},,")
    roster = workdir / "roster.csv"
    roster.write_text("\n".join(lines) + "\n")
    report = await import_roster_file(app.people, roster, cohort, clock.now())
    assert not report.errors, report.summary()
    user = discord_id(0) if platform == "discord" else slack_id(0)
    return app, Actor(platform, user, "Person 00000")


async def announce(app: CohortBot, actor: Actor, n: int, accepted: list[float], *, reference: bool) -> dict:
    """Preview, then time Send -> the N-th accepted DM; wait for the report; the counts.

    ``reference``: instead of the announcement, enqueue N plain outbox DMs to the same people (the outbox alone, on
    the same fake and machine, in the same run) and time that.
    """
    runtime = Runtime(app)
    await runtime.start()
    try:
        reply = await app.dispatch(actor, "announce", {"message": "**Room change**: B12.", "to": "all", "dm": "true"})
        assert reply.message is not None and reply.error is None, reply.error
        send = next(c for c in reply.message.actions if isinstance(c, Button) and c.label == "Send")
        people = [p.id for p in await app.people.all()]
        started = time.perf_counter()
        if reference:
            await app.outbox.enqueue_many(NewItem(f"ref:{i}", DMTarget(i), reply.message) for i in people)
            expected = n
        else:
            answer = await app.dispatcher.click(actor, send.id, [], Place())
            assert answer.error is None, answer.error
            expected = n + 1  # the N DMs, then the author's report
        clicked = time.perf_counter() - started
        deadline = time.perf_counter() + 3 * n / LIMIT + 30
        while len(accepted) < expected and time.perf_counter() < deadline:  # noqa: ASYNC110 - polls the fake
            await asyncio.sleep(0.05)
        if len(accepted) < n:
            raise RuntimeError(f"only {len(accepted)} of {n} DMs arrived: {await app.outbox.counts()}")
        elapsed = accepted[n - 1] - started
        sent = await app.db.fetchval(
            "SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND (key LIKE 'announce%' OR key LIKE 'ref:%')"
        )
    finally:
        await runtime.stop()
    failures = expected - int(sent or 0)
    return {"elapsed": elapsed, "click": clicked, "floor": n / LIMIT, "failures": failures}


async def bench_discord(n: int, rate: float, workdir: Path, reference: bool) -> dict:
    fake = TimedDiscord()
    runner = web.AppRunner(fake.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    client = discord.Client(intents=discord.Intents.none())
    await client.login("bench-token")
    app, actor = await new_app(workdir, "discord", n)
    try:
        from bot.platforms.discord.sender import DiscordSender

        sender = DiscordSender(app, client, guild_id=0, rate=SendRate(per_second=rate))
        app.senders["discord"] = sender
        await app.db.executemany(
            "INSERT INTO dm_channels (platform, user_id, channel_id) VALUES ('discord', ?, ?)",
            [(discord_id(i), str(500000 + i)) for i in range(n)],
        )
        result = await announce(app, actor, n, fake.accepted, reference=reference)
    finally:
        sender = app.senders.get("discord")
        if sender is not None:
            await sender.close()  # type: ignore[attr-defined]
        await app.close()
        await client.close()
        await runner.cleanup()
    result["429s"] = fake.too_many
    result["duplicates"] = sum(c - 1 for c in fake.created.values() if c > 1)
    return result


async def bench_slack(n: int, rate: float, workdir: Path, reference: bool) -> dict:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.platforms.slack.sender import SlackSender
    from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

    class TimedSlack(FakeSlackAPI):
        def _answer(self, method: str, body: dict) -> dict:
            answer = super()._answer(method, body)
            if method == "chat.postMessage" and answer.get("ok"):
                accepted.append(time.perf_counter())
            return answer

    accepted: list[float] = []
    async with TimedSlack.running() as fake, aiohttp.ClientSession() as session:
        fake.limit_rate("chat.postMessage", per_second=LIMIT, per_channel=1.0)
        fake.workspace.update(slack_id(i) for i in range(n))
        app, actor = await new_app(workdir, "slack", n)
        try:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[], session=session)
            # As in production (per channel 1/s, adapting to 429s), at the bench's pace.
            app.senders["slack"] = SlackSender(
                app, client, rate=SendRate(per_second=rate, per_channel=1.0, adaptive=True)
            )
            result = await announce(app, actor, n, accepted, reference=reference)
        finally:
            await app.close()
        calls = fake.calls_to("chat.postMessage")
        duplicates = fake.user_duplicates()
    result["429s"] = sum(1 for c in calls if not c.ok)
    result["duplicates"] = duplicates
    return result


def row(platform: str, what: str, rate: float, n: int, results: list[dict]) -> str:
    """One line of the table: medians of ``results``."""

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    ratio = statistics.median(r["elapsed"] / r["floor"] for r in results)
    runs = " ".join(f"{r['elapsed']:.2f}" for r in results)
    return (
        f"{platform:9} {what:9} {rate:7.1f} {n:6d} {med('elapsed'):10.2f} {results[0]['floor']:8.2f} {ratio:6.3f} "
        f"{med('click'):8.3f} {med('429s'):5.0f} {med('failures'):8.0f} {med('duplicates'):6.0f}   {runs}"
    )


async def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the table, not the bot's log
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--platform", choices=["discord", "slack", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=49.0, help="the worker's pace (the fakes allow 50/s)")
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the reference (N plain outbox DMs, between the runs)"
    )
    args = parser.parse_args()
    platforms = ["discord", "slack"] if args.platform == "both" else [args.platform]
    kinds = ["announce"] + ([] if args.no_reference else ["outbox"])
    print(f"/announce to:all dm:true to N people, Send click -> last DM; medians of {args.runs}; floor = N / {LIMIT}")
    print("(outbox: the reference, N plain outbox DMs to the same people, enqueue -> last DM, runs interleaved)")
    print(
        f"{'platform':9} {'what':9} {'pace/s':>7} {'N':>6} {'elapsed s':>10} {'floor s':>8} {'ratio':>6} "
        f"{'click s':>8} {'429s':>5} {'failures':>8} {'dupes':>6}   per-run elapsed s",
        flush=True,
    )
    for platform in platforms:
        results: dict[str, list[dict]] = {k: [] for k in kinds}
        run = bench_discord if platform == "discord" else bench_slack
        for _ in range(args.runs):
            for kind in kinds:
                with tempfile.TemporaryDirectory() as tmp:
                    results[kind].append(await run(args.n, args.rate, Path(tmp), kind == "outbox"))
        for kind in kinds:
            print(row(platform, kind, args.rate, args.n, results[kind]), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

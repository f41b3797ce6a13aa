"""A crash in the middle of a 1,000-recipient DM announcement: a real ``cohortbot run --platform slack`` process,
driven over signed HTTP like Slack drives it, is killed with SIGKILL mid-delivery and started again. Afterwards
every recipient has the DM exactly once and the author's delivery report has the right counts.

The Slack fake runs in this test's process (it is what the bot calls); only the bot is killed. Bounded: the bot is
paced at 400 DMs/s, and every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from bot.app import CohortBot
from bot.roster import import_roster_file
from cogs.announcements._outbox import counts
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI, block_actions, signed_headers, slash_body
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER, ROOT

GRACE = "U0ORG000001"
NEW = 992  # + the example roster's 8 scholars = 1,000 recipients
UNLINKED = range(0, 8)  # of the new ones: no Slack account (with Hedy and John: 10)
DEACTIVATED = (100, 200)  # of the new ones: Slack refuses their DMs


def slack_id(n: int) -> str:
    return f"U0C{n:06d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def post(port: int, body: str) -> int:
    url = f"http://127.0.0.1:{port}/slack/events"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=signed_headers(body)) as r:
        return r.status


async def healthy(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not come up")
            await asyncio.sleep(0.1)


def dm_keys(fake: FakeSlackAPI) -> Counter[str]:
    """How many times each announcement DM reached Slack (by its outbox key in the message metadata)."""
    keys: Counter[str] = Counter()
    for call in fake.calls_to("chat.postMessage", ok=True):
        metadata = call.json("metadata") or {}
        key = str(metadata.get("event_payload", {}).get("key", ""))
        if key.startswith("announce:"):
            keys[key] += 1
    return keys


async def test_a_crash_mid_announcement_then_a_restart_delivers_each_dm_once(tmp_path: Path, cohort, clock):
    db = tmp_path / "bot.db"
    roster = tmp_path / "more.csv"
    lines = ["name,email,role,track,section,discord_id,slack_id,timezone,stipend_eligible"]
    for n in range(NEW):
        account = "" if n in UNLINKED else slack_id(n)
        lines.append(f"Crash Scholar {n:04d},crash{n}@example.com,scholar,intro,europe-wed,,{account},,")
    roster.write_text("\n".join(lines) + "\n")
    app = await CohortBot.open(cohort, db, clock=clock)
    for path in (EXAMPLE_ROSTER, roster):
        assert not (await import_roster_file(app.people, path, cohort, clock.now())).errors
    await app.close()

    async with FakeSlackAPI.running() as fake:
        fake.workspace.update(slack_id(n) for n in range(NEW) if n not in UNLINKED)
        for n in DEACTIVATED:
            fake.refused[slack_id(n)] = "user_disabled"  # the recipient is deactivated
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTBOT_", "DISCORD_", "SLACK_"))}
        env.update(
            COHORTBOT_HTTP_HOST="127.0.0.1",
            COHORTBOT_HTTP_PORT=str(port),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.api_url,
            SLACK_RATE_PER_SECOND="400",
        )
        command = [sys.executable, "-m", "bot.cli", "run", "--platform", "slack", "--cohort", str(EXAMPLE_COHORT),
                   "--db", str(db)]  # fmt: skip
        log = (tmp_path / "bot.log").open("w")

        def start() -> subprocess.Popen:
            return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

        bot = start()
        try:
            await healthy(port)
            form, ident = slash_body(
                fake, "/announce", '"Room change: we meet in **B12**." to:scholars dm:true', user=GRACE
            )
            assert await post(port, urlencode(form)) == 200
            preview = await fake.response(ident, within=20)
            assert "Reaches" in json.dumps(preview) and "*990 of 1000*" in json.dumps(preview)
            payload, ident = block_actions(fake, preview["blocks"], "Send", user=GRACE)
            assert await post(port, urlencode({"payload": json.dumps(payload)})) == 200
            await until(lambda: sum(dm_keys(fake).values()) >= 300, 30, "the first DMs")
            bot.send_signal(signal.SIGKILL)  # mid-delivery, without warning
            bot.wait(timeout=10)
            before = sum(dm_keys(fake).values())
            assert 300 <= before < 988, before

            bot = start()

            def reported() -> bool:
                return any(
                    "delivery report" in c.body.get("text", "") for c in fake.calls_to("chat.postMessage", ok=True)
                )

            await until(reported, 60, "the delivery report")
            bot.send_signal(signal.SIGTERM)
            assert bot.wait(timeout=20) == 0
        finally:
            if bot.poll() is None:
                bot.kill()
            log.close()

        keys = dm_keys(fake)
        app = await CohortBot.open(cohort, db, clock=clock)
        try:
            people = {p.id: p for p in await app.people.all()}
            linked = {i for i, p in people.items() if p.role.label == "scholar" and p.platform_id("slack")}
            refused = {i for i, p in people.items() if p.platform_id("slack") in fake.refused}
            assert len(linked) == 990 and len(refused) == 2
            assert keys == Counter({f"announce:1:{i}": 1 for i in linked - refused})  # each exactly once
            c = await counts(app, 1)
            assert (c.delivered, c.pending, c.failed) == (988, 0, 2)
        finally:
            await app.close()
        [report] = [c for c in fake.calls_to("chat.postMessage", ok=True) if "delivery report" in c.body["text"]]
        assert report.body["channel"] == GRACE
        assert (
            "reached 988 of 1000; 10 have no Slack account linked, 2 have a deactivated account." in report.body["text"]
        )
        assert "Traceback" not in (tmp_path / "bot.log").read_text()

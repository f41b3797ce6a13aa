"""Fault drills with real processes (issue #10's "must show"): SIGKILL during a broadcast on both fakes, and
another process holding the database's write lock mid-pass. Bounded: ~1,000 messages, ~20 s of lock."""

from __future__ import annotations

import asyncio
import csv
import random
import shutil
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import CohortBot
from bot.cohort import Cohort
from bot.core.clock import SystemClock
from bot.core.messages import Message
from bot.core.platform import DMTarget
from bot.delivery import NewItem, OutboxWorker
from bot.platforms.discord.sender import nonce_for
from bot.roster import import_roster_file
from tests.fakes.discord_api import TOKEN, FakeDiscord
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI
from tests.plugin import EXAMPLE_COHORT
from tests.processes import bot_env, is_running, start_bot, until
from tests.schedules.recording import RecordingSender

BROADCAST = 1_000
KILLS = 5


@pytest.fixture(scope="session")
def big_roster_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with 1,000 scholars on both platforms (built once; tests copy it)."""
    from bot.cohort import load_cohort

    folder = tmp_path_factory.mktemp("roster")
    roster = folder / "roster.csv"
    with roster.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            ["name", "email", "role", "track", "section", "discord_id", "slack_id", "timezone", "stipend_eligible"]
        )
        for i in range(BROADCAST):
            out.writerow([f"Scholar {i}", f"s{i}@example.org", "scholar", "intro", "europe-wed",
                          str(300000000000000000 + i), f"U1{i:09d}", "", "true"])  # fmt: skip
    db = folder / "template.db"

    async def build() -> None:
        cohort = load_cohort(EXAMPLE_COHORT)
        app = await CohortBot.open(cohort, db, clock=SystemClock())
        report = await import_roster_file(app.people, roster, cohort, app.clock.now())
        assert not report.errors, report.summary()
        await app.close()

    asyncio.run(build())
    return db


async def broadcast_db(template: Path, folder: Path, cohort: Cohort, platform: str) -> Path:
    """A copy of the template with a 1,000-DM broadcast due now on ``platform``."""
    db = folder / "bot.db"
    shutil.copy(template, db)
    app = await CohortBot.open(cohort, db, clock=SystemClock(), platform=platform)
    people = [p.id for p in await app.people.all() if p.email.startswith("s") and p.email.endswith("@example.org")]
    assert len(people) == BROADCAST
    message = Message(text="Homework 3 is due on Sunday at 23:59.")
    await app.outbox.enqueue_many(NewItem(f"broadcast:{i}", DMTarget(pid), message) for i, pid in enumerate(people))
    await app.close()
    return db


def broadcast_states(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT state, COUNT(*) FROM outbox WHERE key LIKE 'broadcast:%' GROUP BY state")
        return dict(rows.fetchall())


async def kill_repeatedly(platform: str, db: Path, env: dict[str, str], log: Path, progress: Callable[[], int]) -> str:
    """SIGKILL the bot ``KILLS`` times at random points of the broadcast, then let a last one finish it."""
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    thresholds = sorted(rng.sample(range(50, BROADCAST - 50), KILLS))
    where = []
    for threshold in thresholds:
        proc = await start_bot(platform, db, env, log)
        try:
            if progress() >= threshold:  # already past it: die somewhere in start-up instead
                await asyncio.sleep(rng.uniform(0.0, 1.5))
            else:
                await until(lambda t=threshold: progress() >= t, 60, f"{threshold} messages (seed {seed})")
                await asyncio.sleep(rng.uniform(0.0, 0.02))
            where.append(progress())
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
    proc = await start_bot(platform, db, env, log)
    try:
        await until(lambda: broadcast_states(db) == {"sent": BROADCAST}, 90, f"the whole broadcast (seed {seed})")
        # the last kill may have come after the end: then it is done before this bot has even started
        await until(lambda: is_running(db, proc.pid), 30, "the last bot to be running")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await proc.wait()
    assert code == 0, f"exit code {code}; see {log}"
    return f"seed {seed}, killed after {where} messages"


async def test_sigkill_during_a_slack_broadcast_loses_and_doubles_nothing(big_roster_db, tmp_path, cohort):
    db = await broadcast_db(big_roster_db, tmp_path, cohort, "slack")
    async with FakeSlackAPI.running() as fake:
        env = bot_env(
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url,
            SLACK_RATE_PER_SECOND="2000",
        )  # fmt: skip

        def progress() -> int:
            return sum(1 for c in fake.calls if c.method == "chat.postMessage" and c.ok)

        drill = await kill_repeatedly("slack", db, env, tmp_path / "bot.log", progress)
        posted = fake.posted_keys()
        seen = {k for k in posted if k.startswith("broadcast:")}
        assert len(seen) == BROADCAST, f"{BROADCAST - len(seen)} lost ({drill})"
        assert fake.user_duplicates() == 0, f"{ {k: n for k, n in posted.items() if n > 1} } ({drill})"
    assert "Traceback" not in (tmp_path / "bot.log").read_text()


async def test_sigkill_during_a_discord_broadcast_loses_and_doubles_nothing(big_roster_db, tmp_path, cohort):
    db = await broadcast_db(big_roster_db, tmp_path, cohort, "discord")
    async with FakeDiscord() as fake:
        env = bot_env(
            DISCORD_TOKEN=TOKEN, DISCORD_GUILD_ID=str(fake.guild_id), DISCORD_API_URL=fake.api_url,
            DISCORD_GATEWAY_URL=fake.gateway_url, DISCORD_RATE_PER_SECOND="2000",
        )  # fmt: skip
        drill = await kill_repeatedly("discord", db, env, tmp_path / "bot.log", lambda: len(fake.posted))
        expected = {nonce_for(f"broadcast:{i}") for i in range(BROADCAST)}
        created = [m["nonce"] for m in fake.posted if m["nonce"] in expected]
        assert set(created) == expected, f"{len(expected - set(created))} lost ({drill})"
        assert len(created) == BROADCAST and fake.user_duplicates() == 0, drill
    assert "Traceback" not in (tmp_path / "bot.log").read_text()


LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE outbox SET last_error = last_error WHERE id = -1")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


async def test_a_write_lock_held_by_another_process_mid_pass_strands_nothing(app: CohortBot, caplog):
    sender = RecordingSender()
    app.senders["console"] = sender
    n = 300
    await app.outbox.enqueue_many(NewItem(f"w:{i}", DMTarget(i), Message(text="hi")) for i in range(n))
    worker = OutboxWorker(app, rates={"console": 50.0}, concurrency={"console": 8})
    task = asyncio.create_task(worker.run())
    holder = None
    try:
        await until(lambda: len(sender.order) >= 60, 30, "the pass to be under way")
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOCK_HOLDER, app.db.path, "20", stdout=asyncio.subprocess.PIPE
        )
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"locked"
        locked_at = len(sender.order)
        assert (await holder.stdout.readline()).strip() == b"released"  # 20 s later
        assert len(sender.order) - locked_at <= 16  # the lock stopped the pass (a send or two per lane got by)
        await holder.wait()
        await until(lambda: len(sender.order) == n, 30, "every message after the lock was released")
        worker.request_stop()
        await asyncio.wait_for(task, 15)
    finally:
        if holder is not None and holder.returncode is None:
            holder.kill()
        task.cancel()
    assert await app.outbox.counts() == {"sent": n}  # nothing left in 'sending', no restart needed
    assert max(sender.calls.values()) == 1  # and nothing sent twice
    assert "the database refused a write (database is locked)" in caplog.text
    assert "the database accepts writes again" in caplog.text

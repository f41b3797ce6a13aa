"""One bot per database, as real processes: a second `run` refuses naming the first; a dead holder's lock is
taken over; `health` reports the live holder, never a pid file's guess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from bot.app import CohortBot
from bot.cli import main
from bot.core.messages import Message
from bot.core.platform import DMTarget
from bot.delivery import NewItem
from bot.instance import AlreadyRunning, InstanceLock, lock_path, running
from tests.plugin import EXAMPLE_COHORT, ROOT
from tests.processes import bot_env, is_running, run_args


def run_console(db: Path, log: Path) -> subprocess.Popen:
    with log.open("a") as err:
        return subprocess.Popen(
            run_args("console", db), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
            env=bot_env(),
        )  # fmt: skip


def wait_running(db: Path, pid: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not is_running(db, pid):
        assert time.monotonic() < deadline, f"pid {pid} never came up on {db}"
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_a_second_bot_on_the_same_database_refuses_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = tmp_path / "bot.db"
    first = run_console(db, tmp_path / "first.log")
    try:
        wait_running(db, first.pid)
        second = subprocess.run(
            run_args("console", db), capture_output=True, text=True, cwd=ROOT, env=bot_env(), timeout=10,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert lines[0].startswith("cohortbot: a bot is already running on this database (pid ")
        assert f"pid {first.pid}, console, started " in lines[0] and "stop it first" in lines[0]
        assert first.poll() is None  # the first one is untouched...
        assert main(["health", "--db", str(db)]) == 0  # ...and still the one health reports
        assert f"ok: cohortbot is running (pid {first.pid}, console" in capsys.readouterr().out
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
    finally:
        stop(first)
    assert running(db) is None


def test_a_dead_holders_lock_is_taken_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = tmp_path / "bot.db"
    dead = run_console(db, tmp_path / "dead.log")
    try:
        wait_running(db, dead.pid)
        dead.send_signal(signal.SIGKILL)
        dead.wait()
    finally:
        stop(dead)
    stale = json.loads(lock_path(db).read_text())
    assert stale["pid"] == dead.pid  # the file still names the dead process...
    assert running(db) is None  # ...but nobody holds the lock
    assert main(["health", "--db", str(db)]) == 1
    assert "no running bot found" in capsys.readouterr().err
    heir = run_console(db, tmp_path / "heir.log")
    try:
        wait_running(db, heir.pid)
        assert json.loads(lock_path(db).read_text())["pid"] == heir.pid
        assert main(["health", "--db", str(db)]) == 0
        heir.send_signal(signal.SIGTERM)
        assert heir.wait(timeout=20) == 0
    finally:
        stop(heir)


def test_the_lock_in_process(tmp_path: Path):
    db = tmp_path / "x.db"
    with InstanceLock(db).acquire("slack") as lock:
        assert running(db).state == "starting"
        lock.ready()
        holder = running(db)
        assert (holder.pid, holder.platform, holder.state) == (os.getpid(), "slack", "running")
        with pytest.raises(AlreadyRunning, match=r"already running on this database \(pid \d+, slack"):
            InstanceLock(db).acquire("discord")  # flock: a second open file of the same process conflicts too
    assert running(db) is None
    InstanceLock(db).acquire("console").release()  # free again


def test_outbox_retry_requeues_failures_and_wakes_the_running_bot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    assert main(["outbox", "retry", "--db", str(db)]) == 1
    assert "no database at" in capsys.readouterr().err

    async def enqueue() -> None:  # two DMs to nobody on the roster: the console fails them for good
        app = await CohortBot.open(EXAMPLE_COHORT, db)
        await app.outbox.enqueue_many(NewItem(f"nobody:{i}", DMTarget(9000 + i), Message(text="hi")) for i in (1, 2))
        await app.close()

    asyncio.run(enqueue())
    bot = run_console(db, tmp_path / "bot.log")
    try:
        wait_running(db, bot.pid)
        until(lambda: attempts(db) == {"failed": [1, 1]})
        assert main(["outbox", "retry", "--db", str(db)]) == 0
        assert (
            f"re-queued 2 failed message(s); the running bot (pid {bot.pid}) sends them now" in capsys.readouterr().out
        )
        until(lambda: attempts(db) == {"failed": [2, 2]}, seconds=10)  # at once, not at the next 30 s poll
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=20) == 0
    finally:
        stop(bot)
    assert main(["outbox", "retry", "--db", str(db)]) == 0
    assert "re-queued 2 failed message(s); they are sent when the bot runs" in capsys.readouterr().out


def attempts(db: Path) -> dict[str, list[int]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT state, attempts FROM outbox ORDER BY key").fetchall()
    found: dict[str, list[int]] = {}
    for state, count in rows:
        found.setdefault(state, []).append(count)
    return found


def until(predicate, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)

"""Running `cohortbot run` as a real process in tests: a clean environment and a started bot."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.instance import running
from tests.plugin import EXAMPLE_COHORT, ROOT


def bot_env(**extra: str) -> dict[str, str]:
    """This environment without the bot's own settings, plus ``extra`` (HTTP on a free loopback port)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTBOT_", "DISCORD_", "SLACK_"))}
    return {**env, "COHORTBOT_HTTP_HOST": "127.0.0.1", "COHORTBOT_HTTP_PORT": "0", **extra}


def run_args(platform: str, db: Path) -> list[str]:
    """``python -m bot.cli run`` on the example cohort and ``db``."""
    return [sys.executable, "-m", "bot.cli", "run", "--platform", platform, "--cohort", str(EXAMPLE_COHORT),
            "--db", str(db)]  # fmt: skip


async def start_bot(platform: str, db: Path, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """Start the bot, its log (stderr) appended to ``log``."""
    with log.open("a") as err:
        return await asyncio.create_subprocess_exec(
            *run_args(platform, db), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=err, cwd=ROOT, env=env,
        )  # fmt: skip


async def until(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``predicate`` (every 5 ms) until it holds; AssertionError naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def is_running(db: Path, pid: int) -> bool:
    """Whether the bot ``pid`` holds ``db``'s lock and has finished starting (its signal handlers are installed, so
    SIGTERM stops it cleanly rather than killing it mid-start)."""
    holder = running(db)
    return holder is not None and (holder.pid, holder.state) == (pid, "running")

"""Start-up failures, each run as a real ``cohortbot run`` process.

Every case must end with exit status 1, exactly one line ``cohortbot: ...`` on stderr (no traceback, no thread
dying noisily), the database unchanged (or never created), and the process gone on its own within 10 s of saying
why: before these fixes a missing Slack token printed a traceback and then hung on the database's thread, and so
did a read-only file system (the 10 s count from its first words, so a loaded machine's slow start is no failure).

The processes run a few at a time from one module fixture, so the file costs a couple of seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.cli import main
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER

GONE_WITHIN = 10.0  # seconds from saying why it cannot start to being gone: a hang shows as a kill
SAYS_WITHIN = 60.0  # a bound for the start itself (a heavily loaded machine can be slow; this is not a speed test)
CONCURRENT = 3
PYTHON = [sys.executable, "-m", "bot.cli"]


@dataclass
class Case:
    """One start-up to try: the platform, extra environment, the database path, and why it may be skipped."""

    platform: str
    env: dict[str, str] = field(default_factory=dict)
    db: Path | None = None
    wrapper: list[str] = field(default_factory=list)  # e.g. run inside a mount namespace
    skip: str | None = None


@dataclass
class Outcome:
    """What the process did."""

    code: int | None  # None: killed, still running after the time allowed
    stderr: str
    db_before: str | None
    db_after: str | None
    seconds: float  # from start to gone
    after_failure: float | None  # from its first words on stderr (the failure) to gone


def digest(path: Path | None) -> str | None:
    """The database file's SHA-256, or None if there is no such file (a read-only mount is only seen inside it)."""
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTBOT_", "DISCORD_", "SLACK_"))}
    return {**env, "SLACK_API_URL": "http://127.0.0.1:9/api/", "DISCORD_API_URL": "http://127.0.0.1:9/api", **extra}


def _can(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def make_read_only(path: Path) -> Callable[[], None] | str:
    """Make ``path`` read-only even for root (``chattr +i``); the undo function, or why it cannot be done."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return lambda: path.chmod(0o644)
    if shutil.which("chattr") and _can(["chattr", "+i", str(path)]):
        return lambda: subprocess.run(["chattr", "-i", str(path)], check=False)
    return "running as root without chattr +i (CAP_LINUX_IMMUTABLE): a read-only file is writable for root"


def read_only_fs_wrapper(work: Path, template: Path) -> list[str] | str:
    """A command prefix that runs the bot with ``work/ro/bot.db`` on a read-only file system (a private mount)."""
    if not shutil.which("unshare") or not _can(["unshare", "-rm", "true"]):
        return "unshare -rm (a user and mount namespace) is not allowed here"
    mount = work / "ro"
    mount.mkdir()
    script = (
        f'mount -t tmpfs tmpfs "{mount}" && cp "{template}" "{mount}/bot.db" && '
        f'mount -o remount,ro "{mount}" && exec "$@"'
    )
    return ["unshare", "-rm", "sh", "-c", script, "sh"]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome | str]]:
    """Run every case; each entry is the case's :class:`Outcome`, or why it was skipped."""
    work = tmp_path_factory.mktemp("startup")
    template = work / "template.db"
    assert main(["roster", "import", str(EXAMPLE_ROSTER), "--cohort", str(EXAMPLE_COHORT), "--db", str(template)]) == 0
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{template}{suffix}").exists()

    def copy(name: str) -> Path:
        target = work / name
        shutil.copyfile(template, target)
        return target

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    slack_env = {"SLACK_BOT_TOKEN": "xoxb-never-echoed", "SLACK_SIGNING_SECRET": "never-echoed"}
    (work / "a-directory").mkdir()
    read_only = copy("read-only.db")
    undo = make_read_only(read_only)
    wrapper = read_only_fs_wrapper(work, template)
    cases = {
        "slack without a token": Case("slack", db=work / "slack1.db"),
        "slack without a signing secret": Case("slack", {"SLACK_BOT_TOKEN": "xoxb-never-echoed"}, work / "slack2.db"),
        "slack port in use": Case(
            "slack",
            {**slack_env, "COHORTBOT_HTTP_HOST": "127.0.0.1", "COHORTBOT_HTTP_PORT": str(busy.getsockname()[1])},
            copy("slack3.db"),
        ),
        "discord without a token": Case("discord", db=work / "discord1.db"),
        "discord without a guild id": Case("discord", {"DISCORD_TOKEN": "never-echoed"}, work / "discord2.db"),
        "discord guild id not a number": Case(
            "discord", {"DISCORD_TOKEN": "never-echoed", "DISCORD_GUILD_ID": "my-server"}, work / "discord3.db"
        ),
        "db is a directory": Case("console", db=work / "a-directory"),
        "read-only db file": Case("console", db=read_only, skip=undo if isinstance(undo, str) else None),
        "read-only file system": Case(
            "console",
            db=work / "ro" / "bot.db",
            wrapper=wrapper if isinstance(wrapper, list) else [],
            skip=wrapper if isinstance(wrapper, str) else None,
        ),
    }
    results: dict[str, Outcome | str] = {name: case.skip for name, case in cases.items() if case.skip}
    try:
        runs = {name: case for name, case in cases.items() if not case.skip}
        outcomes = asyncio.run(run_all(runs, work))
        results.update(outcomes)
        yield results
    finally:
        busy.close()
        if callable(undo):
            undo()


async def run_all(cases: dict[str, Case], work: Path) -> dict[str, Outcome]:
    """Run the cases, a few at a time (so they do not slow each other down on a small machine)."""
    limit = asyncio.Semaphore(CONCURRENT)

    async def one(case: Case) -> Outcome:
        async with limit:
            return await run_case(case, work)

    names = list(cases)
    return dict(zip(names, await asyncio.gather(*(one(cases[n]) for n in names)), strict=True))


async def run_case(case: Case, work: Path) -> Outcome:
    """Start ``cohortbot run``; once it has said something (it has failed), it must be gone within 10 s."""
    before = digest(case.db)
    argv = [*case.wrapper, *PYTHON, "run", "--platform", case.platform, "--cohort", str(EXAMPLE_COHORT)]
    process = await asyncio.create_subprocess_exec(
        *argv,
        "--db",
        str(case.db),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=work,  # no stray .env is read
        env=clean_env(**case.env),
    )
    assert process.stderr is not None
    started = time.monotonic()
    stderr, code, after_failure = b"", None, None
    try:
        stderr = await asyncio.wait_for(process.stderr.readline(), SAYS_WITHIN)
        failed = time.monotonic()
        stderr += await asyncio.wait_for(process.stderr.read(), GONE_WITHIN)
        code = await asyncio.wait_for(process.wait(), max(0.1, failed + GONE_WITHIN - time.monotonic()))
        after_failure = time.monotonic() - failed
    except TimeoutError:
        process.kill()
        await process.wait()
    return Outcome(
        code, stderr.decode(errors="replace"), before, digest(case.db), time.monotonic() - started, after_failure
    )


def outcome_of(outcomes: dict[str, Outcome | str], name: str) -> Outcome:
    result = outcomes[name]
    if isinstance(result, str):
        pytest.skip(result)
    return result


EXPECTED = {
    "slack without a token": "SLACK_BOT_TOKEN is not set",
    "slack without a signing secret": "SLACK_SIGNING_SECRET is not set",
    "slack port in use": "cannot listen on 127.0.0.1:",
    "discord without a token": "DISCORD_TOKEN is not set",
    "discord without a guild id": "DISCORD_GUILD_ID is not set",
    "discord guild id not a number": "DISCORD_GUILD_ID: Input should be a valid integer",
    "db is a directory": "is a directory; give a file inside it",
    "read-only db file": "the file is read-only",
    "read-only file system": "its file system is read-only",
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_failed_start_is_one_line_exit_1_and_changes_nothing(outcomes, name: str) -> None:
    result = outcome_of(outcomes, name)
    assert result.code is not None, f"still running {GONE_WITHIN} s after failing; stderr: {result.stderr!r}"
    assert result.after_failure is not None and result.after_failure < GONE_WITHIN
    assert result.code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cohortbot: ") and EXPECTED[name] in lines[0], lines[0]
    assert "Traceback" not in result.stderr and "never-echoed" not in result.stderr
    assert result.db_after == result.db_before, "the database changed (or was created) although the bot did not start"

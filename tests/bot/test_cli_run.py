"""`cohortbot run` as a process: it writes a pid file, `cohortbot reload` makes it rebuild, SIGTERM stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main, pid_file
from tests.plugin import EXAMPLE_COHORT, ROOT


def wait_for(predicate, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_reload_and_stop_a_running_bot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "bot.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTBOT_", "DISCORD_", "SLACK_"))}
    log = tmp_path / "bot.log"
    with log.open("w") as err:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--platform", "console", "--cohort", str(EXAMPLE_COHORT),
             "--db", str(db)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT, env=env,
        )  # fmt: skip
        try:
            wait_for(lambda: pid_file(db).exists())
            assert int(pid_file(db).read_text()) == bot.pid
            assert main(["reload", "--db", str(db)]) == 0
            assert f"pid {bot.pid}" in capsys.readouterr().out
            wait_for(lambda: "reload:" in log.read_text())
            assert "planned job(s)" in log.read_text()
            bot.send_signal(signal.SIGTERM)
            assert bot.wait(timeout=20) == 0
        finally:
            if bot.poll() is None:
                bot.kill()
    assert not pid_file(db).exists()
    assert "Traceback" not in log.read_text()


def test_reload_without_a_running_bot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reload", "--db", str(tmp_path / "none.db")]) == 1
    assert "no running bot found" in capsys.readouterr().err
    pid_file(tmp_path / "gone.db").write_text("999999999\n")
    assert main(["reload", "--db", str(tmp_path / "gone.db")]) == 1
    assert "not running any more" in capsys.readouterr().err

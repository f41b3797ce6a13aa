"""`cohortbot run` as a process: it holds the database's lock, `cohortbot reload` makes it rebuild, SIGTERM stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.instance import InstanceLock, lock_path, running
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
            wait_for(lambda: (holder := running(db)) is not None and (holder.pid, holder.state) == (bot.pid, "running"))
            assert main(["health", "--db", str(db)]) == 0
            assert f"pid {bot.pid}, console" in capsys.readouterr().out
            assert main(["health", "--db", str(db), "--http"]) == 1  # the console serves no /healthz
            assert "did not answer" in capsys.readouterr().err
            assert main(["reload", "--db", str(db)]) == 0
            assert f"pid {bot.pid}" in capsys.readouterr().out
            wait_for(lambda: "reload:" in log.read_text())
            assert "planned job(s)" in log.read_text()
            bot.send_signal(signal.SIGTERM)
            assert bot.wait(timeout=20) == 0
        finally:
            if bot.poll() is None:
                bot.kill()
    assert running(db) is None
    assert main(["health", "--db", str(db)]) == 1
    assert "Traceback" not in log.read_text()


def test_reload_without_a_running_bot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reload", "--db", str(tmp_path / "none.db")]) == 1
    assert "no running bot found" in capsys.readouterr().err
    # A lock file naming a live process that does not hold the lock (this test's own pid) is not a running bot.
    lock_path(tmp_path / "gone.db").write_text(
        f'{{"pid": {os.getpid()}, "platform": "console", "started_at": "x", "host": "h"}}\n'
    )
    assert main(["reload", "--db", str(tmp_path / "gone.db")]) == 1
    assert main(["health", "--db", str(tmp_path / "gone.db")]) == 1
    assert "no running bot found" in capsys.readouterr().err


def test_health_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import http.server
    import threading

    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("COHORTBOT_HTTP_HOST", "0.0.0.0")  # as in the container: checked on loopback
        monkeypatch.setenv("COHORTBOT_HTTP_PORT", str(server.server_address[1]))
        db = tmp_path / "h.db"
        with InstanceLock(db).acquire("slack") as lock:  # this test process stands in for the bot
            lock.ready()
            assert main(["health", "--db", str(db), "--http"]) == 0
        assert f"ok: cohortbot is running (pid {os.getpid()}, slack" in capsys.readouterr().out
    finally:
        server.shutdown()

"""One running bot per database: an OS file lock beside the database, holding who holds it.

``cohortbot run`` takes an exclusive ``flock`` on ``<database>.lock`` before it opens the database, and keeps
it until it exits. The operating system releases the lock when the process dies, however it dies (even
SIGKILL), so a dead holder's lock is simply taken over; the file's contents (pid, platform, start time) are
only information for people and for ``cohortbot health`` / ``reload``, never trusted on their own: a live
holder is one that holds the lock.

A second ``run`` on the same database finds the lock held and refuses, naming the running one. ``health``
checks with a shared lock that it drops at once; a starting bot retries its lock briefly, so that check can
never make it refuse.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

TAKE_RETRY_SECONDS = 1.0  # a health check holds its shared lock for microseconds


class AlreadyRunning(RuntimeError):
    """Another live process holds the database's lock."""

    def __init__(self, holder: Holder | None, path: Path) -> None:
        self.holder = holder
        self.path = path
        who = f" ({holder.describe()})" if holder else ""
        super().__init__(f"a bot is already running on this database{who}: stop it first, or use another --db")


@dataclass(frozen=True)
class Holder:
    """What the lock file says about the process holding it."""

    pid: int
    platform: str
    started_at: str
    host: str
    state: str = "running"  # "starting" until the bot is connected and its runtime started

    def describe(self) -> str:
        """``pid 123, discord, started 2026-01-05 08:00 UTC on host``."""
        starting = ", still starting" if self.state == "starting" else ""
        return f"pid {self.pid}, {self.platform}, started {self.started_at} on {self.host}{starting}"


def lock_path(db_path: str | Path) -> Path:
    """The lock file beside the database: ``cohortbot.db`` -> ``cohortbot.db.lock``."""
    path = Path(db_path)
    return path.with_name(path.name + ".lock")


def _read(fd: int) -> Holder | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode("utf-8") or "null")
        fields = (int(data["pid"]), str(data["platform"]), str(data["started_at"]), str(data["host"]))
        return Holder(*fields, state=str(data.get("state", "running")))
    except (OSError, ValueError, TypeError, KeyError):
        return None


class InstanceLock:
    """The database's lock, held by this process from :meth:`acquire` until :meth:`release` (or its death)."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = lock_path(db_path)
        self._fd: int | None = None
        self._info: dict[str, object] = {}

    def acquire(self, platform: str) -> InstanceLock:
        """Take the lock and write who holds it; :class:`AlreadyRunning` if a live process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + TAKE_RETRY_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read(fd)
                    os.close(fd)
                    raise AlreadyRunning(holder, self.path) from None
                time.sleep(0.05)
        # Ours now: whatever the file said was a dead holder's (or nobody's).
        self._fd = fd
        self._info = {
            "pid": os.getpid(),
            "platform": platform,
            "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "host": socket.gethostname(),
            "state": "starting",
        }
        self._write()
        return self

    def ready(self) -> None:
        """The bot is up (``health`` says ok and ``reload`` may signal it from now on)."""
        self._info["state"] = "running"
        self._write()

    def _write(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.write(self._fd, (json.dumps(self._info) + "\n").encode("utf-8"))

    def release(self) -> None:
        """Let go of the lock (idempotent); the file stays, its contents describe nobody alive."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing drops the flock

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def running(db_path: str | Path) -> Holder | None:
    """The live process holding the database's lock, or ``None`` if nobody holds it (whatever the file says).

    A held lock whose file cannot be read (being written at this instant) is reported with pid 0.
    """
    path = lock_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd) or Holder(0, "unknown", "unknown", "unknown")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)

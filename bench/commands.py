"""Bench: commands at scale. The bot runs as a real process (``cohortbot run``) against the loopback fakes, with a
generated cohort of N people; each measure is printed beside a reference measured in the same run, as a ratio.

    .venv/bin/python bench/commands.py [--sizes 2000,20000] [--runs 3] [--parts slack,discord,heavy,replan,startup]
                                       [--seconds 10] [--bursts 500,4000]

The cohort (N scholars in sections of 16, a facilitator for every two sections, three organizers; weeks 1 and 2
handed in by 80 %, an extension for week 3 for everyone, its reminder queued in the outbox; membership sync off,
as bench/roster.py measures it) is generated once per N with ``cohortbot roster import`` and cached in
``$TMPDIR/cohortbot-bench`` (keyed by the migrations too: a database made by a branch with other migrations is not
reused); every run starts from a copy. The
cohort's dates are set around today (day 3 of week 3), so nothing falls due while the bench runs.

* **slack**: 200 concurrent clients send signed ``/readings`` and ``/submit`` slash commands to the bot (HTTP mode)
  for ``--seconds``; ack p99 (the HTTP answer), response p99 (until the answer reaches the ``response_url`` on the
  fake) and throughput. Reference: a bare aiohttp server in its own process doing the same work (check the
  signature, parse the form, ack, render the week's message and post it to the ``response_url`` on one session).
  Goal: throughput ratio >= 0.5.
* **discord**: bursts of ``--bursts`` interactions sent at once down the fake gateway (half ``/readings``, half
  ``/submit``). The fake refuses (404, 10062) a first answer later than 3 s, as Discord does: "late" counts what
  users saw fail. First-answer p99 and final-answer p99 (after a defer, the followup). Reference: a bare gateway
  client (its own process, raw websocket + one aiohttp session) answering each interaction at once. Goal: 0 late.
* **heavy**: two organizers loop over ``/submissions`` (everyone, as CSV) and ``/report kind:submissions`` while
  50 scholars loop over ``/readings`` and ``/submit``, on Slack and on Discord; the scholars' p99 beside their
  p99 without the organizers (same bot, same run). Goal: p99 <= 1 s.
* **replan**: the 5-minute re-plan (made to run every 4 s with ``COHORTBOT_REPLAN_MINUTES``) at N people with an
  extension each, while a probe asks ``GET /healthz`` back to back: the longest answer over three re-plans (a loop
  stall shows up there) beside the longest before the first. Goal: <= 100 ms. Then a reload (SIGHUP: the cohort
  file re-read, the re-plan, and the features' upkeep in the background), for information.
* **startup**: from process start to "running", and the resident memory then and at the end (peak); reference:
  a bare aiohttp server process. Goal at 20,000: <= 2 s and <= 150 MB.

Other work on the machine (the CPU is shared) disturbs the numbers: run it on a quiet machine and quote medians.

Diagnostics: ``BENCH_TIMELINE=1`` prints each Discord burst's first answers by tenths (in the order sent);
``BENCH_ERRORS=1`` prints the first error the bot logged with its traceback; ``BENCH_PROFILE=/tmp/p`` runs the
bot under cProfile; ``BENCH_PYSPY=/path/to/py-spy`` samples it with py-spy (collapsed stacks in /tmp/spy-*).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import yaml  # noqa: E402
from aiohttp import web  # noqa: E402

from tests.fakes.discord_api import FakeDiscord, Recorded  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlackAPI, signed_headers, slash_body  # noqa: E402

EXAMPLE_COHORT = ROOT / "config" / "example-cohort.yaml"
SCRIPT = str(Path(__file__).resolve())
CACHE_VERSION = 5
SECTION_SIZE = 16
SLACK_CLIENTS = 200
HEAVY_SCHOLARS = 50
CALLBACK_RE = re.compile(r"/interactions/(\d+)/([^/]+)/callback")
FOLLOWUP_RE = re.compile(r"/webhooks/(\d+)/([^/]+)")
BOT = [str(ROOT / ".venv" / "bin" / "cohortbot")] if (ROOT / ".venv" / "bin" / "cohortbot").exists() else None


# ---- statistics -----------------------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def med(values: list[float]) -> float:
    finite = [v for v in values if v == v]
    return statistics.median(finite) if finite else float("nan")


# ---- the generated cohort -------------------------------------------------------------------------------------
@dataclass
class Cohort:
    """A generated cohort on disk: cohort file, template database and who is who."""

    n: int
    folder: Path
    cohort: Path
    db: Path
    scholars: list[tuple[int, str]]  # (discord id, slack id)
    organizers: list[tuple[int, str]]


def discord_id(kind: int, n: int) -> int:
    return 300000000000000000 + kind * 10_000_000 + n


def slack_id(kind: str, n: int) -> str:
    return f"U{kind}{n:08d}"


def start_date() -> date:
    """16 days ago: today is in the middle of week 3, the nearest scheduled job is days away on either side."""
    return datetime.now(UTC).date() - timedelta(days=16)


def cohort_file(n: int) -> dict:
    """The example cohort, moved to have started 16 days ago, with N/16 sections and their facilitators."""
    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    start = start_date()
    data["start_date"] = start.isoformat()
    for week in data["weeks"]:
        if week.get("homework"):
            due = start + timedelta(days=7 * (week["number"] - 1) + 6)
            week["homework"]["due"] = f"{due.isoformat()} 23:59"
    sections = -(-n // SECTION_SIZE)
    data["sections"] = [
        {
            "name": f"s{k:04d}",
            "track": "intro" if k % 2 == 0 else "advanced",
            "facilitators": [f"facilitator{k // 2}@bench.example.org"],
            "weekday": "tuesday",
            "start": "18:00",
            "duration_minutes": 60,
            "channel": f"section-{k:04d}",
        }
        for k in range(sections)
    ]
    # Membership sync (server roles, channel invites) is the roster feature's, measured by bench/roster.py: off
    # here, so that these numbers are the commands'.
    data.setdefault("roster", {})["sync"] = {}
    return data


async def run_cli(*args: str, cwd: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        *(BOT or [sys.executable, "-m", "bot.cli"]),
        *args,
        cwd=cwd,
        env=clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"cohortbot {' '.join(args)} failed:\n{out.decode()}")
    return out.decode()


def schema() -> str:
    """A short digest of the migrations' names: a cached database is only reused by the same schema."""
    from bot.storage.db import migration_files

    names = "\n".join(name for _, name, _ in migration_files())
    return hashlib.sha256(names.encode()).hexdigest()[:8]


async def prepare(n: int, cache: Path) -> Cohort:
    """Generate (or reuse) the cohort of ``n`` scholars."""
    folder = cache / f"n{n}-v{CACHE_VERSION}-{schema()}-{start_date().isoformat()}"
    scholars = [(discord_id(1, k), slack_id("S", k)) for k in range(n)]
    organizers = [(discord_id(3, k), slack_id("O", k)) for k in range(3)]
    made = Cohort(n, folder, folder / "cohort.yaml", folder / "template.db", scholars, organizers)
    if made.db.exists():
        return made
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    data = cohort_file(n)
    made.cohort.write_text(yaml.safe_dump(data, sort_keys=False))
    sections = len(data["sections"])
    with (folder / "roster.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["name", "email", "role", "track", "section", "discord_id", "slack_id", "timezone", "stipend_eligible"]
        )
        for k, (did, sid) in enumerate(organizers):
            w.writerow([f"Organizer {k}", f"organizer{k}@bench.example.org", "organizer", "", "", did, sid, "", ""])
        for k in range(-(-sections // 2)):
            mine = ";".join(f"s{j:04d}" for j in (2 * k, 2 * k + 1) if j < sections)
            w.writerow(
                [
                    f"Facilitator {k:04d}",
                    f"facilitator{k}@bench.example.org",
                    "facilitator",
                    "intro",
                    mine,
                    discord_id(2, k),
                    slack_id("F", k),
                    "",
                    "",
                ]
            )
        for k, (did, sid) in enumerate(scholars):
            track = "intro" if (k % sections) % 2 == 0 else "advanced"
            w.writerow(
                [
                    f"Scholar {k:05d}",
                    f"scholar{k}@bench.example.org",
                    "scholar",
                    track,
                    f"s{k % sections:04d}",
                    did,
                    sid,
                    "",
                    "",
                ]
            )
    work = folder / "building.db"
    started = time.perf_counter()
    out = await run_cli(
        "roster", "import", str(folder / "roster.csv"), "--cohort", str(made.cohort), "--db", str(work), cwd=folder
    )
    print(f"  generated N={n}: {out.strip()} in {time.perf_counter() - started:.1f} s", flush=True)
    await homework_history(made.cohort, work)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{work}{suffix}")
    os.rename(work, made.db)
    return made


async def homework_history(cohort_path: Path, db_path: Path) -> None:
    """Weeks 1-2 handed in by 80 %, an extension for week 3 for everyone; then one plan, as a running bot made
    (extension reminders queued, past jobs recorded): the steady state the bench starts from."""
    from bot.app import CohortBot
    from bot.core.clock import SystemClock, to_db
    from schedules.runtime import Runtime

    app = await CohortBot.open(cohort_path, db_path, clock=SystemClock())
    try:
        now = to_db(datetime.now(UTC))
        ids = [r[0] for r in await app.db.fetchall("SELECT id FROM people WHERE role = 'scholar' ORDER BY id")]
        rows = []
        for week in (1, 2):
            due = app.cohort.due(week)
            for k, pid in enumerate(ids):
                if k % 10 < 8:
                    at = due - timedelta(hours=1 + k % 48) if k % 10 < 7 else due + timedelta(hours=2)
                    rows.append((pid, week, f"https://example.org/{pid}/{week}", to_db(at), int(k % 10 == 7), "slack"))
        await app.db.executemany(
            "INSERT INTO submissions (person_id, week, link, submitted_at, late, platform) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        due3 = app.cohort.due(3)
        await app.db.executemany(
            "INSERT INTO extensions (person_id, week, until, granted_at) VALUES (?, 3, ?, ?)",
            [(pid, to_db(due3 + timedelta(days=2, minutes=k % 1440)), now) for k, pid in enumerate(ids)],
        )
        runtime = Runtime(app, use_scheduler=False)
        await runtime.jobs.run_due()  # queues the reminders (once) and settles the past jobs
        await app.db.execute("UPDATE outbox SET state = 'sent', sent_at = ? WHERE not_before <= ?", (now, now))
    finally:
        await app.close()


# ---- the bot as a process ---------------------------------------------------------------------------------------
def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTBOT_", "DISCORD_", "SLACK_"))}
    env.update(extra)
    return env


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (MB), from /proc."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class Process:
    """A child process whose stderr lines are collected with their arrival time."""

    def __init__(self, proc: asyncio.subprocess.Process, started: float) -> None:
        self.proc = proc
        self.started = started
        self.lines: list[tuple[float, str]] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def spawn(cls, *args: str, env: dict[str, str], cwd: Path) -> Process:
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *args, env=env, cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        return cls(proc, started)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip()))
            self._changed.set()

    async def wait_line(self, pattern: str, *, after: float = 0.0, within: float = 120.0) -> float:
        """When a stderr line containing ``pattern`` arrived (after ``after``)."""
        deadline = time.monotonic() + within
        while True:
            for at, line in self.lines:
                if at >= after and pattern in line:
                    return at
            if self.proc.returncode is not None or time.monotonic() > deadline:
                tail = "\n".join(line for _, line in self.lines[-20:])
                raise RuntimeError(f"no line with {pattern!r} (exit {self.proc.returncode}):\n{tail}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)

    def errors(self) -> list[str]:
        return [line for _, line in self.lines if " ERROR " in line or "Traceback" in line]

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(Exception):
            await self._reader


@contextlib.asynccontextmanager
async def bot(cohort: Cohort, platform: str, env: dict[str, str]) -> AsyncIterator[tuple[Process, dict]]:
    """``cohortbot run`` on a fresh copy of the cohort's database; yields it once it says it is running."""
    with tempfile.TemporaryDirectory(prefix="cohortbot-bench-") as tmp:
        db = Path(tmp) / "bot.db"
        shutil.copy(cohort.db, db)
        args = [*(BOT or [sys.executable, "-m", "bot.cli"]), "run", "--platform", platform]
        if os.environ.get("BENCH_PROFILE"):  # a cProfile of the bot's main thread, written when it stops
            out = f"{os.environ['BENCH_PROFILE']}-{platform}-{int(time.time())}.prof"
            args = [sys.executable, "-m", "cProfile", "-o", out, "-m", "bot.cli", "run", "--platform", platform]
        proc = await Process.spawn(
            *args, "--cohort", str(cohort.cohort), "--db", str(db), env=clean_env(**env), cwd=Path(tmp)
        )
        spy = None
        try:
            ready = await proc.wait_line("cohortbot is running")
            rss, _ = memory(proc.proc.pid)
            if os.environ.get("BENCH_PYSPY"):  # diagnostics: sample the bot with py-spy (collapsed stacks)
                spy = await asyncio.create_subprocess_exec(
                    os.environ["BENCH_PYSPY"], "record", "--pid", str(proc.proc.pid), "--rate", "200",
                    "--format", "raw", "--output", f"/tmp/spy-{platform}-{int(time.time())}.txt", "--nonblocking",
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
            yield proc, {"startup": ready - proc.started, "rss": rss, "db": db}
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                await spy.wait()
            errors = proc.errors()
            if errors:
                print(f"  ! the bot logged {len(errors)} error(s), e.g. {errors[0][:300]}", flush=True)
                if os.environ.get("BENCH_ERRORS"):
                    first = next(k for k, (_, line) in enumerate(proc.lines) if line == errors[0])
                    print("\n".join(line for _, line in proc.lines[first : first + 40]), flush=True)
            await proc.stop()


# ---- Slack ------------------------------------------------------------------------------------------------------
@dataclass
class TimedSlack(FakeSlackAPI):
    """The Slack fake, noting when each ``response_url`` answer arrives."""

    arrivals: dict[str, float] = field(default_factory=dict)
    waiters: dict[str, asyncio.Future] = field(default_factory=dict)

    async def _response(self, request: web.Request) -> web.Response:
        answer = await super()._response(request)
        ident = request.match_info["id"]
        self.arrivals[ident] = time.monotonic()
        waiter = self.waiters.pop(ident, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.calls.clear()  # keep the fake's memory flat over thousands of answers
        return answer


@dataclass
class Load:
    """What a load phase measured (seconds)."""

    acks: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    by_command: dict[str, list[float]] = field(default_factory=dict)
    failed: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.answers) / self.elapsed if self.elapsed else 0.0


Pick = Callable[[random.Random, int], tuple[str, str, str]]  # -> (slack user, command, text)


def scholar_work(cohort: Cohort) -> Pick:
    def pick(rnd: random.Random, n: int) -> tuple[str, str, str]:
        user = rnd.choice(cohort.scholars)[1]
        if n % 2:
            return user, "/readings", rnd.choice(["", "week:2", "3"])
        return user, "/submit", f"week:3 link:https://example.org/{user}/{n}"

    return pick


def organizer_work(cohort: Cohort) -> Pick:
    def pick(rnd: random.Random, n: int) -> tuple[str, str, str]:
        user = cohort.organizers[n % len(cohort.organizers)][1]
        return (user, "/submissions", "week:1") if n % 2 == 0 else (user, "/report", "submissions")

    return pick


async def slack_clients(
    url: str, fake: TimedSlack, pick: Pick, clients: int, seconds: float, *, seed: int = 0, within: float = 60.0
) -> Load:
    """``clients`` concurrent clients, each sending a signed slash command and waiting for its answer, for
    ``seconds``."""
    load = Load()
    loop = asyncio.get_running_loop()
    until = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(k: int) -> None:
            rnd = random.Random(seed * 1000 + k)
            n = k
            while time.monotonic() < until:
                n += clients
                user, command, text = pick(rnd, n)
                form, ident = slash_body(fake, command, text, user=user, ident=f"c{seed}-{k}-{n}")
                body = urlencode(form)
                waiter = loop.create_future()
                fake.waiters[ident] = waiter
                sent = time.monotonic()
                try:
                    async with session.post(url, data=body.encode(), headers=signed_headers(body)) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                load.acks.append(time.monotonic() - sent)
                if not ok:
                    load.failed += 1
                    fake.waiters.pop(ident, None)
                    continue
                try:
                    await asyncio.wait_for(waiter, within)
                    load.answers.append(fake.arrivals.pop(ident) - sent)
                    load.by_command.setdefault(command, []).append(load.answers[-1])
                except TimeoutError:
                    load.failed += 1

        started = time.monotonic()
        await asyncio.gather(*(client(k) for k in range(clients)))
        load.elapsed = time.monotonic() - started
    return load


def slack_env(fake: TimedSlack, port: int) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "COHORTBOT_HTTP_HOST": "127.0.0.1",
        "COHORTBOT_HTTP_PORT": str(port),
    }


async def spawn_bare_slack(cohort: Cohort, port: int) -> Process:
    """The bare reference server (see :func:`serve_bare_slack`) in its own process."""
    args = [sys.executable, SCRIPT, "--serve-bare-slack", str(port), str(cohort.cohort)]
    return await Process.spawn(*args, env=clean_env(), cwd=ROOT)


async def bare_slack(cohort: Cohort, fake: TimedSlack, seconds: float) -> Load:
    """The reference: a bare aiohttp server process doing the same work."""
    port = free_port()
    proc = await spawn_bare_slack(cohort, port)
    try:
        await proc.wait_line("listening")
        return await slack_clients(
            f"http://127.0.0.1:{port}/slack/events", fake, scholar_work(cohort), SLACK_CLIENTS, seconds, seed=1
        )
    finally:
        await proc.stop()


def serve_bare_slack(port: int, cohort_path: str) -> None:
    """The bare reference server: check the signature, parse, ack, render the week's message, post it back."""
    from bot.cohort import load_cohort
    from bot.platforms.slack.render import render
    from cogs.curriculum import week_message

    cohort = load_cohort(cohort_path)
    secret = SIGNING_SECRET.encode()

    async def events(request: web.Request) -> web.Response:
        raw = await request.read()
        stamp = request.headers["X-Slack-Request-Timestamp"]
        digest = hmac.new(secret, f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(f"v0={digest}", request.headers["X-Slack-Signature"]):
            return web.Response(status=401)
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        asyncio.get_running_loop().create_task(answer(request.app["session"], form))
        return web.Response(text="")

    async def answer(session: aiohttp.ClientSession, form: dict[str, str]) -> None:
        rendered = render(week_message(cohort, 2, "intro"), cohort.zone)
        body = {"text": rendered.text, "blocks": rendered.blocks, "response_type": "ephemeral"}
        async with session.post(form["response_url"], json=body) as response:
            await response.read()

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/slack/events", events)
        app["session"] = aiohttp.ClientSession()
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("listening", file=sys.stderr, flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


# ---- Discord ----------------------------------------------------------------------------------------------------
class TimedDiscord(FakeDiscord):
    """The Discord fake, noting each interaction's first accepted callback and its final answer."""

    def __init__(self) -> None:
        super().__init__()
        self.first_at: dict[int, float] = {}
        self.done_at: dict[int, float] = {}
        self.by_token: dict[str, int] = {}
        self.waiters: dict[int, asyncio.Future] = {}

    def command(self, name: str, options: dict | None = None, **kwargs: Any) -> dict:
        payload = super().command(name, options, **kwargs)
        self.by_token[payload["token"]] = int(payload["id"])
        return payload

    def _route(self, r: Recorded) -> web.Response:
        response = super()._route(r)
        self.requests.clear()  # keep memory flat over thousands of requests
        now = time.monotonic()
        if r.method == "POST" and (match := CALLBACK_RE.fullmatch(r.path)):
            iid = int(match.group(1))
            if response.status == 200:
                self.first_at[iid] = now
                if (r.payload() or {}).get("type") in (4, 9):
                    self._done(iid, now)
            else:
                self._done(iid, now)  # refused: the user saw it fail, nothing more will come
        elif r.method == "POST" and (match := FOLLOWUP_RE.fullmatch(r.path)):
            iid = self.by_token.get(match.group(2))
            if iid is not None:
                self._done(iid, now)
        return response

    def _done(self, iid: int, now: float) -> None:
        self.done_at.setdefault(iid, now)
        waiter = self.waiters.pop(iid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def reset(self) -> None:
        for store in (self.first_at, self.done_at, self.sent_at, self.answered_at, self.by_token):
            store.clear()
        self.late_callbacks.clear()


def discord_env(fake: TimedDiscord) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": "fake-discord-token",
        "DISCORD_GUILD_ID": str(fake.guild_id),
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }


def interaction(fake: TimedDiscord, cohort: Cohort, rnd: random.Random, n: int) -> dict:
    user = rnd.choice(cohort.scholars)[0]
    if n % 2:
        return fake.command("readings", {"week": rnd.choice([2, 3])}, user_id=user)
    return fake.command("submit", {"week": 3, "link": f"https://example.org/{user}/{n}"}, user_id=user)


@dataclass
class Burst:
    """What a burst of simultaneous interactions measured."""

    sent: int
    late: int
    first: list[float]
    final: list[float]
    deferred: int
    unanswered: int


async def burst(fake: TimedDiscord, payloads: list[dict], within: float = 90.0) -> Burst:
    """Send every payload down the gateway at once; wait for every final answer (or refusal)."""
    fake.reset()
    for p in payloads:
        fake.by_token[p["token"]] = int(p["id"])
    ids = [int(p["id"]) for p in payloads]
    for p in payloads:
        await fake.interact(p)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and sum(1 for i in ids if i in fake.done_at) < len(ids):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    late = set(fake.late_callbacks) & set(ids)
    if os.environ.get("BENCH_TIMELINE"):  # by tenths of the burst, in the order sent
        tenth = max(1, len(ids) // 10)
        for k in range(0, len(ids), tenth):
            part = ids[k : k + tenth]
            lat = [fake.first_at[i] - fake.sent_at[i] for i in part if i in fake.first_at]
            sent = fake.sent_at[part[0]] - fake.sent_at[ids[0]]
            spread = f"min {min(lat or [0]):.2f} p50 {pct(lat, 50):.2f} max {max(lat or [0]):.2f}"
            print(f"    sent +{sent:.2f} s: late {len(set(part) & late)}, first answer {spread}")
    first = [fake.first_at[i] - fake.sent_at[i] for i in ids if i in fake.first_at]
    final = [fake.done_at[i] - fake.sent_at[i] for i in ids if i in fake.done_at and i not in late]
    deferred = sum(1 for i in ids if i in fake.first_at and fake.first_at[i] != fake.done_at.get(i))
    unanswered = sum(1 for i in ids if i not in fake.done_at)
    return Burst(len(ids), len(late), first, final, deferred, unanswered)


async def bare_gateway(fake: TimedDiscord, payloads: list[dict]) -> Burst:
    """The reference: a bare gateway client process answering each interaction at once."""
    proc = await Process.spawn(
        sys.executable,
        SCRIPT,
        "--bare-gateway",
        fake.gateway_url,
        fake.api_url,
        env=clean_env(),
        cwd=ROOT,
    )
    try:
        await proc.wait_line("ready")
        return await burst(fake, payloads)
    finally:
        await proc.stop()
        while fake._sockets:  # noqa: ASYNC110 - until the fake has noticed the closed socket
            await asyncio.sleep(0.05)


def run_bare_gateway(gateway: str, api: str) -> None:
    """A minimal gateway client: identify, then answer each INTERACTION_CREATE with a small embed."""

    async def main() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(gateway) as ws:
            tasks: set[asyncio.Task] = set()

            async def answer(d: dict) -> None:
                body = {"type": 4, "data": {"embeds": [{"title": "Week 2", "description": "x" * 600}], "flags": 64}}
                url = f"{api}/interactions/{d['id']}/{d['token']}/callback?with_response=1"
                async with session.post(url, json=body) as response:
                    await response.read()

            async for frame in ws:
                data = json.loads(frame.data)
                if data.get("op") == 10:
                    await ws.send_json({"op": 2, "d": {"token": "fake-discord-token", "intents": 1, "properties": {}}})
                elif data.get("t") == "READY":
                    print("ready", file=sys.stderr, flush=True)
                elif data.get("t") == "INTERACTION_CREATE":
                    task = asyncio.get_running_loop().create_task(answer(data["d"]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


async def discord_clients(
    fake: TimedDiscord, make: Callable[[random.Random, int], dict], clients: int, seconds: float, seed: int = 0
) -> Load:
    """``clients`` users each sending an interaction and waiting for its final answer, for ``seconds``."""
    load = Load()
    loop = asyncio.get_running_loop()
    until = time.monotonic() + seconds

    async def client(k: int) -> None:
        rnd = random.Random(seed * 1000 + k)
        n = k
        while time.monotonic() < until:
            n += clients
            payload = make(rnd, n)
            iid = int(payload["id"])
            waiter = loop.create_future()
            fake.waiters[iid] = waiter
            sent = time.monotonic()
            await fake.interact(payload)
            try:
                await asyncio.wait_for(waiter, 60)
            except TimeoutError:
                load.failed += 1
                continue
            if iid in fake.late_callbacks:
                load.failed += 1
            else:
                load.answers.append(fake.done_at[iid] - sent)

    started = time.monotonic()
    await asyncio.gather(*(client(k) for k in range(clients)))
    load.elapsed = time.monotonic() - started
    return load


# ---- the parts --------------------------------------------------------------------------------------------------
async def part_slack(cohort: Cohort, seconds: float, out: dict[str, list]) -> None:
    async with TimedSlack.running() as fake:
        port = free_port()
        async with bot(cohort, "slack", slack_env(fake, port)) as (proc, _info):
            url = f"http://127.0.0.1:{port}/slack/events"
            await slack_clients(url, fake, scholar_work(cohort), 20, 2.0, seed=9)  # warm-up
            load = await slack_clients(url, fake, scholar_work(cohort), SLACK_CLIENTS, seconds)
            out["rss_end"].append(memory(proc.proc.pid)[1])
        bare = await bare_slack(cohort, fake, seconds)
    out["slack"].append((load, bare))


async def part_discord(cohort: Cohort, sizes: list[int], out: dict[str, list]) -> None:
    async with TimedDiscord() as fake:
        rnd = random.Random(7)
        async with bot(cohort, "discord", discord_env(fake)) as (proc, _info):
            await burst(fake, [interaction(fake, cohort, rnd, n) for n in range(20)])  # warm-up
            results = {}
            payload_sets = {}
            for size in sizes:
                payload_sets[size] = [interaction(fake, cohort, rnd, n) for n in range(size)]
                results[size] = await burst(fake, payload_sets[size])
                await asyncio.sleep(1.0)
            out["rss_end"].append(memory(proc.proc.pid)[1])
        while fake._sockets:  # noqa: ASYNC110 - until the fake has noticed the closed socket
            await asyncio.sleep(0.05)
        for size in sizes:
            again = [interaction(fake, cohort, rnd, n) for n in range(size)]
            out[f"discord{size}"].append((results[size], await bare_gateway(fake, again)))


async def part_heavy(cohort: Cohort, seconds: float, out: dict[str, list]) -> None:
    async with TimedSlack.running() as fake:
        port = free_port()
        async with bot(cohort, "slack", slack_env(fake, port)) as (_proc, _info):
            url = f"http://127.0.0.1:{port}/slack/events"
            alone = await slack_clients(url, fake, scholar_work(cohort), HEAVY_SCHOLARS, seconds, seed=2)
            heavy_task = asyncio.ensure_future(slack_clients(url, fake, organizer_work(cohort), 2, seconds, seed=3))
            busy = await slack_clients(url, fake, scholar_work(cohort), HEAVY_SCHOLARS, seconds, seed=4)
            heavy = await heavy_task
    out["heavy_slack"].append((busy, alone, heavy))

    async with TimedDiscord() as fake, bot(cohort, "discord", discord_env(fake)) as (_proc, _info):

        def scholar(rnd: random.Random, n: int) -> dict:
            return interaction(fake, cohort, rnd, n)

        def organizer(rnd: random.Random, n: int) -> dict:
            user = cohort.organizers[n % len(cohort.organizers)][0]
            if n % 2 == 0:
                return fake.command("submissions", {"week": 1}, user_id=user)
            return fake.command("report", {"kind": "submissions"}, user_id=user)

        alone = await discord_clients(fake, scholar, HEAVY_SCHOLARS, seconds, seed=2)
        heavy_task = asyncio.ensure_future(discord_clients(fake, organizer, 2, seconds, seed=3))
        busy = await discord_clients(fake, scholar, HEAVY_SCHOLARS, seconds, seed=4)
        heavy = await heavy_task
    out["heavy_discord"].append((busy, alone, heavy))


async def probe(url: str, session: aiohttp.ClientSession, until: Callable[[], bool]) -> list[float]:
    """``GET url`` back to back until ``until()``; every answer's time."""
    times = []
    while not until():
        sent = time.monotonic()
        async with session.get(url) as response:
            await response.read()
        times.append(time.monotonic() - sent)
        await asyncio.sleep(0.001)
    return times


REPLAN_EVERY = 4.0  # seconds between re-plans in the replan part (the bot's COHORTBOT_REPLAN_MINUTES)


async def part_replan(cohort: Cohort, out: dict[str, list]) -> None:
    """The periodic re-plan, made to run every few seconds, under a ``/healthz`` probe; then a reload (SIGHUP)."""
    async with TimedSlack.running() as fake:
        port = free_port()
        env = {**slack_env(fake, port), "COHORTBOT_REPLAN_MINUTES": str(REPLAN_EVERY / 60)}
        async with bot(cohort, "slack", env) as (proc, _info), aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/healthz"
            ready = time.monotonic()
            await asyncio.sleep(0.5)
            # Before the first re-plan (the scheduler started just before "running"): the reference.
            quiet = await probe(url, session, lambda: time.monotonic() > ready + REPLAN_EVERY - 1.0)
            # Three re-plans.
            busy = await probe(url, session, lambda: time.monotonic() > ready + 4 * REPLAN_EVERY)
            asked = time.monotonic()
            done: list[float] = []
            watcher = asyncio.ensure_future(proc.wait_line("reload:", after=asked))
            watcher.add_done_callback(lambda t: done.append(t.result()))
            proc.proc.send_signal(signal.SIGHUP)
            reload = await probe(url, session, lambda: bool(done) and time.monotonic() > done[0] + 0.3)
            out["replan"].append((max(busy), max(quiet), max(reload), done[0] - asked))
            slow: dict[str, str] = {}  # what the bot said about planners that held the loop (worst last)
            for _, line in proc.lines:
                if " planner " in line and " took " in line:
                    name = line.split(" planner ", 1)[1]
                    slow[name.split(" took ")[0]] = name
            if slow:
                # Wall time, start-up and reload included: planners that compute much yield in slices meanwhile.
                print("    planners over 100 ms (wall time): " + "; ".join(slow.values()), flush=True)


async def part_startup(cohort: Cohort, out: dict[str, list]) -> None:
    async with TimedSlack.running() as fake, bot(cohort, "slack", slack_env(fake, free_port())) as (_proc, info):
        bot_start, bot_rss = info["startup"], info["rss"]
    proc = await spawn_bare_slack(cohort, free_port())
    try:
        ready = await proc.wait_line("listening")
        bare_rss, _ = memory(proc.proc.pid)
    finally:
        await proc.stop()
    out["startup"].append((bot_start, ready - proc.started, bot_rss, bare_rss))


# ---- report -----------------------------------------------------------------------------------------------------
class Table:
    """Rows of measure, bot, reference, ratio, goal: each cell the median over the runs."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, name: str, bot: list[float], ref: list[float] | None, unit: str, goal: str = "") -> None:
        """One measure: ``bot`` and ``ref`` hold a value per run; the ratio is the median of the per-run ratios."""
        fmt = "{:.3f}" if unit == "s" else "{:.0f}"
        ratios = [b / r for b, r in zip(bot, ref or [], strict=False) if r]
        shown = fmt.format(med(bot)) + (f" {unit}" if unit else "")
        reference = fmt.format(med(ref)) if ref else "-"
        self.rows.append((name, shown, reference, f"{med(ratios):.2f}" if ratios else "-", goal))

    def lines(self, title: str) -> list[str]:
        width = max(len(r[0]) for r in self.rows)
        head = f"{'measure':{width}}  {'bot':>10}  {'reference':>9}  {'ratio':>5}  goal"
        return [title, head, *(f"{a:{width}}  {b:>10}  {c:>9}  {d:>5}  {e}" for a, b, c, d, e in self.rows)]


def report(n: int, out: dict[str, list], runs: int) -> list[str]:
    t = Table()
    if out["slack"]:
        bots, refs = zip(*out["slack"], strict=True)
        t.add("slack, 200 clients: ack p99", [pct(b.acks, 99) for b in bots], [pct(r.acks, 99) for r in refs], "s")
        t.add("slack: response p99", [pct(b.answers, 99) for b in bots], [pct(r.answers, 99) for r in refs], "s")
        for command in ("/readings", "/submit"):
            t.add(f"slack: {command} response p99", [pct(b.by_command[command], 99) for b in bots], None, "s")
        t.add("slack: commands/s", [b.rate for b in bots], [r.rate for r in refs], "/s", "ratio >= 0.5")
        t.add("slack: failed or unanswered", [b.failed for b in bots], [r.failed for r in refs], "", "0")
    for size in sorted(int(k.removeprefix("discord")) for k in out if k.startswith("discord") and out[k]):
        bots, refs = zip(*out[f"discord{size}"], strict=True)
        name = f"discord, {size} at once:"
        t.add(f"{name} answered after 3 s", [b.late for b in bots], [r.late for r in refs], "", "0")
        t.add(f"{name} first answer p99", [pct(b.first, 99) for b in bots], [pct(r.first, 99) for r in refs], "s")
        t.add(f"{name} final answer p99", [pct(b.final, 99) for b in bots], [pct(r.final, 99) for r in refs], "s")
        t.add(f"{name} deferred", [b.deferred for b in bots], None, "")
        t.add(f"{name} never answered", [b.unanswered for b in bots], [r.unanswered for r in refs], "", "0")
    for platform in ("slack", "discord"):
        if out[f"heavy_{platform}"]:
            busy, alone, heavy = zip(*out[f"heavy_{platform}"], strict=True)
            name = f"{platform}, 2 organizers + 50 scholars:"
            t.add(
                f"{name} scholars' p99",
                [pct(b.answers, 99) for b in busy],
                [pct(a.answers, 99) for a in alone],
                "s",
                "<= 1 s",
            )
            t.add(f"{name} scholars' commands/s", [b.rate for b in busy], [a.rate for a in alone], "/s")
            t.add(f"{name} organizer answers", [len(h.answers) for h in heavy], None, "")
            t.add(f"{name} organizer p50", [pct(h.answers, 50) for h in heavy], None, "s")
    if out["replan"]:
        stall, quiet, reload, took = zip(*out["replan"], strict=True)
        t.add("re-plan every 4 s: longest /healthz answer", list(stall), list(quiet), "s", "<= 0.1 s")
        t.add("reload (SIGHUP): longest /healthz answer", list(reload), list(quiet), "s")
        t.add("reload (SIGHUP): until logged", list(took), None, "s")
    if out["startup"]:
        start, bare_start, rss, bare_rss = zip(*out["startup"], strict=True)
        t.add("start-up to running", list(start), list(bare_start), "s", "<= 2 s")
        t.add("RSS when running", list(rss), list(bare_rss), "MB", "<= 150 MB")
    if out["rss_end"]:
        t.add("RSS peak, after the loads", out["rss_end"], None, "MB", "<= 150 MB")
    return t.lines(f"N = {n:,} people; medians of {runs} run(s); reference: see the docstring") if t.rows else []


async def main(args: argparse.Namespace) -> None:
    cache = Path(tempfile.gettempdir()) / "cohortbot-bench"
    parts = set(args.parts.split(","))
    bursts = [int(b) for b in args.bursts.split(",") if b]
    for n in (int(s) for s in args.sizes.split(",")):
        cohort = await prepare(n, cache)
        keys = ["slack", "heavy_slack", "heavy_discord", "replan", "startup", "rss_end"]
        out: dict[str, list] = {k: [] for k in keys + [f"discord{b}" for b in bursts]}
        for run in range(args.runs):
            print(f"  N={n} run {run + 1}/{args.runs}: {', '.join(sorted(parts))}", flush=True)
            if "startup" in parts:
                await part_startup(cohort, out)
            if "slack" in parts:
                await part_slack(cohort, args.seconds, out)
            if "discord" in parts:
                await part_discord(cohort, bursts, out)
            if "heavy" in parts:
                await part_heavy(cohort, args.seconds, out)
            if "replan" in parts:
                await part_replan(cohort, out)
        print("\n".join(report(n, out, args.runs)) + "\n", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-bare-slack":
        serve_bare_slack(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--bare-gateway":
        run_bare_gateway(sys.argv[2], sys.argv[3])
    else:
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--sizes", default="2000,20000")
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--parts", default="startup,slack,discord,heavy,replan")
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--bursts", default="500,4000")
        asyncio.run(main(parser.parse_args()))

"""Bench: the roster feature on a cohort of N people (default 20,000): what its whole-roster work costs.

    .venv/bin/python bench/roster.py [--n 20000] [--runs 3]

On a real SQLite file with N people (4 in 5 linked to a Discord account, spread over the example's sections):

* reference: ``app.people.all()``, loading everyone once (the least any whole-roster pass must cost);
* ``ensure_codes``: a join code for everyone (the first upkeep after an import of N newcomers);
* sync (first): planning the membership sync for everyone and queuing one outbox task per linked person;
* sync (again): the same with nothing changed (what every start-up and reload costs);
* ``/roster`` as an organizer and as a facilitator (counts, linked, the first unlinked), and ``/roster show``;
* linking by email: the N-1 scholars, none of them linked on Slack yet, all found in a directory that answers at
  once (the Slack calls are not what is measured: ``users.list`` is ~20 calls for 20,000), linked and their
  channel sync queued (one outbox task each), on a fresh database of its own.

Prints medians of ``--runs`` runs and each one's ratio to the reference. Nothing here is asserted: see the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import CohortBot  # noqa: E402
from bot.cohort import Cohort, load_cohort  # noqa: E402
from bot.core.clock import ManualClock, to_db  # noqa: E402
from bot.core.context import Actor, Place  # noqa: E402
from cogs.roster._linking import link_by_email  # noqa: E402
from cogs.roster._store import store  # noqa: E402
from cogs.roster._sync import sync_people  # noqa: E402

COHORT = ROOT / "config" / "example-cohort.yaml"


class TaskSender:
    """Stands in for a platform sender that does member_sync tasks (nothing is delivered here)."""

    task_kinds = frozenset({"member_sync"})

    def __init__(self, platform: str = "discord") -> None:
        self.platform = platform


class Directory:
    """Stands in for Slack's linker: a directory where everyone's email is found at once."""

    platform = "slack"

    def __init__(self, accounts: dict[str, str]) -> None:
        self.accounts = accounts

    async def directory(self) -> dict[str, str]:
        return self.accounts

    async def find_by_email(self, email: str) -> str | None:
        return self.accounts.get(email.casefold())

    async def email_of(self, user_id: str) -> str | None:
        return None


async def populate(app: CohortBot, n: int) -> int:
    """N people (scholars in the example's sections, one organizer first); returns the organizer's id."""
    now = to_db(app.clock.now())
    sections = [(s.name, s.track) for s in app.cohort.sections]
    async with app.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO people (name, email, role, track, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            ("Olive Organizer", "olive@example.org", "organizer", None, now, now),
        )
        rows, memberships, identities = [], [], []
        for i in range(2, n + 1):
            section, track = sections[i % len(sections)]
            rows.append((i, f"Person {i:05d}", f"p{i}@example.org", "scholar", track, now, now))
            memberships.append((i, section))
            if i % 5:
                identities.append((i, "discord", str(100000000000000000 + i), now))
        await conn.executemany(
            "INSERT INTO people (id, name, email, role, track, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await conn.executemany("INSERT INTO person_sections (person_id, section) VALUES (?, ?)", memberships)
        await conn.executemany(
            "INSERT INTO identities (person_id, platform, user_id, linked_at) VALUES (?, ?, ?, ?)", identities
        )
    app.people.invalidate()
    return 1


async def timed(make) -> float:
    start = time.perf_counter()
    result = await make()
    elapsed = time.perf_counter() - start
    if getattr(result, "error", None):
        raise RuntimeError(f"the command was refused: {result.error}")
    return elapsed


async def one_run(n: int, workdir: Path, run: int) -> dict[str, float]:
    cohort = load_cohort(COHORT)
    clock = ManualClock(datetime.combine(cohort.start_date, datetime.min.time(), tzinfo=cohort.zone))
    app = await CohortBot.open(cohort, workdir / f"roster-{run}.db", clock=clock, platform="discord")
    app.senders["discord"] = TaskSender()  # type: ignore[assignment]
    try:
        organizer = await populate(app, n)
        results: dict[str, float] = {}
        results["reference: load everyone"] = await timed(lambda: app.people.all(include_removed=True))
        results["ensure_codes (N new)"] = await timed(lambda: store(app).ensure_codes(app.clock.now()))
        queued: list[int] = []

        async def sync() -> None:
            queued.append(await sync_people(app))

        results["sync, first (queues tasks)"] = await timed(sync)
        results["sync, again (no change)"] = await timed(sync)
        assert queued[1] == 0 and queued[0] == sum(1 for i in range(2, n + 1) if i % 5), queued
        place = Place(channel_name="bench")
        grace = Actor("console", str(organizer), "Olive", person_id=organizer)
        facilitator_id = await app.db.fetchval("SELECT id FROM people WHERE id = 2")
        await app.db.execute("UPDATE people SET role = 'facilitator' WHERE id = ?", (facilitator_id,))
        app.people.invalidate()
        alan = Actor("console", str(facilitator_id), "Fay", person_id=facilitator_id)
        results["/roster (organizer)"] = await timed(lambda: app.dispatch(grace, "roster", {}, place))
        results["/roster (facilitator)"] = await timed(lambda: app.dispatch(alan, "roster", {}, place))
        show = {"action": "show", "user": f"p{n // 2}@example.org"}
        results["/roster show"] = await timed(lambda: app.dispatch(grace, "roster", show, place))
    finally:
        await app.close()
    results["link by email (N-1 found)"] = await link_run(n, workdir, run, cohort, clock)
    return results


async def link_run(n: int, workdir: Path, run: int, cohort: Cohort, clock: ManualClock) -> float:
    """Seconds :func:`link_by_email` takes to link everyone but the organizer, found in the directory at once."""
    app = await CohortBot.open(cohort, workdir / f"link-{run}.db", clock=clock, platform="slack")
    app.senders["slack"] = TaskSender("slack")  # type: ignore[assignment]
    try:
        await populate(app, n)
        people = await app.people.all()
        app.linkers["slack"] = Directory({p.email.casefold(): f"U{p.id:010d}" for p in people if p.id != 1})
        start = time.perf_counter()
        [report] = await link_by_email(app)
        elapsed = time.perf_counter() - start
        tasks = await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE key LIKE 'sync:slack:%'")
        assert len(report.linked) == n - 1 and tasks == n - 1 and len(report.missing) == 1, (report.lines(), tasks)
        return elapsed
    finally:
        await app.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="cohortbot-bench-") as tmp:
        for run in range(args.runs):
            runs.append(await one_run(args.n, Path(tmp), run))
    names = list(runs[0])
    reference = statistics.median(r[names[0]] for r in runs)
    print(f"N = {args.n} people, medians of {args.runs} runs")
    print(f"{'operation':<30} {'median':>10} {'vs. reference':>14}")
    for name in names:
        value = statistics.median(r[name] for r in runs)
        print(f"{name:<30} {value * 1000:>8.0f} ms {value / reference:>13.2f}x")


if __name__ == "__main__":
    asyncio.run(main())

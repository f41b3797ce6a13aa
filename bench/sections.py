"""Bench: the sections feature at cohort scale — planning, one reminder instant, /schedule — with query counts.

    .venv/bin/python bench/sections.py [--people 20000] [--sections 1000] [--runs 3]

A cohort with ``--sections`` sections (spread over 7 weekdays and 4 start times, so ~36 sections share each
reminder instant) and ``--people`` scholars in them (inserted with plain SQL). It times, medians of ``--runs``:

* ``plan``: every planner (posts, homework, sections) over the whole course, after a change (a new cohort object,
  as a reload leaves it: every meeting computed again) and again with nothing changed (the periodic re-plan);
  the number of section jobs shows there is one per instant, not one per meeting or person;
* ``reminder instant``: the busiest reminder job, run for real (members, homework, one ``enqueue_many``), on a
  fresh outbox each run; the reference is ``enqueue_many`` of the same rows alone (the floor: writing them);
* ``/schedule`` for a scholar and for an organizer.

SQL statements are counted for each: they must not grow with the number of people.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.app import CohortBot  # noqa: E402
from bot.cohort import parse_cohort  # noqa: E402
from bot.core.clock import ManualClock, to_db  # noqa: E402
from bot.core.context import Actor  # noqa: E402
from bot.core.messages import Message  # noqa: E402
from bot.delivery import NewItem, decode_target  # noqa: E402
from schedules.runtime import plan  # noqa: E402

COHORT = ROOT / "config" / "example-cohort.yaml"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
STARTS = ("09:00", "12:00", "17:00", "19:30")


class Counting:
    """Counts the SQL statements the database object runs."""

    def __init__(self, db: object) -> None:
        self.counts: Counter[str] = Counter()
        for name in ("fetchall", "fetchone", "fetchval", "execute", "executemany"):
            original = getattr(db, name)
            setattr(db, name, self._wrap(name, original))

    def _wrap(self, name: str, original):
        async def counted(*args, **kwargs):
            self.counts[name] += 1
            return await original(*args, **kwargs)

        return counted

    def take(self) -> int:
        total = sum(self.counts.values())
        self.counts.clear()
        return total


def big_cohort(sections: int) -> object:
    data = yaml.safe_load(COHORT.read_text())
    data["sections"] = [
        {
            "name": f"s{n:04d}",
            "track": "intro" if n % 2 else "advanced",
            "facilitators": [f"fac{n % 500}@example.org"],
            "weekday": WEEKDAYS[n % 7],
            "start": STARTS[(n // 7) % 4],
            "timezone": ("America/New_York", "Europe/London", "Asia/Singapore")[n % 3],
            "channel": f"sec-{n}",
            "link": f"https://meet.example.org/s{n}",
        }
        for n in range(sections)
    ]
    return parse_cohort(data)


async def populate(app: CohortBot, people: int, sections: int) -> None:
    now = to_db(app.clock.now())
    rows = [
        (i, f"Scholar {i:05d}", f"s{i}@example.org", "scholar", "intro", None, 1, now, now)
        for i in range(1, people + 1)
    ]
    rows += [
        (people + 1 + f, f"Facilitator {f:03d}", f"fac{f}@example.org", "facilitator", None, None, 0, now, now)
        for f in range(500)
    ]
    rows.append((people + 600, "Olive Organizer", "olive@example.org", "organizer", None, None, 0, now, now))
    async with app.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO people (id, name, email, role, track, timezone, stipend_eligible, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        await conn.executemany(
            "INSERT INTO person_sections (person_id, section) VALUES (?, ?)",
            [(i, f"s{i % sections:04d}") for i in range(1, people + 1)],
        )
    app.people.invalidate()


def median(values: list[float]) -> float:
    return statistics.median(values)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--sections", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    cohort = big_cohort(args.sections)
    clock = ManualClock(datetime(2026, 1, 12, 13, 0, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        app = await CohortBot.open(cohort, Path(tmp) / "bench.db", clock=clock)
        try:
            await populate(app, args.people, args.sections)
            counter = Counting(app.db)
            rows = []

            times, again, jobs = [], [], []
            for _ in range(args.runs):
                app.cohort = cohort.model_copy()  # as a reload leaves it: every meeting is computed again
                started = time.perf_counter()
                jobs = await plan(app)
                times.append(time.perf_counter() - started)
                started = time.perf_counter()
                await plan(app)  # the periodic re-plan, nothing changed: the timetable and its jobs are reused
                again.append(time.perf_counter() - started)
            queries = counter.take() // (2 * args.runs)
            section_jobs = [j for j in jobs if j.id.startswith("section-reminders:")]
            meetings = args.sections * len(cohort.weeks)
            rows.append(
                [
                    "plan (all planners), after a change",
                    f"{median(times) * 1000:.0f} ms",
                    str(queries),
                    f"{len(section_jobs)} reminder jobs for {meetings} meetings (wall time; yields in slices)",
                ]
            )
            rows.append(["re-plan (all planners), nothing changed", f"{median(again) * 1000:.0f} ms", str(queries),
                         "the timetable and the jobs derived from it are reused"])  # fmt: skip

            lead = cohort.reminders.section_minutes_before
            starts = Counter(m.start for m in await app.meetings.all() if m.held)
            instant, size = starts.most_common(1)[0]
            busiest = next(j for j in section_jobs if (instant - j.when).total_seconds() == lead * 60)
            counter.take()
            job_times, floor_times, sent = [], [], 0
            for _ in range(args.runs):
                await app.db.execute("DELETE FROM outbox")
                counter.take()
                clock.set(busiest.when)
                started = time.perf_counter()
                await busiest.run(app)
                job_times.append(time.perf_counter() - started)
                queries = counter.take()
                items = await app.db.fetchall("SELECT key, target, payload FROM outbox")
                sent = len(items)
                await app.db.execute("DELETE FROM outbox")
                again = [NewItem(r["key"], decode_target(r["target"]), Message.model_validate_json(r["payload"]))
                         for r in items]  # fmt: skip
                counter.take()
                started = time.perf_counter()
                await app.outbox.enqueue_many(again)
                floor_times.append(time.perf_counter() - started)
                counter.take()
            covered = f"{size} sections meet at {instant:%a %d %b %H:%M} UTC"
            rows.append([f"reminder instant ({sent} DMs)", f"{median(job_times) * 1000:.0f} ms", str(queries),
                         f"floor (enqueue_many alone) {median(floor_times) * 1000:.0f} ms, ratio "
                         f"{median(job_times) / median(floor_times):.2f}; {covered}"])  # fmt: skip

            for who, person_id in (("scholar", 1), ("organizer", args.people + 600)):
                actor = Actor("console", str(person_id), person_id=person_id)
                times = []
                for _ in range(args.runs):
                    counter.take()
                    started = time.perf_counter()
                    reply = await app.dispatch(actor, "schedule", {})
                    times.append(time.perf_counter() - started)
                    assert reply.error is None, reply.error
                queries = counter.take()
                rows.append([f"/schedule ({who})", f"{median(times) * 1000:.0f} ms", str(queries), ""])
        finally:
            await app.close()

    print(f"people={args.people} sections={args.sections} runs={args.runs} (medians)")
    widths = [max(len(r[i]) for r in [["what", "time", "queries", "notes"], *rows]) for i in range(4)]
    for r in [["what", "time", "queries", "notes"], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


if __name__ == "__main__":
    asyncio.run(main())

"""Bench: attendance and stipends at the cohort's design size; print wall time and SQL statements per answer.

    .venv/bin/python bench/stipends.py [--scholars 20000] [--sections 800] [--runs 3]

Builds the example cohort with ``--sections`` sections (25 scholars each by default) and ``--scholars`` scholars,
8 weeks of attendance taken (random marks, some make-ups, one cancelled meeting per 50 sections) and 8 weeks of
homework (random, some late), on a real SQLite file. Then times, as the people who would ask:

* ``/stipend`` for one scholar, and for one facilitator (own pay and their section's scholars);
* ``/attendance`` (the checklist) and the alert check after one meeting (its members);
* ``/stipend`` for an organizer (everyone: 20,000 rows, sent as a CSV) and the two exports and the chart.

The reference in the same run is ``SELECT COUNT(*) FROM attendance`` (one whole-table read). One person's answers
should cost about the same at any size (the statements column stays flat); everyone's is the audience's cost.
Medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.app import CohortBot  # noqa: E402
from bot.cohort import parse_cohort  # noqa: E402
from bot.core.clock import ManualClock, to_db  # noqa: E402
from bot.core.context import Place  # noqa: E402
from bot.core.exports import csv_file  # noqa: E402
from cogs.attendance._alerts import check_sections  # noqa: E402
from cogs.attendance._export import attendance_chart, export_attendance, export_stipends  # noqa: E402
from tests.plugin import console_actor  # noqa: E402

COHORT = ROOT / "config" / "example-cohort.yaml"
ZONES = ("America/New_York", "Europe/London", "Asia/Singapore")
DAYS = ("tuesday", "wednesday", "thursday")


def cohort_with(sections: int):
    data = yaml.safe_load(COHORT.read_text())
    data["sections"] = [
        {
            "name": f"s{n:04}",
            "track": "intro",
            "facilitators": [f"f{n:04}@example.org"],
            "weekday": DAYS[n % 3],
            "start": "18:00",
            "timezone": ZONES[n % 3],
            "duration_minutes": 60,
            "channel": f"section-{n:04}",  # the example's roster.sync.section_role names each section's channel
        }
        for n in range(sections)
    ]
    return parse_cohort(data)


async def build(path: Path, scholars: int, sections: int, seed: int = 7) -> CohortBot:
    rng = random.Random(seed)
    cohort = cohort_with(sections)
    end = cohort.week_start(len(cohort.weeks) + 1) + timedelta(days=1)
    app = await CohortBot.open(cohort, path, clock=ManualClock(end))
    now = to_db(end)
    people = [(1, "Org Anizer", "org@example.org", "organizer", None)]
    people += [
        (2 + n, f"Facilitator {n:04}", f"f{n:04}@example.org", "facilitator", f"s{n:04}") for n in range(sections)
    ]
    first = 2 + sections
    people += [
        (first + n, f"Scholar {n:05}", f"s{n:05}@example.org", "scholar", f"s{n % sections:04}")
        for n in range(scholars)
    ]
    weeks = range(1, len(cohort.weeks) + 1)
    async with app.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO people (id, name, email, role, track, stipend_eligible, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'intro', ?, ?, ?)",
            [(i, name, email, role, int(rng.random() > 0.1), now, now) for i, name, email, role, _s in people],
        )
        await conn.executemany(
            "INSERT INTO person_sections (person_id, section) VALUES (?, ?)",
            [(i, s) for i, _n, _e, _r, s in people if s],
        )
        await conn.executemany(
            "INSERT INTO meeting_changes (section, week, status, reason, changed_at)"
            " VALUES (?, ?, 'cancelled', 'x', ?)",
            [(f"s{n:04}", 1 + n % 8, now) for n in range(0, sections, 50)],
        )
        await conn.executemany(
            "INSERT INTO attendance_meetings (section, week, recorded_at) VALUES (?, ?, ?)",
            [(f"s{n:04}", w, now) for n in range(sections) for w in weeks],
        )
        marks, submissions = [], []
        for i, _n, _e, role, section in people:
            if role != "scholar":
                continue
            for w in weeks:
                roll = rng.random()
                status = "present" if roll < 0.75 else "absent" if roll < 0.93 else "excused"
                visit = section if rng.random() > 0.03 else f"s{rng.randrange(sections):04}"
                marks.append((visit, w, i, status, "ill" if status == "excused" else None, now))
                if rng.random() < 0.8:
                    due = cohort.due(w)
                    late = rng.random() < 0.15
                    at = due + timedelta(days=2) if late else due - timedelta(days=1)
                    submissions.append((i, w, to_db(at), int(late)))
        await conn.executemany(
            "INSERT OR IGNORE INTO attendance (section, week, person_id, status, reason, source, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'typed', ?)",
            marks,
        )
        await conn.executemany(
            "INSERT INTO submissions (person_id, week, link, submitted_at, late, platform)"
            " VALUES (?, ?, 'https://x.org', ?, ?, 'console')",
            submissions,
        )
    return app


async def timed(app: CohortBot, fn) -> tuple[float, int]:
    seen: list[str] = []
    await app.db.set_trace_callback(seen.append)
    started = time.perf_counter()
    await fn()
    elapsed = time.perf_counter() - started
    await app.db.set_trace_callback(None)
    return elapsed, len(seen)


async def written(app: CohortBot) -> int:
    """The attendance export written as the report writes it (a temporary CSV file); its row count."""
    _attachment, count = await csv_file(await export_attendance(app), "attendance.csv")  # deleted when dropped
    return count


async def run_once(app: CohortBot) -> dict[str, tuple[float, int]]:
    scholar = await console_actor(app, "Scholar 00042")
    facilitator = await console_actor(app, "Facilitator 0042")
    organizer = await console_actor(app, "Org Anizer")

    def ask(actor, name: str, **options: str):
        async def go() -> None:
            reply = await app.dispatch(actor, name, options, Place())
            assert reply.error is None, reply.error

        return go

    async def everyone_query() -> None:
        await app.db.fetchval("SELECT COUNT(*) FROM attendance")

    cases = {
        "reference: COUNT(*) FROM attendance": everyone_query,
        "/stipend (one scholar)": ask(scholar, "stipend"),
        "/stipend (one facilitator)": ask(facilitator, "stipend"),
        "/stipend user:<scholar> (facilitator)": ask(facilitator, "stipend", user="Scholar 00042"),
        "/attendance checklist (one section)": ask(facilitator, "attendance", section="s0042", week="8"),
        "alert check after one meeting": lambda: check_sections(app, [("s0042", 8)]),
        "/stipend (organizer: everyone)": ask(organizer, "stipend"),
        "export stipends": lambda: export_stipends(app),
        "export attendance (CSV, streamed)": lambda: written(app),
        "attendance chart": lambda: attendance_chart(app),
    }
    return {name: await timed(app, fn) for name, fn in cases.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scholars", type=int, default=20000)
    parser.add_argument("--sections", type=int, default=800)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        app = await build(Path(tmp) / "bench.db", args.scholars, args.sections)
        print(f"built {args.scholars} scholars in {args.sections} sections in {time.perf_counter() - started:.1f} s")
        try:
            runs = [await run_once(app) for _ in range(args.runs)]
        finally:
            await app.close()
    reference = statistics.median(r["reference: COUNT(*) FROM attendance"][0] for r in runs)
    print(f"\n{'what':42} {'median':>10} {'x ref':>8} {'statements':>11}")
    for name in runs[0]:
        median = statistics.median(r[name][0] for r in runs)
        print(f"{name:42} {median * 1000:8.1f} ms {median / reference:8.1f} {runs[0][name][1]:11d}")
    print(f"\n(medians of {args.runs}; finished {datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    asyncio.run(main())

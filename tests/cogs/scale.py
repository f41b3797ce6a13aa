"""A large cohort written straight into the database (bulk ``executemany``, well under a second for 20,000).

``await populate(app, scholars=20_000, facilitators=500)`` adds scholars (in sections ``s0000``… of about 16;
``first`` numbers them on from an earlier call),
facilitators (two sections each), submissions for ``submitted_weeks`` (about 70 % on time, 10 % late, every
seventh person with a second version) and one extension each for week ``extension_week`` (for every
``extension_every``-th scholar), bypassing the commands so that tests and benches stay quick. Names sort like
their numbers (``Scholar 00042``); emails are ``scholarN@scale.example.org``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core.clock import to_db

if TYPE_CHECKING:
    from bot.app import CohortBot


@dataclass(frozen=True)
class Populated:
    """What :func:`populate` wrote."""

    scholar_ids: list[int]
    facilitator_ids: list[int]
    sections: list[str]


async def statements_of(app: CohortBot, run: Callable[[], Awaitable[object]]) -> tuple[list[str], object]:
    """Every statement ``run()`` made, on any connection (sqlite3's trace callback), and its result."""
    statements: list[str] = []
    await app.db.set_trace_callback(statements.append)
    try:
        result = await run()
    finally:
        await app.db.set_trace_callback(None)
    return statements, result


async def populate(
    app: CohortBot,
    *,
    scholars: int,
    first: int = 0,
    facilitators: int = 0,
    section_size: int = 16,
    submitted_weeks: tuple[int, ...] = (),
    extension_week: int | None = None,
    extension_every: int = 1,
    reminders_planned: bool = True,
    text: str = "An answer of a few words, as most are.",
) -> Populated:
    """Write a generated cohort into ``app.db`` (see the module docstring)."""
    now = to_db(app.clock.now())
    n_sections = max(1, -(-scholars // section_size), 2 * facilitators)
    sections = [f"s{n:04d}" for n in range(n_sections)]
    numbers = range(first, first + scholars)
    people = [(f"Scholar {n:05d}", f"scholar{n}@scale.example.org", "scholar", "intro", now, now) for n in numbers]
    people += [
        (f"Facilitator {n:04d}", f"facilitator{n}@scale.example.org", "facilitator", "intro", now, now)
        for n in range(facilitators)
    ]
    async with app.db.transaction() as conn:
        start = (await (await conn.execute("SELECT COALESCE(MAX(id), 0) FROM people")).fetchone())[0] + 1
        await conn.executemany(
            "INSERT INTO people (name, email, role, track, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)", people
        )
        ids = list(range(start, start + len(people)))
        scholar_ids, facilitator_ids = ids[:scholars], ids[scholars:]
        member = [(pid, sections[n % n_sections]) for n, pid in zip(numbers, scholar_ids, strict=True)]
        member += [(pid, sections[(2 * n + k) % n_sections]) for n, pid in enumerate(facilitator_ids) for k in (0, 1)]
        await conn.executemany("INSERT INTO person_sections (person_id, section) VALUES (?, ?)", member)
        rows = []
        for week in submitted_weeks:
            due = app.cohort.due(week)
            assert due is not None, f"week {week} has no homework"
            for n, pid in zip(numbers, scholar_ids, strict=True):
                kind = n % 10
                if kind >= 8:
                    continue  # 20 % never submit
                at = due + timedelta(hours=2) if kind == 7 else due - timedelta(hours=1 + n % 48)
                link = f"https://example.org/{pid}/{week}"
                rows.append((pid, week, link, text, to_db(at), int(kind == 7), "slack"))
                if n % 7 == 0:
                    later = to_db(at + timedelta(minutes=5))
                    rows.append((pid, week, link + "/v2", text, later, int(kind == 7), "slack"))
        await conn.executemany(
            "INSERT INTO submissions (person_id, week, link, text, submitted_at, late, platform)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if extension_week is not None:
            due = app.cohort.due(extension_week)
            assert due is not None
            extensions = [
                (pid, extension_week, to_db(due + timedelta(days=2, minutes=n % 1440)), now, int(reminders_planned))
                for n, pid in zip(numbers, scholar_ids, strict=True)
                if n % extension_every == 0
            ]
            await conn.executemany(
                "INSERT INTO extensions (person_id, week, until, granted_at, reminder_planned) VALUES (?, ?, ?, ?, ?)",
                extensions,
            )
    return Populated(scholar_ids, facilitator_ids, sections)

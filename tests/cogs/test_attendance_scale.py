"""Cost follows the audience: answering one scholar, one facilitator or one meeting's alerts takes the same SQL
statements whether the course has 12 people or 1,000, and nothing is queried per person (counted with SQLite's
trace callback; no timing is asserted)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.core.clock import to_db
from cogs.attendance._alerts import check_sections
from tests.cogs.attendance_support import AMERICAS_W1

EXTRA = 1000
WHOLE_TABLE = re.compile(r"FROM (attendance|attendance_meetings|submissions|extensions|people)\b(?![^;]*WHERE)", re.I)


class Statements:
    """Every SQL statement run on the app's connection while active."""

    def __init__(self, app) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __aenter__(self) -> list[str]:
        await self.app.db.conn.set_trace_callback(self.seen.append)
        return self.seen

    async def __aexit__(self, *exc: object) -> None:
        await self.app.db.conn.set_trace_callback(None)


async def grow(app, clock) -> None:
    """1,000 more scholars in the two other sections, each with a mark and a submission for week 1."""
    now = to_db(clock.now())
    first = int(await app.db.fetchval("SELECT MAX(id) FROM people")) + 1
    ids = range(first, first + EXTRA)
    sections = ["europe-wed" if i % 2 else "apac-thu" for i in ids]
    async with app.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO people (id, name, email, role, track, stipend_eligible, created_at, updated_at)"
            " VALUES (?, ?, ?, 'scholar', 'intro', 1, ?, ?)",
            [(i, f"Scholar {i}", f"s{i}@example.com", now, now) for i in ids],
        )
        await conn.executemany(
            "INSERT INTO person_sections (person_id, section) VALUES (?, ?)", list(zip(ids, sections, strict=True))
        )
        await conn.executemany(
            "INSERT INTO attendance (section, week, person_id, status, source, updated_at)"
            " VALUES (?, 1, ?, 'present', 'typed', ?)",
            [(s, i, now) for i, s in zip(ids, sections, strict=True)],
        )
        await conn.executemany(
            "INSERT INTO submissions (person_id, week, link, submitted_at, late, platform)"
            " VALUES (?, 1, 'https://x.org', ?, 0, 'console')",
            [(i, now) for i in ids],
        )
    app.people.invalidate()


async def measure(app, as_, clock) -> dict[str, list[str]]:
    out = {}
    for name, who, options in [
        ("scholar", "Ada Lovelace", {}),
        ("facilitator", "Alan Turing", {}),
        ("one person", "Alan Turing", {"user": "Hedy Lamarr"}),
    ]:
        async with Statements(app) as seen:
            reply = await as_(who, "stipend", **options)
        assert reply.error is None, reply.error
        out[name] = list(seen)
    async with Statements(app) as seen:
        await check_sections(app, [("americas-tue", 1)])
    out["meeting alerts"] = list(seen)
    async with Statements(app) as seen:
        reply = await as_("Grace Hopper", "stipend")
    out["everyone"] = list(seen)
    return out


async def test_cost_follows_the_audience(app, as_, clock):
    clock.set(AMERICAS_W1 + timedelta(hours=1))
    await as_("Alan Turing", "attendance", section="americas-tue", present="Ada, Hedy")
    small = await measure(app, as_, clock)
    await grow(app, clock)
    large = await measure(app, as_, clock)
    for name in ("scholar", "facilitator", "one person", "meeting alerts"):
        assert len(large[name]) == len(small[name]), name  # the same statements, whatever the course's size
        scans = [s for s in large[name] if WHOLE_TABLE.search(s)]
        assert scans == [], (name, scans)  # and none reads a whole table of people, marks or homework
    # everyone's view reads everyone, in chunks of 500: a few statements more, never one per person
    assert len(large["everyone"]) <= len(small["everyone"]) + 8
    assert "1008 scholar(s)" in (await as_("Grace Hopper", "stipend")).message.text

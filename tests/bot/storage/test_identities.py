"""Migration 0006: platform ids move from the people table to identities, and nothing is lost."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bot.storage.db as db_module
from bot.core.people import PersonInput
from bot.core.roles import Role
from bot.roster import import_roster
from bot.storage.db import Database
from bot.storage.people import IdentityTaken, PeopleRepo

NOW = "2026-01-12T00:00:00+00:00"


async def round_one_database(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database as round 1 left it (migrations 0001–0005), with people on both platforms and their history."""
    every = db_module.migration_files()
    monkeypatch.setattr(db_module, "migration_files", lambda: [m for m in every if m[0] <= 5])
    db = await Database(path).open()
    assert await db.version() == 5
    people = [
        (1, "Ada Lovelace", "ada@example.com", "scholar", "intro", "100000000000000011", "U0SCH000001", None, 1),
        (
            2,
            "Hedy Lamarr",
            "hedy@example.com",
            "scholar",
            "intro",
            "100000000000000012",
            None,
            "America/Los_Angeles",
            1,
        ),
        (3, "Rosalind Franklin", "ros@example.com", "scholar", "intro", None, "U0SCH000003", None, 0),
        (4, "Nobody Linked", "none@example.com", "facilitator", None, None, None, None, 1),
    ]
    await db.executemany(
        "INSERT INTO people (id, name, email, role, track, discord_id, slack_id, timezone, stipend_eligible,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*p, NOW, NOW) for p in people],
    )
    await db.executemany(
        "INSERT INTO person_sections (person_id, section) VALUES (?, ?)",
        [(1, "americas-tue"), (2, "americas-tue"), (4, "americas-tue"), (4, "europe-wed")],
    )
    await db.execute(
        "INSERT INTO submissions (person_id, week, link, submitted_at, late, platform)"
        " VALUES (1, 1, 'https://x.org', ?, 0, 'discord')",
        (NOW,),
    )
    await db.execute(
        "INSERT INTO extensions (person_id, week, until, granted_by, granted_at) VALUES (2, 1, ?, 4, ?)", (NOW, NOW)
    )
    await db.close()
    monkeypatch.setattr(db_module, "migration_files", lambda: every)


async def test_the_upgrade_moves_every_id_and_loses_no_person(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "round1.db"
    await round_one_database(path, monkeypatch)
    db = await Database(path).open()  # applies 0006 and later
    try:
        columns = {r["name"] for r in await db.fetchall("PRAGMA table_info(people)")}
        assert "discord_id" not in columns and "slack_id" not in columns
        ids = {(r["person_id"], r["platform"], r["user_id"]) for r in await db.fetchall("SELECT * FROM identities")}
        assert ids == {
            (1, "discord", "100000000000000011"),
            (1, "slack", "U0SCH000001"),
            (2, "discord", "100000000000000012"),
            (3, "slack", "U0SCH000003"),
        }
        repo = PeopleRepo(db)
        everyone = {p.id: p for p in await repo.all()}
        assert sorted(everyone) == [1, 2, 3, 4]
        assert everyone[2].timezone == "America/Los_Angeles" and not everyone[3].stipend_eligible
        assert everyone[4].sections == ("americas-tue", "europe-wed") and everyone[4].identities == {}
        assert (await repo.by_platform("slack", "U0SCH000003")).name == "Rosalind Franklin"
        # what refers to people survived the rebuild (no cascade while the table was swapped)
        assert await db.fetchval("SELECT COUNT(*) FROM submissions WHERE person_id = 1") == 1
        assert await db.fetchval("SELECT granted_by FROM extensions WHERE person_id = 2") == 4
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert await db.fetchall("PRAGMA foreign_key_check") == []
    finally:
        await db.close()


async def test_one_account_per_person_and_platform_and_one_person_per_account(tmp_path: Path):
    db = await Database(tmp_path / "ids.db").open()
    repo = PeopleRepo(db)
    from datetime import UTC, datetime

    now = datetime(2026, 1, 12, tzinfo=UTC)
    await repo.upsert(
        PersonInput("Ada", "ada@example.com", Role.SCHOLAR, identities={"discord": "111111111111111"}), now
    )
    await repo.upsert(PersonInput("Bob", "bob@example.com", Role.SCHOLAR), now)
    bob = await repo.by_email("bob@example.com")
    with pytest.raises(IdentityTaken, match="already linked to Ada"):
        await repo.link(bob.id, "discord", "111111111111111", now)
    assert (await repo.get(bob.id)).identities == {}
    await repo.link(bob.id, "discord", "222222222222222", now)
    await repo.link(bob.id, "discord", "333333333333333", now)  # a new account replaces the old one
    assert (await repo.get(bob.id)).identities == {"discord": "333333333333333"}
    assert await repo.by_platform("discord", "222222222222222") is None
    await db.close()


NOW_DT = datetime(2026, 1, 12, tzinfo=UTC)
ADA = PersonInput("Ada", "ada@example.com", Role.SCHOLAR, sections=("s1",), identities={"slack": "U0SCH000001"})


class Ticks:
    """A clock for the repository's version checks, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def counting(db: Database) -> list[str]:
    statements: list[str] = []
    await db.set_trace_callback(statements.append)
    return statements


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await Database(tmp_path / "people.db").open()
    try:
        yield opened
    finally:
        await opened.set_trace_callback(None)
        await opened.close()


async def test_lookups_by_account_are_cached_and_a_roster_import_is_seen_at_once(db: Database):
    clock = Ticks()
    repo = PeopleRepo(db, check_seconds=0.5, clock=clock)
    await repo.upsert(ADA, NOW_DT)
    statements = await counting(db)
    first = await repo.by_platform("slack", "U0SCH000001")
    assert len(statements) == 1  # the person, their sections and accounts, and the roster's version: one query
    assert first.sections == ("s1",) and first.identities == {"slack": "U0SCH000001"}
    assert await repo.by_platform("slack", "U0SCH000001") is first
    assert len(statements) == 1  # served from memory
    clock.now += 3600  # no time limit: an hour later, one cheap read of the version says nothing changed
    assert await repo.by_platform("slack", "U0SCH000001") is first
    assert len(statements) == 2 and "roster_version" in statements[-1] and "people" not in statements[-1]
    assert await repo.by_platform("slack", "U0SCH000001") is first
    assert len(statements) == 2
    header = "name,email,role,track,section,discord_id,slack_id,timezone,stipend_eligible\n"
    report = await import_roster(repo, header + "Ada L.,ada@example.com,organizer,,,,U0SCH000001,,\n", None, NOW_DT)
    assert report.updated == 1
    changed = await repo.by_platform("slack", "U0SCH000001")  # at once: no clock moved
    assert changed.name == "Ada L." and changed.role is Role.ORGANIZER and changed.sections == ()


async def test_a_roster_change_by_another_process_is_seen_once_the_version_is_checked(db: Database):
    clock = Ticks()
    repo = PeopleRepo(db, check_seconds=0.5, clock=clock)
    await repo.upsert(ADA, NOW_DT)
    assert (await repo.by_platform("slack", "U0SCH000001")).name == "Ada"
    other = await Database(db.path).open()  # another process: its writes do not reach this repository's memory
    try:
        await PeopleRepo(other).upsert(
            PersonInput("Ada K.", "ada@example.com", Role.SCHOLAR, identities={"slack": "U0SCH000001"}), NOW_DT
        )
        assert (await repo.by_platform("slack", "U0SCH000001")).name == "Ada"  # within check_seconds: memory
        clock.now += 0.5
        assert (await repo.by_platform("slack", "U0SCH000001")).name == "Ada K."
        await PeopleRepo(other).set_removed((await repo.by_email("ada@example.com")).id, True, NOW_DT)
        clock.now += 0.5
        assert (await repo.by_platform("slack", "U0SCH000001")).removed
    finally:
        await other.close()


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE people SET name = 'Changed' WHERE email = 'ada@example.com'",
        "INSERT INTO people (name, email, role, created_at, updated_at)"
        " VALUES ('B', 'b@example.com', 'scholar', 'x', 'x')",
        "DELETE FROM people WHERE email = 'bob@example.com'",
        "INSERT INTO person_sections (person_id, section) SELECT id, 's2' FROM people WHERE email = 'ada@example.com'",
        "UPDATE person_sections SET section = 's3'",
        "DELETE FROM person_sections",
        "INSERT INTO identities (person_id, platform, user_id, linked_at)"
        " SELECT id, 'discord', '111111111111111', 'x' FROM people WHERE email = 'ada@example.com'",
        "UPDATE identities SET user_id = 'U0SCH000009'",
        "DELETE FROM identities",
    ],
)
async def test_any_change_to_people_sections_or_accounts_moves_the_roster_version(db: Database, change: str):
    repo = PeopleRepo(db)
    await repo.upsert(ADA, NOW_DT)
    await repo.upsert(PersonInput("Bob", "bob@example.com", Role.SCHOLAR), NOW_DT)
    before = await db.fetchval("SELECT version FROM roster_version")

    def by_hand() -> None:  # what another program (sqlite3 at a shell) would do
        conn = sqlite3.connect(db.path)
        try:
            with conn:
                conn.execute(change)
        finally:
            conn.close()

    await asyncio.to_thread(by_hand)
    assert await db.fetchval("SELECT version FROM roster_version") > before


async def test_a_lookup_that_overlaps_a_roster_write_keeps_nothing_stale(db: Database):
    repo = PeopleRepo(db, check_seconds=3600)
    await repo.upsert(ADA, NOW_DT)
    read = db.fetchall

    async def write_during_the_read(sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        rows = await read(sql, params)  # what the lookup saw, then a write lands before it is remembered
        await db.execute("UPDATE people SET name = 'Ada B.'")
        repo.invalidate()
        return rows

    db.fetchall = write_during_the_read  # type: ignore[method-assign]
    try:
        assert (await repo.by_platform("slack", "U0SCH000001")).name == "Ada"
    finally:
        db.fetchall = read  # type: ignore[method-assign]
    assert (await repo.by_platform("slack", "U0SCH000001")).name == "Ada B."


async def test_new_askers_at_once_are_looked_up_in_one_query(db: Database):
    """A busy bot sees many people it has not cached at once (the first command of each of 20,000): the lookups
    missed in one turn of the loop share one query, whatever their number, and each gets its own person."""
    repo = PeopleRepo(db, check_seconds=3600)  # the roster's version is not read again during the test
    people = [
        PersonInput(f"P{k}", f"p{k}@example.com", Role.SCHOLAR, identities={"slack": f"U{k}", "discord": f"{k}"})
        for k in range(60)
    ]
    for person in people:
        await repo.upsert(person, NOW_DT)
    statements = await counting(db)
    found = await asyncio.gather(
        *(repo.by_platform("slack", f"U{k}") for k in range(60)),
        repo.by_platform("slack", "U7"),  # the same account twice
        repo.by_platform("slack", "U-nobody"),
        repo.by_platform("discord", "3"),
    )
    assert [p.name if p else None for p in found] == [*(f"P{k}" for k in range(60)), "P7", None, "P3"]
    assert len(statements) == 2  # one query per platform, not one per asker
    del statements[:]
    assert (await repo.by_platform("slack", "U59")).name == "P59"  # then kept: no query at all
    assert statements == []


async def test_the_lookup_memory_is_bounded(db: Database):
    repo = PeopleRepo(db, max_cached=2)
    for k in range(3):
        await repo.upsert(
            PersonInput(f"P{k}", f"p{k}@example.com", Role.SCHOLAR, identities={"slack": f"U{k}"}), NOW_DT
        )
    for k in range(3):
        assert (await repo.by_platform("slack", f"U{k}")).name == f"P{k}"
    assert list(repo._cache) == [("slack", "U1"), ("slack", "U2")]  # the oldest went first

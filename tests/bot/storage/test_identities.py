"""Migration 0006: platform ids move from the people table to identities, and nothing is lost."""

from __future__ import annotations

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


async def test_lookups_by_account_are_cached_and_a_roster_import_is_seen_at_once(tmp_path: Path):
    from datetime import UTC, datetime

    now = datetime(2026, 1, 12, tzinfo=UTC)
    db = await Database(tmp_path / "cache.db").open()
    repo = PeopleRepo(db)
    await repo.upsert(PersonInput("Ada", "ada@example.com", Role.SCHOLAR, identities={"slack": "U0SCH000001"}), now)
    statements: list[str] = []
    await db.conn.set_trace_callback(statements.append)
    first = await repo.by_platform("slack", "U0SCH000001")
    count = len(statements)
    assert count > 0
    assert await repo.by_platform("slack", "U0SCH000001") == first
    assert len(statements) == count  # served from memory
    header = "name,email,role,track,section,discord_id,slack_id,timezone,stipend_eligible\n"
    report = await import_roster(repo, header + "Ada L.,ada@example.com,organizer,,,,U0SCH000001,,\n", None, now)
    assert report.updated == 1
    changed = await repo.by_platform("slack", "U0SCH000001")
    assert changed.name == "Ada L." and changed.role is Role.ORGANIZER and len(statements) > count
    await db.conn.set_trace_callback(None)
    await db.close()

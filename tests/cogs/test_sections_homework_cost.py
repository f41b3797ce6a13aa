"""A section's reminders and one person's /schedule read their own people's homework, not the whole week's."""

from __future__ import annotations

from bot.app import CohortBot
from bot.storage.homework import LATEST, HomeworkRepo
from cogs.sections._common import homework_of
from tests.cogs.scale import populate, statements_of
from tests.cogs.test_homework_scale import count_queries

WEEK = 1


async def test_homework_of_some_people_matches_the_whole_week_and_reads_only_them(app: CohortBot) -> None:
    made = await populate(app, scholars=2_000, submitted_weeks=(WEEK,), extension_week=WEEK, extension_every=3)
    repo = HomeworkRepo(app.db)
    whole_latest, whole_extensions = await repo.latest(WEEK), await repo.extensions(WEEK)
    some = made.scholar_ids[::97]  # with and without submissions, second versions and extensions
    people = [p for pid in some if (p := await app.people.get(pid)) is not None]
    assert len(people) == len(some)

    statements, found = await statements_of(app, lambda: homework_of(app, WEEK, people))
    queries = [q for q in statements if q.lstrip().upper().startswith("SELECT")]

    assert set(found) == set(some)
    for pid in some:
        assert found[pid].latest == whole_latest.get((pid, WEEK))
        assert found[pid].extension == whole_extensions.get((pid, WEEK))
    assert any(h.latest is None for h in found.values()) and any(h.latest for h in found.values())
    assert any(h.extension for h in found.values()) and any(h.extension is None for h in found.values())
    assert len(queries) == 2  # one for the submissions, one for the extensions, whatever the week holds
    # each restricted to these people (the index on person and week), not the whole week's rows
    assert all("person_id IN (" in q for q in queries), queries


async def test_the_lookup_by_people_uses_the_indexes_not_a_scan(app: CohortBot) -> None:
    await populate(app, scholars=200, submitted_weeks=(WEEK,), extension_week=WEEK)
    await app.db.execute("ANALYZE")
    latest, _ = await HomeworkRepo(app.db).of_people(WEEK, [5, 6, 7])
    sql = f"EXPLAIN QUERY PLAN {LATEST} AND s.week = ? AND s.person_id IN (?, ?, ?)"
    plan = await app.db.fetchall(sql, [WEEK, 5, 6, 7])
    details = " | ".join(r["detail"] for r in plan)
    assert "SCAN s " not in details + " " and "submissions_by_person_week" in details, details
    plan = await app.db.fetchall(
        "EXPLAIN QUERY PLAN SELECT * FROM extensions WHERE week = ? AND person_id IN (?, ?, ?)", [WEEK, 5, 6, 7]
    )
    assert not any(r["detail"].startswith("SCAN") for r in plan), [r["detail"] for r in plan]
    assert set(latest) <= {5, 6, 7}


async def test_nobody_or_no_homework_reads_nothing(app: CohortBot) -> None:
    people = [p for p in await app.people.all() if p.role.value == "scholar"][:3]
    queries, found = await count_queries(app, lambda: homework_of(app, WEEK, []))
    assert found == {} and queries == 0
    no_homework = next((w.number for w in app.cohort.weeks if w.homework is None), None)
    if no_homework is not None:
        queries, found = await count_queries(app, lambda: homework_of(app, no_homework, people))
        assert found == {} and queries == 0

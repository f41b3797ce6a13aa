"""Homework at 20,000 people: what the plan, the digest, the reminders and the organizer's tables cost.

No timings (the machine is shared): the number of scheduler jobs, the number of queries (counted with sqlite3's
trace callback on every connection) and the memory a request allocates (tracemalloc) are what must not grow with
the course.
"""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from bot.app import CohortBot
from bot.cohort import Cohort
from bot.core.clock import ManualClock
from bot.core.context import Place
from bot.roster import import_roster_file
from cogs.homework._reminders import digest_week, plan_homework, remind_week
from schedules.runtime import plan
from schedules.scheduler import build_scheduler, install_jobs
from tests.cogs.scale import populate, statements_of
from tests.plugin import EXAMPLE_ROSTER, console_actor

QUERY_PREFIXES = ("SELECT", "WITH")


async def count_queries(app: CohortBot, run: Callable[[], Awaitable[object]]) -> tuple[int, object]:
    """How many queries (SELECT / WITH statements, on any connection) ``run()`` made, and its result."""
    statements, result = await statements_of(app, run)
    return sum(1 for s in statements if s.lstrip().upper().startswith(QUERY_PREFIXES)), result


async def fresh_app(tmp_path: Path, name: str, cohort: Cohort, clock: ManualClock) -> CohortBot:
    app = await CohortBot.open(cohort, tmp_path / f"{name}.db", clock=clock)
    report = await import_roster_file(app.people, EXAMPLE_ROSTER, cohort, clock.now())
    assert not report.errors
    return app


async def test_the_plan_for_20000_people_with_extensions_has_the_jobs_of_none(app, clock):
    async def fire(job_id: str) -> None:
        pass

    baseline = await plan(app)
    # 20,000 extensions ending at 1,440 different minutes, as an older version left them (reminders not queued):
    await populate(app, scholars=20_000, extension_week=3, reminders_planned=False)
    jobs = await plan(app)  # queues the 20,000 reminders in the outbox, once
    assert [j.id for j in jobs] == [j.id for j in baseline]
    now = clock.now()
    installed = install_jobs(build_scheduler(timedelta(hours=6)), jobs, now, fire)
    assert installed == install_jobs(build_scheduler(timedelta(hours=6)), baseline, now, fire)
    queued = await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE key LIKE 'hw-reminder:week-3:%:rev-1'")
    assert queued == 20_000
    first = await app.db.fetchone("SELECT MIN(not_before) AS t FROM outbox WHERE key LIKE 'hw-reminder:%'")
    assert first["t"] == (app.cohort.due(3) + timedelta(days=2) - timedelta(hours=24)).isoformat()

    queries, again = await count_queries(app, lambda: plan_homework(app))  # re-planning: nothing left to queue
    assert len(again) == 16  # per week with homework: the reminder and the digest
    assert queries == 1  # whether any extension still needs its reminder queued (an indexed lookup)
    assert await app.db.fetchval("SELECT COUNT(*) FROM outbox") == queued


async def test_digest_and_reminder_queries_do_not_grow_with_the_facilitators(tmp_path, cohort, clock):
    counts = {}
    for facilitators in (5, 100):
        app = await fresh_app(tmp_path, f"f{facilitators}", cohort, clock)
        try:
            await populate(app, scholars=1_600, facilitators=facilitators, submitted_weeks=(1,))
            clock.set(app.cohort.due(1) - timedelta(hours=24))
            reminder_queries, reminded = await count_queries(app, lambda app=app: remind_week(app, 1))
            clock.set(app.cohort.due(1) + timedelta(hours=1))
            digest_queries, digests = await count_queries(app, lambda app=app: digest_week(app, 1))
            counts[facilitators] = (reminder_queries, digest_queries)
            assert reminded == 1_600 * 2 // 10 + 8  # the 20 % who never submit, and the example's 8 scholars
            assert digests == facilitators + 3  # one per facilitator (and the example's three)
        finally:
            await app.close()
    assert counts[5] == counts[100]
    # the digest: who runs a section (bot.membership.runners: those with a roster section, those the file names,
    # then those people at once, 3 queries), then the week for their sections
    assert counts[5][0] <= 2 and counts[5][1] <= 6


async def test_a_digest_lists_exactly_the_facilitators_sections(tmp_path, cohort, clock):
    app = await fresh_app(tmp_path, "digest", cohort, clock)
    try:
        made = await populate(app, scholars=64, facilitators=2, section_size=16, submitted_weeks=(1,))
        clock.set(app.cohort.due(1) + timedelta(hours=1))
        await digest_week(app, 1)
        item = await app.outbox.get(f"hw-digest:week-1:person-{made.facilitator_ids[0]}")
        text = item.message.text
        assert item.message.title == "Week 1 homework digest: s0000, s0001"
        # Scholars n with n % 4 in (0, 1) are in s0000/s0001; n % 10 in (8, 9) never submit.
        expected = [f"Scholar {n:05d} (s{n % 4:04d})" for n in range(64) if n % 4 in (0, 1) and n % 10 >= 8]
        assert "**Not submitted:** " + ", ".join(expected) in text
        assert f"{32 - len(expected)} of 32 submitted" in text
    finally:
        await app.close()


async def peak_allocated(run: Callable[[], Awaitable[object]]) -> tuple[int, object]:
    """The most memory ``run()`` had allocated at once (bytes, Python allocations), and its result."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = await run()
        return tracemalloc.get_traced_memory()[1] - base, result
    finally:
        tracemalloc.stop()


async def test_the_organizers_large_tables_take_bounded_memory(tmp_path, cohort, clock):
    """/submissions for everyone (one week) and /report (every week) as the course grows from 1,000 to 5,000 to
    20,000 scholars: the memory a request allocates stays put (a batch of rows, not the table; before, the
    organizer's /submissions took about 220 MB at 20,000 people)."""
    app = await fresh_app(tmp_path, "memory", cohort, clock)
    grace = await console_actor(app, "Grace Hopper")
    clock.set(app.cohort.due(2) + timedelta(hours=3))

    async def view(scholars: int) -> int:
        peak, reply = await peak_allocated(lambda: app.dispatch(grace, "submissions", {"week": "1"}, Place()))
        [file] = reply.message.files
        assert file.path is not None and file.size > scholars * 60  # on disk, not in memory
        assert len(list(csv.DictReader(io.StringIO(file.data().decode())))) == scholars + 8
        assert f"of {scholars + 8}** submitted" in reply.message.text
        return peak

    async def report(scholars: int) -> int:
        peak, reply = await peak_allocated(lambda: app.dispatch(grace, "report", {"kind": "submissions"}))
        assert reply.message.files[0].path is not None and f"{(scholars + 8) * 8} rows" in reply.message.text
        return peak

    try:
        peaks = {}
        for first, scholars in ((0, 1_000), (1_000, 5_000), (5_000, 20_000)):
            await populate(app, first=first, scholars=scholars - first, submitted_weeks=(1, 2), text="x" * 300)
            peaks[scholars] = (await view(scholars), await report(scholars) if scholars <= 5_000 else None)
    finally:
        await app.close()
    small = peaks[1_000]
    assert peaks[20_000][0] < small[0] * 1.5 + 512 * 1024, peaks  # 20 times the rows
    assert peaks[5_000][1] < small[1] * 1.5 + 512 * 1024, peaks  # 40,000 rows against 8,000
    assert max(peaks[20_000][0], peaks[5_000][1]) < 4 * 1024 * 1024, peaks


async def test_digest_recipients_follow_the_rule_commands_use(app, clock):
    from bot.membership import sections_run_by
    from cogs.homework._reminders import section_leads

    await populate(app, scholars=64, facilitators=3)
    leads = {member.id: sections for member, sections in await section_leads(app)}
    expected = {}
    for person in await app.people.all():
        sections = sections_run_by(app.cohort, person, person.role)
        if sections:
            expected[person.id] = sections
    assert leads == expected and len(leads) == 6

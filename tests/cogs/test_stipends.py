"""The stipend engine through the commands: /stipend for each role, facilitator pay and adjustments, at-risk
alerts through the runtime (sent once, also after a restart), the CSV exports and the attendance chart."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

from PIL import Image

from bot.app import CohortBot
from bot.cli import main
from bot.core.people import PersonInput
from bot.core.platform import ChannelTarget, DMTarget
from bot.core.roles import Role
from cogs.attendance._alerts import check_everyone
from cogs.attendance._export import attendance_rates, draw_chart
from schedules.runtime import Runtime
from tests.cogs.attendance_support import AMERICAS_W1, ny, pid, snapshot, text_of
from tests.plugin import EXAMPLE_COHORT
from tests.schedules.recording import RecordingSender

WEEK = timedelta(days=7)


async def take(as_, clock, week: int, present: str, section: str = "americas-tue", who: str = "Alan Turing") -> None:
    """Attendance for week ``week`` of americas-tue, an hour after it started."""
    clock.set(AMERICAS_W1 + (week - 1) * WEEK + timedelta(hours=1))
    reply = await as_(who, "attendance", section=section, week=str(week), present=present)
    assert reply.error is None, reply.error


def csv_rows(reply) -> list[dict[str, str]]:
    [file] = [f for f in reply.message.files if f.filename.endswith(".csv")]
    return list(csv.DictReader(io.StringIO(file.data().decode("utf-8"))))  # in memory, or a streamed file


async def test_stipend_for_a_scholar_in_plain_words(app, as_, clock):
    for week in (1, 2, 3, 4, 5):
        await take(as_, clock, week, "Ada, Hedy" if week != 2 else "Hedy")
        if week < 4:  # Ada hands in weeks 1-3 on time (the Tuesday of the week), week 4 a day late
            await as_("Ada Lovelace", "submit", week=str(week), link="https://example.com/ada")
    clock.set(ny(9, 22, month=2))
    assert "Late" in text_of(await as_("Ada Lovelace", "submit", week="4", link="https://example.com/ada"))
    clock.set(ny(16, 12, month=2))  # Monday of week 6, after week 5's homework deadline
    late = await as_("Rosalind Franklin", "submit", week="1", link="https://example.com/r")  # 4 weeks late
    assert "Late" in text_of(late)
    reply = await as_("Ada Lovelace", "stipend")
    assert reply.private and reply.error is None
    text = text_of(reply)
    assert "Your stipend: on track" in text and "On track for USD 500" in text
    assert "Sections: 4 of 5 sections so far (6 needed); you can miss at most 1 more of the 3 left." in text
    # week 5's homework is overdue but still counts if handed in within the 7 days' grace: it is one of the 4 left
    assert "Homework: 4 of 4 homeworks so far (6 needed); you can miss at most 2 more of the 4 left." in text

    hedy = text_of(await as_("Hedy Lamarr", "stipend"))
    assert "Sections: 5 of 5 sections so far (6 needed); you can miss at most 2 more of the 3 left." in hedy
    assert "Homework: 0 of 4 homeworks so far; 6 are needed and only 4 are left" in hedy
    assert "Can no longer qualify" in hedy
    rosalind = text_of(await as_("Rosalind Franklin", "stipend"))  # past the grace: a late homework does not count
    assert "Homework: 0 of 4 homeworks so far" in rosalind

    john = text_of(await as_("John von Neumann", "stipend"))  # stipend_eligible=false on the roster
    assert "Your stipend: not eligible" in john and "Not eligible to be paid" in john
    assert "Sections:" in john and "progress still counts" in john


async def test_facilitator_sees_their_hours_and_pay_and_organizers_adjust_it(app, as_, clock):
    await take(as_, clock, 1, "Ada")
    await take(as_, clock, 2, "Ada, Hedy")
    await app.meetings.record("americas-tue", 3, "cancelled", reason="holiday")  # not held: never paid, never counted
    clock.set(ny(30, 9))
    own = await as_("Alan Turing", "stipend")
    text = text_of(own)
    assert "Your hours and pay" in text
    assert "2 meeting(s) held (attendance taken) in americas-tue: 3 hours, including 30 minutes of preparation" in text
    assert "Pay: USD 120" in text
    assert [r[0] for r in own.message.table.rows] == ["Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin"]

    before = await snapshot(app)
    for amount, error in [("abc", "amount must be a number in USD"), ("0", "non-zero"), ("EUR 5", "number in USD"),
                          ("1.234", "at most 2 decimals")]:  # fmt: skip
        bad = await as_("Grace Hopper", "stipend-adjust", user="Alan", amount=amount, reason="x")
        assert bad.error and error in bad.error and bad.private
    nobody = await as_("Grace Hopper", "stipend-adjust", user="Ada", amount="5", reason="x")
    assert nobody.error and "Ada Lovelace runs no section" in nobody.error
    below = await as_("Grace Hopper", "stipend-adjust", user="Alan", amount="-120.01", reason="x")
    assert below.error == (
        "That would make Alan Turing's pay −USD 0.01: pay cannot go below zero. Their pay is USD 120 now; take off at "
        "most that much."
    )
    assert await snapshot(app) == before

    added = await as_("Grace Hopper", "stipend-adjust", user="Alan", amount="+25.50", reason="ran a make-up session")
    assert "Recorded +USD 25.50 for Alan Turing (ran a make-up session). Their pay is now USD 145.50" in text_of(added)
    taken = await as_("Grace Hopper", "stipend-adjust", user="Alan", amount="-5.50", reason="double-counted prep")
    assert "Recorded −USD 5.50" in text_of(taken)
    seen = text_of(await as_("Grace Hopper", "stipend", user="Alan Turing"))
    assert "Pay: USD 120 + adjustments USD 20 = USD 140" in seen
    assert "+USD 25.50: ran a make-up session" in seen and "−USD 5.50: double-counted prep" in seen


async def test_organizer_sees_everyone_with_totals(app, as_, clock):
    await take(as_, clock, 1, "Ada, Hedy, Rosalind")
    clock.set(ny(14, 20))
    await as_("Katherine Johnson", "attendance", section="europe-wed", present="Emmy")
    reply = await as_("Grace Hopper", "stipend")
    text = text_of(reply)
    assert "Stipends: everyone" in text
    assert "8 scholar(s): ✅ 0 qualified, 🟢 7 on track, 🟠 0 at risk, 🔴 0 cannot qualify, ⚪ 1 not eligible." in text
    assert "Committed: USD 0 to the qualified; up to USD 3,500 if everyone still in reach qualifies." in text
    assert (
        "Alan Turing: 1 meeting(s), 1.5 h, USD 60" in text and "Katherine Johnson: 1 meeting(s), 1.5 h, USD 60" in text
    )
    assert len(reply.message.table.rows) == 8 and not reply.message.files


async def test_past_25_scholars_the_organizer_gets_a_csv(app, as_, clock):
    for n in range(30):
        await app.people.upsert(
            PersonInput(f"Extra Scholar {n:02}", f"extra{n}@example.com", Role.SCHOLAR, "intro", ("americas-tue",)),
            clock.now(),
        )
    reply = await as_("Grace Hopper", "stipend")
    assert reply.message.table is None
    rows = csv_rows(reply)
    assert (
        sum(1 for r in rows if r["kind"] == "scholar") == 38 and sum(1 for r in rows if r["kind"] == "facilitator") == 3
    )
    assert "38 scholar(s)" in text_of(reply)


async def test_at_risk_alerts_are_sent_once_to_the_right_people(app, as_, clock):
    sender = RecordingSender("console")
    app.senders["console"] = sender
    runtime = Runtime(app)
    rosalind, alan, grace = [await pid(app, n) for n in ("Rosalind Franklin", "Alan Turing", "Grace Hopper")]
    await take(as_, clock, 1, "Ada, Hedy")  # Rosalind absent
    await take(as_, clock, 2, "Ada, Hedy")  # absent again: 0 of 2, 6 needed of 8 -> she can miss no more
    clock.set(ny(26, 12))  # Monday of week 3: week 2's make-up chance is over; past the homework check
    await runtime.run_until_idle()

    key = f"stipend-alert:sections:person-{rosalind}"
    assert sender.calls.get(key) == 1
    target, message = sender.delivered[key]
    assert target == DMTarget(rosalind)
    assert message.title == "A friendly heads-up about your stipend"
    assert "Hi Rosalind!" in message.text and "You can still make it" in message.text
    facilitator = [k for k in sender.order if k.startswith(f"stipend-alert:to-{alan}:")]
    assert len(facilitator) == 1
    assert (
        "Rosalind Franklin** (americas-tue): can miss no more sections (0 of 6, 6 left)"
        in sender.delivered[facilitator[0]][1].text
    )
    assert not [k for k in sender.order if k.startswith(f"stipend-alert:to-{grace}:")]  # not lost: organizers wait

    # again, after a re-plan, a direct re-evaluation and a restart: nothing new is queued or sent
    sent = len(sender.order)
    await runtime.reload()
    assert await check_everyone(app) == 0
    again = await CohortBot.open(app.cohort, app.db.path, clock=app.clock)
    try:
        assert await check_everyone(again) == 0
    finally:
        await again.close()
    await runtime.run_until_idle()
    assert len(sender.order) == sent

    # a third absence: she can no longer qualify: her facilitator and the organizers are told, never a channel
    await take(as_, clock, 3, "Ada, Hedy")
    clock.set(ny(2, 12, month=2))
    await runtime.run_until_idle()
    lost = [k for k in sender.order if k.startswith(f"stipend-alert:to-{grace}:")]
    assert len(lost) == 1
    assert "Rosalind Franklin** (americas-tue): can no longer qualify (sections 0 of 6 needed with 5 left)" in (
        sender.delivered[lost[0]][1].text
    )
    assert len([k for k in sender.order if k.startswith(f"stipend-alert:to-{alan}:")]) == 2
    alerts = [sender.delivered[k][0] for k in sender.order if k.startswith("stipend-alert:")]
    assert alerts and all(isinstance(t, DMTarget) for t in alerts)  # never a channel
    assert not any(isinstance(t, ChannelTarget) for t in alerts)
    rows = await app.db.fetchall("SELECT kind FROM stipend_alerts WHERE person_id = ? ORDER BY kind", (rosalind,))
    assert [r["kind"] for r in rows] == ["lost", "sections"]
    assert await check_everyone(app) == 0


async def test_the_reports_give_csvs_and_a_chart(app, as_, clock):
    await take(as_, clock, 1, "Ada, Hedy, Emmy")  # Emmy on a make-up
    await take(as_, clock, 2, "Ada")
    await as_("Alan Turing", "attendance", section="americas-tue", week="2", excused="Hedy", reason="ill")
    clock.set(ny(27, 20))
    report = await as_("Grace Hopper", "report", kind="attendance")
    assert report.error is None and report.private
    rows = csv_rows(report)
    week1 = [r for r in rows if r["section"] == "americas-tue" and r["week"] == "1"]
    assert [(r["name"], r["mark"], r["makeup"]) for r in week1] == [
        ("Ada Lovelace", "present", "no"),
        ("Emmy Noether", "present", "yes"),
        ("Hedy Lamarr", "present", "no"),
        ("Rosalind Franklin", "absent", "no"),
    ]
    hedy2 = next(r for r in rows if r["week"] == "2" and r["name"] == "Hedy Lamarr" and r["section"] == "americas-tue")
    assert hedy2["mark"] == "excused" and hedy2["reason"] == "ill" and hedy2["changes"] == "2"
    assert hedy2["marked_by"] == "Alan Turing" and hedy2["attendance_taken"] == "yes"
    # one row per person per meeting that has started: 3 sections x 3 weeks (week 3's Tuesday meeting is past)
    assert len({(r["section"], r["week"]) for r in rows}) == 3 * 2 + 1

    [png] = [f for f in report.message.files if f.filename.endswith(".png")]
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png.content))
    image.verify()
    assert image.size == (800, 450)

    [csv_file] = [f for f in report.message.files if f.filename.endswith(".csv")]
    assert csv_file.path and not csv_file.content  # streamed to a temporary file, never held whole

    stipends = csv_rows(await as_("Grace Hopper", "report", kind="stipends"))
    assert [r["kind"] for r in stipends].count("scholar") == 8
    alan = next(r for r in stipends if r["name"] == "Alan Turing")
    assert alan["kind"] == "facilitator" and alan["meetings_held"] == "2" and alan["hours"] == "3.00"
    assert alan["pay"] == "120.00" and alan["currency"] == "USD"
    ada = next(r for r in stipends if r["name"] == "Ada Lovelace")
    assert ada["sections_counted"] == "2" and ada["status"] == "on track" and ada["amount"] == "0.00"


async def test_cohortbot_export_writes_the_same_csvs(app, as_, clock, tmp_path):
    await take(as_, clock, 1, "Ada")
    clock.set(datetime.now(UTC))  # the command line runs on the wall clock
    for kind in ("attendance", "stipends"):
        out = tmp_path / f"{kind}.csv"
        args = ["export", kind, "--db", str(app.db.path), "--cohort", str(EXAMPLE_COHORT), "-o", str(out)]
        assert await asyncio.to_thread(main, args) == 0
        report = await as_("Grace Hopper", "report", kind=kind)
        written = out.read_text(encoding="utf-8").splitlines()
        assert written == report.message.files[0].data().decode("utf-8").splitlines()
        assert len(written) > 1


async def test_attendance_rates_and_the_chart_for_many_sections(app, as_, clock):
    await take(as_, clock, 1, "Ada, Hedy, Emmy")  # Emmy is a visitor: not counted in americas-tue's rate
    await take(as_, clock, 2, "Ada")
    rates = await attendance_rates(app)
    assert rates == {"americas-tue": {1: 2 / 3, 2: 1 / 3}}
    many = {f"s{n:02}": {w: (n * 7 + w * 13) % 100 / 100 for w in range(1, 9)} for n in range(40)}
    for chart in (draw_chart(many, 8, "many"), draw_chart({}, 8, "none"), draw_chart(rates, 8, "one")):
        image = Image.open(io.BytesIO(chart))
        image.verify()
        assert image.format == "PNG" and image.size == (800, 450)


async def test_concurrent_checks_alert_each_person_once(app, as_, clock):
    """Two evaluations at once (a job and a facilitator's correction, say) over overlapping people: each
    (person, kind) is claimed by one of them, so nobody is alerted twice or left out."""
    from cogs.attendance._alerts import check_people

    hedy, rosalind, alan = [await pid(app, n) for n in ("Hedy Lamarr", "Rosalind Franklin", "Alan Turing")]
    await take(as_, clock, 1, "Ada")  # Hedy and Rosalind absent twice: each can miss no more
    await take(as_, clock, 2, "Ada")
    clock.set(ny(26, 12))  # Monday of week 3: week 2's make-up chance is over
    assert not await app.db.fetchall("SELECT * FROM stipend_alerts")
    counts = await asyncio.gather(*(check_people(app, ids) for ids in ([hedy, rosalind], [rosalind], [rosalind, hedy])))
    assert sum(counts) == 2  # (Hedy, sections) and (Rosalind, sections), each counted by one evaluation
    rows = await app.db.fetchall("SELECT key, payload FROM outbox WHERE key LIKE 'stipend-alert:%'")
    to_alan = [r["payload"] for r in rows if r["key"].startswith(f"stipend-alert:to-{alan}:")]
    assert (
        sum(p.count("Hedy Lamarr**") for p in to_alan) == 1
        and sum(p.count("Rosalind Franklin**") for p in to_alan) == 1
    )
    scholars = sorted(r["key"] for r in rows if ":person-" in r["key"])
    assert scholars == [f"stipend-alert:sections:person-{hedy}", f"stipend-alert:sections:person-{rosalind}"]


async def test_attendance_export_streams_in_batches(app, as_, clock, monkeypatch):
    from bot.core.exports import TableStream, collect
    from cogs.attendance import _export

    await take(as_, clock, 1, "Ada, Hedy")
    clock.set(ny(27, 20))
    whole = await collect(await _export.export_attendance(app))
    monkeypatch.setattr(_export, "BATCH", 1)  # a batch per meeting
    source = await _export.export_attendance(app)
    assert isinstance(source, TableStream) and source.headers == _export.ATTENDANCE_HEADERS
    batches = [batch async for batch in source.batches]
    assert len(batches) == 7  # the 7 meetings that have started (3 sections, weeks 1-2, and one of week 3)
    assert [[str(v) for v in row] for batch in batches for row in batch] == whole.rows
    assert len(whole.rows) > len(batches), len(whole.rows)

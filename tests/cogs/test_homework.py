"""Homework on the console platform: submit, resubmit, late, extensions, views, refusals, reminders, export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import CohortBot
from bot.cohort import parse_cohort
from bot.core.context import Actor, Place
from bot.core.exports import collect
from bot.core.messages import Attachment
from bot.core.people import PersonInput
from bot.core.platform import Capabilities, DMTarget
from bot.core.roles import Role
from bot.roster import import_roster_file
from cogs.homework._common import MAX_FILE_BYTES, MAX_TEXT, repo
from cogs.homework._reminders import digest_week, plan_homework, remind_week
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER, console_actor

NY = ZoneInfo("America/New_York")
DUE_1 = datetime(2026, 1, 18, 23, 59, tzinfo=NY).astimezone(UTC)
SCHOLARS = [
    "Ada Lovelace",
    "Emmy Noether",
    "Hedy Lamarr",
    "John von Neumann",
    "Marie Curie",
    "Rosalind Franklin",
    "Srinivasa Ramanujan",
    "Tu Youyou",
]


async def person(app, name):
    [found] = await app.people.by_name(name)
    return found


async def snapshot(app):
    subs = await app.db.fetchall("SELECT * FROM submissions ORDER BY id")
    exts = await app.db.fetchall("SELECT * FROM extensions ORDER BY person_id, week")
    out = await app.db.fetchall("SELECT key FROM outbox ORDER BY id")
    return [tuple(r) for r in subs], [tuple(r) for r in exts], [tuple(r) for r in out]


def text_of(reply, zone=NY):
    assert reply.message is not None, reply
    return reply.message.as_plain_text(zone)


# ---- submit ---------------------------------------------------------------------------------------------
async def test_submit_records_and_confirms_privately(app, as_, clock):
    reply = await as_("Ada Lovelace", "submit", week="1", link="https://example.com/hw1")
    assert reply.error is None and reply.private
    text = text_of(reply)
    assert "Week 1 homework received" in text
    assert "On time" in text and "https://example.com/hw1" in text
    assert "<t:" in reply.message.text  # times as markup: every platform shows local time
    ada = await person(app, "Ada Lovelace")
    [sub] = await repo(app).history(ada.id, 1)
    assert sub.link == "https://example.com/hw1" and not sub.late
    assert sub.submitted_at == clock.now() and sub.platform == "console"


async def test_resubmission_keeps_history_and_latest_counts(app, as_, clock):
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/v1")
    clock.advance(timedelta(hours=2))
    reply = await as_("Ada Lovelace", "submit", week="1", text="second version")
    assert "2nd submission" in text_of(reply) and "latest counts" in text_of(reply)
    ada = await person(app, "Ada Lovelace")
    history = await repo(app).history(ada.id, 1)
    assert [h.link for h in history] == ["https://example.com/v1", None]
    latest = (await repo(app).latest(1))[(ada.id, 1)]
    assert latest.text == "second version"
    own = await as_("Ada Lovelace", "submissions", week="1")
    assert "submitted 2 time(s)" in text_of(own)


async def test_late_submission_is_marked_late(app, as_, clock):
    clock.set(DUE_1 + timedelta(minutes=90))
    reply = await as_("Ada Lovelace", "submit", week="1", link="https://example.com/late")
    assert "Late" in text_of(reply) and "1 h 30 min after the deadline" in text_of(reply)
    ada = await person(app, "Ada Lovelace")
    assert (await repo(app).latest(1))[(ada.id, 1)].late


async def test_exactly_at_the_due_minute_is_on_time(app, as_, clock):
    clock.set(DUE_1 + timedelta(seconds=0.5))
    reply = await as_("Ada Lovelace", "submit", week="1", text="just in time")
    assert "On time" in text_of(reply)


async def test_discord_style_file_attachment_is_stored(app, clock):
    ada = await person(app, "Ada Lovelace")
    upload = Attachment(filename="answer.pdf", content=b"%PDF-1.4 hello")
    reply = await app.dispatch(
        Actor("discord", ada.platform_id("discord")), "submit", {"week": 1, "file": upload}, Place()
    )
    assert reply.error is None
    assert "answer.pdf" in text_of(reply)
    [sub] = await repo(app).history(ada.id, 1)
    assert sub.file_name == "answer.pdf" and sub.file_size == len(upload.content) and sub.platform == "discord"
    assert await repo(app).file(sub.id) == ("answer.pdf", upload.content)


async def test_no_link_text_or_file_opens_the_form_and_the_form_submits(app, as_):
    reply = await as_("Ada Lovelace", "submit", week="1")
    assert reply.form is not None and reply.message is None
    form = reply.form
    assert form.command == "submit" and form.fixed == {"week": "1"}
    assert "Decompose its risk" in form.intro  # the week's instructions
    # the console cannot attach files: the form says how to hand one in as a link, naming no platform
    assert "share it" in form.intro and "paste the link" in form.intro and "Slack" not in form.intro
    assert {f.name for f in form.fields} == {"link", "text"} and not any(f.required for f in form.fields)
    on_discord = Actor("discord", "100000000000000011", caps=Capabilities(label="Discord", files=True))
    attach = (await app.dispatch(on_discord, "submit", {"week": "1"})).form
    assert "/submit week:1 file:<upload>" in attach.intro
    done = await as_("Ada Lovelace", form.command, **{**form.fixed, "text": "from the modal"})
    assert done.error is None and "from the modal" in text_of(done)


# ---- refusals -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "options", "expect", "field"),
    [
        ("Ada Lovelace", {"week": "9"}, "There is no week 9", "week"),
        ("Ada Lovelace", {"week": "two"}, "week must be a week number", "week"),
        ("Ada Lovelace", {"week": "1", "link": "ftp://x.org/a"}, "must be a web link", "link"),
        ("Ada Lovelace", {"week": "1", "link": "https://x.org/" + "a" * 2000}, "too long", "link"),
        ("Ada Lovelace", {"week": "1", "text": "x" * (MAX_TEXT + 1)}, "too long", "text"),
        ("Ada Lovelace", {"link": "https://x.org"}, "needs week", "week"),
        ("Nobody Atall", {"week": "1", "link": "https://x.org"}, "not on the roster", None),
        ("Alan Turing", {"week": "1", "link": "https://x.org"}, "Only scholars hand in homework", None),
    ],
)
async def test_submit_refusals_are_private_and_change_nothing(app, as_, who, options, expect, field):
    before = await snapshot(app)
    reply = await as_(who, "submit", **options)
    assert reply.error is not None and reply.private
    assert expect in reply.error
    assert reply.error_field == field
    assert await snapshot(app) == before


async def test_too_big_or_empty_file_is_refused(app, as_):
    before = await snapshot(app)
    big = Attachment(filename="huge.zip", content=b"0" * (MAX_FILE_BYTES + 1))
    reply = await as_("Ada Lovelace", "submit", week="1", file=big)
    assert "the limit is 8.0 MB" in reply.error and reply.error_field == "file"
    empty = await as_("Ada Lovelace", "submit", week="1", file=Attachment(filename="e.txt", content=b""))
    assert "is empty" in empty.error
    assert await snapshot(app) == before


async def test_week_without_homework_is_refused(tmp_path, clock):
    import yaml

    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    del data["weeks"][7]["homework"]
    data["stipend"]["homeworks_submitted"] = 6
    cohort = parse_cohort(data)
    app = await CohortBot.open(cohort, tmp_path / "nohw.db", clock=clock)
    try:
        await import_roster_file(app.people, EXAMPLE_ROSTER, cohort, clock.now())
        for command, options in [
            ("submit", {"week": "8", "link": "https://x.org"}),
            ("submissions", {"week": "8"}),
        ]:
            reply = await app.dispatch(await console_actor(app, "Ada Lovelace"), command, options, Place())
            assert reply.error is not None and "Week 8 has no homework" in reply.error
        reply = await app.dispatch(
            await console_actor(app, "Alan Turing"),
            "extend",
            {"user": "Ada", "week": "8", "until": "2026-03-20"},
            Place(),
        )
        assert "Week 8 has no homework" in reply.error
        assert await app.db.fetchval("SELECT COUNT(*) FROM extensions") == 0
        jobs = await plan_homework(app)
        assert not any("week-8" in j.id for j in jobs)
    finally:
        await app.close()


# ---- extensions -----------------------------------------------------------------------------------------
async def test_extension_makes_a_late_submission_on_time_and_tells_the_person(app, as_, clock):
    reply = await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until="2026-01-20 12:00")
    assert reply.error is None and reply.private
    assert "Ada Lovelace now has until" in text_of(reply) and "told them by DM" in text_of(reply)
    ada = await person(app, "Ada Lovelace")
    until = datetime(2026, 1, 20, 12, 0, tzinfo=NY).astimezone(UTC)  # Alan's zone
    ext = await repo(app).extension(ada.id, 1)
    assert ext is not None and ext.until == until
    [dm] = [i for i in await app.outbox.items() if i.key.startswith("extension:")]
    assert dm.key == f"extension:week-1:person-{ada.id}:rev-1"
    assert dm.target == DMTarget(ada.id) and "Alan Turing gave you until" in dm.message.text

    clock.set(DUE_1 + timedelta(hours=5))  # after the due time, before the extension
    on_time = await as_("Ada Lovelace", "submit", week="1", link="https://example.com/a")
    assert "On time" in text_of(on_time) and "your extension" in text_of(on_time)
    clock.set(until + timedelta(minutes=1))
    late = await as_("Ada Lovelace", "submit", week="1", link="https://example.com/b")
    assert "Late" in text_of(late)


async def test_extension_granted_afterwards_rejudges_a_late_submission(app, as_, clock):
    clock.set(DUE_1 + timedelta(hours=3))
    await as_("Hedy Lamarr", "submit", week="1", link="https://example.com/h")
    hedy = await person(app, "Hedy Lamarr")
    assert (await repo(app).latest(1))[(hedy.id, 1)].late
    reply = await as_("Grace Hopper", "extend", user="Hedy", week="1", until="2026-01-21 09:00")
    assert "re-judged" in text_of(reply)
    assert not (await repo(app).latest(1))[(hedy.id, 1)].late


async def test_a_new_extension_replaces_the_earlier_one(app, as_):
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="2", until="2026-01-27 12:00")
    reply = await as_("Alan Turing", "extend", user="Ada Lovelace", week="2", until="2026-01-28 12:00")
    assert "replaces the earlier extension" in text_of(reply)
    assert await app.db.fetchval("SELECT COUNT(*) FROM extensions") == 1
    dms = [(i.key.rsplit(":", 1)[1], i.state) for i in await app.outbox.items() if i.key.startswith("extension:")]
    assert dms == [("rev-2", "pending"), ("rev-1", "skipped")]  # the first, not sent yet, would only confuse


async def test_extending_back_to_an_earlier_date_tells_and_reminds_again(app, as_, clock):
    """X, then Y, then X again: each grant has its own DM and reminder; only the last one's are still to go."""
    ada = await person(app, "Ada Lovelace")
    x, y = "2026-02-10 18:00", "2026-02-12 18:00"
    for until in (x, y, x):
        reply = await as_("Alan Turing", "extend", user="Ada Lovelace", week="3", until=until)
        assert "told them by DM" in text_of(reply)
        await app.db.execute("UPDATE outbox SET state = 'sent' WHERE key LIKE 'extension:%' AND state = 'pending'")
    deadline = datetime(2026, 2, 10, 18, 0, tzinfo=NY).astimezone(UTC)
    assert (await repo(app).extension(ada.id, 3)).until == deadline
    rows = {i.key: i for i in await app.outbox.items() if f"person-{ada.id}:" in i.key}
    prefix, reminder = f"extension:week-3:person-{ada.id}:", f"hw-reminder:week-3:person-{ada.id}:"
    assert {k: i.state for k, i in rows.items()} == {
        f"{prefix}rev-1": "sent",
        f"{prefix}rev-2": "sent",
        f"{prefix}rev-3": "sent",
        f"{reminder}rev-1": "skipped",
        f"{reminder}rev-2": "skipped",
        f"{reminder}rev-3": "pending",
    }
    assert "<t:1770764400:F>" in rows[f"{prefix}rev-3"].message.text  # her last DM gives the deadline in force
    assert rows[f"{reminder}rev-3"].not_before == deadline - timedelta(hours=24)
    assert "<t:1770764400:F>" in rows[f"{reminder}rev-3"].message.text


async def test_the_same_extension_twice_is_told_once(app, as_):
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="3", until="2026-02-10 18:00")
    again = await as_("Alan Turing", "extend", user="Ada Lovelace", week="3", until="2026-02-10 18:00")
    assert "already their extension" in text_of(again) and "told them" not in text_of(again)
    keys = sorted(i.key.split(":", 1)[0] + ":" + i.key.rsplit(":", 1)[1] for i in await app.outbox.items())
    assert keys == ["extension:rev-1", "hw-reminder:rev-1"]
    assert all(i.state == "pending" for i in await app.outbox.items())


@pytest.mark.parametrize(
    ("who", "options", "expect"),
    [
        ("Alan Turing", {"user": "Emmy Noether", "week": "1", "until": "2026-01-20 12:00"}, "not in one of your"),
        ("Katherine Johnson", {"user": "Ada Lovelace", "week": "1", "until": "2026-01-20 12:00"}, "not in one of"),
        ("Alan Turing", {"user": "Ada Lovelace", "week": "1", "until": "2026-01-10 12:00"}, "in the past"),
        ("Alan Turing", {"user": "Ada Lovelace", "week": "1", "until": "2026-01-17 12:00"}, "not after the due"),
        ("Alan Turing", {"user": "Ada Lovelace", "week": "12", "until": "2026-01-20 12:00"}, "There is no week 12"),
        ("Alan Turing", {"user": "Ada Lovelace", "week": "1", "until": "tomorrow"}, "must look like"),
        ("Alan Turing", {"user": "Nobody", "week": "1", "until": "2026-01-20 12:00"}, "Nobody called"),
        ("Grace Hopper", {"user": "Alan Turing", "week": "1", "until": "2026-01-20 12:00"}, "only scholars"),
        ("Ada Lovelace", {"user": "Ada Lovelace", "week": "1", "until": "2026-01-20 12:00"}, "only for facilitators"),
    ],
)
async def test_extend_refusals_change_nothing(app, as_, who, options, expect):
    before = await snapshot(app)
    reply = await as_(who, "extend", **options)
    assert reply.error is not None and reply.private
    assert expect in reply.error
    assert await snapshot(app) == before


# ---- /submissions ---------------------------------------------------------------------------------------
async def test_facilitator_sees_own_sections_with_the_missing_list(app, as_, clock):
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")
    await as_("Emmy Noether", "submit", week="1", link="https://example.com/emmy")
    clock.set(DUE_1 + timedelta(hours=1))
    await as_("Rosalind Franklin", "submit", week="1", text="sorry, late")
    reply = await as_("Alan Turing", "submissions", week="1")
    assert reply.error is None and reply.private
    message = reply.message
    assert "2 of 3" in message.text and "(1 late)" in message.text
    assert "Not submitted:** Hedy Lamarr" in message.text
    rows = {r[0]: r for r in message.table.rows}
    assert set(rows) == {"Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin"}  # not Emmy: another section
    assert rows["Ada Lovelace"][2] == "on time" and rows["Rosalind Franklin"][2] == "late"
    assert rows["Hedy Lamarr"][2] == "missing"
    assert "https://example.com/ada" in rows["Ada Lovelace"][6]


async def test_facilitator_cannot_ask_for_another_section(app, as_):
    reply = await as_("Alan Turing", "submissions", week="1", section="europe-wed")
    assert reply.error is not None and "own sections" in reply.error


async def test_organizer_sees_everyone_or_one_section(app, as_):
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")
    everyone = await as_("Grace Hopper", "submissions", week="1")
    assert sorted(r[0] for r in everyone.message.table.rows) == SCHOLARS
    assert "1 of 8" in everyone.message.text
    one = await as_("Grace Hopper", "submissions", week="1", section="apac-thu")
    assert sorted(r[0] for r in one.message.table.rows) == ["John von Neumann", "Srinivasa Ramanujan", "Tu Youyou"]


async def test_scholar_sees_only_own_history(app, as_, clock):
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")
    await as_("Hedy Lamarr", "submit", week="1", link="https://example.com/hedy")
    clock.set(datetime(2026, 1, 20, 9, 0, tzinfo=NY))  # week 2
    reply = await as_("Ada Lovelace", "submissions")
    rows = reply.message.table.rows
    assert [r[0] for r in rows] == ["1", "2"]
    assert rows[0][1] == "on time" and rows[1][1] == "not yet"
    assert "hedy" not in str(reply.message).lower()
    refused = await as_("Ada Lovelace", "submissions", section="americas-tue")
    assert refused.error is not None


async def test_long_lists_come_as_a_csv_file(app, as_, clock):
    for n in range(30):
        await app.people.upsert(
            PersonInput(f"Extra Scholar {n:02}", f"extra{n}@example.com", Role.SCHOLAR, "intro", ("americas-tue",)),
            clock.now(),
        )
    await as_("Extra Scholar 00", "submit", week="1", link="https://example.com/x0")
    reply = await as_("Alan Turing", "submissions", week="1")
    message = reply.message
    assert message.table is None and len(message.files) == 1
    rows = list(csv.DictReader(io.StringIO(message.files[0].data().decode())))
    assert len(rows) == 33
    extra = next(r for r in rows if r["name"] == "Extra Scholar 00")
    assert extra["status"] == "on time" and extra["link"] == "https://example.com/x0"
    assert "1 of 33" in message.text


# ---- reminders and digest -------------------------------------------------------------------------------
async def test_planner_makes_one_reminder_and_one_digest_per_week(app, as_):
    jobs = {j.id: j for j in await plan_homework(app)}
    reminder = jobs["homework-reminder:week-3"]
    assert reminder.description == "homework reminder week 3"
    assert reminder.when == app.cohort.due(3) - timedelta(hours=24)
    digest = jobs["homework-digest:week-3"]
    assert digest.description == "facilitator digest week 3"
    assert digest.when == app.cohort.due(3) + timedelta(hours=1)
    assert len(jobs) == 16
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="3", until="2026-02-03 12:00")
    assert {j.id for j in await plan_homework(app)} == set(jobs)  # an extension adds no job ...
    ada = await person(app, "Ada Lovelace")
    reminder = await app.outbox.get(f"hw-reminder:week-3:person-{ada.id}:rev-1")
    assert reminder.state == "pending"  # ... but an outbox row, sent 24 h before the extension ends
    assert reminder.not_before == datetime(2026, 2, 2, 12, 0, tzinfo=NY).astimezone(UTC)
    assert reminder.target == DMTarget(ada.id) and "extended deadline" in reminder.message.text


async def test_reminder_reaches_exactly_the_non_submitters_once(app, as_, clock):
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")
    await as_("Tu Youyou", "submit", week="1", text="done")
    await as_("Alan Turing", "extend", user="Hedy Lamarr", week="1", until="2026-01-21 12:00")
    job = {j.id: j for j in await plan_homework(app)}["homework-reminder:week-1"]
    clock.set(job.when)
    await job.run(app)

    async def due_time_reminders():  # not Hedy's: hers waits in the outbox for her extension's end
        return [i for i in await app.outbox.items() if i.key.startswith("hw-reminder:") and ":rev-" not in i.key]

    reminders = await due_time_reminders()
    got = {(await app.people.get(i.target.person_id)).name for i in reminders}
    assert got == set(SCHOLARS) - {"Ada Lovelace", "Tu Youyou", "Hedy Lamarr"}
    assert all("/submit week:1" in i.message.text for i in reminders)
    emmy = await person(app, "Emmy Noether")
    assert f"hw-reminder:week-1:person-{emmy.id}" in {i.key for i in reminders}
    await job.run(app)  # a re-run doubles nothing
    assert len(await due_time_reminders()) == len(reminders)
    assert await remind_week(app, 1) == 0


async def test_extension_reminder_respects_the_new_deadline(app, as_, clock):
    await as_("Alan Turing", "extend", user="Hedy Lamarr", week="1", until="2026-01-21 12:00")
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until="2026-01-21 12:00")
    hedy, ada = await person(app, "Hedy Lamarr"), await person(app, "Ada Lovelace")
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")  # Ada needs no reminder now
    await as_("Alan Turing", "extend", user="Hedy Lamarr", week="1", until="2026-01-22 12:00")  # a new deadline
    reminders = {i.key: i for i in await app.outbox.items() if i.key.startswith("hw-reminder:")}
    second = datetime(2026, 1, 22, 12, 0, tzinfo=NY).astimezone(UTC)
    assert {k: i.state for k, i in reminders.items()} == {
        f"hw-reminder:week-1:person-{hedy.id}:rev-1": "skipped",
        f"hw-reminder:week-1:person-{ada.id}:rev-1": "skipped",
        f"hw-reminder:week-1:person-{hedy.id}:rev-2": "pending",
    }
    fresh = reminders[f"hw-reminder:week-1:person-{hedy.id}:rev-2"]
    assert fresh.not_before == second - timedelta(hours=24) and fresh.target == DMTarget(hedy.id)
    assert "extended deadline" in fresh.message.text


async def test_handing_in_skips_the_waiting_reminder_in_the_same_write(app, as_):
    """/submit with an extension: the submission and the skip of the reminder are one transaction (one commit),
    not a second write after it; without a reminder waiting, the skip changes nothing."""
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until="2026-01-21 12:00")
    ada = await person(app, "Ada Lovelace")
    key = f"hw-reminder:week-1:person-{ada.id}:rev-1"

    async def writes_of_submit(link: str) -> list[str]:
        statements: list[str] = []
        await app.db.set_trace_callback(statements.append)
        try:
            reply = await as_("Ada Lovelace", "submit", week="1", link=link)
        finally:
            await app.db.set_trace_callback(None)
        assert reply.error is None, reply.error
        words = [" ".join(s.split()[:3]).upper() for s in statements]
        return [w for w in words if not w.startswith(("SELECT", "WITH"))]

    first = await writes_of_submit("https://example.com/ada")
    assert first == ["BEGIN IMMEDIATE", "INSERT INTO SUBMISSIONS", "UPDATE OUTBOX SET", "COMMIT"]
    assert (await app.outbox.get(key)).state == "skipped"
    assert (await app.outbox.get(key)).last_error == "handed in before the reminder"
    again = await writes_of_submit("https://example.com/ada-2")
    assert again == first  # the same single transaction; nothing is left to skip
    assert (await app.outbox.get(key)).state == "skipped"


async def test_a_new_grant_skips_the_dm_and_reminder_of_an_extension_keyed_by_date(app, as_):
    """Rows queued before extensions had revisions (keys by date) are replaced like any earlier grant's."""
    ada = await person(app, "Ada Lovelace")
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="3", until="2026-02-10 18:00")
    old = "2026-02-10T23:00:00+00:00"
    await app.db.execute(  # as version 0018 keyed them
        "UPDATE outbox SET key = replace(key, 'rev-1', ?) WHERE key LIKE '%:rev-1'", (f"until-{old}",)
    )
    await app.db.execute("UPDATE outbox SET key = replace(key, 'until-', '') WHERE key LIKE 'extension:%'")
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="3", until="2026-02-12 18:00")
    states = {i.key: i.state for i in await app.outbox.items()}
    assert states == {
        f"extension:week-3:person-{ada.id}:{old}": "skipped",
        f"hw-reminder:week-3:person-{ada.id}:until-{old}": "skipped",
        f"extension:week-3:person-{ada.id}:rev-2": "pending",
        f"hw-reminder:week-3:person-{ada.id}:rev-2": "pending",
    }
    await as_("Ada Lovelace", "submit", week="3", link="https://example.com/ada")
    assert (await app.outbox.get(f"hw-reminder:week-3:person-{ada.id}:rev-2")).state == "skipped"


async def test_an_extension_ending_within_the_reminder_window_gets_no_reminder(app, as_, clock):
    clock.set(datetime(2026, 1, 20, 18, 0, tzinfo=NY))  # 18 h before the extension's end: its DM is enough
    await as_("Alan Turing", "extend", user="Hedy Lamarr", week="1", until="2026-01-21 12:00")
    assert [i.key for i in await app.outbox.items() if i.key.startswith("hw-reminder:")] == []


async def test_extensions_granted_before_reminders_were_outbox_rows_get_theirs_once(app, as_, clock):
    await as_("Alan Turing", "extend", user="Hedy Lamarr", week="1", until="2026-01-21 12:00")
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until="2026-01-21 12:00")
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")
    # As an older version left them: no reminder rows, reminder_planned = 0.
    await app.db.execute("DELETE FROM outbox WHERE key LIKE 'hw-reminder:%'")
    await app.db.execute("UPDATE extensions SET reminder_planned = 0")
    await plan_homework(app)
    await plan_homework(app)
    hedy = await person(app, "Hedy Lamarr")
    reminders = [i for i in await app.outbox.items() if i.key.startswith("hw-reminder:")]
    assert [(i.target, i.state) for i in reminders] == [(DMTarget(hedy.id), "pending")]  # Ada has submitted
    assert await app.db.fetchval("SELECT COUNT(*) FROM extensions WHERE reminder_planned = 0") == 0


async def test_no_reminder_after_the_deadline(app, clock):
    clock.set(DUE_1 + timedelta(minutes=1))
    assert await remind_week(app, 1) == 0


async def test_facilitators_get_a_digest_of_who_has_not_submitted(app, as_, clock):
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")
    await as_("Alan Turing", "extend", user="Hedy Lamarr", week="1", until="2026-01-21 12:00")
    job = {j.id: j for j in await plan_homework(app)}["homework-digest:week-1"]
    clock.set(job.when)
    await job.run(app)
    digests = {i.target.person_id: i for i in await app.outbox.items() if i.key.startswith("hw-digest:")}
    alan, katherine = await person(app, "Alan Turing"), await person(app, "Katherine Johnson")
    claude, grace = await person(app, "Claude Shannon"), await person(app, "Grace Hopper")
    assert set(digests) == {alan.id, katherine.id, claude.id}
    assert grace.id not in digests
    alan_text = digests[alan.id].message.text
    assert "**Not submitted:** Rosalind Franklin (americas-tue)" in alan_text
    assert "With an extension:** Hedy Lamarr" in alan_text
    assert "Ada" not in alan_text
    assert "Emmy Noether" in digests[katherine.id].message.text
    assert await digest_week(app, 1) == 0


# ---- export and /report ---------------------------------------------------------------------------------
async def test_export_has_one_row_per_person_per_week(app, as_, clock):
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/v1")
    await as_("Alan Turing", "extend", user="Hedy Lamarr", week="1", until="2026-01-21 12:00")
    clock.set(DUE_1 + timedelta(hours=2))
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/v2")
    table = await collect(await app.exporters["submissions"](app))
    assert len(table.rows) == 8 * 8
    rows = [dict(zip(table.headers, r, strict=True)) for r in table.rows]
    ada = next(r for r in rows if r["name"] == "Ada Lovelace" and r["week"] == "1")
    assert ada["submitted"] == "yes" and ada["late"] == "yes" and ada["versions"] == "2"
    assert ada["link"] == "https://example.com/v2"
    assert ada["submitted_at_utc"] == (DUE_1 + timedelta(hours=2)).isoformat()
    hedy = next(r for r in rows if r["name"] == "Hedy Lamarr" and r["week"] == "1")
    assert hedy["submitted"] == "no" and hedy["late"] == "" and hedy["extension_until_utc"].startswith("2026-01-21T17")
    assert [r["week"] for r in rows[:8]] == ["1"] * 8


async def test_cli_export_writes_the_submissions_csv(app, as_, tmp_path):
    import asyncio
    import os
    import sys

    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")
    out = tmp_path / "submissions.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORTBOT_", "DISCORD_", "SLACK_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "export",
        "submissions",
        "--db",
        app.db.path,
        "--cohort",
        str(EXAMPLE_COHORT),
        "-o",
        str(out),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 64
    ada = next(r for r in rows if r["name"] == "Ada Lovelace" and r["week"] == "1")
    assert ada["submitted"] == "yes" and ada["late"] == "no" and ada["link"] == "https://example.com/ada"


async def test_the_extension_dm_says_what_it_means_for_work_already_handed_in(app, as_, clock):
    """Not submitted: "hand it in". Submitted late: it now counts as on time (no "hand it in")."""
    clock.set(datetime(2026, 1, 19, 0, 0, tzinfo=NY))  # week 1 was due Sun 18 Jan 23:59
    await as_("Ada Lovelace", "submit", week="1", text="late, but done")
    await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until="2026-01-19 12:00")
    await as_("Alan Turing", "extend", user="Hedy Lamarr", week="1", until="2026-01-19 12:00")
    dms = {i.target.person_id: i.message.text for i in await app.outbox.items() if i.key.startswith("extension:")}
    ada, hedy = await person(app, "Ada Lovelace"), await person(app, "Hedy Lamarr")
    assert "Your late submission now counts as on time." in dms[ada.id]
    assert "Hand it in with" not in dms[ada.id]
    assert "Hand it in with /submit week:1." in dms[hedy.id] and "counts as on time" not in dms[hedy.id]

"""/roster for each role, removal (refused next time, history kept in exports), the change log, the roster CSV
export/import round trip, join codes (made on import, exported for a mail merge, spent once) and /join for
people the roster does not know, on the console platform (the Discord and Slack sides: test_roster_discord.py
and test_roster_slack.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import bot.storage.people as people_module
from bot.app import CohortBot
from bot.cli import main
from bot.core.commands import command
from bot.core.context import Actor, Place
from bot.core.exports import collect
from bot.core.roles import Role
from bot.roster import import_roster
from cogs.roster._linking import link_by_email
from cogs.roster._store import SyncState, store
from tests.cogs.scale import statements_of
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER, RunAs, console_actor


def table_text(reply) -> str:
    message = reply.message
    parts = [message.title or "", message.text, *(f"{f.name}: {f.value}" for f in message.fields)]
    if message.table is not None:
        parts.append(message.table.as_text())
    return "\n".join(parts)


def csv_of(table) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    writer.writerows(table.rows)
    return out.getvalue()


async def roster_as(app: CohortBot, who: str, **options: object):
    """``/roster`` as ``who`` (``as_`` cannot pass an option called ``name``)."""
    return await app.dispatch(await console_actor(app, who), "roster", options, Place(channel_name="console"))


# ---- /roster by role ---------------------------------------------------------------------------------------------
async def test_a_scholar_may_not_use_roster(as_: RunAs) -> None:
    reply = await as_("Ada Lovelace", "roster")
    assert reply.private and "only for facilitators and organizers; you are a scholar" in reply.error


async def test_a_facilitator_sees_their_sections_but_cannot_edit(app: CohortBot, as_: RunAs) -> None:
    await app.run_upkeep()  # join codes, as after an import
    overview = await as_("Alan Turing", "roster")
    text = table_text(overview)
    assert overview.private and "your sections (americas-tue)" in text and "3 scholars" in text
    assert "Emmy" not in text and "Approve" not in str(overview.message.actions)

    shown = await as_("Alan Turing", "roster", action="show", user="Ada")
    assert shown.error is None and "ada@example.com" in table_text(shown)
    assert "not used yet" in table_text(shown) and "`" not in table_text(shown)  # no code shown to facilitators
    other = await as_("Alan Turing", "roster", action="show", user="Emmy Noether")
    assert "not in one of your sections" in other.error

    before = await app.people.by_name("Ada Lovelace")
    for options in (
        {"action": "set", "user": "Ada", "section": "europe-wed"},
        {"action": "remove", "user": "Ada"},
        {"action": "add", "name": "Mary Somerville", "email": "mary@example.com", "role": "scholar", "track": "intro"},
    ):
        refused = await roster_as(app, "Alan Turing", **options)
        assert refused.private and "Only organizers can change the roster; you are a facilitator" in refused.error
    assert await app.people.by_name("Ada Lovelace") == before
    assert await app.people.by_email("mary@example.com") is None
    assert await store(app).changes() == []


async def test_an_organizer_adds_changes_and_removes_and_every_change_is_logged(app: CohortBot, as_: RunAs) -> None:
    overview = await roster_as(app, "Grace Hopper")
    assert "**12** on the roster: 8 scholars, 3 facilitators, 1 organizer." in overview.message.text

    added = await roster_as(
        app, "Grace Hopper", action="add", name="Mary Somerville", email="Mary@Example.com", role="scholar",
        track="advanced", section="APAC-THU",
    )  # fmt: skip
    assert added.error is None and "Added **Mary Somerville** (scholar, advanced, apac-thu)" in added.message.text
    assert "Their join code: `" in added.message.text
    mary = await app.people.by_email("mary@example.com")
    assert mary.sections == ("apac-thu",) and (await store(app).code_of(mary.id)) is not None

    duplicate = await roster_as(app, "Grace Hopper", action="add", name="M", email="mary@example.com", role="scholar")
    assert "already on the roster as Mary Somerville" in duplicate.error
    bad = await roster_as(app, "Grace Hopper", action="add", name="X", email="x@example.com", role="scholar")
    assert "a scholar needs a track" in bad.error and await app.people.by_email("x@example.com") is None
    wrong = await roster_as(app, "Grace Hopper", action="show", user="Ada", role="scholar")
    assert "/roster show takes user, not role" in wrong.error

    changed = await roster_as(
        app, "Grace Hopper", action="set", user="Mary Somerville", track="intro", section="europe-wed",
        eligible="false",
    )  # fmt: skip
    assert changed.error is None
    assert "track: advanced → intro; section: apac-thu → europe-wed; eligible: yes → no" in changed.message.text
    mary = await app.people.by_email("mary@example.com")
    assert (mary.track, mary.sections, mary.stipend_eligible) == ("intro", ("europe-wed",), False)
    same = await roster_as(app, "Grace Hopper", action="set", user="Mary Somerville", track="intro")
    assert "Nothing to change" in same.message.text
    demote = await roster_as(app, "Grace Hopper", action="set", user="Grace Hopper", role="scholar")
    assert "cannot lower your own role" in demote.error

    removed = await roster_as(app, "Grace Hopper", action="remove", user="Mary Somerville")
    assert "Removed **Mary Somerville**" in removed.message.text
    again = await roster_as(app, "Grace Hopper", action="remove", user="Mary Somerville")
    assert "already removed" in again.error
    self_removal = await roster_as(app, "Grace Hopper", action="remove", user="Grace Hopper")
    assert "cannot remove yourself" in self_removal.error

    log = await roster_as(app, "Grace Hopper", action="log")
    rows = log.message.table.rows
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("Mary Somerville", "removed", "Grace Hopper"),
        ("Mary Somerville", "changed", "Grace Hopper"),
        ("Mary Somerville", "added", "Grace Hopper"),
    ]
    assert all(r[0].startswith("<t:") for r in rows)  # when: shown in each reader's zone
    shown = await roster_as(app, "Grace Hopper", action="show", user="Mary Somerville")
    assert "removed" in table_text(shown) and "Latest changes" in table_text(shown)

    back = await roster_as(app, "Grace Hopper", action="add", name="Mary Somerville", email="mary@example.com",
                     role="scholar", track="advanced", section="apac-thu")  # fmt: skip
    assert "Put back **Mary Somerville**" in back.message.text
    assert not (await app.people.by_email("mary@example.com")).removed


async def test_a_removed_person_is_refused_next_time_and_their_history_stays_in_exports(
    app: CohortBot, as_: RunAs
) -> None:
    done = await as_("Ada Lovelace", "submit", week="1", link="https://example.org/ada-week-1")
    assert done.error is None
    await as_("Grace Hopper", "roster", action="remove", user="Ada Lovelace")

    refused = await as_("Ada Lovelace", "readings")
    assert refused.private and "no longer on the roster" in refused.error and app.cohort.contact in refused.error
    refused = await as_("Ada Lovelace", "join", code="ABCD-EFGH-JK")  # not even /join
    assert "no longer on the roster" in refused.error

    submissions = await collect(await app.exporters["submissions"](app))
    ada = [r for r in submissions.rows if r[1] == "Ada Lovelace"]
    assert ada and ada[0][5] == "yes" and ada[0][11] == "https://example.org/ada-week-1"
    roster = await app.exporters["roster"](app)
    [row] = [r for r in roster.rows if r[0] == "Ada Lovelace"]
    assert row[-1] != ""  # removed, with when
    changes = await app.exporters["roster-changes"](app)
    assert [r[1:4] for r in changes.rows] == [["Ada Lovelace", "ada@example.com", "removed"]]

    # gone from the listings the other features use (reminders, who has not submitted), still found by id
    assert "Ada Lovelace" not in [p.name for p in await app.people.with_role(Role.SCHOLAR)]
    assert (await app.people.by_email("ada@example.com")).removed
    overview = await as_("Grace Hopper", "roster")
    assert "7 scholars" in overview.message.text and "1 removed" in overview.message.text


# ---- the roster CSV round trip -----------------------------------------------------------------------------------
async def test_roster_csv_export_and_import_round_trip_loses_nothing(app: CohortBot, as_: RunAs, tmp_path) -> None:
    await as_("Grace Hopper", "roster", action="set", user="Claude Shannon", section="apac-thu;europe-wed")
    await as_("Grace Hopper", "roster", action="remove", user="Tu Youyou")
    first = await app.exporters["roster"](app)
    text = csv_of(first)
    assert text.splitlines()[0] == (
        "name,email,role,track,section,discord_id,slack_id,timezone,stipend_eligible,removed"
    )

    # into the same database: nothing changes
    report = await import_roster(app.people, text, app.cohort, app.clock.now())
    assert (report.inserted, report.updated, report.unchanged, report.errors) == (0, 0, 12, [])

    # into a fresh one: the same roster comes out again, removal, several sections, ids and all
    fresh = await CohortBot.open(app.cohort, tmp_path / "fresh.db", clock=app.clock)
    try:
        report = await import_roster(fresh.people, text, fresh.cohort, fresh.clock.now())
        assert (report.inserted, report.errors) == (12, [])
        second = await fresh.exporters["roster"](fresh)
        assert second == first
        assert (await fresh.people.by_email("youyou@example.com")).removed
        claude = await fresh.people.by_email("claude@mlsafety-course.example.org")
        assert claude.sections == ("apac-thu", "europe-wed") and claude.platform_id("slack") == "U0FAC000003"
    finally:
        await fresh.close()

    # an import without the removed column leaves removals alone
    report = await import_roster(app.people, EXAMPLE_ROSTER.read_text(), app.cohort, app.clock.now())
    assert report.errors == [] and (await app.people.by_email("youyou@example.com")).removed


# ---- join codes and /join ----------------------------------------------------------------------------------------
NEWCOMERS = """name,email,role,track,section,discord_id,slack_id,timezone,stipend_eligible
Barbara McClintock,barbara@example.com,scholar,intro,americas-tue,,,,
Lise Meitner,lise@example.com,scholar,intro,europe-wed,,,,
"""


def test_cli_import_makes_codes_and_roster_codes_exports_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = tmp_path / "c.db"
    roster = tmp_path / "roster.csv"
    roster.write_text(EXAMPLE_ROSTER.read_text() + "".join(NEWCOMERS.splitlines(keepends=True)[1:]))
    assert main(["roster", "import", str(roster), "--cohort", str(EXAMPLE_COHORT), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "14 added" in out and "made join codes for 14 people" in out

    codes = tmp_path / "codes.csv"
    assert main(["roster", "codes", "--db", str(db), "--cohort", str(EXAMPLE_COHORT), "-o", str(codes)]) == 0
    rows = list(csv.DictReader(codes.read_text().splitlines()))
    assert [r["name"] for r in rows] == ["Barbara McClintock", "Lise Meitner"]  # the others are linked already
    assert list(rows[0]) == ["name", "email", "code"] and len({r["code"] for r in rows}) == 2
    assert all(len(r["code"]) == 12 and r["code"][4] == "-" for r in rows)
    assert main(["roster", "codes", "--db", str(db), "--cohort", str(EXAMPLE_COHORT), "--all", "-o", str(codes)]) == 0
    assert len(list(csv.DictReader(codes.read_text().splitlines()))) == 14
    again = tmp_path / "again.csv"
    main(["roster", "codes", "--db", str(db), "--cohort", str(EXAMPLE_COHORT), "--all", "-o", str(again)])
    assert again.read_text() == codes.read_text()  # the codes stay the same: letters already sent still work


async def test_join_with_a_code_for_someone_the_roster_does_not_know(app: CohortBot) -> None:
    await import_roster(app.people, NEWCOMERS, app.cohort, app.clock.now())
    table = await app.exporters["join-codes"](app)
    code = next(r[2] for r in table.rows if r[0] == "Lise Meitner")
    newcomer = Actor("console", "lise-laptop", "Lise")
    place = Place(channel_name="console")

    help_reply = await app.dispatch(newcomer, "help", {}, place)
    assert "not on the roster" in help_reply.error and "/join [code:<string>] [email:<string>]" in help_reply.error
    alone = await app.dispatch(newcomer, "join", {}, place)
    assert alone.error is None and "/join code:<code>" in alone.message.text
    both = await app.dispatch(newcomer, "join", {"code": code, "email": "lise@example.com"}, place)
    assert "either your code or your email" in both.error

    joined = await app.dispatch(newcomer, "join", {"code": code}, place)
    assert joined.error is None and "Welcome, **Lise Meitner**" in joined.message.text
    readings = await app.dispatch(newcomer, "readings", {}, place)
    assert readings.error is None
    status = await app.dispatch(newcomer, "join", {}, place)
    assert "You're all set" in status.message.text


def test_a_command_open_to_anyone_cannot_also_need_a_role() -> None:
    async def handler(ctx):
        return "hi"

    with pytest.raises(ValueError, match="cannot also need a role"):
        command("hello", "Hi.", anyone=True)(handler)


def test_sync_templates_are_checked_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    data["roster"]["sync"]["section_role"] = "{section}-{room}"
    data["roster"]["sync"]["track_role"] = "{channel}"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "roster.sync.section_role: '{section}-{room}' can only use {track}, {section}, {channel}" in err
    assert "roster.sync.track_role: '{channel}' can only use {track}" in err


async def test_the_runtime_runs_the_upkeep_at_start_up_and_after_a_reload(app: CohortBot) -> None:
    from schedules.runtime import Runtime

    runtime = Runtime(app)
    await runtime.start()
    try:
        await runtime._upkeep_task  # in the background: join codes for everyone
        assert await store(app).ensure_codes(app.clock.now()) == 0
        await import_roster(app.people, NEWCOMERS, app.cohort, app.clock.now())
        await runtime.reload()  # what `cohortbot roster import` asks of a running bot
        await runtime._upkeep_task
        assert await store(app).ensure_codes(app.clock.now()) == 0  # the newcomers got theirs
    finally:
        await runtime.stop()


async def test_linking_an_account_is_one_transaction_so_a_failure_leaves_nothing_behind(app, monkeypatch):
    from cogs.roster import _common

    hedy = (await app.people.by_name("Hedy Lamarr"))[0]
    assert hedy.platform_id("slack") is None
    assert await app.people.by_platform("slack", "U0HEDY00001") is None  # cached "nobody" before

    async def disk_full(app: CohortBot, people: object = None) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(_common, "sync_people", disk_full)
    with pytest.raises(OSError, match="disk full"):
        await _common.link_account(app, hedy, "slack", "U0HEDY00001", by=None, by_text="test")
    assert await app.people.by_platform("slack", "U0HEDY00001") is None  # rolled back, and not cached otherwise
    assert (await app.people.get(hedy.id)).platform_id("slack") is None
    changes = "SELECT COUNT(*) FROM roster_changes WHERE person_id = ? AND action = 'linked'"
    assert await app.db.fetchval(changes, (hedy.id,)) == 0

    monkeypatch.undo()
    linked = await _common.link_account(app, hedy, "slack", "U0HEDY00001", by=None, by_text="test")
    assert linked.platform_id("slack") == "U0HEDY00001"
    assert (await app.people.by_platform("slack", "U0HEDY00001")).id == hedy.id
    assert await app.db.fetchval(changes, (hedy.id,)) == 1


async def test_the_sync_of_a_few_people_reads_only_their_rows(app):
    repo = store(app)
    people = await app.people.all()
    states = [SyncState(p.id, f"U{p.id}", f"sig{p.id}", 1) for p in people]
    await repo.save_sync_states("slack", states)
    few = [people[0].id, people[3].id]
    assert sorted(await repo.sync_states("slack", few)) == sorted(few)
    assert await repo.sync_states("slack", []) == {}
    assert sorted(await repo.sync_states("slack")) == sorted(p.id for p in people)  # everyone: the upkeep's sync
    statements: list[str] = []
    await app.db.set_trace_callback(statements.append)
    try:
        await repo.sync_states("slack", few)
    finally:
        await app.db.set_trace_callback(None)
    [read] = [s for s in statements if "member_sync" in s]
    assert "person_id IN (" in read  # on the primary key, never the whole table


async def test_link_new_links_the_unlinked_with_free_accounts_in_one_transaction(app, cohort, clock):
    """The batch link keeps each rule of a single link, and one call is one write whatever the number of people."""
    header = EXAMPLE_ROSTER.read_text().splitlines()[0]
    report = await import_roster(
        app.people,
        f"{header}\nLise Meitner,lise@example.com,scholar,intro,europe-wed,,,,\n"
        "Mary Somerville,mary@example.com,scholar,intro,europe-wed,,,,\n",
        cohort,
        clock.now(),
    )
    assert report.inserted == 2, report.summary()
    by = {p.email.split("@")[0]: p for p in await app.people.all()}
    await app.people.set_removed(by["lise"].id, True, clock.now())
    accounts = {
        by["hedy"].id: "U0NEW000001",
        by["johnny"].id: "U0NEW000001",  # the same account as Hedy's, found a moment before: taken by her
        by["mary"].id: "U0SCH000001",  # Ada Lovelace's account
        by["grace"].id: "U0NEW000002",  # already linked on Slack: left alone
        by["lise"].id: "U0NEW000003",  # removed: not linked
        999_999: "U0NEW000004",  # nobody
    }

    statements, result = await statements_of(app, lambda: app.people.link_new("slack", accounts, clock.now()))
    app.people.invalidate()

    assert [(p.id, p.identities["slack"]) for p in result.linked] == [(by["hedy"].id, "U0NEW000001")]
    assert result.taken == {by["johnny"].id: "Hedy Lamarr", by["mary"].id: "Ada Lovelace"}
    assert sorted(result.skipped) == sorted([by["grace"].id, by["lise"].id, 999_999])
    assert sum(s.lstrip().upper().startswith("BEGIN") for s in statements) == 1
    assert (await app.people.by_platform("slack", "U0NEW000001")).email == "hedy@example.com"
    for name, account in [("grace", "U0ORG000001"), ("mary", None), ("johnny", None), ("lise", None)]:
        assert (await app.people.get(by[name].id)).platform_id("slack") == account


async def test_linking_by_email_reads_only_the_unlinked(app, monkeypatch):
    """The upkeep's linking (every start-up, reload and import) reads the people with no account on the platform,
    not the whole roster to keep those few: once everyone but one is linked, one person is read and looked up."""
    people = await app.people.all()
    *linked, last = people
    for k, person in enumerate(linked):
        await app.people.link(person.id, "testplatform", f"T{k}", app.clock.now())

    class Directory:
        platform = "testplatform"
        asked: list[str] = []

        async def find_by_email(self, email: str) -> str | None:
            self.asked.append(email)
            return None

        async def email_of(self, user_id: str) -> str | None:
            return None

    built = []
    real = people_module._person
    monkeypatch.setattr(people_module, "_person", lambda row: built.append(row["id"]) or real(row))
    app.linkers["testplatform"] = linker = Directory()
    [report] = await link_by_email(app)
    assert linker.asked == [last.email] and [p.id for p in report.missing] == [last.id]
    assert built == [last.id]  # the unlinked one, not the roster's other people
    await app.people.set_removed(last.id, True, app.clock.now())
    [report] = await link_by_email(app)  # someone taken off the roster is not looked up
    assert linker.asked == [last.email] and report.looked_up == 0

"""Linking by email over the real slack-sdk/slack-bolt clients against the fake Slack Web API.

After a roster import the upkeep looks every unlinked email up with ``users.lookupByEmail`` (found, not found,
and a 429 whose Retry-After is waited out), or, with many unlinked, reads ``users.list`` a page per call (the calls
counted), links who it finds and tells the organizers who it did not; a person who joins the workspace later is
linked by the ``team_join`` event, or by their first command.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.app import CohortBot
from bot.core.platform import ChannelTarget
from bot.delivery import OutboxWorker
from bot.roster import import_roster
from cogs.roster import _common, _linking
from cogs.roster._linking import link_by_email
from cogs.roster._store import store
from schedules.runtime import Runtime
from tests.cogs.scale import statements_of
from tests.fakes.slack_api import FakeSlackAPI, running_slack, send_event, slash, team_join_event

NEWCOMERS = """name,email,role,track,section,discord_id,slack_id,timezone,stipend_eligible
Barbara McClintock,barbara@example.com,scholar,intro,americas-tue,,,,
Lise Meitner,lise@example.com,scholar,intro,europe-wed,,,,
Mary Somerville,mary@example.com,scholar,advanced,apac-thu,,,,
"""
FAST = {"lookup_per_minute": 6000.0, "list_per_minute": 6000.0}  # production: 50 and 20 a minute; no waits here


async def slack_id(app: CohortBot, email: str) -> str | None:
    person = await app.people.by_email(email)
    return person.platform_id("slack") if person else None


async def test_import_links_by_email_found_not_found_and_rate_limited(app, cohort, clock):
    app.platform = "slack"
    async with FakeSlackAPI.running() as fake, running_slack(app, fake, **FAST) as slack:
        fake.add_user("U0NEW000001", "Barbara@Example.com", "Barbara McClintock")
        fake.add_user("U0NEW000003", "mary@example.com", "Mary Somerville")
        fake.add_user("U0GONE00001", "hedy@example.com", "Hedy Lamarr", deleted=True)  # deactivated: nobody
        fake.rate_limit("users.lookupByEmail", times=1, retry_after=1)  # the first lookup is told to wait 1 s

        report = await import_roster(app.people, NEWCOMERS, cohort, clock.now())
        assert report.inserted == 3 and not report.errors
        lines = await app.run_upkeep()  # what `cohortbot roster import` and the running bot do after an import

        assert await slack_id(app, "barbara@example.com") == "U0NEW000001"  # after the 429
        assert await slack_id(app, "mary@example.com") == "U0NEW000003"
        assert await slack_id(app, "lise@example.com") is None
        assert await slack_id(app, "hedy@example.com") is None

        calls = fake.calls_to("users.lookupByEmail")
        limited, retried = calls[0], calls[1]
        assert limited.status == 429 and retried.body["email"] == limited.body["email"] == "barbara@example.com"
        assert retried.at - limited.at >= 0.9  # Retry-After: 1 was honoured
        assert slack.linker.waited == 1.0
        # everyone unlinked was looked up once (Hedy, John von Neumann and the three newcomers), Barbara twice
        assert sorted(c.body["email"] for c in calls[1:]) == sorted(
            ["barbara@example.com", "hedy@example.com", "johnny@example.com", "lise@example.com", "mary@example.com"]
        )
        assert any("looked up 5 email(s): linked 2, not found 3" in line for line in lines)
        assert any("Lise Meitner <lise@example.com>" in line for line in lines)

        # the organizers are told who could not be found, in their channel
        [told] = [i for i in await app.outbox.items() if i.key.startswith("link-report:slack:")]
        assert told.target == ChannelTarget("organizers") and "Lise Meitner (lise@example.com)" in told.message.text
        # and /roster shows them as not linked, found by nobody
        overview = await slash(slack, fake, "/roster", user="U0ORG000001")
        assert "Lise Meitner" in overview.text and "not found by email" in overview.text

        # a second run within the hour does not ask again about the emails nobody has; later it does, and the
        # organizers are not told the same news twice
        before = len(fake.calls_to("users.lookupByEmail"))
        await app.run_upkeep()
        assert len(fake.calls_to("users.lookupByEmail")) == before
        clock.advance(timedelta(hours=2))
        await app.run_upkeep()
        assert len(fake.calls_to("users.lookupByEmail")) == before + 3
        assert len([i for i in await app.outbox.items() if i.key.startswith("link-report:")]) == 1

        # the newly linked are invited to their track's and section's channels (through the outbox)
        await Runtime(app, worker=OutboxWorker(app, rates={"slack": None})).run_until_idle()
        channels = fake.channels
        assert "U0NEW000001" in fake.members[channels["intro-course"]]
        assert "U0NEW000001" in fake.members[channels["section-americas"]]
        assert "U0NEW000003" in fake.members[channels["section-apac"]]


async def test_someone_who_joins_the_workspace_later_is_linked(app, cohort, clock):
    async with FakeSlackAPI.running() as fake, running_slack(app, fake, **FAST) as slack:
        await import_roster(app.people, NEWCOMERS, cohort, clock.now())
        await app.run_upkeep()  # at import nobody of them is in the workspace
        assert await slack_id(app, "lise@example.com") is None

        lise = fake.add_user("U0LATE00001", "lise@example.com", "Lise Meitner")  # she joins
        assert await send_event(slack, team_join_event(lise)) == 200
        for _ in range(150):  # the event is acknowledged first, then handled
            if await slack_id(app, "lise@example.com"):
                break
            await asyncio.sleep(0.02)
        assert await slack_id(app, "lise@example.com") == "U0LATE00001"
        [change] = await store(app).changes((await app.people.by_email("lise@example.com")).id)
        assert change.by_text == "email (joined the workspace)"

        # one whose team_join was missed is linked by their first command (users.info gives the email)
        fake.add_user("U0LATE00002", "mary@example.com", "Mary Somerville")
        answer = await slash(slack, fake, "/readings", "1", user="U0LATE00002")
        assert "Week 1" in answer.text and await slack_id(app, "mary@example.com") == "U0LATE00002"

        # someone whose email is not on the roster stays a stranger, told about /join
        fake.add_user("U0STRANGE01", "nobody@example.com", "No Body")
        stranger = await slash(slack, fake, "/readings", user="U0STRANGE01")
        assert stranger.ephemeral and "not on the roster" in stranger.text
        assert "/cohort-join" in stranger.text  # Slack keeps /join for itself: the bot's is /cohort-join


def test_the_manifest_asks_for_the_email_scope_and_the_team_join_event(app):
    from bot.platforms.slack.manifest import build_manifest

    manifest = build_manifest(app.registry)
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert {"users:read.email", "channels:manage", "groups:write", "channels:join"} <= set(scopes)
    assert "team_join" in manifest["settings"]["event_subscriptions"]["bot_events"]


def many_newcomers(count: int) -> str:
    rows = [f"Person {n:03},p{n:03}@example.com,scholar,intro,americas-tue,,,," for n in range(count)]
    return NEWCOMERS.splitlines()[0] + "\n" + "\n".join(rows) + "\n"


async def test_many_unlinked_are_linked_from_the_member_list_a_page_per_call(app, cohort, clock):
    app.platform = "slack"
    async with FakeSlackAPI.running() as fake, running_slack(app, fake, **FAST) as slack:
        slack.linker.page = 40
        for n in range(110):  # 110 of the 120 are in the workspace; some wrote their email in another case
            fake.add_user(f"U0P{n:08}", f"P{n:03}@Example.com" if n % 7 == 0 else f"p{n:03}@example.com")
        fake.add_user("U0GONE00001", "p115@example.com", deleted=True)  # deactivated: nobody
        fake.rate_limit("users.list", times=1, retry_after=1)  # the first page is told to wait 1 s
        report = await import_roster(app.people, many_newcomers(120), cohort, clock.now())
        assert report.inserted == 120

        lines = await app.run_upkeep()

        members = len(fake.workspace | set(fake.users))
        listed = fake.calls_to("users.list", ok=True)
        assert len(listed) == -(-members // 40) == slack.linker.calls - 1  # a call per page of 40, and the 429
        assert slack.linker.waited == 1.0
        assert fake.calls_to("users.lookupByEmail") == [] and fake.calls_to("users.info") == []
        assert await slack_id(app, "p000@example.com") == "U0P00000000"  # P000@Example.com
        assert await slack_id(app, "p109@example.com") == "U0P00000109"
        assert await slack_id(app, "p115@example.com") is None
        linked = [p for p in await app.people.all() if p.email.startswith("p") and p.platform_id("slack")]
        assert len(linked) == 110
        unlinked_before = 120 + 2  # the newcomers, and John von Neumann and Hedy Lamarr of the example roster
        assert any(f"looked up {unlinked_before} email(s): linked 110, not found 12" in line for line in lines)

        # within the hour, the 12 not found are not asked about again: no call at all
        await app.run_upkeep()
        assert slack.linker.calls == len(listed) + 1 and fake.calls_to("users.lookupByEmail") == []


async def test_a_member_list_without_emails_stops_linking_saying_which_scope_to_grant(app, cohort, clock):
    app.platform = "slack"
    async with FakeSlackAPI.running() as fake, running_slack(app, fake, **FAST) as slack:
        for n in range(60):
            fake.add_user(f"U0P{n:08}", f"p{n:03}@example.com")
        fake.emails_visible = False  # no users:read.email scope: Slack leaves the emails out, without an error
        await import_roster(app.people, many_newcomers(60), cohort, clock.now())
        lines = await app.run_upkeep()
        assert any("users:read.email" in line for line in lines)
        assert [p for p in await app.people.all() if p.email.startswith("p") and p.platform_id("slack")] == []
        assert slack.linker.calls == len(fake.calls_to("users.list"))
        assert fake.calls_to("users.lookupByEmail") == []


async def test_hundreds_found_are_linked_a_batch_per_transaction(app, cohort, clock, monkeypatch):
    app.platform = "slack"
    monkeypatch.setattr(_linking, "LINK_BATCH", 100)
    async with FakeSlackAPI.running() as fake, running_slack(app, fake, **FAST) as slack:
        slack.linker.page = 100
        for n in range(290):  # 290 of the 300 are in the workspace
            fake.add_user(f"U0P{n:08}", f"p{n:03}@example.com")
        await import_roster(app.people, many_newcomers(300), cohort, clock.now())

        traced, reports = await statements_of(app, lambda: link_by_email(app))
        statements = [s.lstrip().upper() for s in traced]

        [report] = reports
        asked = 300 + 2  # the newcomers, and John von Neumann and Hedy Lamarr of the example roster
        assert report.looked_up == asked and len(report.linked) == 290 and len(report.missing) == 12
        batches = -(-asked // 100)
        # one write transaction per batch of 100 (lookups, links, change log, sync tasks), none per person
        assert sum(s.startswith("BEGIN") for s in statements) == batches
        # per batch: the people, who holds the accounts, their sync state; and once: the roster, the lookups
        assert sum(s.startswith("SELECT") for s in statements) <= 3 * batches + 2
        assert len(fake.calls_to("users.list", ok=True)) == -(-len(fake.workspace | set(fake.users)) // 100)

        assert (
            await slack_id(app, "p289@example.com") == "U0P00000289" and await slack_id(app, "p295@example.com") is None
        )
        tasks = await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE key LIKE 'sync:slack:%'")
        logged = await app.db.fetchval("SELECT COUNT(*) FROM roster_changes WHERE by_text = 'email lookup'")
        looked = await app.db.fetchval("SELECT COUNT(*) FROM email_lookups WHERE platform = 'slack'")
        assert tasks == logged == 290 and looked == asked
        # the people cache does not answer from before the links
        assert (await app.people.by_platform("slack", "U0P00000000")).email == "p000@example.com"

        # the newly linked are invited to their channels (through the outbox)
        await Runtime(app, worker=OutboxWorker(app, rates={"slack": None})).run_until_idle()
        assert "U0P00000150" in fake.members[fake.channels["section-americas"]]


async def test_linking_in_batches_keeps_the_rules_of_a_single_link(app, cohort, clock):
    """An account already someone else's is refused and reported; someone linked or removed while the member list
    was read is left as they are."""
    app.platform = "slack"
    async with FakeSlackAPI.running() as fake, running_slack(app, fake, **FAST) as slack:
        fake.add_user("U0SCH000001", "p000@example.com")  # Ada Lovelace's account (linked in the roster) says p000
        for n in range(1, 80):
            fake.add_user(f"U0P{n:08}", f"p{n:03}@example.com")
        await import_roster(app.people, many_newcomers(80), cohort, clock.now())
        p001, p002 = [await app.people.by_email(f"p00{n}@example.com") for n in (1, 2)]
        read = slack.linker.directory

        async def read_while_the_roster_changes() -> dict[str, str]:
            accounts = await read()
            await _common.link_account(app, p001, "slack", "U0OWN000001", by=None, by_text="join code")
            await app.people.set_removed(p002.id, True, clock.now())
            return accounts

        slack.linker.directory = read_while_the_roster_changes
        [report] = await link_by_email(app)

        assert [(p.email, holder) for p, holder in report.taken] == [("p000@example.com", "Ada Lovelace")]
        assert any("account already someone else's 1" in line for line in report.lines())
        assert (
            await slack_id(app, "ada@example.com") == "U0SCH000001" and await slack_id(app, "p000@example.com") is None
        )
        assert await slack_id(app, "p001@example.com") == "U0OWN000001"  # not replaced by the one found by email
        assert [c.by_text for c in await store(app).changes(p001.id)] == ["join code"]
        assert await slack_id(app, "p002@example.com") is None and (await app.people.get(p002.id)).removed
        assert await app.outbox.get(f"sync:slack:{p002.id}:1") is None
        assert len(report.linked) == 77 and await slack_id(app, "p079@example.com") == "U0P00000079"
        assert {p.email for p in report.linked}.isdisjoint({"p000@example.com", "p001@example.com", "p002@example.com"})

"""Section meetings as Discord scheduled events, over the real discord.py client against the fake: created for
the coming week, updated on a move, cancelled on a cancel, updated again when moved back where it was (every
change a new task), never duplicated (a restart, a lost id), and without the Manage Events permission: one log
line saying what to grant, and everything else carries on."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import yaml

from bot.app import CohortBot
from bot.cohort import parse_cohort
from bot.core.platform import PlatformTask
from bot.platforms.discord import DiscordPlatform
from cogs.sections._events import sync_events
from schedules.runtime import Runtime
from tests.fakes.discord_api import ALAN, GRACE, FakeDiscord, started_discord
from tests.plugin import EXAMPLE_COHORT

EVENTS = r"/guilds/\d+/scheduled-events"
EVENT = r"/guilds/\d+/scheduled-events/\d+"
CALLBACK = r"/interactions/\d+/[^/]+/callback"


def on_discord(app: CohortBot) -> CohortBot:
    app.platform = "discord"  # outbox rows go to the Discord sender
    return app


def by_name(fake: FakeDiscord) -> dict[str, dict]:
    return {e["name"]: e for e in fake.scheduled_events.values()}


async def command(fake: FakeDiscord, name: str, options: dict, user_id: int) -> None:
    before = len(fake.find("POST", CALLBACK))
    await fake.interact(fake.command(name, options, user_id=user_id))
    await fake.wait_for("POST", CALLBACK, count=before + 1)


async def reopened(app: CohortBot) -> CohortBot:
    return on_discord(await CohortBot.open(app.cohort, app.db.path, clock=app.clock))


async def test_events_created_updated_cancelled_and_never_duplicated(app, clock):
    on_discord(app)
    async with FakeDiscord() as fake:
        platform: DiscordPlatform = await started_discord(app, fake)
        try:
            await Runtime(app).run_until_idle()  # Monday of week 1: this week's three meetings
            created = by_name(fake)
            assert set(created) == {f"{s}: week 1 discussion" for s in ("americas-tue", "europe-wed", "apac-thu")}
            americas = created["americas-tue: week 1 discussion"]
            meeting = await app.meetings.get("americas-tue", 1)
            assert datetime.fromisoformat(americas["scheduled_start_time"]) == meeting.start
            assert datetime.fromisoformat(americas["scheduled_end_time"]) == meeting.end
            assert americas["entity_type"] == 3 and americas["status"] == 1
            assert "meet.mlsafety-course.example.org/americas-tue" in americas["entity_metadata"]["location"]
            europe = created["europe-wed: week 1 discussion"]
            assert europe["entity_metadata"]["location"].startswith("Room 2.14")
            assert len(fake.find("POST", EVENTS)) == 3
            rows = await app.db.fetchval("SELECT COUNT(*) FROM scheduled_events WHERE platform = 'discord'")
            assert rows == 3

            # a move updates the same event, at once; a cancel cancels it
            await command(fake, "section move", {"section": "americas-tue", "week": 1, "to": "2026-01-14 19:00"}, ALAN)
            await command(fake, "section cancel", {"section": "europe-wed", "week": 1, "reason": "strike"}, GRACE)
            await Runtime(app).run_until_idle()
            assert len(fake.find("POST", EVENTS)) == 3 and len(fake.find("PATCH", EVENT)) == 2
            moved = fake.scheduled_events[int(americas["id"])]
            assert (
                datetime.fromisoformat(moved["scheduled_start_time"])
                == (await app.meetings.get("americas-tue", 1)).start
            )
            assert fake.scheduled_events[int(europe["id"])]["status"] == 4  # CANCELED
        finally:
            await platform.stop()

        # the bot restarts: nothing is created again, and later weeks come once each as they enter the window
        again = await reopened(app)
        platform = await started_discord(again, fake)
        try:
            await Runtime(again).run_until_idle()
            assert len(fake.find("POST", EVENTS)) == 3
            clock.set((await again.meetings.get("apac-thu", 2)).start - timedelta(days=7))
            await Runtime(again).run_until_idle()
            assert len(fake.find("POST", EVENTS)) == 6
            assert {n for n in by_name(fake) if "week 2" in n} == {
                "americas-tue: week 2 discussion",
                "europe-wed: week 2 discussion",
                "apac-thu: week 2 discussion",
            }
        finally:
            await platform.stop()
            await again.close()

        # a crash between creating an event and storing its id: the retry finds it by its ref, no second event
        third = await reopened(app)
        platform = await started_discord(third, fake)
        try:
            await third.db.execute("DELETE FROM scheduled_events WHERE ref = 'section:apac-thu:week-2'")
            apac = by_name(fake)["apac-thu: week 2 discussion"]
            data = {**_task_data(apac), "name": "apac-thu: week 2 discussion (retried)"}
            sender = third.senders["discord"]
            assert await sender.run_task(PlatformTask("scheduled_event", data), key="retry") == apac["id"]
            assert len(fake.find("POST", EVENTS)) == 6 and len(fake.scheduled_events) == 6
            assert fake.scheduled_events[int(apac["id"])]["name"].endswith("(retried)")
        finally:
            await platform.stop()
            await third.close()


async def test_a_meeting_moved_back_where_it_was_updates_its_event(app, clock):
    """Cancel then move back, and A -> B -> A: the data is an earlier task's again, yet each change is a new task."""
    on_discord(app)
    async with FakeDiscord() as fake:
        platform = await started_discord(app, fake)
        try:
            await Runtime(app).run_until_idle()
            americas, europe = (by_name(fake)[f"{s}: week 1 discussion"] for s in ("americas-tue", "europe-wed"))
            usual = {s: await app.meetings.get(s, 1) for s in ("americas-tue", "europe-wed")}

            # cancelled, then moved back to its usual time (Alan's zone, New York): a live event at that time again
            await command(fake, "section cancel", {"section": "americas-tue", "week": 1, "reason": "ill"}, ALAN)
            await Runtime(app).run_until_idle()
            assert fake.scheduled_events[int(americas["id"])]["status"] == 4
            await command(fake, "section move", {"section": "americas-tue", "week": 1, "to": "2026-01-13 18:00"}, ALAN)
            await Runtime(app).run_until_idle()
            live = [e for e in fake.scheduled_events.values() if e["name"] == americas["name"] and e["status"] == 1]
            assert len(live) == 1  # a cancelled event cannot be revived on Discord: a new one
            assert datetime.fromisoformat(live[0]["scheduled_start_time"]) == usual["americas-tue"].start

            # A -> B -> A (Grace's zone, New York; europe-wed meets 18:30 London = 13:30 New York): back at A
            for to in ("2026-01-15 13:00", "2026-01-14 13:30"):
                await command(fake, "section move", {"section": "europe-wed", "week": 1, "to": to}, GRACE)
                await Runtime(app).run_until_idle()
            event = fake.scheduled_events[int(europe["id"])]
            assert event["status"] == 1
            assert datetime.fromisoformat(event["scheduled_start_time"]) == usual["europe-wed"].start
            keys = [r[0] for r in await app.db.fetchall("SELECT key FROM outbox WHERE key LIKE 'section-event:%'")]
            assert len(keys) == len(set(keys)) == 3 + 2 + 2  # the week's three, then one task per change

            # the same data again (a re-plan, a restart) is no new task
            assert await sync_events(app, [await app.meetings.get("europe-wed", 1)], clock.now()) == 0
        finally:
            await platform.stop()


class TaskRecorder:
    """A sender that does scheduled_event tasks and records them (for what is enqueued, not how it is sent)."""

    platform = "console"
    task_kinds = frozenset({"scheduled_event"})

    async def send(self, target, message, *, key):
        return "m"

    async def run_task(self, task, *, key):
        return "e"


async def test_a_cohort_file_edit_undone_is_a_new_task_too(app, clock):
    """The same sequence and the data of an earlier task (the file's link changed, then changed back)."""
    app.senders["console"] = TaskRecorder()

    raw = yaml.safe_load(EXAMPLE_COHORT.read_text())
    [apac] = [s for s in raw["sections"] if s["name"] == "apac-thu"]
    first = apac["link"]
    for link in (first, "https://meet.example.org/other", first, first):
        apac["link"] = link
        app.cohort = parse_cohort(raw)  # as a reload of the edited file
        await sync_events(app, [await app.meetings.get("apac-thu", 1)], clock.now(), in_window=True)
    rows = await app.db.fetchall("SELECT id, key, payload FROM outbox WHERE key LIKE 'section-event:%' ORDER BY id")
    assert [first in r["payload"] for r in rows] == [True, False, True]  # the last one: no change, no task
    assert rows[2]["key"] == f"{rows[0]['key']}:after-{rows[1]['id']}"


def _task_data(event: dict) -> dict:
    return {
        "ref": "section:apac-thu:week-2",
        "name": event["name"],
        "description": "",
        "start": event["scheduled_start_time"],
        "end": event["scheduled_end_time"],
        "location": event["entity_metadata"]["location"],
        "cancelled": False,
    }


async def test_without_manage_events_it_logs_once_and_carries_on(app, clock, caplog):
    on_discord(app)
    async with FakeDiscord() as fake:
        fake.fail(403, code=50013, message="Missing Permissions", n=99, path="scheduled-events")
        platform = await started_discord(app, fake)
        clock.set(app.cohort.post_time(1))
        try:
            with caplog.at_level(logging.WARNING):
                await Runtime(app).run_until_idle()
            told = [r for r in caplog.records if "Manage Events" in r.getMessage()]
            assert len(told) == 1 and "Missing Permissions" in told[0].getMessage()
            tried = [r for r in fake.requests if "scheduled-events" in r.path]
            assert len(tried) == 3 and fake.scheduled_events == {}  # each of the week's 3 tried once, refused
            counts = await app.outbox.counts()
            assert counts.get("failed", 0) == 0 and counts.get("pending", 0) == 0
            # the rest of the bot carries on: the weekly post went out
            posts = fake.find("POST", r"/channels/\d+/messages")
            assert {p.path for p in posts} >= {f"/channels/{fake.channels['intro-course']}/messages"}
        finally:
            await platform.stop()


async def test_no_events_are_queued_where_the_platform_has_none(app, clock):
    await Runtime(app).run_until_idle()  # the console app: its sender does no scheduled_event tasks
    assert await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE key LIKE 'section-event:%'") == 0

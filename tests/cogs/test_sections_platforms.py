"""/schedule and /section over the real Discord and Slack clients against the fakes, for each role; the .ics
attachment; and the calendar feed served over HTTP (Slack's own server, or the small one for other platforms),
refusing a wrong or revoked token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from icalendar import Calendar

from bot.app import CohortBot
from bot.platforms.discord import DiscordPlatform
from bot.settings import Settings
from bot.web import WebServer, wanted
from tests.fakes.discord_api import ADA, ALAN, GRACE, FakeDiscord, Recorded, started_discord
from tests.fakes.slack_api import FakeSlackAPI, running_slack, slash

CALLBACK = r"/interactions/\d+/[^/]+/callback"
EPHEMERAL = 64
ADA_SLACK, ALAN_SLACK, GRACE_SLACK, HEDY_SLACK = "U0SCH000001", "U0FAC000001", "U0ORG000001", "U0SCH000003"


# ---- Discord --------------------------------------------------------------------------------------------
@pytest.fixture
async def discord(app) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        platform: DiscordPlatform = await started_discord(app, fake)
        try:
            yield fake
        finally:
            await platform.stop()


async def run(fake: FakeDiscord, name: str, options: dict | None = None, *, user_id: int = ADA) -> Recorded:
    before = len(fake.find("POST", CALLBACK))
    await fake.interact(fake.command(name, options, user_id=user_id))
    return await fake.wait_for("POST", CALLBACK, count=before + 1)


def text(call: Recorded) -> str:
    return json.dumps(call.payload()["data"], ensure_ascii=False)


async def test_schedule_over_discord_for_each_role(app, discord):
    fake = discord
    scholar = await run(fake, "schedule")
    assert scholar.payload()["data"]["flags"] == EPHEMERAL
    body = text(scholar)
    start = int((await app.meetings.get("americas-tue", 1)).start.timestamp())
    assert f"<t:{start}:F>" in body and "americas-tue" in body and "#section-americas" in body  # native timestamps
    assert "Risk decomposition" in body and "not submitted yet" in body and "europe-wed" not in body

    facilitator = text(await run(fake, "schedule", {"weeks": 1}, user_id=ALAN))
    assert "Attendance still to record" in facilitator and "next 7 days" in facilitator

    organizer = await run(fake, "schedule", user_id=GRACE)
    body = text(organizer)
    assert "Every section, week 1" in body
    assert all(name in body for name in ("americas-tue", "europe-wed", "apac-thu"))

    ics = await run(fake, "schedule", {"format": "ics"})
    [(filename, content)] = ics.files
    assert filename == "ada-lovelace-schedule.ics"
    assert len(Calendar.from_ical(bytes(content)).walk("VEVENT")) == 18  # 8 meetings, 8 deadlines, 2 workshop days

    refused = await run(fake, "section move", {"section": "europe-wed", "week": 2, "to": "2026-01-22 18:00"},
                        user_id=ALAN)  # fmt: skip
    assert refused.payload()["data"]["flags"] == EPHEMERAL and "only do that for your own sections" in text(refused)
    assert await app.db.fetchval("SELECT COUNT(*) FROM meeting_changes") == 0
    moved = await run(fake, "section move", {"section": "americas-tue", "week": 2, "to": "2026-01-21 19:00"},
                      user_id=ALAN)  # fmt: skip
    assert "Moved: americas-tue, week 2" in text(moved)


# ---- Slack ----------------------------------------------------------------------------------------------
@pytest.fixture
async def slack(app) -> AsyncIterator[tuple[FakeSlackAPI, object]]:
    async with FakeSlackAPI.running() as fake, running_slack(app, fake) as platform:
        yield fake, platform


async def test_schedule_over_slack_for_each_role(app, slack):
    fake, platform = slack
    scholar = await slash(platform, fake, "/schedule", user=ADA_SLACK)
    assert scholar.ephemeral and "americas-tue" in scholar.text and "<!date^" in scholar.text
    assert "<t:" not in scholar.text  # Slack's own date markup, shown in each reader's zone
    assert "/schedule feed:link" in scholar.text  # the HTTP server runs, so a feed is offered

    facilitator = await slash(platform, fake, "/schedule", "weeks:1", user=ALAN_SLACK)
    assert "Attendance still to record" in facilitator.text

    organizer = await slash(platform, fake, "/schedule", user=GRACE_SLACK)
    assert "Every section, week 1" in organizer.text and "apac-thu" in organizer.text

    await slash(platform, fake, "/schedule", "format:ics", user=ADA_SLACK)
    uploaded = await fake.wait_for("upload")
    assert Calendar.from_ical(uploaded[0].raw).walk("VEVENT")

    bad = await slash(platform, fake, "/section", "cancel section:americas-tue week:9", user=ALAN_SLACK)
    assert bad.ephemeral and "There is no week 9" in bad.text


async def get(url: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


def url_in(text: str) -> str:
    return next(word for word in text.replace("\\n", " ").split() if "/calendar/" in word).strip('"')


async def test_feed_over_the_slack_server_refuses_wrong_and_revoked_tokens(app, slack):
    fake, platform = slack
    shown = await slash(platform, fake, "/schedule", "feed:link", user=ADA_SLACK)
    url = url_in(shown.text)
    assert url.startswith(f"http://127.0.0.1:{platform.port}/calendar/") and url.endswith(".ics")
    status, kind, body = await get(url)
    assert status == 200 and kind.startswith("text/calendar")
    cal = Calendar.from_ical(body)
    assert "Ada Lovelace" in str(cal["X-WR-CALNAME"])
    again = await slash(platform, fake, "/schedule", "feed:link", user=ADA_SLACK)
    assert url_in(again.text) == url  # the same link until replaced

    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    wrong = url.replace(token, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))
    assert (await get(wrong))[0] == 404
    assert (await get(url.replace(token, "short")))[0] == 404
    assert (await get(url.replace(token, "../../etc/passwd")))[0] == 404

    refused = await slash(platform, fake, "/schedule", "feed:revoke user:Ada", user=HEDY_SLACK)
    assert refused.ephemeral and "Only organizers" in refused.text
    assert (await get(url))[0] == 200
    revoked = await slash(platform, fake, "/schedule", "feed:revoke user:Ada", user=GRACE_SLACK)
    assert "Ada Lovelace's calendar link is off" in revoked.text
    status, _, body = await get(url)
    assert status == 404 and b"unknown or was revoked" in body

    fresh = url_in((await slash(platform, fake, "/schedule", "feed:new", user=ADA_SLACK)).text)
    assert fresh != url and (await get(fresh))[0] == 200 and (await get(url))[0] == 404


async def test_other_platforms_serve_the_feed_only_when_a_port_is_set(app, as_, monkeypatch):
    monkeypatch.delenv("COHORTBOT_HTTP_PORT", raising=False)
    assert not wanted(Settings(_env_file=None))
    monkeypatch.setenv("COHORTBOT_HTTP_PORT", "0")
    settings = Settings(_env_file=None, public_url=None)
    assert wanted(settings)
    server = WebServer(app, settings)
    await server.start()
    try:
        assert app.web_url == f"http://127.0.0.1:{server.port}"
        reply = await as_("Rosalind Franklin", "schedule", feed="link")
        url = url_in(reply.message.text)
        status, kind, _ = await get(url)
        assert status == 200 and kind.startswith("text/calendar")
        assert (await get(f"http://127.0.0.1:{server.port}/healthz"))[0] == 200
        await as_("Rosalind Franklin", "schedule", feed="revoke")
        assert (await get(url))[0] == 404
    finally:
        await server.stop()
    assert app.web_url is None
    later = await as_("Rosalind Franklin", "schedule", feed="link")
    assert later.error and "not running here" in later.error


async def test_a_public_url_is_what_people_are_given(app, as_):
    server = WebServer(app, Settings(_env_file=None, http_port=0, public_url="https://bot.example.org/"))
    await server.start()
    try:
        reply = await as_("Ada Lovelace", "schedule", feed="new")
        assert "https://bot.example.org/calendar/" in reply.message.text
    finally:
        await server.stop()


async def test_the_feed_follows_a_move(app, as_, clock):
    server = WebServer(app, Settings(_env_file=None, http_port=0))
    await server.start()
    try:
        url = url_in((await as_("Hedy Lamarr", "schedule", feed="link")).message.text)
        before = Calendar.from_ical((await get(url))[2])
        await as_("Alan Turing", "section move", section="americas-tue", week="2", to="2026-01-21 19:00")
        after = Calendar.from_ical((await get(url))[2])
    finally:
        await server.stop()
    week2 = [
        {str(e["UID"]): e for e in cal.walk("VEVENT")}["section-americas-tue-week-2@introduction-to-ml-safety-winter-"
                                                        "2026.cohortbot"]
        for cal in (before, after)
    ]  # fmt: skip
    assert week2[1].decoded("dtstart") - week2[0].decoded("dtstart") == timedelta(days=1, hours=1)
    assert (week2[0]["SEQUENCE"], week2[1]["SEQUENCE"]) == (0, 1)


async def test_feeds_survive_a_restart(app, clock, tmp_path):
    server = WebServer(app, Settings(_env_file=None, http_port=0))
    await server.start()
    try:
        from tests.plugin import console_actor

        reply = await app.dispatch(await console_actor(app, "Ada Lovelace"), "schedule", {"feed": "link"})
        url = url_in(reply.message.text)
    finally:
        await server.stop()
    again = await CohortBot.open(app.cohort, app.db.path, clock=clock)
    server = WebServer(again, Settings(_env_file=None, http_port=0))
    await server.start()
    try:
        moved = url.replace(url.split("/calendar/")[0], again.web_url)
        assert (await get(moved))[0] == 200
    finally:
        await server.stop()
        await again.close()

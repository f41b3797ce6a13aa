"""Homework over the Discord and Slack fakes: submit, resubmit, late, extension, the facilitator's view, the modal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.platforms.discord import DiscordPlatform
from cogs.homework._common import repo
from tests.fakes.discord_api import ADA, ALAN, FakeDiscord, Recorded, started_discord
from tests.fakes.slack_api import FakeSlackAPI, interact, running_slack, slash, view_submission

NY = ZoneInfo("America/New_York")
DUE_1 = datetime(2026, 1, 18, 23, 59, tzinfo=NY).astimezone(UTC)
CALLBACK = r"/interactions/\d+/[^/]+/callback"
EPHEMERAL = 64
HEDY_DISCORD = 100000000000000012
ADA_SLACK, ROSALIND_SLACK, ALAN_SLACK = "U0SCH000001", "U0SCH000003", "U0FAC000001"


# ---- Discord --------------------------------------------------------------------------------------------
@pytest.fixture
async def discord(app) -> AsyncIterator[tuple[FakeDiscord, DiscordPlatform]]:
    async with FakeDiscord() as fake:
        platform = await started_discord(app, fake)
        try:
            yield fake, platform
        finally:
            await platform.stop()


async def run(fake: FakeDiscord, name: str, options: dict | None = None, *, user_id: int = ADA, **kw) -> Recorded:
    before = len(fake.find("POST", CALLBACK))
    await fake.interact(fake.command(name, options, user_id=user_id, **kw))
    return await fake.wait_for("POST", CALLBACK, count=before + 1)


def discord_text(call: Recorded) -> str:
    data = call.payload()["data"]
    return json.dumps(data, ensure_ascii=False)


async def test_homework_over_discord(app, clock, discord):
    fake, _platform = discord
    first = await run(fake, "submit", {"week": 1, "link": "https://example.com/ada-v1"})
    assert first.payload()["data"]["flags"] == EPHEMERAL
    assert "Week 1 homework received" in discord_text(first) and "On time" in discord_text(first)

    second = await run(fake, "submit", {"week": 1}, attachments={"file": ("answer.ipynb", b"{notebook}")})
    assert "2nd submission" in discord_text(second) and "answer.ipynb" in discord_text(second)
    ada = await app.people.by_platform("discord", str(ADA))
    latest = (await repo(app).latest(1))[(ada.id, 1)]
    assert latest.file_name == "answer.ipynb" and latest.file_size == 10 and latest.platform == "discord"

    clock.set(DUE_1 + timedelta(hours=2))
    late = await run(fake, "submit", {"week": 1, "text": "sorry"}, user_id=HEDY_DISCORD)
    assert "Late" in discord_text(late)

    extended = await run(fake, "extend", {"user": "Hedy Lamarr", "week": 1, "until": "2026-01-21 12:00"}, user_id=ALAN)
    assert "Hedy Lamarr now has until" in discord_text(extended) and "re-judged" in discord_text(extended)
    hedy = await app.people.by_platform("discord", str(HEDY_DISCORD))
    assert not (await repo(app).latest(1))[(hedy.id, 1)].late
    assert await app.outbox.get(f"extension:week-1:person-{hedy.id}:rev-1") is not None

    outside = await run(fake, "extend", {"user": "Emmy Noether", "week": 1, "until": "2026-01-21 12:00"}, user_id=ALAN)
    assert outside.payload()["data"]["flags"] == EPHEMERAL and "not in one of your sections" in discord_text(outside)

    view = await run(fake, "submissions", {"week": 1}, user_id=ALAN)
    text = discord_text(view)
    assert "2 of 3" in text and "Not submitted:** Rosalind Franklin" in text


async def test_submit_modal_over_discord(app, discord):
    fake, _platform = discord
    call = await run(fake, "submit", {"week": 2})
    body = call.payload()
    assert body["type"] == 9  # a modal
    modal = body["data"]
    assert modal["title"] == "Week 2 homework"
    assert "Run FGSM and PGD" in json.dumps(modal)  # the week's instructions are shown
    await fake.interact(fake.modal_submit(modal["custom_id"], {"link": "https://example.com/w2", "text": ""}))
    answer = await fake.wait_for("POST", CALLBACK, count=2)
    assert "Week 2 homework received" in discord_text(answer)
    ada = await app.people.by_platform("discord", str(ADA))
    assert (await repo(app).latest(2))[(ada.id, 2)].link == "https://example.com/w2"


# ---- Slack ----------------------------------------------------------------------------------------------
@pytest.fixture
async def slack(app) -> AsyncIterator[tuple[FakeSlackAPI, object]]:
    async with FakeSlackAPI.running() as fake, running_slack(app, fake) as platform:
        yield fake, platform


async def test_homework_over_slack(app, clock, slack):
    fake, platform = slack
    first = await slash(platform, fake, "/submit", "week:1 link:https://example.com/ada", user=ADA_SLACK)
    assert first.ephemeral and "Week 1 homework received" in first.text and "On time" in first.text

    again = await slash(platform, fake, "/submit", 'week:1 text:"second try"', user=ADA_SLACK)
    assert "2nd submission" in again.text

    clock.set(DUE_1 + timedelta(hours=2))
    late = await slash(platform, fake, "/submit", "week:1 link:https://example.com/ros", user=ROSALIND_SLACK)
    assert "Late" in late.text

    extended = await slash(platform, fake, "/extend", 'user:Rosalind week:1 until:"2026-01-21 12:00"', user=ALAN_SLACK)
    assert extended.ephemeral and "Rosalind Franklin now has until" in extended.text
    rosalind = await app.people.by_platform("slack", ROSALIND_SLACK)
    assert not (await repo(app).latest(1))[(rosalind.id, 1)].late

    past = await slash(platform, fake, "/extend", 'user:Ada week:1 until:"2026-01-01 12:00"', user=ALAN_SLACK)
    assert past.ephemeral and "in the past" in past.text
    assert await app.db.fetchval("SELECT COUNT(*) FROM extensions") == 1

    view = await slash(platform, fake, "/submissions", "week:1", user=ALAN_SLACK)
    assert "2 of 3" in view.text and "Hedy Lamarr" in view.text and "Not submitted" in view.text


async def test_submit_modal_over_slack(app, slack):
    fake, platform = slack
    await slash(platform, fake, "/submit", "week:3", user=ADA_SLACK, wait=False)
    view = (await fake.wait_for("views.open"))[0].json("view")
    assert "Compute the expected calibration error" in json.dumps(view)
    assert "share it" in json.dumps(view)  # files on Slack: share and give the link
    assert "<!date^" in json.dumps(view) and "<t:" not in json.dumps(view)  # the due time in Slack's markup

    status, answer = await interact(platform, view_submission(view, {"link": "not a link", "text": None}, ADA_SLACK))
    assert status == 200 and answer["response_action"] == "errors" and "link" in answer["errors"]
    assert await app.db.fetchval("SELECT COUNT(*) FROM submissions") == 0

    status, answer = await interact(platform, view_submission(view, {"link": None, "text": "my answer"}, ADA_SLACK))
    assert status == 200 and answer == {}
    posted = (await fake.wait_for("chat.postEphemeral"))[0]
    assert "Week 3 homework received" in posted.body["text"]
    ada = await app.people.by_platform("slack", ADA_SLACK)
    assert (await repo(app).latest(3))[(ada.id, 3)].text == "my answer"

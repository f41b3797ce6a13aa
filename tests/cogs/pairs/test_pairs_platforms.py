"""A whole pairing session over the Discord fake and over the Slack fake, through the real discord.py and
slack-bolt clients: /pair start, the lobby's Join button, rounds posted with real mentions (and pings), DMs,
/topic (/cohort-topic on Slack, whose own /topic takes the name), /pair status, /pair next, /pair stop."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.app import CohortBot
from bot.delivery import OutboxWorker
from cogs.pairs._store import repo
from schedules.runtime import Runtime
from tests.fakes.discord_api import ADA, ALAN, EMMY, FakeDiscord, Recorded, started_discord
from tests.fakes.slack_api import FakeSlackAPI, click, running_slack, slash

CALLBACK = r"/interactions/\d+/[^/]+/callback"
FOLLOWUP = r"/webhooks/\d+/[^/]+"
MESSAGES = r"/channels/(\d+)/messages"
EPHEMERAL = 64
HEDY = 100000000000000012
PROMPT = "Find something you disagree about; a disagreement you have used before is not allowed."


async def fast_runtime(app: CohortBot) -> Runtime:
    runtime = Runtime(app, worker=OutboxWorker(app, rates={"discord": 200.0, "slack": 200.0}))
    await runtime.start()
    return runtime


# ---- Discord --------------------------------------------------------------------------------------------
async def interact(fake: FakeDiscord, payload: dict) -> Recorded:
    """Send an interaction; its answer (the followup, for a slow command the bot deferred)."""
    before, followups = len(fake.find("POST", CALLBACK)), len(fake.find("POST", FOLLOWUP))
    await fake.interact(payload)
    callback = await fake.wait_for("POST", CALLBACK, count=before + 1)
    if callback.payload()["type"] == 5:  # deferred: the answer follows
        return await fake.wait_for("POST", FOLLOWUP, count=followups + 1)
    return callback


def flags(call: Recorded) -> int:
    body = call.payload()
    return (body.get("data") or body).get("flags") or 0


def answer_text(call: Recorded) -> str:
    body = call.payload()
    return json.dumps(body.get("data") or body, ensure_ascii=False)


def posts_to(fake: FakeDiscord, channel_id: int) -> list[dict]:
    return [p.payload() for p in fake.find("POST", f"/channels/{channel_id}/messages")]


async def test_a_pairing_session_over_discord(app, clock):
    app.platform = "discord"
    async with FakeDiscord() as fake:
        platform = await started_discord(app, fake)
        runtime = await fast_runtime(app)
        try:
            here = "section-americas"
            scholar = await interact(fake, fake.command("pair start", {}, user_id=ADA, channel=here))
            assert flags(scholar) & EPHEMERAL and "only for facilitators" in answer_text(scholar)
            opened = await interact(fake, fake.command("pair start", {"rounds": 2}, user_id=ALAN, channel=here))
            assert flags(opened) & EPHEMERAL and "The lobby is open" in answer_text(opened)
            await runtime.run_until_idle()
            lobby = fake.last_message()
            assert lobby["channel_id"] == str(fake.channels[here])
            assert lobby["embeds"][0]["title"] == "Rotating pairs: press Join to take part"
            for user in (ADA, HEDY, EMMY):  # Emmy comes from another section: joining is open to all
                joined = await interact(fake, fake.click(lobby, "Join", user_id=user, channel=here))
                assert flags(joined) & EPHEMERAL and "You're in!" in answer_text(joined)

            clock.advance(timedelta(minutes=2))
            await runtime.run_until_idle()
            [post] = [
                p
                for p in posts_to(fake, fake.channels[here])
                if (p.get("embeds") or [{}])[0].get("title") == "Round 1 of 2"
            ]
            pinged = {f"<@{u}>" for u in (ADA, HEDY, EMMY)}
            assert set(post["content"].split()) == pinged  # a mention in an embed notifies nobody: the content does
            assert post["allowed_mentions"] == {"parse": ["users"]}  # never @everyone or a role
            description = post["embeds"][0]["description"]
            assert PROMPT in description and "(trio)" in description  # a trio of the three, by name
            assert all(name in description for name in ("Ada Lovelace", "Hedy Lamarr", "Emmy Noether"))
            dms = [
                p
                for p in fake.find("POST", MESSAGES)
                if int(p.path.split("/")[2]) in set(fake.dm_channels.values())
                and p.payload()["embeds"][0]["title"] == "Round 1 of 2: your partners"
            ]
            assert len(dms) == 3 and all("<t:" in d.payload()["embeds"][0]["description"] for d in dms)

            topic = await interact(fake, fake.command("topic", {"text": "Cats are better than dogs"}, user_id=ADA))
            assert topic.payload()["data"][
                "flags"
            ] == EPHEMERAL and "Logged “Cats are better than dogs”" in answer_text(topic)
            status = await interact(fake, fake.command("pair status", {}, user_id=EMMY, channel=here))
            assert "Round 1 of 2" in answer_text(status) and "Ada Lovelace" in answer_text(status)

            nxt = await interact(fake, fake.command("pair next", {}, user_id=ALAN, channel=here))
            assert "Round 2 of 2 has started" in answer_text(nxt)
            await runtime.run_until_idle()
            again = await interact(fake, fake.command("topic", {"text": "dogs are better than cats"}, user_id=HEDY))
            # three people: round 2 is the same trio (a repeat is unavoidable), so the topic is theirs already
            assert "which you, Ada Lovelace and Emmy Noether used" in answer_text(again)
            stop = await interact(fake, fake.command("pair stop", {}, user_id=ALAN, channel=here))
            assert "Stopped the pairing session" in answer_text(stop)
            await runtime.run_until_idle()
            assert (
                "Alan Turing ended the session" in fake.last_message(with_components=False)["embeds"][0]["description"]
            )
            assert (await repo(app).get(1)).state == "stopped"
        finally:
            await runtime.stop()
            await platform.stop()


# ---- Slack ----------------------------------------------------------------------------------------------
ADA_SLACK, ROSALIND_SLACK, EMMY_SLACK, ALAN_SLACK = "U0SCH000001", "U0SCH000003", "U0SCH000004", "U0FAC000001"
SECTION = {"channel": "C0SECAM0001", "channel_name": "section-americas"}


def posted(fake: FakeSlackAPI, channel: str, header: str) -> list[dict]:
    """The posts to ``channel`` whose header block says ``header`` (a mentions section may come before it)."""
    out = []
    for call in fake.calls_to("chat.postMessage", ok=True):
        headers = [b["text"]["text"] for b in call.body.get("blocks") or [] if b.get("type") == "header"]
        if call.body.get("channel") == channel and header in headers:
            out.append(call.body)
    return out


async def test_a_pairing_session_over_slack(app, clock):
    app.platform = "slack"
    async with FakeSlackAPI.running() as fake, running_slack(app, fake) as slack:
        runtime = await fast_runtime(app)
        try:
            refused = await slash(slack, fake, "/pair", "start size:4", user=ALAN_SLACK, **SECTION)
            assert refused.ephemeral and "size must be at most 3" in refused.text
            opened = await slash(slack, fake, "/pair", "start rounds:2 minutes:10", user=ALAN_SLACK, **SECTION)
            assert opened.ephemeral and "The lobby is open in #section-americas" in opened.text
            await runtime.run_until_idle()
            [lobby] = posted(fake, "C0SECAM0001", "Rotating pairs: press Join to take part")
            for user in (ADA_SLACK, ROSALIND_SLACK, EMMY_SLACK, ALAN_SLACK):
                joined = await click(slack, fake, lobby["blocks"], "Join", user=user)
                assert joined.ephemeral and "You're in!" in joined.text

            clock.advance(timedelta(minutes=2))
            await runtime.run_until_idle()
            [round_1] = posted(fake, "C0SECAM0001", "Round 1 of 2")
            text = json.dumps(round_1["blocks"])
            assert all(f"<@{u}>" in text for u in (ADA_SLACK, ROSALIND_SLACK, EMMY_SLACK, ALAN_SLACK))  # real mentions
            assert "<@#" not in text and PROMPT in text
            dms = [c for c in fake.calls_to("chat.postMessage", ok=True) if str(c.body.get("channel")).startswith("U")]
            assert sorted(c.body["channel"] for c in dms) == sorted([ADA_SLACK, ROSALIND_SLACK, EMMY_SLACK, ALAN_SLACK])
            assert all("<!date^" in json.dumps(c.body["blocks"]) for c in dms)  # the end time, in each one's zone

            logged = await slash(
                slack, fake, "/cohort-topic", 'text:"Remote work beats the office"', user=ROSALIND_SLACK
            )
            assert logged.ephemeral and "Logged “Remote work beats the office”" in logged.text
            listed = await slash(slack, fake, "/cohort-topic", "", user=ROSALIND_SLACK)
            assert "Remote work beats the office" in listed.text
            status = await slash(slack, fake, "/pair", "status", user=ADA_SLACK, **SECTION)
            assert status.ephemeral and "Round 1 of 2" in status.text

            clock.advance(timedelta(minutes=10))
            await runtime.run_until_idle()
            assert posted(fake, "C0SECAM0001", "Round 2 of 2")
            clock.advance(timedelta(minutes=10))
            await runtime.run_until_idle()
            [end] = posted(fake, "C0SECAM0001", "Rotating pairs finished")
            assert "That was the last of 2 rounds." in json.dumps(end["blocks"])
            played = await repo(app).played(1)
            pairs = [frozenset(g) for r in played for g in r.groups.values()]
            assert len(pairs) == len(set(pairs)) == 4  # 4 people, 2 rounds, nobody met twice
        finally:
            await runtime.stop()

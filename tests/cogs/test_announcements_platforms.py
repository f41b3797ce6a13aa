"""Announcements over the real discord.py and slack-bolt clients against the fakes: the preview and its buttons
(Send, then the DMs arrive once; Cancel, then nothing), a channel post, and ``ping`` on and off as sent on the wire;
bold and links as each platform writes them; a long message split cleanly."""

from __future__ import annotations

import copy
import json
import re

from bot.app import CohortBot
from bot.core.messages import Message
from bot.delivery import OutboxWorker
from bot.platforms.discord.render import render as discord_render
from bot.platforms.slack.render import render as slack_render
from cogs.announcements._messages import MAX_MESSAGE, announcement_message
from schedules.runtime import Runtime
from tests.fakes.discord_api import ADA, ALAN, GRACE, FakeDiscord, Recorded, started_discord
from tests.fakes.slack_api import FakeSlackAPI, click, running_slack, slash

TEXT = "Lecture 2 moves to **Thursday**, see [the schedule](https://example.org/s)."
CALLBACK = r"/interactions/\d+/[^/]+/callback"
POSTS = r"/channels/(\d+)/messages"
EPHEMERAL = 64
HEDY = 100000000000000012
GRACE_SLACK, ALAN_SLACK, ADA_SLACK, ROSALIND_SLACK = "U0ORG000001", "U0FAC000001", "U0SCH000001", "U0SCH000003"


# ---- Discord --------------------------------------------------------------------------------------------
async def answer(fake: FakeDiscord, payload: dict) -> Recorded:
    """Send an interaction and return the bot's callback to it."""
    before = len(fake.find("POST", CALLBACK))
    await fake.interact(payload)
    return await fake.wait_for("POST", CALLBACK, count=before + 1)


def embed_text(call: Recorded) -> str:
    return json.dumps(call.payload().get("data") or call.payload(), ensure_ascii=False)


def posts_to(fake: FakeDiscord, channel_id: int) -> list[dict]:
    return [r.payload() for r in fake.find("POST", POSTS) if r.path == f"/channels/{channel_id}/messages"]


async def test_announce_over_discord(app: CohortBot, clock):
    app.platform = "discord"  # the outbox delivers through the Discord sender
    runtime = Runtime(app)
    async with FakeDiscord() as fake:
        platform = await started_discord(app, fake)
        try:
            options = {"message": TEXT, "to": "section:americas-tue", "dm": True}
            shown = await answer(fake, fake.command("announce", options, user_id=GRACE))
            data = shown.payload()["data"]
            assert data["flags"] & EPHEMERAL
            embed = data["embeds"][0]
            assert embed["title"] == "📣 Announcement from Grace Hopper" and embed["description"] == TEXT
            fields = {f["name"]: f["value"] for e in data["embeds"] for f in e.get("fields", [])}
            assert fields["Reaches"] == "**3 of 4**"
            assert fields["Cannot reach"] == "1 has no Discord account linked: Rosalind Franklin"
            assert await app.outbox.counts() == {}  # nothing is queued until Send
            preview = copy.deepcopy(fake.last_message())  # as a second client still shows it, buttons and all

            sent = await answer(fake, fake.click(preview, "Send", user_id=GRACE))
            assert sent.payload()["type"] == 7 and "on its way to 3 of 4" in embed_text(sent)  # replaces the preview
            await runtime.run_until_idle()
            dms = {user: posts_to(fake, channel) for user, channel in fake.dm_channels.items()}
            assert {u for u, p in dms.items() if p} == {ADA, HEDY, ALAN, GRACE}  # Rosalind has no account
            for user in (ADA, HEDY, ALAN):
                [dm] = dms[user]  # once each
                assert dm["embeds"][0]["description"] == TEXT  # bold and link in Discord's own markdown
                assert dm["allowed_mentions"] == {"parse": []} and not dm.get("content")
            [report] = dms[GRACE]
            assert "reached 3 of 4; 1 has no Discord account linked." in report["embeds"][0]["description"]

            again = await answer(fake, fake.click(preview, "Send", user_id=GRACE))
            assert again.payload()["data"]["flags"] & EPHEMERAL and "was already sent" in embed_text(again)
            await runtime.run_until_idle()
            assert sum(len(p) for p in dms.values()) == sum(len(posts_to(fake, c)) for c in fake.dm_channels.values())

            # Cancel: nothing is sent
            before = len(fake.find("POST", POSTS))
            await answer(
                fake, fake.command("announce", {"message": "Never mind", "to": "all", "dm": True}, user_id=GRACE)
            )
            dropped = await answer(fake, fake.click(fake.last_message(), "Cancel", user_id=GRACE))
            assert dropped.payload()["type"] == 7 and "was not sent, and nothing was queued" in embed_text(dropped)
            await runtime.run_until_idle()
            assert len(fake.find("POST", POSTS)) == before

            # channel posts: with ping, @everyone is allowed; without, nobody may be mentioned
            general, intro = fake.channels["general"], fake.channels["intro-course"]
            await answer(
                fake, fake.command("announce", {"message": "Forms due", "to": "all", "ping": True}, user_id=GRACE)
            )
            await answer(fake, fake.click(fake.last_message(), "Send", user_id=GRACE))
            quiet = {"message": "Quiet note @everyone", "to": "track:intro"}
            await answer(fake, fake.command("announce", quiet, user_id=GRACE))
            await answer(fake, fake.click(fake.last_message(), "Send", user_id=GRACE))
            await runtime.run_until_idle()
            [pinged] = posts_to(fake, general)
            assert pinged["content"] == "@everyone" and pinged["allowed_mentions"] == {"parse": ["everyone"]}
            assert pinged["embeds"][0]["description"] == "Forms due"
            [post] = posts_to(fake, intro)
            assert not post.get("content") and post["allowed_mentions"] == {"parse": []}
        finally:
            await platform.stop()


def test_discord_renders_a_long_announcement_in_one_message_and_a_ping_only_when_asked():
    from zoneinfo import ZoneInfo

    long = "\n".join(f"Line {n}: **bold** and [a link](https://example.org/{n})." for n in range(90))[:MAX_MESSAGE]
    message = announcement_message("Grace Hopper", "Course", "everyone", long, ping=False)
    [part] = discord_render(message, ZoneInfo("UTC"))
    assert part.embeds[0].description == long and part.content is None
    assert part.allowed_mentions.to_dict() == {"parse": []}
    pinged = discord_render(message.model_copy(update={"ping": True}), ZoneInfo("UTC"))
    assert pinged[0].content == "@everyone" and pinged[0].allowed_mentions.to_dict() == {"parse": ["everyone"]}


# ---- Slack ----------------------------------------------------------------------------------------------
def chat_posts(fake: FakeSlackAPI, channel: str) -> list:
    return [c for c in fake.calls_to("chat.postMessage", ok=True) if c.body.get("channel") == channel]


def block_texts(call) -> str:
    return "\n".join(b.get("text", {}).get("text", "") for b in call.json("blocks") if b["type"] == "section")


async def test_announce_over_slack(app: CohortBot, clock):
    app.platform = "slack"
    runtime = Runtime(app, worker=OutboxWorker(app, rates={"slack": None}))  # unpaced: Slack's 1/s is for production
    async with FakeSlackAPI.running() as fake:
        fake.workspace.discard(ROSALIND_SLACK)  # Rosalind has left the workspace
        async with running_slack(app, fake) as slack:
            shown = await slash(
                slack, fake, "/announce", f'message:"{TEXT}" to:section:americas-tue dm:true', user=GRACE_SLACK
            )
            assert shown.ephemeral and "*Reaches*\\n*2 of 4*" in shown.text
            assert "1 has no Slack account linked: Hedy Lamarr" in shown.text
            assert "1 is not in the workspace: Rosalind Franklin" in shown.text
            assert not fake.calls_to("chat.postMessage")  # nothing until Send
            blocks = shown.response["blocks"]

            sent = await click(slack, fake, blocks, "Send", user=GRACE_SLACK)
            assert sent.response["replace_original"] is True and "on its way to 2 of 4" in sent.text
            await runtime.run_until_idle()
            for user in (ALAN_SLACK, ADA_SLACK):
                [dm] = chat_posts(fake, user)  # once each
                text = block_texts(dm)
                assert "*Thursday*" in text and "<https://example.org/s|the schedule>" in text
                assert "<!channel>" not in dm.raw.decode()
            assert not chat_posts(fake, ROSALIND_SLACK)
            [report] = chat_posts(fake, GRACE_SLACK)
            assert "reached 2 of 4; 1 has no Slack account linked, 1 is not in the workspace." in block_texts(report)

            again = await click(slack, fake, blocks, "Send", user=GRACE_SLACK)
            assert again.ephemeral and "was already sent" in again.text
            await runtime.run_until_idle()
            assert len(chat_posts(fake, ADA_SLACK)) == 1

            # Cancel: nothing is sent
            before = len(fake.calls_to("chat.postMessage"))
            dropped = await slash(slack, fake, "/announce", '"Never mind" to:all dm:true', user=GRACE_SLACK)
            cancelled = await click(slack, fake, dropped.response["blocks"], "Cancel", user=GRACE_SLACK)
            assert "was not sent, and nothing was queued" in cancelled.text
            await runtime.run_until_idle()
            assert len(fake.calls_to("chat.postMessage")) == before

            # channel posts: <!channel> only when asked; a <!channel> typed in the text is escaped
            pinged = await slash(slack, fake, "/announce", '"Forms due Friday" to:all ping:true', user=GRACE_SLACK)
            await click(slack, fake, pinged.response["blocks"], "Send", user=GRACE_SLACK)
            quiet = await slash(slack, fake, "/announce", '"Quiet <!channel> note" to:track:intro', user=GRACE_SLACK)
            await click(slack, fake, quiet.response["blocks"], "Send", user=GRACE_SLACK)
            await runtime.run_until_idle()
            [post] = chat_posts(fake, "C0GENER0001")
            assert post.body["text"].startswith("<!channel> ") and "<!channel>" in block_texts(post)
            [plain] = chat_posts(fake, "C0INTRO0001")
            assert "<!channel>" not in json.dumps(plain.body) and "&lt;!channel&gt;" in block_texts(plain)


def test_slack_splits_a_long_announcement_cleanly():
    from zoneinfo import ZoneInfo

    words = " ".join(f"word{n} **bold{n} text** [link {n}](https://example.org/{n})" for n in range(200))
    long = words[: MAX_MESSAGE - 1].rsplit(" ", 1)[0]
    rendered = slack_render(announcement_message("Grace", "Course", "everyone", long, ping=False), ZoneInfo("UTC"))
    texts = [b["text"]["text"] for b in rendered.blocks if b["type"] == "section"]
    assert len(texts) >= 2 and all(len(t) <= 3000 for t in texts)
    for piece in texts:  # no link or bold is cut in two
        assert piece.count("<") == piece.count(">") and piece.count("*") % 2 == 0
    assert re.sub(r"\s+", " ", " ".join(texts)).startswith("word0 *bold0 text* <https://example.org/0|link 0>")
    assert Message.model_validate_json(announcement_message("G", "C", "all", long, ping=True).model_dump_json()).ping

"""The core's mention markup (``<@#id|Name>``) and how each platform renders it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.core.messages import Message, MessageField, mention, mentioned, plain, render_mentions
from bot.platforms.discord.render import render as discord_render
from bot.platforms.discord.sender import ping
from bot.platforms.slack.render import render as slack_render

UTC = ZoneInfo("UTC")


def test_mention_markup_names_the_person_and_survives_odd_names():
    assert mention(12, "Ada Lovelace") == "<@#12|Ada Lovelace>"
    assert mention(3, "Bob <b>|x") == "<@#3|Bob bx>"  # characters that would break the markup are dropped
    message = Message(title=f"Hi {mention(1, 'A')}", text=f"{mention(2, 'B')} & {mention(3, 'C')}")
    message.fields.append(MessageField(name="x", value=mention(4, "D")))
    assert mentioned(message) == {1, 2, 3, 4}


def test_plain_text_shows_at_name():
    assert plain(f"with {mention(2, 'Hedy Lamarr')}", UTC) == "with @Hedy Lamarr"
    text = render_mentions(f"{mention(2, 'Hedy')} and {mention(3, 'Ada')}", {2: "U2"}, lambda u: f"<@{u}>")
    assert text == "<@U2> and @Ada"  # Ada has no account on this platform


def test_discord_renders_mentions_and_pings_only_users():
    message = Message(title=f"Round for {mention(1, 'Ada')}", text=f"1. {mention(1, 'Ada')} & {mention(2, 'Hedy')}")
    [out] = discord_render(message, UTC, {1: "111"})
    embed = out.embeds[0]
    assert embed.description == "1. <@111> & @Hedy" and embed.title == "Round for @Ada"
    sent = ping(["111", "222", "111"])
    assert sent["content"] == "<@111> <@222>"
    allowed = sent["allowed_mentions"]
    assert allowed.users is True and allowed.everyone is False and allowed.roles is False
    assert len(ping([str(10**17 + i) for i in range(200)])["content"]) <= 2000


def test_slack_renders_mentions_as_its_own():
    message = Message(text=f"with {mention(1, 'Ada & co')} and {mention(2, 'Hedy')}")
    rendered = slack_render(message, UTC, mentions={1: "U0SCH000001"})
    section = rendered.blocks[0]["text"]["text"]
    assert section == "with <@U0SCH000001> and @Hedy"
    assert rendered.text == "with @Ada & co and @Hedy"  # the notification fallback stays readable

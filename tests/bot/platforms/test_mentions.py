"""``Message.mentions``: a post that names roster people notifies them on each platform (Discord: mentions in the
content, where they ping, not in the embed; Slack: ``<@U…>`` in the text; console: their names); someone without
an account there is named in plain text rather than left out."""

from __future__ import annotations

import io

from bot.core.messages import Message
from bot.core.platform import ChannelTarget
from bot.platforms.console import ConsoleSender
from tests.fakes.discord_api import FakeDiscord, started_discord
from tests.fakes.slack_api import FakeSlackAPI, running_slack


async def people(app, *names: str) -> list[int]:
    return [(await app.people.by_name(n))[0].id for n in names]


async def test_mentions_on_every_platform(app):
    ids = await people(app, "Ada Lovelace", "Rosalind Franklin", "Hedy Lamarr")
    message = Message(title="Section reminder", text="We meet soon.", mentions=ids)

    async with FakeDiscord() as fake:
        platform = await started_discord(app, fake)
        try:
            await app.senders["discord"].send(ChannelTarget("section-americas"), message, key="m1")
            [call] = fake.find("POST", rf"/channels/{fake.channels['section-americas']}/messages")
            body = call.payload()
            # Ada and Hedy have Discord ids in the roster; Rosalind has none and is named instead
            assert body["content"] == "<@100000000000000011> <@100000000000000012> Rosalind Franklin"
            assert body["allowed_mentions"] == {"parse": ["users"]}  # users ping; @everyone and roles never
            assert "<@" not in body["embeds"][0]["description"]
        finally:
            await platform.stop()

    async with FakeSlackAPI.running() as fake, running_slack(app, fake):
        await app.senders["slack"].send(ChannelTarget("section-americas"), message, key="m2")
        [call] = fake.calls_to("chat.postMessage")
        assert call.body["text"].startswith("<@U0SCH000001> <@U0SCH000003> Hedy Lamarr ")
        assert call.json("blocks")[0]["text"]["text"] == "<@U0SCH000001> <@U0SCH000003> Hedy Lamarr"

    out = io.StringIO()
    await ConsoleSender(app, out).send(ChannelTarget("section-americas"), message, key="m3")
    assert "@Ada Lovelace, @Rosalind Franklin, @Hedy Lamarr" in out.getvalue()

"""Contract tests: the exact wire shape of every Discord route the adapter uses.

If a discord.py upgrade changes a route, a method or a body shape, one of these fails and names it; then
check the fake (tests/fakes/discord_api.py) and the adapter against Discord's documentation.
"""

from __future__ import annotations

import discord
import pytest

from bot.core.messages import Message
from bot.core.platform import ChannelTarget, DMTarget
from bot.platforms.discord.sender import nonce_for
from tests.fakes.discord_api import ADA, TOKEN, FakeDiscord

CALLBACK = r"/interactions/(\d+)/([^/]+)/callback"
FOLLOWUP = r"/webhooks/(\d+)/([^/]+)"


@pytest.fixture
def fake(fake_discord: FakeDiscord) -> FakeDiscord:
    return fake_discord


def test_the_pinned_discord_py_version():
    assert discord.__version__.startswith("2.7."), "re-check these contracts and the fake for a new discord.py"


async def test_login(fake, discord_platform):
    login = fake.requests[0]
    assert (login.method, login.path) == ("GET", "/users/@me")
    assert login.headers["Authorization"] == f"Bot {TOKEN}"
    assert (fake.requests[1].method, fake.requests[1].path) == ("GET", "/oauth2/applications/@me")
    assert not fake.find("GET", "/gateway(/bot)?")  # a single-shard client connects to the configured gateway


async def test_gateway_identify(fake, discord_platform):
    [identify] = [m for m in fake.gateway_received if m["op"] == 2]
    assert set(identify["d"]) == {"token", "properties", "compress", "large_threshold", "intents"}
    assert identify["d"]["token"] == TOKEN
    assert identify["d"]["intents"] == discord.Intents(guilds=True).value


async def test_command_sync(fake, discord_platform):
    [sync] = fake.find("PUT", r"/applications/(\d+)/guilds/(\d+)/commands")
    assert sync.path == f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands"
    readings = next(c for c in sync.json if c["name"] == "readings")
    assert {k: readings[k] for k in ("name", "type", "options")} == {
        "name": "readings",
        "type": 1,
        "options": [{"type": 4, "name": "week", "description": "Week number", "required": False, "autocomplete": True}],
    }
    assert readings["description"]


async def test_interaction_callback(fake, discord_platform):
    interaction = fake.command("help", user_id=ADA)
    await fake.interact(interaction)
    call = await fake.wait_for("POST", CALLBACK)
    assert call.path == f"/interactions/{interaction['id']}/{interaction['token']}/callback"
    assert call.query == {"with_response": "1"}
    assert call.headers.get("Authorization") is None  # interaction routes are authorised by their token
    body = call.payload()
    assert set(body) == {"type", "data"}
    assert body["type"] == 4
    assert set(body["data"]) >= {"embeds", "flags"}
    assert body["data"]["flags"] == 64


async def test_webhook_followup(fake, discord_platform):
    discord_platform.handler.defer_after = 0  # answer everything late: defer, then follow up
    interaction = fake.command("help", user_id=ADA)
    await fake.interact(interaction)
    deferred = await fake.wait_for("POST", CALLBACK)
    assert deferred.payload() == {"type": 5, "data": {"flags": 64}}
    followup = await fake.wait_for("POST", FOLLOWUP)
    assert followup.path == f"/webhooks/{fake.app_id}/{interaction['token']}"
    assert followup.query["wait"] == "1"
    assert followup.payload()["embeds"][0]["description"].startswith("You are **Ada Lovelace**")


async def test_channel_message(app, fake, discord_platform):
    sender = app.senders["discord"]
    first = await sender.send(ChannelTarget("general"), Message(text="x"), key="weekly:1:intro")
    [post] = fake.find("POST", r"/channels/\d+/messages")
    assert post.path == f"/channels/{fake.channels['general']}/messages"
    assert post.headers["Authorization"] == f"Bot {TOKEN}"
    body = post.payload()
    assert {k: body[k] for k in ("embeds", "nonce", "enforce_nonce")} == {
        "embeds": [{"flags": 0, "type": "rich", "description": "x"}],
        "nonce": nonce_for("weekly:1:intro"),  # derived from the outbox key: a resend after a crash reuses it
        "enforce_nonce": True,
    }
    assert isinstance(body["nonce"], str) and len(body["nonce"]) <= 25  # Discord's limit for a string nonce
    # what the nonce is for: the same key sent again is the same message, another key a new one
    again = await sender.send(ChannelTarget("general"), Message(text="x"), key="weekly:1:intro")
    other = await sender.send(ChannelTarget("general"), Message(text="x"), key="weekly:1:advanced")
    assert again == first != other
    assert [p.payload()["nonce"] for p in fake.find("POST", r"/channels/\d+/messages")] == [
        nonce_for("weekly:1:intro"),
        nonce_for("weekly:1:intro"),
        nonce_for("weekly:1:advanced"),
    ]
    assert len(fake.posted) == 2


async def test_dm_channel_create(app, fake, discord_platform):
    ada = await app.people.by_platform("discord", str(ADA))
    await app.senders["discord"].send(DMTarget(ada.id), Message(text="x"), key="k")
    [create] = fake.find("POST", "/users/@me/channels")
    assert create.json == {"recipient_id": ADA}
    [post] = fake.find("POST", r"/channels/\d+/messages")
    assert post.path == f"/channels/{fake.dm_channels[ADA]}/messages"

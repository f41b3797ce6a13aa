"""The Discord sender (used by the outbox worker) over the fake Discord: channels by name, DMs, errors."""

from __future__ import annotations

import pytest

from bot.core.messages import Attachment, Message, MessageField
from bot.core.platform import ChannelTarget, DMTarget, PermanentSendError, TransientSendError
from bot.platforms.discord.sender import nonce_for
from tests.fakes.discord_api import ADA, EMMY, FakeDiscord

MESSAGES = r"/channels/(\d+)/messages"


@pytest.fixture
def fake(fake_discord: FakeDiscord) -> FakeDiscord:
    return fake_discord


@pytest.fixture
def sender(app, discord_platform):
    return app.senders["discord"]


async def person_id(app, discord_id: int) -> int:
    person = await app.people.by_platform("discord", str(discord_id))
    assert person is not None
    return person.id


async def test_posts_to_a_channel_by_name_with_a_stable_enforced_nonce(fake, sender):
    message = Message(title="Week 1", text="Welcome!", fields=[MessageField(name="Read", value="this")])
    message_id = await sender.send(ChannelTarget("intro-course"), message, key="weekly:1:intro")
    [post] = fake.find("POST", MESSAGES)
    assert post.path == f"/channels/{fake.channels['intro-course']}/messages"
    body = post.payload()
    assert body["nonce"] == nonce_for("weekly:1:intro") and len(body["nonce"]) <= 25
    assert body["enforce_nonce"] is True
    assert body["embeds"][0]["title"] == "Week 1"
    assert body["embeds"][0]["fields"] == [{"name": "Read", "value": "this", "inline": False}]
    assert message_id is not None and message_id.isdigit()

    await sender.send(ChannelTarget("#Intro-Course"), message, key="weekly:1:intro")  # a resend: same nonce
    assert [p.payload()["nonce"] for p in fake.find("POST", MESSAGES)] == [nonce_for("weekly:1:intro")] * 2
    assert nonce_for("weekly:1:intro") != nonce_for("weekly:1:advanced")


async def test_files_go_as_multipart_attachments(fake, sender):
    message = Message(text="Here", files=[Attachment(filename="a.csv", content=b"x,y\n1,2\n")])
    await sender.send(ChannelTarget("general"), message, key="file")
    [post] = fake.find("POST", MESSAGES)
    assert post.files == [("a.csv", b"x,y\n1,2\n")]
    assert post.payload()["attachments"][0]["filename"] == "a.csv"


async def test_an_unknown_channel_is_permanent(sender, fake):
    with pytest.raises(PermanentSendError, match="no text channel #nowhere"):
        await sender.send(ChannelTarget("nowhere"), Message(text="hi"), key="k")
    assert not fake.find("POST", MESSAGES)


async def test_a_dm_creates_the_channel_once_and_remembers_it(app, fake, sender):
    ada = await person_id(app, ADA)
    await sender.send(DMTarget(ada), Message(text="one"), key="dm1")
    assert len(fake.find("POST", "/users/@me/channels")) == 1
    assert fake.find("POST", "/users/@me/channels")[0].json == {"recipient_id": ADA}
    sql = "SELECT channel_id FROM dm_channels WHERE platform = 'discord' AND user_id = ?"
    stored = await app.db.fetchval(sql, (str(ADA),))
    assert stored == str(fake.dm_channels[ADA])

    requests_before = len(fake.requests)
    await sender.send(DMTarget(ada), Message(text="two"), key="dm2")
    assert len(fake.requests) == requests_before + 1  # the second DM costs one request
    assert fake.requests[-1].path == f"/channels/{fake.dm_channels[ADA]}/messages"


async def test_dm_refusals_are_permanent(app, fake, sender):
    no_discord = await app.people.by_email("rosalind@example.com")  # on the roster without a Discord id
    with pytest.raises(PermanentSendError, match="has not linked a Discord account"):
        await sender.send(DMTarget(no_discord.id), Message(text="hi"), key="x")
    with pytest.raises(PermanentSendError, match="nobody with id"):
        await sender.send(DMTarget(999999), Message(text="hi"), key="y")
    fake.fail(403, code=50007, message="Cannot send messages to this user", path=MESSAGES)
    with pytest.raises(PermanentSendError, match="cannot DM"):
        await sender.send(DMTarget(await person_id(app, EMMY)), Message(text="hi"), key="z")


async def test_rate_limits_and_server_errors_are_transient_and_never_retried_behind_the_worker(fake, sender):
    # One request per send: a 429 reaches the outbox at once with its retry_after (the worker's pacer waits).
    fake.rate_limit(1, retry_after=0.25, path=MESSAGES)
    with pytest.raises(TransientSendError) as caught:
        await sender.send(ChannelTarget("general"), Message(text="hi"), key="rl")
    assert caught.value.retry_after == pytest.approx(0.25)
    assert len(fake.find("POST", MESSAGES)) == 1

    for status in (500, 502, 503, 504):  # discord.py's own client would re-send 500/502/504 after 1, 3, 5 ... s
        fake.fail(status, path=MESSAGES)
        with pytest.raises(TransientSendError, match=str(status)):
            await sender.send(ChannelTarget("general"), Message(text="hi"), key=f"5xx-{status}")
    assert len(fake.find("POST", MESSAGES)) == 5

    fake.fail(400, code=50035, message="Invalid Form Body", path=MESSAGES)
    with pytest.raises(PermanentSendError, match="50035"):
        await sender.send(ChannelTarget("general"), Message(text="hi"), key="bad")


async def test_network_errors_are_transient(fake, sender):
    await fake.__aexit__(None, None, None)  # the server goes away
    with pytest.raises(TransientSendError, match="network error"):
        await sender.send(ChannelTarget("general"), Message(text="hi"), key="net")


async def test_a_vanished_dm_channel_is_forgotten_and_reopened(app, fake, sender):
    ada = await person_id(app, ADA)
    await sender.send(DMTarget(ada), Message(text="one"), key="a")
    fake.fail(404, code=10003, message="Unknown Channel", path=MESSAGES)
    with pytest.raises(TransientSendError, match="DM channel was gone"):
        await sender.send(DMTarget(ada), Message(text="two"), key="b")
    await sender.send(DMTarget(ada), Message(text="two"), key="b")
    assert len(fake.find("POST", "/users/@me/channels")) == 2


async def test_an_empty_message_still_sends_something(fake, sender):
    await sender.send(ChannelTarget("general"), Message(), key="empty")
    assert fake.find("POST", MESSAGES)[0].payload()["embeds"][0]["description"] == "(no content)"

"""The Slack sender (the outbox's way out) and the app manifest generated from the registry."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import CohortBot
from bot.core.messages import Message, Table
from bot.core.platform import ChannelTarget, DMTarget, PermanentSendError, TransientSendError, UnknownOutcomeError
from bot.platforms.slack.manifest import BOT_SCOPES, build_manifest
from bot.platforms.slack.names import SlackNames
from bot.platforms.slack.sender import SlackSender
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

HELLO = Message(title="Week 1", text="**Hello** [notes](https://example.org/n)")


@pytest.fixture
def sender(app: CohortBot, slack_api: FakeSlackAPI) -> SlackSender:
    slack_api.page_size = 3  # channel lists come in several pages
    return SlackSender(app, AsyncWebClient(token=BOT_TOKEN, base_url=slack_api.api_url))


async def _person_id(app: CohortBot, name: str) -> int:
    return next(p.id for p in await app.people.all() if p.name == name)


async def test_posts_to_channel_by_name_with_key_metadata(sender, slack_api):
    ts = await sender.send(ChannelTarget("intro-course"), HELLO, key="weekly:1:intro")
    ts2 = await sender.send(ChannelTarget("#section-apac"), HELLO, key="weekly:1:apac")
    assert ts and ts2 and ts != ts2
    first, second = slack_api.calls_to("chat.postMessage")
    assert first.body["channel"] == "C0INTRO0001" and second.body["channel"] == "C0SECAP0001"
    assert first.body["metadata"] == {"event_type": "cohortbot_outbox", "event_payload": {"key": "weekly:1:intro"}}
    assert first.body["blocks"][1]["text"]["text"] == "*Hello* <https://example.org/n|notes>"
    assert "Hello" in first.body["text"]
    # names resolved with a paged conversations.list, once (cached)
    assert len(slack_api.calls_to("conversations.list")) == 3


async def test_dm_uses_the_slack_id(app, sender, slack_api):
    await sender.send(DMTarget(await _person_id(app, "Emmy Noether")), HELLO, key="dm:1")
    (call,) = slack_api.calls_to("chat.postMessage")
    assert call.body["channel"] == "U0SCH000004"
    assert not slack_api.calls_to("conversations.open")


async def test_permanent_failures(app, sender, slack_api):
    with pytest.raises(PermanentSendError, match="has not linked a Slack account"):
        await sender.send(DMTarget(await _person_id(app, "Hedy Lamarr")), HELLO, key="dm:2")
    with pytest.raises(PermanentSendError, match="no person"):
        await sender.send(DMTarget(999999), HELLO, key="dm:3")
    with pytest.raises(PermanentSendError, match="no Slack channel called #nowhere"):
        await sender.send(ChannelTarget("nowhere"), HELLO, key="c:1")
    slack_api.fail("chat.postMessage", "is_archived")
    with pytest.raises(PermanentSendError, match="is_archived"):
        await sender.send(ChannelTarget("intro-course"), HELLO, key="c:2")


async def test_rate_limit_is_transient_with_retry_after(sender, slack_api):
    slack_api.rate_limit("chat.postMessage", times=1, retry_after=7)
    with pytest.raises(TransientSendError) as err:
        await sender.send(ChannelTarget("intro-course"), HELLO, key="c:3")
    assert err.value.retry_after == 7
    assert len(slack_api.calls_to("chat.postMessage")) == 1  # no hidden retry: the outbox worker paces
    slack_api.fail("chat.postMessage", "internal_error", status=503)
    with pytest.raises(TransientSendError, match="internal_error"):
        await sender.send(ChannelTarget("intro-course"), HELLO, key="c:4")
    assert await sender.send(ChannelTarget("intro-course"), HELLO, key="c:5")


async def test_limit_rate_knob(sender, slack_api):
    slack_api.limit_rate("chat.postMessage", per_second=0.5)
    assert await sender.send(ChannelTarget("intro-course"), HELLO, key="r:1")
    with pytest.raises(TransientSendError) as err:
        await sender.send(ChannelTarget("intro-course"), HELLO, key="r:2")
    assert err.value.retry_after == 2


async def test_limit_rate_counts_calls_in_a_rolling_second(sender, slack_api):
    slack_api.limit_rate("chat.postMessage", per_second=3)
    for n in range(3):
        assert await sender.send(ChannelTarget("intro-course"), HELLO, key=f"w:{n}")
    with pytest.raises(TransientSendError) as err:
        await sender.send(ChannelTarget("intro-course"), HELLO, key="w:3")
    assert err.value.retry_after == 1


async def test_connection_error_is_transient(app):
    sender = SlackSender(app, AsyncWebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/", retry_handlers=[]))
    with pytest.raises(TransientSendError):
        await sender.send(ChannelTarget("C0INTRO0001"), HELLO, key="x:1")


async def test_large_table_is_posted_then_uploaded(sender, slack_api):
    table = Table(headers=["name"], rows=[[f"person {i}"] for i in range(400)])
    await sender.send(ChannelTarget("intro-course"), Message(title="Roster", table=table), key="t:1")
    assert slack_api.calls_to("chat.postMessage")
    complete = slack_api.calls_to("files.completeUploadExternal")[0]
    assert complete.body["channel_id"] == "C0INTRO0001"


def test_manifest_lists_every_command_and_scope(app):
    manifest = build_manifest(app.registry, request_url="https://bot.example.org/slack/events", app_name="mlsafety")
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    names = SlackNames(app.registry.top_level_names())  # /join is Slack's own: the app's is /cohort-join
    assert set(commands) == {f"/{names.slack(name)}" for name in app.registry.top_level_names()}
    for command in app.registry:
        entry = commands[f"/{names.slack(command.group or command.name)}"]
        assert entry["url"] == "https://bot.example.org/slack/events"
        assert entry["should_escape"] is False
        assert entry["description"]
    assert commands["/readings"]["usage_hint"] == "[week:<week>]"
    assert commands["/timezone"]["usage_hint"] == "zone:<zone>"
    assert "usage_hint" not in commands["/help"]
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    for scope in ("commands", "chat:write", "chat:write.public", "im:write", "users:read", "files:write"):
        assert scope in scopes
    assert set(scopes) == set(BOT_SCOPES)
    settings = manifest["settings"]
    assert settings["interactivity"] == {"is_enabled": True, "request_url": "https://bot.example.org/slack/events"}
    assert settings["event_subscriptions"]["request_url"] == "https://bot.example.org/slack/events"
    assert settings["socket_mode_enabled"] is False
    assert manifest["display_information"]["name"] == "mlsafety"
    assert build_manifest(app.registry)["settings"]["interactivity"]["request_url"] == "https://YOUR-HOST/slack/events"


def test_manifest_groups_two_word_commands(app):
    from bot.core.commands import Command, Option, OptionType

    async def handler(ctx):
        return None

    app.registry.add(Command("zz start", "Start a round.", handler, (Option("rounds", "n", OptionType.INTEGER),)))
    app.registry.add(Command("zz stop", "Stop.", handler))
    commands = {c["command"]: c for c in build_manifest(app.registry)["features"]["slash_commands"]}
    assert commands["/zz"]["usage_hint"] == "start [rounds:<integer>] | stop"
    assert "start: Start a round." in commands["/zz"]["description"]


async def test_which_failures_leave_the_outcome_unknown(sender, slack_api):
    # An answer that says nothing was posted is a plain transient error; one after which the post may exist is not.
    slack_api.fail("chat.postMessage", "service_unavailable", status=503)
    with pytest.raises(TransientSendError) as caught:
        await sender.send(ChannelTarget("intro-course"), HELLO, key="u:1")
    assert not isinstance(caught.value, UnknownOutcomeError)
    for error, status in (("fatal_error", 200), ("internal_error", 500), ("gateway_timeout", 504)):
        slack_api.fail("chat.postMessage", error, status=status)
        with pytest.raises(UnknownOutcomeError, match=error):
            await sender.send(ChannelTarget("intro-course"), HELLO, key=f"u:{error}")


async def test_the_fake_limits_each_channel_like_slack(sender, slack_api):
    slack_api.limit_rate("chat.postMessage", per_second=50, per_channel=1.0)
    assert await sender.send(ChannelTarget("intro-course"), HELLO, key="c:1")
    assert await sender.send(ChannelTarget("general"), HELLO, key="c:2")  # another channel: fine
    with pytest.raises(TransientSendError) as caught:
        await sender.send(ChannelTarget("intro-course"), HELLO, key="c:3")  # the same one within a second
    assert caught.value.retry_after == 1

"""The Slack adapter end to end: real slack-bolt over loopback, signed requests, a fake Web API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.app import CohortBot
from bot.core.commands import Command, Option, OptionType
from bot.core.errors import UserError
from bot.core.messages import Form, FormField, Message, Reply, Table
from bot.core.roles import Role
from bot.platforms.slack import SlackConfigError, SlackPlatform, build_manifest
from bot.platforms.slack.settings import SlackSettings
from bot.settings import Settings
from tests.fakes.slack_api import (
    FakeSlackAPI,
    interact,
    mention,
    post_signed,
    running_slack,
    signed_headers,
    slash,
    slash_body,
    view_submission,
)

ADA, EMMY, ALAN, GRACE = "U0SCH000001", "U0SCH000004", "U0FAC000001", "U0ORG000001"


async def _boom(ctx) -> Reply:
    raise RuntimeError("secret internals: db password hunter2")


async def _purge(ctx) -> Reply:
    return Reply.text("purged", private=False)


async def _note(ctx) -> Reply:
    form = Form(
        title="A note about this week",
        command="zz-note-save",
        fields=[
            FormField(name="text", label="Your note", long=True),
            FormField(name="mood", label="Mood", required=False),
        ],
        fixed={"week": "2"},
        intro="Tell us **anything**.",
    )
    return Reply.ask(form)


async def _note_save(ctx, week: int, text: str, mood: str | None = None) -> Reply:
    if text == "slow":
        await asyncio.sleep(0.5)
    if text == "bad":
        raise UserError("That note is too short.", field="text")
    return Reply.text(f"Saved week {week}: {text} ({mood or 'no mood'})")


async def _big(ctx) -> Reply:
    table = Table(headers=["n", "square"], rows=[[str(i), str(i * i)] for i in range(500)])
    return Reply.of(Message(title="Squares", text="All of them.", table=table))


@pytest.fixture
async def slack(app: CohortBot, slack_api: FakeSlackAPI) -> AsyncIterator[SlackPlatform]:
    app.registry.add(Command("zz-boom", "Always fails.", _boom))
    app.registry.add(Command("zz-purge", "Organizers only.", _purge, min_role=Role.ORGANIZER))
    app.registry.add(Command("zz-note", "Opens a form.", _note))
    options = (Option("week", "w", OptionType.WEEK), Option("text", "t"), Option("mood", "m"))
    app.registry.add(Command("zz-note-save", "Saves a note.", _note_save, options=options))
    app.registry.add(Command("zz-big", "A large table.", _big))
    async with running_slack(app, slack_api) as platform:
        yield platform


async def test_readings_renders_dates_links_and_is_private(slack, slack_api):
    result = await slash(slack, slack_api, "/readings", "2", user=ADA)
    assert result.status == 200
    assert result.ack == ""  # acknowledged at once, answered through the response_url
    assert result.ephemeral
    blocks = result.response["blocks"]
    assert blocks[0]["type"] == "header" and "Week 2" in blocks[0]["text"]["text"]
    assert "<!date^" in result.text and "{date_short_pretty} at {time}|Sun 25 Jan 2026, 23:59 EST>" in result.text
    assert "<https://arxiv.org/abs/1412.6572|Explaining and Harnessing Adversarial Examples" in result.text
    assert "Week 2" in result.response["text"]  # plain fallback


async def test_bare_word_option_and_named_option_agree(slack, slack_api):
    bare = await slash(slack, slack_api, "/readings", "3", user=EMMY)
    named = await slash(slack, slack_api, "/readings", "week:3", user=EMMY)
    assert "Week 3" in bare.response["blocks"][0]["text"]["text"]
    assert bare.response["blocks"] == named.response["blocks"]


async def test_parse_errors_reply_privately_with_usage(slack, slack_api):
    unknown = await slash(slack, slack_api, "/readings", "wek:2")
    assert unknown.ephemeral and "has no option 'wek'" in unknown.text and "/readings [week:<week>]" in unknown.text
    missing = await slash(slack, slack_api, "/readings", "week:")
    assert "needs a value" in missing.text
    unterminated = await slash(slack, slack_api, "/timezone", 'zone:"Europe/Berlin')
    assert "never closed" in unterminated.text and "/timezone zone:<zone>" in unterminated.text
    out_of_range = await slash(slack, slack_api, "/readings", "week:99")  # the core's own validation
    assert "There is no week 99" in out_of_range.text


async def test_help_depends_on_who_asks(slack, slack_api):
    ada = await slash(slack, slack_api, "/help", user=ADA)
    grace = await slash(slack, slack_api, "/help", user=GRACE)
    alan = await slash(slack, slack_api, "/help", user=ALAN)
    assert "*Ada Lovelace* (scholar)" in ada.text and "zz-purge" not in ada.text
    assert "zz-purge" in grace.text
    assert "You run: americas-tue" in alan.text


async def test_timezone_for_different_members(app, slack, slack_api):
    ada = await slash(slack, slack_api, "/timezone", "zone:Asia/Tokyo", user=ADA)
    assert "Your time zone is now *Asia/Tokyo*" in ada.text
    assert (await app.people.by_platform("slack", ADA)).timezone == "Asia/Tokyo"
    emmy = await slash(slack, slack_api, "/timezone", "Europe/Lisbon", user=EMMY)
    assert "*Europe/Lisbon*" in emmy.text
    assert (await app.people.by_platform("slack", EMMY)).timezone == "Europe/Lisbon"
    bad = await slash(slack, slack_api, "/timezone", "zone:Mars/Olympus", user=ADA)
    assert bad.ephemeral and "not a time zone I know" in bad.text
    assert (await app.people.by_platform("slack", ADA)).timezone == "Asia/Tokyo"


async def test_unknown_user_gets_a_polite_refusal(slack, slack_api):
    result = await slash(slack, slack_api, "/readings", user="U0NOBODY99", user_name="stranger")
    assert result.ephemeral
    assert "not on the roster" in result.text and "Slack member id: U0NOBODY99" in result.text


async def test_permission_refusal_and_public_reply(slack, slack_api):
    refused = await slash(slack, slack_api, "/zz-purge", user=ADA)
    assert refused.ephemeral and "only for organizers" in refused.text and "you are a scholar" in refused.text
    allowed = await slash(slack, slack_api, "/zz-purge", user=GRACE)
    assert allowed.response["response_type"] == "in_channel" and "purged" in allowed.text


async def test_unknown_command_is_answered(slack, slack_api):
    result = await slash(slack, slack_api, "/frobnicate")
    assert "don't know the command /frobnicate" in result.text


async def test_handler_exception_is_an_apology_without_traceback(slack, slack_api):
    result = await slash(slack, slack_api, "/zz-boom", user=ADA)
    assert result.ephemeral and "Sorry, something went wrong" in result.text
    assert "hunter2" not in result.text and "Traceback" not in result.text


async def test_adapter_failure_is_an_apology(slack, slack_api, monkeypatch):
    import bot.platforms.slack.app as slack_app

    def broken(*args, **kwargs):
        raise ValueError("renderer exploded")

    monkeypatch.setattr(slack_app, "render", broken)
    result = await slash(slack, slack_api, "/readings", user=ADA)
    assert result.ephemeral and "Sorry, something went wrong on my side" in result.text
    assert "exploded" not in result.text


async def test_large_table_goes_to_dm_as_csv(slack, slack_api):
    result = await slash(slack, slack_api, "/zz-big", user=ADA)
    assert "Sent squares.csv in our direct messages" in result.text
    assert slack_api.calls_to("conversations.open")[0].body["users"] == ADA
    assert slack_api.calls_to("files.getUploadURLExternal")[0].body["filename"] == "squares.csv"
    upload = slack_api.calls_to("upload")[0]
    assert upload.raw.decode().splitlines()[:2] == ["n,square", "0,0"]
    complete = slack_api.calls_to("files.completeUploadExternal")[0]
    assert complete.body["channel_id"] == "D0SCH000001"


async def test_signature_is_checked(slack, slack_api):
    form, _ = slash_body(slack_api, "/help")
    body = urlencode(form)
    forged, _ = await post_signed(slack, body, secret="not-the-secret")
    stale, _ = await post_signed(slack, body, timestamp=int(time.time()) - 6 * 60)
    assert (forged, stale) == (401, 401)
    async with aiohttp.ClientSession() as session:
        unsigned = await session.post(f"http://127.0.0.1:{slack.port}/slack/events", data=body)
        assert unsigned.status == 401
    assert not slack_api.calls_to("response")


async def test_healthz(slack):
    async with aiohttp.ClientSession() as session:
        resp = await session.get(f"http://127.0.0.1:{slack.port}/healthz")
        assert resp.status == 200
        assert (await resp.json())["ok"] is True


async def test_sender_is_registered(app, slack):
    assert app.senders["slack"] is slack.sender


async def test_modal_round_trip_and_field_error(slack, slack_api):
    await slash(slack, slack_api, "/zz-note", user=ADA, wait=False)
    opened = await slack_api.wait_for("views.open")
    assert opened[0].body["trigger_id"].startswith("trigger-")
    view = opened[0].json("view")
    assert view["type"] == "modal"
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["text", "mood"]
    assert view["blocks"][1]["element"]["multiline"] is True
    assert view["blocks"][0]["text"]["text"] == "Tell us *anything*."  # the core's markup, in Slack's
    meta = json.loads(view["private_metadata"])
    assert meta == {
        "command": "zz-note-save",
        "fixed": {"week": "2"},
        "channel": "C0INTRO0001",
        "channel_name": "intro-course",
        "fields": ["text", "mood"],
    }

    status, answer = await interact(slack, view_submission(view, {"text": "bad", "mood": None}, ADA))
    assert status == 200
    assert answer == {"response_action": "errors", "errors": {"text": "That note is too short."}}
    assert not slack_api.calls_to("chat.postEphemeral")

    status, answer = await interact(slack, view_submission(view, {"text": "loved it", "mood": None}, ADA))
    assert status == 200 and answer == {}  # the modal closes
    posted = (await slack_api.wait_for("chat.postEphemeral"))[0]
    assert posted.body["channel"] == "C0INTRO0001" and posted.body["user"] == ADA
    assert "Saved week 2: loved it (no mood)" in posted.body["text"]


async def test_socket_mode_slash_command(app, slack_api):
    async with running_slack(app, slack_api, socket_mode=True) as platform:
        assert platform.socket_mode
        assert slack_api.calls_to("apps.connections.open")
        payload, ident = slash_body(slack_api, "/readings", "week:1", user=EMMY)
        ack = await slack_api.send_envelope("slash_commands", payload)
        answer = await slack_api.response(ident)
    assert ack["envelope_id"].startswith("env-")
    assert answer["response_type"] == "ephemeral"
    assert "Week 1" in answer["blocks"][0]["text"]["text"]


def test_missing_credentials_fail_loudly(app):
    settings = Settings(_env_file=None)
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN"):
        SlackPlatform(app, SlackSettings(_env_file=None, bot_token=None, signing_secret="s"), settings)
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET") as err:
        SlackPlatform(app, SlackSettings(_env_file=None, bot_token="xoxb-very-secret", signing_secret=None), settings)
    assert "xoxb-very-secret" not in str(err.value)


async def _open_note_form(slack, slack_api) -> dict:
    await slash(slack, slack_api, "/zz-note", user=ADA, wait=False)
    return (await slack_api.wait_for("views.open"))[0].json("view")


async def test_modal_error_on_a_fixed_option_is_posted_not_shown_in_the_modal(slack, slack_api):
    view = await _open_note_form(slack, slack_api)
    meta = json.loads(view["private_metadata"])
    view["private_metadata"] = json.dumps({**meta, "fixed": {"week": "99"}})
    status, answer = await interact(slack, view_submission(view, {"text": "fine"}, ADA))
    assert status == 200 and answer == {}
    posted = (await slack_api.wait_for("chat.postEphemeral"))[0]
    assert "There is no week 99" in posted.body["text"]


async def test_slow_modal_submission_closes_the_modal_first(slack, slack_api, monkeypatch):
    import bot.platforms.slack.app as slack_app

    monkeypatch.setattr(slack_app, "ACK_SECONDS", 0.05)
    view = await _open_note_form(slack, slack_api)
    status, answer = await interact(slack, view_submission(view, {"text": "slow"}, ADA))
    assert status == 200 and answer == {}
    assert not slack_api.calls_to("chat.postEphemeral")  # the answer comes after the modal closed
    posted = (await slack_api.wait_for("chat.postEphemeral"))[0]
    assert "Saved week 2: slow" in posted.body["text"]


async def test_mention_points_to_help(slack, slack_api):
    status, _ = await post_signed(slack, json.dumps(mention(ADA, "Ev01")), content_type="application/json")
    assert status == 200
    posted = (await slack_api.wait_for("chat.postEphemeral"))[0]
    assert posted.body["user"] == ADA and "/help" in posted.body["text"]
    assert slack_api.calls_to("auth.test")  # events go through bolt's whole dispatch, its authorization included


async def test_tables_show_times_in_the_readers_own_zone_after_timezone(app, slack_api, slack):
    """A table's times are written out (Slack cannot localise inside a code block): in the reader's zone."""
    done = await slash(slack, slack_api, "/submit", "week:1 link:https://example.org/hw1", user=ADA)
    assert "Week 1" in done.text
    before = await slash(slack, slack_api, "/submissions", "week:1", user=ADA)
    assert "EST" in before.text and "JST" not in before.text  # the cohort's zone (America/New_York)
    await slash(slack, slack_api, "/timezone", "zone:Asia/Tokyo", user=ADA)
    after = await slash(slack, slack_api, "/submissions", "week:1", user=ADA)
    assert "JST" in after.text and "EST" not in after.text


async def _remind(ctx, text: str | None = None) -> Reply:
    return Reply.text(f"noted {text!r}; see /remind and /help, or https://example.org/remind")


async def test_a_command_slack_keeps_for_itself_gets_the_prefix_everywhere(app, slack_api):
    """/remind is Slack's own: the manifest registers /cohort-remind, it arrives as /remind, messages say
    /cohort-remind. (The real /topic, from the pairs feature, gets the same: /cohort-topic.)"""
    app.registry.add(Command("remind", "Remind me.", _remind, (Option("text", "What"),)))
    manifest = build_manifest(app.registry)
    names = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert "/cohort-remind" in names and "/remind" not in names and "/readings" in names
    assert "/cohort-topic" in names and "/topic" not in names
    async with running_slack(app, slack_api) as slack:
        answer = await slash(slack, slack_api, "/cohort-remind", "text:cats", user=ADA)
        assert "noted 'cats'; see /cohort-remind and /help" in answer.text
        assert "https://example.org/remind" in answer.text  # a link is not a command
        helped = await slash(slack, slack_api, "/help", user=ADA)
        assert "/cohort-remind [text:&lt;string&gt;]" in helped.text and "`/remind" not in helped.text
        usage = await slash(slack, slack_api, "/cohort-remind", "nope:1", user=ADA)
        assert "/cohort-remind" in usage.text and "/remind " not in usage.text
        topic = await slash(slack, slack_api, "/cohort-topic", "", user=ADA)
        assert "/cohort-topic text:" in topic.text and "/topic " not in topic.text


# --- bad requests, retries and replays -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (bytes(range(256)) * 4, "application/octet-stream"),  # binary, not UTF-8
        (urlencode({"payload": '{"type": "view_submission", "user": '}), None),  # a broken JSON payload
        (b'{"type": "event_callback", "event": ', "application/json"),  # broken JSON
        (urlencode({"payload": "[1, 2, 3]"}), None),  # JSON, but not an object
    ],
    ids=["binary", "broken-payload", "broken-json", "not-an-object"],
)
async def test_an_unreadable_body_is_401_unsigned_and_400_signed_never_500(
    slack, slack_api, caplog, body, content_type
):
    forged, _ = await post_signed(slack, body, secret="not-the-secret", content_type=content_type)
    signed, _ = await post_signed(slack, body, content_type=content_type)
    assert (forged, signed) == (401, 400)
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.levelname == "ERROR"]
    assert not slack_api.calls_to("response") and not slack_api.calls_to("chat.postEphemeral")


@pytest.mark.parametrize("timestamp", ["soon", "", "1e9", "١٢٣", "-1", " 17"])
async def test_a_timestamp_that_is_not_a_number_is_401(slack, slack_api, caplog, timestamp):
    form, _ = slash_body(slack_api, "/help")
    status, _ = await post_signed(slack, urlencode(form), timestamp=timestamp)
    assert status == 401
    assert "Traceback" not in caplog.text and not slack_api.calls_to("response")


async def no_more_than(slack_api, method: str, count: int, where=None) -> None:
    """Exactly ``count`` calls to ``method``: a late duplicate (run in the background by bolt) gets 0.3 s to show."""
    with pytest.raises(AssertionError):
        await slack_api.wait_for(method, count=count + 1, within=0.3, where=where)
    assert len([c for c in slack_api.calls_to(method) if where is None or where(c)]) == count


async def _open_submit_form(slack, slack_api) -> dict:
    await slash(slack, slack_api, "/submit", "week:1", user=ADA, wait=False)
    return (await slack_api.wait_for("views.open"))[0].json("view")


async def _ada_submissions(app) -> int:
    from cogs.homework._common import repo

    ada = next(p.id for p in await app.people.all() if p.name == "Ada Lovelace")
    return len(await repo(app).history(ada, 1))


async def test_a_replayed_modal_submission_records_one_submission(app, slack, slack_api):
    view = await _open_submit_form(slack, slack_api)
    payload = urlencode({"payload": json.dumps(view_submission(view, {"link": "https://example.com/hw1"}, ADA))})
    headers = signed_headers(payload)  # the very same signed request, sent three times within 5 minutes
    for _ in range(3):
        status, _ = await post_signed(slack, payload, headers=headers)
        assert status == 200
    await slack_api.wait_for("chat.postEphemeral")
    # a new submission (a fresh trigger_id) after the replays is still recorded
    status, _ = await interact(slack, view_submission(view, {"link": "https://example.com/hw1-v2"}, ADA))
    assert status == 200
    await slack_api.wait_for("chat.postEphemeral", count=2)
    await no_more_than(slack_api, "chat.postEphemeral", 2)
    assert await _ada_submissions(app) == 2


async def test_a_replayed_slash_command_is_answered_once(slack, slack_api):
    form, ident = slash_body(slack_api, "/readings", "1", user=ADA)
    body = urlencode(form)
    headers = signed_headers(body)
    assert [(await post_signed(slack, body, headers=headers))[0] for _ in range(2)] == [200, 200]
    await slack_api.response(ident)
    later = await slash(slack, slack_api, "/help", user=ADA)  # runs after the replay was answered
    assert later.status == 200
    await no_more_than(slack_api, "response", 1, where=lambda c: c.target == ident)


async def test_a_retried_event_is_handled_once(slack, slack_api):
    body = json.dumps(mention(ADA, "Ev0RETRY"))
    assert (await post_signed(slack, body, content_type="application/json"))[0] == 200
    await slack_api.wait_for("chat.postEphemeral")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert (await post_signed(slack, body, content_type="application/json", headers=retry))[0] == 200
    other = json.dumps(mention(ADA, "Ev0OTHER"))
    assert (await post_signed(slack, other, content_type="application/json"))[0] == 200
    await slack_api.wait_for("chat.postEphemeral", count=2)
    await no_more_than(slack_api, "chat.postEphemeral", 2)


def test_recently_seen_forgets_after_its_ttl_and_stays_bounded():
    from bot.platforms.slack.dedupe import RecentlySeen, request_key

    now = [0.0]
    seen = RecentlySeen(ttl=600, max_keys=3, clock=lambda: now[0])
    assert seen.first_time("a") and not seen.first_time("a")
    now[0] = 599.0
    assert not seen.first_time("a")
    now[0] = 600.0
    assert seen.first_time("a")  # a replay older than the signature window cannot pass the signature check anyway
    for key in "bcde":
        assert seen.first_time(key)
    assert len(seen) == 3 and seen.first_time("a")  # the oldest were dropped to stay within max_keys
    assert request_key({"event_id": "Ev1", "trigger_id": "t"}) == "event:Ev1"
    assert request_key({"trigger_id": "t"}) == "trigger:t"
    assert request_key({"type": "view_closed"}) is None


async def test_a_port_taken_at_start_is_one_clear_error(app, slack_api):
    import socket

    from bot.core.errors import StartupError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        platform = SlackPlatform(
            app,
            SlackSettings(_env_file=None, bot_token="xoxb-t", signing_secret="s", api_url=slack_api.api_url),
            Settings(_env_file=None, http_host="127.0.0.1", http_port=port),
        )
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
            await platform.start()
    assert "slack" not in app.senders


async def test_a_redelivered_socket_mode_envelope_is_answered_once(app, slack_api):
    async with running_slack(app, slack_api, socket_mode=True):
        payload, ident = slash_body(slack_api, "/readings", "week:1", user=EMMY)
        for _ in range(2):  # Slack redelivers an envelope it thinks was not acknowledged
            await slack_api.send_envelope("slash_commands", payload)
        await slack_api.response(ident)
        payload2, ident2 = slash_body(slack_api, "/help", user=EMMY)
        await slack_api.send_envelope("slash_commands", payload2)
        await slack_api.response(ident2)
        await no_more_than(slack_api, "response", 1, where=lambda c: c.target == ident)


async def test_answers_reuse_one_http_session(app: CohortBot):
    """Every response_url answer and Web API call goes over the adapter's one session: keep-alive connections,
    not a new session (and connection) per answer."""
    async with FakeSlackAPI.running() as fake, running_slack(app, fake) as slack:
        for _ in range(4):
            assert "Week" in (await slash(slack, fake, "/readings", "2", user=ADA)).text
        await slash(slack, fake, "/submit", "1", user=ADA, wait=False)  # a modal: views.open, on the Web API client
        await fake.wait_for("views.open")
        peers = {c.peer for c in fake.calls if c.method in ("response", "views.open")}
        assert len(peers) == 1, peers  # sequential answers: one keep-alive connection
    assert slack.session is None  # closed with the adapter


async def test_a_slash_command_whose_text_says_payload_is_answered(slack, slack_api):
    """Bolt reads any form body containing the word "payload" as an interactivity payload (and finds none: 404);
    slash commands over HTTP are parsed by the adapter."""
    result = await slash(slack, slack_api, "/readings", "week:2", user=ADA, channel_name="payload-club")
    assert result.status == 200 and "Week 2" in result.text
    link = await slash(slack, slack_api, "/submit", "week:1 link:https://example.org/payload.pdf", user=ADA)
    assert "Week 1 homework received" in link.text


async def test_an_ssl_check_is_answered_and_runs_nothing(slack, slack_api):
    status, text = await post_signed(slack, urlencode({"ssl_check": "1", "token": "legacy"}))
    assert (status, text) == (200, "")
    assert not slack_api.calls_to("response")


async def test_stopping_lets_acknowledged_commands_answer(app, slack_api):
    async def slow(ctx) -> Reply:
        await asyncio.sleep(0.3)
        return Reply.text("slow but answered")

    app.registry.add(Command("zz-slow", "Takes a while.", slow))
    async with running_slack(app, slack_api) as platform:
        result = await slash(platform, slack_api, "/zz-slow", user=ADA, wait=False)
        assert result.status == 200  # acknowledged; the answer is still being made when the adapter stops
    assert not platform._running
    assert "slow but answered" in json.dumps([c.body for c in slack_api.calls_to("response")])

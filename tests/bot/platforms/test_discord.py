"""The Discord adapter end to end: the real discord.py client against the fake Discord over loopback."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from bot.app import CohortBot
from bot.core.commands import Command, Option, OptionType
from bot.core.messages import Form, FormField, Reply
from bot.core.roles import Role
from bot.platforms.discord import DiscordPlatform
from tests.fakes.discord_api import ADA, ALAN, EMMY, GRACE, STRANGER, FakeDiscord, Recorded, started_discord

CALLBACK = r"/interactions/\d+/[^/]+/callback"
FOLLOWUP = r"/webhooks/\d+/[^/]+"
EPHEMERAL = 64


@pytest.fixture
def fake(fake_discord: FakeDiscord) -> FakeDiscord:
    """Short name for the fake Discord of tests/bot/platforms/conftest.py."""
    return fake_discord


async def run(fake: FakeDiscord, name: str, options: dict | None = None, *, user_id: int = ADA, **kw) -> Recorded:
    """Run ``/name`` as ``user_id`` and return the interaction callback the bot sent."""
    before = len(fake.find("POST", CALLBACK))
    await fake.interact(fake.command(name, options, user_id=user_id, **kw))
    return await fake.wait_for("POST", CALLBACK, count=before + 1)


def embed(call: Recorded, n: int = 0) -> dict:
    return call.payload()["data"]["embeds"][n]


def wire_text(fake: FakeDiscord) -> str:
    """Everything the bot sent over REST, as one string."""
    return "\n".join(json.dumps(r.payload()) + json.dumps(r.form) for r in fake.requests)


async def restart_with(
    app: CohortBot, fake: FakeDiscord, platform: DiscordPlatform, *commands: Command
) -> DiscordPlatform:
    """Stop ``platform``, register ``commands`` and start a fresh one (commands are synced at start)."""
    await platform.stop()
    for c in commands:
        app.registry.add(c)
    return await started_discord(app, fake)


async def test_start_logs_in_identifies_and_syncs_every_declared_command(app, fake, discord_platform):
    assert [(r.method, r.path) for r in fake.requests][:2] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
    ]
    identify = next(m for m in fake.gateway_received if m["op"] == 2)
    assert identify["d"]["token"] == "fake-discord-token"
    assert identify["d"]["intents"] == 1  # guilds only: roles and channels
    synced = fake.find("PUT", rf"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands")
    assert len(synced) == 1
    by_name = {c["name"]: c for c in synced[0].json}
    assert sorted(by_name) == app.registry.top_level_names()
    readings = by_name["readings"]
    assert readings["options"] == [
        {"type": 4, "name": "week", "description": "Week number", "required": False, "autocomplete": True}
    ]
    zone = by_name["timezone"]["options"][0]
    assert (zone["type"], zone["required"], zone["autocomplete"]) == (3, True, True)
    assert by_name["help"]["options"] == []
    assert app.senders["discord"] is discord_platform.sender


async def test_readings_is_an_ephemeral_embed_with_the_due_date_as_a_discord_timestamp(app, fake, discord_platform):
    call = await run(fake, "readings", {"week": 2})
    body = call.payload()
    assert body["type"] == 4
    assert body["data"]["flags"] == EPHEMERAL
    e = embed(call)
    assert e["title"].startswith("Week 2: ")
    assert e["description"].startswith("Week 2 of 8 of ")
    names = [f["name"] for f in e["fields"]]
    assert names[0].startswith("Readings (about ") and "Lecture" in names and "Homework" in names
    homework = next(f["value"] for f in e["fields"] if f["name"] == "Homework")
    due = app.cohort.due(2)
    assert f"<t:{int(due.timestamp())}:F>" in homework
    assert call.query == {"with_response": "1"}


async def test_help_differs_by_role_and_server_roles_count(fake, discord_platform):
    scholar = embed(await run(fake, "help", user_id=ADA))
    organizer = embed(await run(fake, "help", user_id=GRACE))
    assert "(scholar)" in scholar["description"]
    assert "(organizer)" in organizer["description"]
    assert "/report" in organizer["description"] and "/report" not in scholar["description"]
    # Alan is a facilitator on the roster and holds the "Facilitators" server role.
    assert "(facilitator)" in embed(await run(fake, "help", user_id=ALAN))["description"]


async def test_timezone_as_another_member_updates_their_zone(app, fake, discord_platform):
    call = await run(fake, "timezone", {"zone": "Asia/Tokyo"}, user_id=EMMY)
    assert "**Asia/Tokyo**" in embed(call)["description"]
    person = await app.people.by_platform("discord", str(EMMY))
    assert person.timezone == "Asia/Tokyo"


async def test_someone_not_on_the_roster_gets_a_polite_private_refusal(fake, discord_platform):
    call = await run(fake, "readings", user_id=STRANGER)
    assert call.payload()["data"]["flags"] == EPHEMERAL
    text = embed(call)["description"]
    assert "not on the roster" in text and str(STRANGER) in text


async def test_a_role_too_low_is_refused_privately(app, fake, discord_platform):
    async def secret(ctx):
        return "the secret"

    only_organizers = Command("secret", "Organizers only.", secret, min_role=Role.ORGANIZER)
    platform = await restart_with(app, fake, discord_platform, only_organizers)
    try:
        refused = await run(fake, "secret", user_id=ADA)
        assert refused.payload()["data"]["flags"] == EPHEMERAL
        assert "only for organizers" in embed(refused)["description"]
        allowed = await run(fake, "secret", user_id=GRACE)
        assert embed(allowed)["description"] == "the secret"
    finally:
        await platform.stop()


async def test_an_invalid_option_is_an_ephemeral_error(fake, discord_platform):
    call = await run(fake, "readings", {"week": 9})
    assert call.payload()["data"]["flags"] == EPHEMERAL
    assert "There is no week 9" in embed(call)["description"]


async def test_autocomplete_answers_week_and_zone_with_choices(fake, discord_platform):
    await fake.interact(fake.autocomplete("readings", "week", "2"))
    call = await fake.wait_for("POST", CALLBACK)
    body = call.payload()
    assert body["type"] == 8
    choices = body["data"]["choices"]
    assert choices and all(isinstance(c["value"], int) for c in choices)
    assert choices[0]["value"] == 2 and choices[0]["name"].startswith("Week 2: ")

    await fake.interact(fake.autocomplete("timezone", "zone", "Berl"))
    call = await fake.wait_for("POST", CALLBACK, count=2)
    assert {"name": "Europe/Berlin", "value": "Europe/Berlin"} in call.payload()["data"]["choices"]


async def test_a_form_opens_a_modal_and_its_submission_is_dispatched(app, fake, discord_platform):
    seen: list[dict] = []

    async def note(ctx, week: int | None = None, text: str | None = None):
        if text is None:
            form = Form(
                title="Your note",
                command="note",
                fields=[
                    FormField(name="text", label="Note", long=True, max_length=500, placeholder="Say it"),
                    FormField(name="week", label="Week (default 3)", required=False, max_length=2),
                ],
                fixed={"week": "3"},
            )
            return Reply.ask(form)
        seen.append({"week": week, "text": text})
        return f"Noted for week {week}: {text}"

    declared = Command(
        "note",
        "Leave a note.",
        note,
        options=(Option("week", "Week", OptionType.WEEK), Option("text", "The note")),
    )
    platform = await restart_with(app, fake, discord_platform, declared)
    try:
        call = await run(fake, "note")
        body = call.payload()
        assert body["type"] == 9
        modal = body["data"]
        assert modal["title"] == "Your note"
        label = modal["components"][0]
        assert label["type"] == 18 and label["label"] == "Note"
        text_input = label["component"]
        assert {k: text_input[k] for k in ("type", "custom_id", "style", "placeholder", "required", "max_length")} == {
            "type": 4,
            "custom_id": "text",
            "style": 2,  # paragraph, as the field is long
            "placeholder": "Say it",
            "required": True,
            "max_length": 500,
        }

        assert modal["components"][1]["component"]["style"] == 1  # short
        await fake.interact(fake.modal_submit(modal["custom_id"], {"text": "hello there", "week": ""}))
        answer = await fake.wait_for("POST", CALLBACK, count=2)
        assert answer.payload()["type"] == 4
        assert embed(answer)["description"] == "Noted for week 3: hello there"
        assert seen == [{"week": 3, "text": "hello there"}]
    finally:
        await platform.stop()


async def test_slow_commands_are_deferred_then_answered_by_followup(app, fake, discord_platform):
    release = asyncio.Event()

    async def waits(ctx):
        await release.wait()
        return "finally"

    async def declared_slow(ctx):
        return "slow but sure"

    platform = await restart_with(
        app,
        fake,
        discord_platform,
        Command("waits", "Waits for an event.", waits, private=False),
        Command("crunch", "Declared slow.", declared_slow, slow=True),
    )
    platform.handler.defer_after = 0.05
    try:
        deferred = await run(fake, "waits")
        assert deferred.payload() == {"type": 5}  # public, as the command is not private
        assert not fake.find("POST", FOLLOWUP)
        release.set()
        followup = await fake.wait_for("POST", FOLLOWUP)
        assert followup.query.get("wait") in ("true", "1")
        assert followup.payload()["embeds"][0]["description"] == "finally"

        platform.handler.defer_after = 10.0  # a slow command does not wait for the timeout
        call = await run(fake, "crunch")
        assert call.payload() == {"type": 5, "data": {"flags": EPHEMERAL}}
        followup = await fake.wait_for("POST", FOLLOWUP, count=2)
        assert followup.payload()["embeds"][0]["description"] == "slow but sure"
    finally:
        await platform.stop()


async def test_errors_become_apologies_without_any_traceback(app, fake, discord_platform):
    async def boom(ctx):
        raise RuntimeError("database exploded at line 42")

    async def odd(ctx):
        return 42  # not a Reply: the core treats it as an unexpected error

    platform = await restart_with(
        app, fake, discord_platform, Command("boom", "Breaks.", boom), Command("odd", "Returns nonsense.", odd)
    )
    try:
        call = await run(fake, "boom")
        assert call.payload()["data"]["flags"] == EPHEMERAL
        assert "Sorry, something went wrong" in embed(call)["description"]
        call = await run(fake, "odd")
        assert call.payload()["data"]["flags"] == EPHEMERAL
        assert "Sorry, something went wrong" in embed(call)["description"]
        wire = wire_text(fake)
        assert "Traceback" not in wire and "exploded" not in wire and "AttributeError" not in wire
    finally:
        await platform.stop()


async def test_two_word_commands_become_a_group_with_subcommands(app, fake, discord_platform):
    async def start(ctx, rounds: int | None = None):
        return f"started {rounds} rounds"

    async def stop(ctx):
        return "stopped"

    platform = await restart_with(
        app,
        fake,
        discord_platform,
        Command(
            "drill start",
            "Start a drill.",
            start,
            options=(Option("rounds", "Rounds", OptionType.INTEGER, min_value=1, max_value=6),),
        ),
        Command("drill stop", "Stop the drill.", stop),
    )
    try:
        synced = {c["name"]: c for c in fake.find("PUT", r"/applications/\d+/guilds/\d+/commands")[-1].json}
        group = synced["drill"]
        assert [(o["type"], o["name"]) for o in group["options"]] == [(1, "start"), (1, "stop")]
        rounds = group["options"][0]["options"][0]
        assert (rounds["type"], rounds["min_value"], rounds["max_value"]) == (4, 1, 6)
        assert "autocomplete" not in rounds
        call = await run(fake, "drill start", {"rounds": 3}, user_id=GRACE)
        assert embed(call)["description"] == "started 3 rounds"
    finally:
        await platform.stop()


async def test_a_dm_command_has_no_server_roles_and_still_works(fake, discord_platform):
    call = await run(fake, "help", user_id=ADA, channel=None)
    assert "(scholar)" in embed(call)["description"]


async def test_a_missing_token_fails_loudly_without_echoing_anything(app, fake):
    platform = DiscordPlatform(app, fake.settings(token=None))
    try:
        await platform.start()
    except RuntimeError as exc:
        assert "DISCORD_TOKEN" in str(exc)
    else:
        raise AssertionError("start() accepted a missing token")
    assert not fake.requests


async def test_a_refused_sync_is_logged_with_what_to_fix(app, fake, caplog):
    fake.fail(403, code=50001, message="Missing Access", path=r"/commands$")
    platform = await started_discord(app, fake)
    try:
        assert "applications.commands" in caplog.text
        assert fake.guild_id and re.search("syncing the commands failed", caplog.text)
        assert "fake-discord-token" not in caplog.text
    finally:
        await platform.stop()


async def test_file_options_are_downloaded_and_tables_use_the_askers_zone(app, fake, discord_platform):
    from bot.core.messages import Message, Table

    got: list = []

    async def upload(ctx, file=None, note: str | None = None):
        got.append(file)
        table = Table(headers=["file", "when"], rows=[[file.filename, "<t:1769403540:F>"]])
        return Reply.of(Message(text=f"{len(file.content)} bytes", table=table))

    declared = Command(
        "upload",
        "Upload a file.",
        upload,
        options=(Option("note", "A note"), Option("file", "The file", OptionType.FILE, required=True)),
    )
    platform = await restart_with(app, fake, discord_platform, declared)
    try:
        synced = {c["name"]: c for c in fake.find("PUT", r"/applications/\d+/guilds/\d+/commands")[-1].json}
        assert [(o["name"], o["type"], o["required"]) for o in synced["upload"]["options"]] == [
            ("file", 11, True),  # required options first, as Discord demands
            ("note", 3, False),
        ]
        call = await run(fake, "upload", user_id=EMMY, attachments={"file": ("work.ipynb", b"{notebook}")})
        assert got[0].filename == "work.ipynb" and got[0].content == b"{notebook}"
        description = embed(call)["description"]
        assert description.startswith("10 bytes") and "Mon 26 Jan 2026, 05:59 CET" in description  # Emmy: Berlin
    finally:
        await platform.stop()


async def test_an_interaction_for_a_command_the_bot_no_longer_has_gets_an_apology(fake, discord_platform):
    await fake.interact(fake.command("ghost"))
    call = await fake.wait_for("POST", CALLBACK)
    assert call.payload()["data"]["flags"] == EPHEMERAL
    assert call.payload()["data"]["content"].startswith("⚠️ Sorry")
    assert "CommandNotFound" not in wire_text(fake)


async def test_a_wrong_token_or_unreachable_discord_fails_start_clearly(app, fake):
    fake.fail(401, message="401: Unauthorized", path="/users/@me")
    platform = DiscordPlatform(app, fake.settings(), guild_ready_timeout=0.05)
    with pytest.raises(RuntimeError, match="Discord refused DISCORD_TOKEN") as caught:
        await platform.start()
    assert "fake-discord-token" not in str(caught.value)
    assert "discord" not in app.senders

    unreachable = fake.settings(api_url="http://127.0.0.1:9/api/v10")
    with pytest.raises(RuntimeError, match="could not reach Discord"):
        await DiscordPlatform(app, unreachable, guild_ready_timeout=0.05).start()

"""Buttons and selects over the real discord.py and slack-bolt clients, against the fakes: a click runs the
command as the clicker, a click without the role is refused, a stale click is answered, and a control keeps
working after the bot restarts (a new app and a new platform on the same database)."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.app import CohortBot
from bot.platforms.discord import DiscordPlatform
from tests.fakes.discord_api import ADA, ALAN, EMMY, FakeDiscord, Recorded, started_discord
from tests.fakes.slack_api import FakeSlackAPI, block_actions, click, running_slack, slash, slash_body
from tests.support import poll

CALLBACK = r"/interactions/\d+/[^/]+/callback"
EPHEMERAL = 64


async def interact(fake: FakeDiscord, payload: dict) -> Recorded:
    """Send one interaction and return the bot's callback to it."""
    before = len(fake.find("POST", CALLBACK))
    await fake.interact(payload)
    return await fake.wait_for("POST", CALLBACK, count=before + 1)


def text_of(call: Recorded) -> str:
    data = call.payload().get("data") or {}
    return " ".join((e.get("description") or "") for e in data.get("embeds") or [])


async def reopened(app: CohortBot) -> CohortBot:
    """A second app on the same database file (the bot after a restart)."""
    again = await CohortBot.open(app.cohort, app.db.path, clock=app.clock)
    poll.install(again)
    return again


async def test_discord_buttons_and_selects(app, clock):
    poll.install(app)
    async with FakeDiscord() as fake:
        platform: DiscordPlatform = await started_discord(app, fake)
        try:
            opened = await interact(fake, fake.command("poll", user_id=ALAN))
            assert opened.payload()["type"] == 4
            message = fake.last_message()
            rows = message["components"]
            assert [c["type"] for row in rows for c in row["components"]] == [2, 2, 3, 5]  # buttons, select, users
            assert all(c["custom_id"].startswith("cb1|poll ") for row in rows for c in row["components"])
            anyone = rows[-1]["components"][0]  # the people select shows its pre-selected person (Ada)
            assert [str(d["id"]) for d in anyone["default_values"]] == [str(ADA)]

            # a multi-select of the section runs as the facilitator; a scholar is refused, privately
            ada, hedy = await app.people.by_name("Ada Lovelace"), await app.people.by_name("Hedy Lamarr")
            picked = await interact(
                fake, fake.click(message, "Who was there?", values=[f"#{ada[0].id}", f"#{hedy[0].id}"], user_id=ALAN)
            )
            assert picked.payload()["type"] == 4 and picked.payload()["data"]["flags"] & EPHEMERAL
            assert "Alan Turing picked Ada Lovelace, Hedy Lamarr." in text_of(picked)
            refused = await interact(fake, fake.click(message, "Who was there?", values=[f"#{ada[0].id}"]))
            assert refused.payload()["data"]["flags"] & EPHEMERAL
            assert "only for facilitators and organizers; you are a scholar" in text_of(refused)

            # Discord's own user picker: ids arrive as users, the core reads them as mentions
            chosen = await interact(fake, fake.click(message, "Pick anyone", values=[str(ADA)], user_id=ALAN))
            assert "Alan Turing picked Ada Lovelace." in text_of(chosen)

            # a button press runs the hidden command as the clicker; its answer replaces the message (type 7)
            voted = await interact(fake, fake.click(message, "Yes", user_id=ADA))
            assert voted.payload()["type"] == 7 and "Ada Lovelace voted yes." in text_of(voted)
            assert voted.payload()["data"]["components"] == []  # the buttons went with the old message
            assert "Ada Lovelace voted yes." in message["embeds"][0]["description"]  # the fake edited it

            await interact(fake, fake.command("poll", user_id=ALAN))
            message = fake.last_message()  # a second poll, for the stale clicks and the restart
            # stale: already done, and expired
            again = await interact(fake, fake.click(message, "Yes", user_id=ADA))
            assert "You have already voted in this poll." in text_of(again)
            clock.advance(timedelta(minutes=11))
            expired = await interact(fake, fake.click(message, "Later", user_id=EMMY))
            assert "That has expired" in text_of(expired) and expired.payload()["data"]["flags"] & EPHEMERAL
        finally:
            await platform.stop()

        # after a restart (new app, new client, no view in memory) the same button still works
        again = await reopened(app)
        platform = await started_discord(again, fake)
        try:
            emmy = await interact(fake, fake.click(message, "Yes", user_id=EMMY))
            assert "Emmy Noether voted yes." in text_of(emmy)
        finally:
            await platform.stop()
            await again.close()


async def test_slack_buttons_and_selects(app, clock):
    poll.install(app)
    async with FakeSlackAPI.running() as fake:
        async with running_slack(app, fake) as slack:
            opened = await slash(slack, fake, "/poll", user="U0FAC000001")
            blocks = opened.response["blocks"]
            actions = next(b for b in blocks if b["type"] == "actions")
            kinds = [e["type"] for e in actions["elements"]]
            assert kinds == ["button", "button", "multi_static_select", "users_select"]
            assert actions["elements"][3]["initial_user"] == "U0SCH000001"  # pre-selected: Ada

            voted = await click(slack, fake, blocks, "Yes", user="U0SCH000001")
            assert voted.response["replace_original"] is True and "Rosalind" not in voted.text
            assert "Ada Lovelace voted yes." in voted.text

            members = next(e for e in actions["elements"] if e["type"] == "multi_static_select")
            values = [o["value"] for o in members["options"][:2]]
            picked = await click(slack, fake, blocks, "Who was there?", values=values, user="U0FAC000001")
            assert picked.ephemeral and "Alan Turing picked Ada Lovelace, Hedy Lamarr." in picked.text
            refused = await click(slack, fake, blocks, "Who was there?", values=values[:1], user="U0SCH000001")
            assert refused.ephemeral and "only for facilitators and organizers; you are a scholar" in refused.text

            anyone = await click(slack, fake, blocks, "Pick anyone", values=["U0SCH000003"], user="U0FAC000001")
            assert "Alan Turing picked Rosalind Franklin." in anyone.text
            outside = await click(slack, fake, blocks, "Pick anyone", values=["U0SCH000004"], user="U0FAC000001")
            assert "Emmy Noether is not in one of your sections" in outside.text

            again = await click(slack, fake, blocks, "Yes", user="U0SCH000001")
            assert again.ephemeral and "You have already voted in this poll." in again.text
            clock.advance(timedelta(minutes=11))
            expired = await click(slack, fake, blocks, "Later", user="U0SCH000004")
            assert "That has expired" in expired.text

        again_app = await reopened(app)
        try:
            async with running_slack(again_app, fake) as slack:
                emmy = await click(slack, fake, blocks, "Yes", user="U0SCH000004")
                assert "Emmy Noether voted yes." in emmy.text
        finally:
            await again_app.close()


async def test_slack_socket_mode_clicks(app):
    poll.install(app)
    async with FakeSlackAPI.running() as fake, running_slack(app, fake, socket_mode=True):
        payload, ident = slash_body(fake, "/poll", user="U0FAC000001")
        await fake.send_envelope("slash_commands", payload)
        blocks = (await fake.response(ident))["blocks"]
        payload, ident = block_actions(fake, blocks, "Yes", user="U0SCH000004")
        ack = await fake.send_envelope("interactive", payload)
        answer = await fake.response(ident)
    assert ack["envelope_id"].startswith("env-")
    assert answer["replace_original"] is True and "Emmy Noether voted yes." in json.dumps(answer)

"""Buttons and selects in the core: ids that carry their action, clicks run as the clicker, expiry, hidden
commands; and on the console (numbered choices)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from bot.core.messages import Action, Button, Message, Select, SelectChoice, action_id, read_action_id
from bot.platforms.console import ConsolePlatform
from tests.plugin import console_actor
from tests.support import poll


@pytest.fixture
def polled(app):
    poll.install(app)
    return app


def test_an_action_id_carries_the_whole_action_and_is_refused_when_too_long(clock):
    expires = clock.now() + timedelta(minutes=5)
    select = Select(
        action=Action(command="attendance mark", options={"section": "a b&c", "week": "3"}, expires=expires),
        into="present",
        choices=[SelectChoice(label="Ada", value="11")],
    )
    read = read_action_id(select.id + "#2")  # a suffix added to keep two identical controls apart is ignored
    assert read is not None and read.command == "attendance mark" and read.into == "present"
    assert read.options == {"section": "a b&c", "week": "3"} and read.expires == expires.replace(microsecond=0)
    assert read_action_id("something-else") is None and read_action_id("cb1|x|%%%=|") is None
    with pytest.raises(ValueError, match="too long"):
        Button(label="x", action=Action(command="x", options={"text": "y" * 200}))
    with pytest.raises(ValueError, match="needs choices"):
        Select(action=Action(command="x"), into="y")


async def test_a_click_runs_the_command_as_the_clicker(polled):
    app = polled
    message = (await app.dispatch(await console_actor(app, "Alan Turing"), "poll")).message
    assert message is not None and [c.kind for c in message.actions] == ["button", "button", "select", "select"]
    yes, _later, members, _anyone = message.actions
    ada = await console_actor(app, "Ada Lovelace")
    reply = await app.dispatcher.click(ada, yes.id)
    assert reply.error is None and reply.replace and "Ada Lovelace voted yes" in reply.message.text
    assert reply.zone == "America/New_York"  # the reader's zone travels with every reply
    ids = [c.value for c in members.choices]
    reply = await app.dispatcher.click(await console_actor(app, "Alan Turing"), members.id, ids[:2])
    assert reply.error is None and "picked Ada Lovelace, Hedy Lamarr" in reply.message.text


async def test_clicks_are_checked_like_typed_commands(polled, clock):
    app = polled
    message = (await app.dispatch(await console_actor(app, "Alan Turing"), "poll")).message
    yes, later, members, _anyone = message.actions
    ada = await console_actor(app, "Ada Lovelace")
    refused = await app.dispatcher.click(ada, members.id, [members.choices[0].value])
    assert refused.private and "That button is only for facilitators and organizers; you are a scholar" in refused.error
    emmy = await console_actor(app, "Katherine Johnson")  # a facilitator, but not of this section
    outside = await app.dispatcher.click(emmy, members.id, [members.choices[0].value])
    assert "is not in one of your sections" in outside.error
    await app.dispatcher.click(ada, yes.id)
    again = await app.dispatcher.click(ada, yes.id)  # already done: the command says so
    assert "already voted" in again.error
    clock.advance(timedelta(minutes=11))
    expired = await app.dispatcher.click(await console_actor(app, "Hedy Lamarr"), later.id)
    assert expired.private and "That has expired" in expired.error and "/poll vote" not in expired.error
    unknown = await app.dispatcher.click(ada, "not-ours")
    assert "not one I know" in unknown.error


async def test_hidden_commands_cannot_be_typed_or_seen(polled):
    app = polled
    typed = await app.dispatch(await console_actor(app, "Ada Lovelace"), "poll vote", {"choice": "yes"})
    assert "I don't know the command /poll vote" in typed.error
    assert "poll vote" not in [c.name for c in app.registry]
    help_text = (await app.dispatch(await console_actor(app, "Grace Hopper"), "help")).message.text
    assert "/poll vote" not in help_text and "/poll" in help_text


async def test_the_console_numbers_buttons_and_choices(polled):
    app = polled
    lines = "\n".join(
        [
            "/as Alan",
            "/poll",
            "/press 3 1,2",
            "/as Ada",
            "/press 3 1",
            "/press 1",
            "/press 1",
            "/press 9",
            "/as Alan",
            "/press 4 Rosalind, Hedy",
        ]
    )
    out = io.StringIO()
    console = ConsolePlatform(app, stdin=io.StringIO(lines + "\n"), stdout=out)
    await console.start()
    await console.run()
    text = out.getvalue()
    assert "[1] Yes" in text and "[2] Later" in text and "[3] Who was there? (choose several): 1) Ada Lovelace" in text
    assert "Alan Turing picked Ada Lovelace, Hedy Lamarr." in text
    assert "That button is only for facilitators and organizers; you are a scholar." in text
    assert "(replaces the message above)" in text and "Ada Lovelace voted yes." in text
    assert "You have already voted in this poll." in text
    assert "There is no button or menu [9]" in text
    assert "Alan Turing picked Rosalind Franklin, Hedy Lamarr." in text


def test_a_message_with_actions_survives_the_outbox_json(clock):
    button = Button(label="Send", action=Action(command="announce send", options={"id": "4"}))
    message = Message(text="Preview", actions=[button])
    again = Message.model_validate_json(message.model_dump_json())
    assert again.actions[0].id == action_id(button) == "cb1|announce send|id=4||"


async def test_a_button_keeps_working_in_a_new_process_on_the_same_database(polled):
    """The action travels in the control's id: a bot started later (a new app on the same file) runs it."""
    from bot.app import CohortBot

    app = polled
    message = (await app.dispatch(await console_actor(app, "Alan Turing"), "poll")).message
    yes = message.actions[0]
    again = await CohortBot.open(app.cohort, app.db.path, clock=app.clock)
    try:
        poll.install(again)
        reply = await again.dispatcher.click(await console_actor(again, "Marie Curie"), yes.id)
        assert reply.error is None and "Marie Curie voted yes." in reply.message.text
    finally:
        await again.close()

"""The permission matrix: every new command (typed, and the checklist's buttons and selects) for every role, and a
facilitator on someone else's section. A refusal is private, says why, and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.context import Place
from tests.cogs.attendance_support import AMERICAS_W1, pid, snapshot
from tests.plugin import console_actor

SCHOLAR, FACILITATOR, ORGANIZER = "Ada Lovelace", "Alan Turing", "Grace Hopper"
ROLE = "only for facilitators and organizers; you are a scholar"
ORGANIZERS_ONLY = "only for organizers"
NOT_MINE = "You can only do that for your own sections (americas-tue); europe-wed is not one of them."
OK = None

# (who, command, options, expected refusal or OK); `{ada}` and `{code}` are filled in by the test
MATRIX = [
    # /attendance, typed
    (SCHOLAR, "attendance", {"section": "americas-tue", "present": "Ada"}, ROLE),
    (FACILITATOR, "attendance", {"section": "americas-tue", "present": "Ada"}, OK),
    (FACILITATOR, "attendance", {"section": "europe-wed", "week": "1", "present": "Emmy"}, NOT_MINE),
    (ORGANIZER, "attendance", {"section": "europe-wed", "week": "1", "present": "Emmy"}, OK),
    # /attendance, the checklist
    (SCHOLAR, "attendance", {"section": "americas-tue"}, ROLE),
    (FACILITATOR, "attendance", {"section": "americas-tue"}, OK),
    (FACILITATOR, "attendance", {"section": "europe-wed", "week": "1"}, NOT_MINE),
    (ORGANIZER, "attendance", {"section": "americas-tue"}, OK),
    # history
    (SCHOLAR, "attendance", {"section": "americas-tue", "history": "true"}, ROLE),
    (FACILITATOR, "attendance", {"section": "europe-wed", "history": "true"}, NOT_MINE),
    (ORGANIZER, "attendance", {"section": "europe-wed", "history": "true"}, OK),
    # /checkin-code
    (SCHOLAR, "checkin-code", {"section": "americas-tue"}, ROLE),
    (FACILITATOR, "checkin-code", {"section": "americas-tue"}, OK),
    (FACILITATOR, "checkin-code", {"section": "europe-wed"}, NOT_MINE),
    (ORGANIZER, "checkin-code", {"section": "europe-wed"}, OK),
    # /checkin
    (SCHOLAR, "checkin", {"code": "{code}"}, OK),
    (FACILITATOR, "checkin", {"code": "{code}"}, "/checkin is for scholars; you are a facilitator"),
    (ORGANIZER, "checkin", {"code": "{code}"}, "/checkin is for scholars; you are an organizer"),
    # /stipend
    (SCHOLAR, "stipend", {}, OK),
    (SCHOLAR, "stipend", {"user": "Ada Lovelace"}, OK),
    (SCHOLAR, "stipend", {"user": "Hedy Lamarr"}, "Scholars can see only their own stipend"),
    (FACILITATOR, "stipend", {}, OK),
    (FACILITATOR, "stipend", {"user": "Hedy Lamarr"}, OK),
    (FACILITATOR, "stipend", {"user": "Emmy Noether"}, "Emmy Noether is not in one of your sections"),
    (
        FACILITATOR,
        "stipend",
        {"user": "Katherine Johnson"},
        "Only organizers see someone else's pay, and Katherine Johnson is a facilitator",
    ),
    (ORGANIZER, "stipend", {}, OK),
    (ORGANIZER, "stipend", {"user": "Emmy Noether"}, OK),
    (ORGANIZER, "stipend", {"user": "Katherine Johnson"}, OK),
    # /stipend-adjust
    (SCHOLAR, "stipend-adjust", {"user": "Alan Turing", "amount": "20", "reason": "x"}, ORGANIZERS_ONLY),
    (FACILITATOR, "stipend-adjust", {"user": "Alan Turing", "amount": "20", "reason": "x"}, ORGANIZERS_ONLY),
    (ORGANIZER, "stipend-adjust", {"user": "Alan Turing", "amount": "20", "reason": "x"}, OK),
]


@pytest.mark.parametrize(("who", "name", "options", "refusal"), MATRIX)
async def test_typed_commands(app, clock, as_, who, name, options, refusal):
    clock.set(AMERICAS_W1 + timedelta(days=1))  # after week 1's americas and europe meetings
    code = (await as_(FACILITATOR, "checkin-code", section="americas-tue")).message.title.split()[-1]
    filled = {k: v.replace("{code}", code) for k, v in options.items()}
    before = await snapshot(app)
    reply = await as_(who, name, **filled)
    if refusal is None:
        assert reply.error is None, reply.error
    else:
        assert reply.error is not None and refusal in reply.error, reply.error
        assert reply.private
        assert await snapshot(app) == before


# The checklist's controls: shown to an organizer for europe-wed (the facilitator's other section) and americas-tue.
CLICKS = [
    (SCHOLAR, "americas-tue", "That button is only for facilitators and organizers; you are a scholar."),
    (FACILITATOR, "americas-tue", OK),
    (FACILITATOR, "europe-wed", NOT_MINE),
    (ORGANIZER, "europe-wed", OK),
]


@pytest.mark.parametrize(("who", "section", "refusal"), CLICKS)
@pytest.mark.parametrize("label", ["Who was there?", "Save", "Excuse someone…"])
async def test_checklist_controls(app, clock, as_, who, section, refusal, label):
    clock.set(AMERICAS_W1 + timedelta(days=1))
    shown = await as_(ORGANIZER, "attendance", section=section, week="1")
    control = next(c for c in shown.message.actions if getattr(c, "label", getattr(c, "placeholder", "")) == label)
    values = [f"#{await pid(app, 'Ada Lovelace' if section == 'americas-tue' else 'Emmy Noether')}"]
    before = await snapshot(app)
    reply = await app.dispatcher.click(
        await console_actor(app, who), control.id, values if label == "Who was there?" else [], Place()
    )
    if refusal is None:
        assert reply.error is None, reply.error
    else:
        assert reply.error is not None and refusal in reply.error, reply.error
        assert reply.private and await snapshot(app) == before


async def test_hidden_commands_cannot_be_typed(app, as_):
    reply = await as_(FACILITATOR, "attendance save", s="americas-tue", w="1")
    assert reply.error == "I don't know the command /attendance save. Try /help."


async def test_help_lists_the_new_commands_by_role(app, as_):
    def listed(reply):
        return reply.message.as_plain_text(app.cohort.zone)

    scholar = listed(await as_(SCHOLAR, "help"))
    assert "/checkin" in scholar and "/stipend" in scholar
    assert "/attendance" not in scholar and "/checkin-code" not in scholar and "/stipend-adjust" not in scholar
    facilitator = listed(await as_(FACILITATOR, "help"))
    assert "/attendance" in facilitator and "/checkin-code" in facilitator and "/stipend-adjust" not in facilitator
    assert "/stipend-adjust" in listed(await as_(ORGANIZER, "help"))
    assert "attendance tick" not in listed(await as_(ORGANIZER, "help"))


async def test_help_lists_scholars_only_commands_only_for_scholars(app, as_):
    """/submit and /checkin are for scholars: others are not offered what would refuse them."""
    for who, shown in ((SCHOLAR, True), (FACILITATOR, False), (ORGANIZER, False)):
        text = (await as_(who, "help")).message.as_plain_text(app.cohort.zone)
        assert ("`/submit week:" in text) is shown and ("`/checkin code:" in text) is shown, who
        refused = await as_(who, "checkin", code="ABC234")
        assert (refused.error is not None and "is for scholars" in refused.error) is not shown, who

"""The roster changes while a checklist is open (someone joins the section, or leaves it): its Save and selects act
on exactly the people they showed. A click whose people are no longer the ones it would show now is refused,
privately and clearly, changing nothing (the ticks so far are kept for the next checklist); a change outside what
the checklist shows refuses nothing. Through the core, the console demo and the Slack fake."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.core.messages import Action, Button
from bot.core.people import Person, PersonInput
from bot.core.roles import Role
from cogs.attendance._commands import shown_digest
from cogs.attendance._common import repo
from tests.cogs.attendance_support import AMERICAS_W1, marks, pid, press, snapshot, text_of
from tests.cogs.test_attendance_console import Demo
from tests.fakes.slack_api import FakeSlackAPI, click, running_slack, slash

CHANGED = "The roster of americas-tue changed since this checklist was shown"


@pytest.fixture
def after_meeting(clock):
    clock.set(AMERICAS_W1 + timedelta(minutes=70))
    return clock


async def join(app, clock, name: str, email: str) -> int:
    """Add a scholar to americas-tue; their roster id."""
    await app.people.upsert(PersonInput(name, email, Role.SCHOLAR, "intro", ("americas-tue",)), clock.now())
    return await pid(app, name)


async def test_someone_joining_under_an_open_checklist_is_never_marked_unseen(app, as_, clock, after_meeting):
    ada = await pid(app, "Ada Lovelace")
    shown = await as_("Alan Turing", "attendance", section="americas-tue")
    ticked = await press(app, "Alan Turing", shown, "Who was there?", [f"#{ada}"])
    assert "1 of 3 present (Ada Lovelace)" in text_of(ticked)
    barbara = await join(app, clock, "Barbara Liskov", "barbara@example.com")  # sorts among the shown

    before = await snapshot(app)
    for label, values in (("Save", None), ("Who was there?", [f"#{ada}"])):
        refused = await press(app, "Alan Turing", ticked, label, values)
        assert refused.error and CHANGED in refused.error and refused.private, refused
        assert "I did not change anything (your earlier ticks are kept)" in refused.error
        assert "Run /attendance section:americas-tue week:1" in refused.error
        assert await snapshot(app) == before  # no mark, the draft as it was

    # again: the newcomer is shown (unticked), the ticks are kept; Save now marks them, as seen
    again = await as_("Alan Turing", "attendance", section="americas-tue")
    assert "Ticked, not saved yet: 1 of 4 present (Ada Lovelace)" in text_of(again)
    assert [c.label for c in again.message.actions[0].choices][:2] == ["Ada Lovelace", "Barbara Liskov"]
    saved = await press(app, "Alan Turing", again, "Save")
    assert saved.error is None
    assert await marks(app, "americas-tue", 1) == {
        "Ada Lovelace": "present",
        "Barbara Liskov": "absent",
        "Hedy Lamarr": "absent",
        "Rosalind Franklin": "absent",
    }
    assert barbara in {c.person_id for c in await repo(app).history("americas-tue", 1)}


async def leave(app, clock, name: str) -> None:
    """Take ``name`` off the roster (their history kept)."""
    [person] = await app.people.by_name(name)
    gone = PersonInput(person.name, person.email, person.role, person.track, person.sections, removed=True)
    await app.people.upsert(gone, clock.now())


async def test_someone_leaving_under_an_open_checklist_is_refused_then_left_alone(app, as_, clock, after_meeting):
    ada, hedy = await pid(app, "Ada Lovelace"), await pid(app, "Hedy Lamarr")
    shown = await as_("Alan Turing", "attendance", section="americas-tue")
    ticked = await press(app, "Alan Turing", shown, "Who was there?", [f"#{ada}", f"#{hedy}"])
    await leave(app, clock, "Rosalind Franklin")
    before = await snapshot(app)
    refused = await press(app, "Alan Turing", ticked, "Save")
    assert refused.error and CHANGED in refused.error and await snapshot(app) == before

    again = await as_("Alan Turing", "attendance", section="americas-tue")
    assert "Ticked, not saved yet: 2 of 2 present" in text_of(again)
    assert (await press(app, "Alan Turing", again, "Save")).error is None
    assert await marks(app, "americas-tue", 1) == {"Ada Lovelace": "present", "Hedy Lamarr": "present"}


async def test_a_long_section_refuses_only_changes_to_the_people_it_shows(app, as_, clock, after_meeting):
    for n in range(110):  # 113 scholars: the checklist shows the first 100 by name (up to Zz Scholar 096)
        person = PersonInput(f"Zz Scholar {n:03}", f"zz{n}@example.com", Role.SCHOLAR, "intro", ("americas-tue",))
        await app.people.upsert(person, clock.now())
    shown = await as_("Alan Turing", "attendance", section="americas-tue")
    last = await pid(app, "Zz Scholar 096")
    ticked = await press(app, "Alan Turing", shown, "Who was there? (76–100)", [f"#{last}"])

    # someone sorting after the first 100 changes nothing the checklist shows (see the Save at the end); someone
    # sorting into them pushes Zz Scholar 096 off: Save and the selects whose people changed are refused
    await join(app, clock, "Zzz Late Joiner", "late@example.com")
    await join(app, clock, "Aaron Early", "aaron@example.com")
    before = await snapshot(app)
    refused = await press(app, "Alan Turing", ticked, "Save")
    assert refused.error and CHANGED in refused.error and await snapshot(app) == before
    for label in ("Who was there? (1–25)", "Who was there? (76–100)"):  # both pages' people changed
        page = await press(app, "Alan Turing", ticked, label, [])
        assert page.error and CHANGED in page.error and await snapshot(app) == before

    # Aaron leaves again: the first 100 are the shown ones once more, and the old checklist saves exactly them
    await leave(app, clock, "Aaron Early")
    saved = await press(app, "Alan Turing", ticked, "Save")
    assert saved.error is None, saved.error
    after = await marks(app, "americas-tue", 1)
    assert len(after) == 100 and after["Zz Scholar 096"] == "present" and after["Ada Lovelace"] == "absent"
    assert "Zzz Late Joiner" not in after and "Aaron Early" not in after


async def test_a_checklist_without_a_digest_is_refused(app, as_, after_meeting):
    """A checklist shown before controls carried their people (or a forged click) cannot mark anyone."""
    shown = await as_("Alan Turing", "attendance", section="americas-tue")
    save = next(c for c in shown.message.actions if isinstance(c, Button) and c.label == "Save")
    options = {k: v for k, v in save.action.options.items() if k != "d"}
    old = Button(label="Save", action=Action(command=save.action.command, options=options, expires=save.action.expires))
    before = await snapshot(app)
    edited = shown.model_copy(update={"message": shown.message.model_copy(update={"actions": [old]})})
    refused = await press(app, "Alan Turing", edited, "Save")
    assert refused.error and CHANGED in refused.error and await snapshot(app) == before


def test_the_digest_names_a_set_of_people_briefly():
    people = [Person(id=i, name=f"p{i}", email=f"p{i}@example.com", role=Role.SCHOLAR) for i in (3, 1, 2)]
    assert shown_digest(people) == shown_digest(reversed(people)) and len(shown_digest(people)) == 12
    assert shown_digest(people) != shown_digest(people[:2]) and shown_digest([]) != ""


async def test_a_roster_change_under_a_checklist_over_slack(app, clock, after_meeting):
    app.platform = "slack"
    async with FakeSlackAPI.running() as fake, running_slack(app, fake) as slack:
        shown = await slash(slack, fake, "/attendance", "section:americas-tue", user="U0FAC000001")
        actions = next(b for b in shown.response["blocks"] if b["type"] == "actions")
        assert all(len(e["action_id"]) <= 100 for e in actions["elements"])
        await join(app, clock, "Barbara Liskov", "barbara@example.com")
        refused = await click(slack, fake, shown.response["blocks"], "Save", user="U0FAC000001")
        assert CHANGED in refused.text and refused.ephemeral
        again = await slash(slack, fake, "/attendance", "section:americas-tue", user="U0FAC000001")
        saved = await click(slack, fake, again.response["blocks"], "Save", user="U0FAC000001")
        assert "Attendance recorded: americas-tue, week 1" in saved.text
        assert not fake.calls_to("response", ok=False)
    assert await marks(app, "americas-tue", 1) == dict.fromkeys(
        ["Ada Lovelace", "Barbara Liskov", "Hedy Lamarr", "Rosalind Franklin"], "absent"
    )


def test_a_roster_change_under_a_checklist_in_the_console_demo() -> None:
    demo = Demo()
    try:
        demo.wait_for("cohortbot demo: ")
        demo.say("/as Alan", "You are now Alan Turing")
        demo.say("/clock 2026-01-13 19:10", "It is now")
        shown = demo.say("/attendance section:americas-tue", r"/press N")
        save = re.search(r"\[(\d+)\] Save", shown).group(1)
        demo.say("/as Grace", "You are now Grace")
        added = demo.say(
            '/roster action:add name:"Barbara Liskov" email:barbara@example.com role:scholar track:intro '
            "section:americas-tue",
            r"Added Barbara|⚠️",
        )
        assert "Added Barbara Liskov (scholar, intro, americas-tue)" in added, added
        demo.say("/as Alan", "You are now Alan")
        refused = demo.say(f"/press {save}", "⚠️")
        assert CHANGED in refused
        again = demo.say("/attendance section:americas-tue", r"/press N")
        assert "0 of 4 present" in again
        save = re.search(r"\[(\d+)\] Save", again).group(1)
        saved = demo.say(f"/press {save}", r"history:true")
        assert "Absent (4): Ada Lovelace, Barbara Liskov, Hedy Lamarr, Rosalind Franklin" in saved
    finally:
        code, errors = demo.close()
    assert code == 0 and "Traceback" not in errors, errors

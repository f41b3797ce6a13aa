"""/attendance through the core (console actors): the checklist (its select keeps a draft, Save records it),
the typed form, corrections with their audit trail, make-ups, cancelled and future meetings, bad input, and the
helpers other features use (present_at, missed)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.messages import timestamp
from bot.core.options import person_ref
from bot.core.people import PersonInput
from bot.core.roles import Role
from cogs.attendance import missed, present_at
from tests.cogs.attendance_support import AMERICAS_W1, marks, ny, pid, press, snapshot, text_of


@pytest.fixture
def after_meeting(clock):
    clock.set(AMERICAS_W1 + timedelta(minutes=70))
    return clock


async def test_checklist_keeps_a_draft_and_save_records_it(app, as_, after_meeting):
    ada, hedy = await pid(app, "Ada Lovelace"), await pid(app, "Hedy Lamarr")
    shown = await as_("Alan Turing", "attendance", section="americas-tue")
    assert shown.error is None and shown.private
    assert "Pre-filled: 0 of 3 present" in text_of(shown)
    select = shown.message.actions[0]
    assert [c.label for c in select.choices] == ["Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin"]
    assert select.min_values == 0 and select.max_values == 3

    # every change of the select runs: it keeps a draft (nothing recorded yet) and replaces the checklist
    ticked = await press(app, "Alan Turing", shown, "Who was there?", [f"#{ada}", f"#{hedy}"])
    assert ticked.replace and "Ticked, not saved yet: 2 of 3 present (Ada Lovelace, Hedy Lamarr)" in text_of(ticked)
    assert ticked.message.actions[0].selected == [f"#{ada}", f"#{hedy}"]
    assert await marks(app, "americas-tue", 1) == {}
    ticked = await press(app, "Alan Turing", ticked, "Who was there?", [f"#{ada}"])
    assert "1 of 3 present (Ada Lovelace)" in text_of(ticked)

    saved = await press(app, "Alan Turing", ticked, "Save")
    assert saved.error is None and saved.replace and not saved.message.actions
    assert "Attendance recorded: americas-tue, week 1" in text_of(saved)
    assert await marks(app, "americas-tue", 1) == {
        "Ada Lovelace": "present",
        "Hedy Lamarr": "absent",
        "Rosalind Franklin": "absent",
    }
    assert [p.name for p in await present_at(app, "americas-tue", 1)] == ["Ada Lovelace"]
    assert [p.name for p in await missed(app, "americas-tue", 1)] == ["Hedy Lamarr", "Rosalind Franklin"]

    # the same checklist again is stale: it changes nothing and says why
    before = await snapshot(app)
    stale = await press(app, "Alan Turing", ticked, "Save")
    assert stale.error and "was saved since this checklist was shown" in stale.error and stale.private
    assert await snapshot(app) == before


async def test_checklist_is_prefilled_from_check_ins_and_keeps_the_excused(app, as_, after_meeting):
    code = (await as_("Alan Turing", "checkin-code", section="americas-tue")).message.title.split()[-1]
    assert (await as_("Hedy Lamarr", "checkin", code=code)).error is None
    excused = await as_(
        "Alan Turing", "attendance", section="americas-tue", week="1", excused="Rosalind", reason="family emergency"
    )
    assert excused.error is None
    assert "Not marked yet (1): Ada Lovelace. The roll call is not complete" in text_of(excused)  # Hedy: present
    shown = await as_("Alan Turing", "attendance", section="americas-tue")
    text = text_of(shown)
    assert "Checked in with the code: Hedy Lamarr." in text
    assert "Excused: Rosalind Franklin (family emergency)." in text
    assert shown.message.actions[0].selected == [person_ref((await app.people.by_name("Hedy Lamarr"))[0])]
    saved = await press(app, "Alan Turing", shown, "Save")
    assert await marks(app, "americas-tue", 1) == {
        "Ada Lovelace": "absent",
        "Hedy Lamarr": "present",
        "Rosalind Franklin": "excused",
    }
    assert "Excused (1): Rosalind Franklin (family emergency)" in text_of(saved)


async def test_save_changes_only_the_people_the_checklist_shows(app, as_, clock, after_meeting):
    for n in range(110):  # 113 scholars: the selects (4 x 25) show the first 100 by name
        person = PersonInput(f"Zz Scholar {n:03}", f"zz{n}@example.com", Role.SCHOLAR, "intro", ("americas-tue",))
        await app.people.upsert(person, clock.now())
    shown = await as_("Alan Turing", "attendance", section="americas-tue")
    selects = [c for c in shown.message.actions if c.kind == "select"]
    assert [len(s.choices) for s in selects] == [25, 25, 25, 25]
    assert "shows the first 100, and Save leaves the others as they are" in text_of(shown)
    seen = {c.value for s in selects for c in s.choices}
    last = await pid(app, "Zz Scholar 096")
    assert f"#{last}" in seen and f"#{await pid(app, 'Zz Scholar 097')}" not in seen
    ticked = await press(app, "Alan Turing", shown, "Who was there? (76–100)", [f"#{last}"])
    saved = await press(app, "Alan Turing", ticked, "Save")
    assert saved.error is None
    after = await marks(app, "americas-tue", 1)
    assert len(after) == 100 and after["Zz Scholar 096"] == "present" and after["Ada Lovelace"] == "absent"
    assert not any(f"Zz Scholar {n:03}" in after for n in range(97, 110))  # never shown: left unmarked


async def test_excuse_button_opens_a_form_that_records_the_reason(app, as_, after_meeting):
    shown = await as_("Alan Turing", "attendance", section="americas-tue")
    form = await press(app, "Alan Turing", shown, "Excuse someone…")
    assert form.form is not None and form.form.command == "attendance"
    assert form.form.fixed == {"section": "americas-tue", "week": "1"}
    done = await as_("Alan Turing", "attendance", **form.form.fixed, excused="Ada", reason="ill")
    assert done.error is None and await marks(app, "americas-tue", 1) == {"Ada Lovelace": "excused"}


async def test_typed_roll_call_records_the_rest_absent_and_corrections_keep_a_trail(app, as_, clock, after_meeting):
    first = await as_("Alan Turing", "attendance", section="americas-tue", week="1", present="Ada, hedy@example.com")
    assert first.error is None and "Attendance recorded" in text_of(first)
    assert await marks(app, "americas-tue", 1) == {
        "Ada Lovelace": "present",
        "Hedy Lamarr": "present",
        "Rosalind Franklin": "absent",
    }
    clock.advance(timedelta(days=1))
    corrected = await as_("Grace Hopper", "attendance", section="americas-tue", week="1", present="Rosalind")
    assert "Attendance corrected" in text_of(corrected)
    assert "Rosalind Franklin: absent → present" in text_of(corrected)
    assert (await marks(app, "americas-tue", 1))["Ada Lovelace"] == "present"  # a correction touches only the named

    history = await as_("Alan Turing", "attendance", section="americas-tue", week="1", history="true")
    rows = history.message.table.rows
    assert [r[1:3] for r in rows] == [
        ["Ada Lovelace", "- → present"],
        ["Hedy Lamarr", "- → present"],
        ["Rosalind Franklin", "- → absent"],
        ["Rosalind Franklin", "absent → present"],
    ]
    assert rows[-1][5] == "Grace Hopper" and rows[0][5] == "Alan Turing"
    assert rows[-1][0] == timestamp(clock.now(), "f") and rows[0][0] == timestamp(clock.now() - timedelta(days=1), "f")


async def test_someone_from_another_section_is_a_make_up(app, as_, clock):
    clock.set(ny(14, 20))  # after europe-wed's week 1 meeting (18:30 London = 13:30 New York)
    reply = await as_("Katherine Johnson", "attendance", section="europe-wed", present="Emmy, Ada")
    assert reply.error is None
    assert "Ada Lovelace (americas-tue: a make-up for their own week 1 meeting)" in text_of(reply)
    assert await marks(app, "europe-wed", 1) == {
        "Ada Lovelace": "present",
        "Emmy Noether": "present",
        "Marie Curie": "absent",
    }
    # the make-up counts for Ada's own week 1 (stipend), and she is not "missing" from her own section's list
    status = await as_("Ada Lovelace", "stipend")
    assert "Sections: 1 of 1 sections so far" in text_of(status)


async def test_a_cancelled_meeting_is_refused_and_counts_against_nobody(app, as_, clock):
    await app.meetings.record("americas-tue", 2, "cancelled", reason="snow storm")
    clock.set(ny(20, 20))
    before = await snapshot(app)
    reply = await as_("Alan Turing", "attendance", section="americas-tue", week="2", present="Ada")
    assert reply.error and "was cancelled (snow storm)" in reply.error and "never counts against anyone" in reply.error
    checklist = await as_("Alan Turing", "attendance", section="americas-tue")  # this week's: cancelled too
    assert checklist.error and "cancelled" in checklist.error
    code = await as_("Alan Turing", "checkin-code", section="americas-tue")
    assert code.error and "cancelled" in code.error
    assert await snapshot(app) == before
    assert await present_at(app, "americas-tue", 2) == [] and await missed(app, "americas-tue", 2) == []
    status = text_of(await as_("Hedy Lamarr", "stipend"))
    assert "1 meeting(s) of americas-tue was cancelled" in status and "5 are needed instead of 6" in status


async def test_default_week_before_this_weeks_meeting_is_last_weeks(app, as_, clock):
    clock.set(ny(19, 10))  # Monday of week 2: week 2's Tuesday meeting has not started
    reply = await as_("Alan Turing", "attendance", section="americas-tue")
    assert reply.error is None and "Attendance: americas-tue, week 1" in text_of(reply)
    assert "Week 2's meeting has not started yet" in text_of(reply)


@pytest.mark.parametrize(
    ("options", "expected", "field"),
    [
        ({"present": "Nobody Atall"}, "Nobody called 'Nobody Atall' is on the roster", "present"),
        ({"week": "9", "present": "Ada"}, "There is no week 9: this cohort has weeks 1–8", "week"),
        ({"week": "0"}, "There is no week 0", "week"),
        ({"week": "3", "present": "Ada"}, "has not started yet", "week"),
        (
            {"present": "Ada", "excused": "Ada", "reason": "ill"},
            "Ada Lovelace is marked both present and excused",
            "excused",
        ),
        ({"present": "Ada", "absent": "Ada"}, "marked both present and absent", "absent"),
        ({"excused": "Hedy"}, "Excused absences carry a reason", "reason"),
        ({"reason": "ill"}, "reason is for excused absences", "reason"),
        ({"absent": "Emmy"}, "Emmy Noether is not in americas-tue", "absent"),
        ({"present": "Alan Turing"}, "Alan Turing is a facilitator; attendance is taken for scholars", "present"),
        ({"section": "mars-sun"}, "There is no section called 'mars-sun'", "section"),
    ],
)
async def test_bad_input_is_answered_clearly_privately_and_changes_nothing(
    app, as_, after_meeting, options, expected, field
):
    await as_("Alan Turing", "attendance", section="americas-tue", week="1", present="Ada")  # something to keep
    before = await snapshot(app)
    reply = await as_("Alan Turing", "attendance", **{"section": "americas-tue", **options})
    assert reply.error is not None and expected in reply.error, reply.error
    assert reply.private and reply.error_field == field
    assert "went wrong" not in reply.error
    assert await snapshot(app) == before


async def test_missed_before_attendance_is_taken_counts_only_explicit_marks(app, as_, after_meeting):
    assert await missed(app, "americas-tue", 1) == []
    await as_("Alan Turing", "attendance", section="americas-tue", absent="Hedy")
    assert [p.name for p in await missed(app, "americas-tue", 1)] == ["Hedy Lamarr"]
    assert await present_at(app, "americas-tue", 1) == []


HUGE = "x" * 5000


@pytest.mark.parametrize(
    ("who", "command", "options"),
    [
        ("Alan Turing", "attendance", {"section": "americas-tue", "present": HUGE}),
        ("Alan Turing", "attendance", {"section": "americas-tue", "excused": "Ada", "reason": HUGE}),
        ("Alan Turing", "attendance", {"section": HUGE}),
        ("Alan Turing", "checkin-code", {"section": "americas-tue", "minutes": HUGE}),
        ("Ada Lovelace", "checkin", {"code": HUGE}),
        ("Ada Lovelace", "stipend", {"user": HUGE}),
        ("Grace Hopper", "stipend-adjust", {"user": "Alan", "amount": HUGE, "reason": "x"}),
        ("Grace Hopper", "stipend-adjust", {"user": "Alan", "amount": "5", "reason": HUGE}),
    ],
)
async def test_a_huge_value_is_refused_briefly_and_changes_nothing(app, as_, after_meeting, who, command, options):
    before = await snapshot(app)
    reply = await as_(who, command, **options)
    assert reply.error is not None and reply.private and len(reply.error) < 400, reply.error[:500]
    assert "went wrong" not in reply.error
    assert await snapshot(app) == before

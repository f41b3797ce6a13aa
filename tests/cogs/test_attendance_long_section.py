"""A section with a long, non-ASCII name: its checklist's buttons and selects carry a short key for it (not the
name), so their ids fit Discord's 100 characters and Slack's 255, and a click finds the section again. Over the
real discord.py and slack-bolt clients against the fakes, which refuse longer ids as the platforms do."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import CohortBot
from bot.cohort import Cohort, load_cohort
from bot.core.clock import ManualClock
from bot.core.options import section_key
from bot.roster import import_roster_file
from tests.cogs.attendance_support import AMERICAS_W1, marks, pid, press, text_of
from tests.fakes.discord_api import ADA, ALAN, FakeDiscord, Recorded, started_discord
from tests.fakes.slack_api import FakeSlackAPI, click, running_slack, slash
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER

LONG = "Américas — séance du mardi soir « Éthique et sûreté de l’IA » pour étudiantes et étudiants 🌎 東京 Ασία"
CALLBACK = r"/interactions/\d+/[^/]+/callback"


@pytest.fixture
def cohort(tmp_path: Path) -> Cohort:
    """The example cohort with americas-tue renamed to :data:`LONG`."""
    text = EXAMPLE_COHORT.read_text().replace(
        "  - name: americas-tue\n", f"  - name: {json.dumps(LONG, ensure_ascii=False)}\n", 1
    )
    path = tmp_path / "cohort.yaml"
    path.write_text(text, encoding="utf-8")
    return load_cohort(path)


@pytest.fixture
async def app(tmp_path: Path, cohort: Cohort, clock: ManualClock) -> AsyncIterator[CohortBot]:
    """The app with the example roster, its americas-tue people in the long-named section."""
    with EXAMPLE_ROSTER.open(newline="") as fp:
        rows = list(csv.DictReader(fp))
    for row in rows:
        row["section"] = LONG if row["section"] == "americas-tue" else row["section"]
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as fp:
        writer = csv.DictWriter(fp, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    bot = await CohortBot.open(cohort, tmp_path / "cohortbot.db", clock=clock)
    report = await import_roster_file(bot.people, roster, cohort, clock.now())
    assert not report.errors, report.summary()
    yield bot
    await bot.close()


async def test_the_key_is_short_stable_and_resolves_to_the_section(app, as_, clock):
    key = section_key(LONG)
    assert len(key) == 13 and key == section_key(f"  {LONG.upper()} ")  # as Cohort.section compares names
    assert app.cohort.section(key).name == LONG and app.cohort.section("~000000000000") is None
    assert len(LONG.encode()) > 100
    clock.set(AMERICAS_W1 + timedelta(minutes=70))
    shown = await as_("Alan Turing", "attendance", section=LONG)
    assert shown.error is None and all(len(c.id) <= 100 for c in shown.message.actions)
    ticked = await press(app, "Alan Turing", shown, "Who was there?", [f"#{await pid(app, 'Ada Lovelace')}"])
    assert f"Attendance: {LONG}, week 1" == ticked.message.title
    # a checklist shown before its section left the cohort file is refused clearly, changing nothing
    sections = [s.model_copy(update={"name": "renamed"}) if s.name == LONG else s for s in app.cohort.sections]
    app.cohort = app.cohort.model_copy(update={"sections": sections})
    app.cohort._by_name = None  # model_copy copies the index of names too
    gone = await press(app, "Alan Turing", ticked, "Save")
    assert gone.error and "no longer in the cohort file" in gone.error
    assert await marks(app, LONG, 1) == {}
    assert "Ticked, not saved yet" in text_of(ticked)


async def interact_discord(fake: FakeDiscord, payload: dict) -> Recorded:
    before = len(fake.find("POST", CALLBACK))
    await fake.interact(payload)
    return await fake.wait_for("POST", CALLBACK, count=before + 1)


async def test_checklist_of_a_long_named_section_over_discord(app, clock):
    app.platform = "discord"
    clock.set(AMERICAS_W1 + timedelta(minutes=70))
    ada, hedy = await pid(app, "Ada Lovelace"), await pid(app, "Hedy Lamarr")
    async with FakeDiscord() as fake:
        platform = await started_discord(app, fake)
        try:
            shown = await interact_discord(fake, fake.command("attendance", {"section": LONG}, user_id=ALAN))
            assert shown.payload()["data"]["flags"] & 64  # privately
            message = fake.last_message()
            ids = [c["custom_id"] for row in message["components"] for c in row["components"]]
            assert len(ids) == 3 and all(i.startswith("cb1|attendance ") and len(i) <= 100 for i in ids)
            ticked = await interact_discord(
                fake, fake.click(message, "Who was there?", values=[f"#{ada}", f"#{hedy}"], user_id=ALAN)
            )
            assert ticked.payload()["type"] == 7 and "2 of 3 present" in json.dumps(
                ticked.payload(), ensure_ascii=False
            )
            message = fake.messages[int(message["id"])]
            refused = await interact_discord(fake, fake.click(message, "Save", user_id=ADA))
            assert "only for facilitators and organizers" in json.dumps(refused.payload())
            saved = await interact_discord(fake, fake.click(message, "Save", user_id=ALAN))
            assert f"Attendance recorded: {LONG}, week 1" in json.dumps(saved.payload(), ensure_ascii=False)
        finally:
            await platform.stop()
    assert await marks(app, LONG, 1) == {
        "Ada Lovelace": "present",
        "Hedy Lamarr": "present",
        "Rosalind Franklin": "absent",
    }


async def test_checklist_of_a_long_named_section_over_slack(app, clock):
    app.platform = "slack"
    clock.set(AMERICAS_W1 + timedelta(minutes=70))
    async with FakeSlackAPI.running() as fake, running_slack(app, fake) as slack:
        shown = await slash(slack, fake, "/attendance", f'section:"{LONG}"', user="U0FAC000001")
        actions = next(b for b in shown.response["blocks"] if b["type"] == "actions")
        assert all(len(e["action_id"]) <= 255 for e in actions["elements"]) and len(actions["elements"]) == 3
        everyone = [o["value"] for o in actions["elements"][0]["options"]]
        ticked = await click(slack, fake, shown.response["blocks"], "Who was there?", values=everyone[:1],
                             user="U0FAC000001")  # fmt: skip
        assert ticked.response["replace_original"] is True and "1 of 3 present" in ticked.text
        saved = await click(slack, fake, ticked.response["blocks"], "Save", user="U0FAC000001")
        assert f"Attendance recorded: {LONG}, week 1" in saved.text
        assert not fake.calls_to("response", ok=False)
    assert await marks(app, LONG, 1) == {
        "Ada Lovelace": "present",
        "Hedy Lamarr": "absent",
        "Rosalind Franklin": "absent",
    }

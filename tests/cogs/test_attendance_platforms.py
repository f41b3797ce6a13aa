"""The whole attendance and stipend flow over the real discord.py and slack-bolt clients, against the fakes:
check-in, the checklist through buttons and selects (and its Excuse form), the typed form, /stipend for each
role, the at-risk alert sent once (through the outbox), and the reports (CSV and the PNG chart)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from urllib.parse import urlencode

from PIL import Image

from bot.delivery import OutboxWorker
from bot.platforms.discord import DiscordPlatform
from schedules.runtime import Runtime
from tests.cogs.attendance_support import AMERICAS_W1, marks, ny, pid
from tests.fakes.discord_api import ADA, ALAN, GRACE, FakeDiscord, Recorded, started_discord
from tests.fakes.slack_api import (
    FakeSlackAPI,
    block_actions,
    click,
    interact,
    post_signed,
    running_slack,
    slash,
    view_submission,
)

CALLBACK = r"/interactions/\d+/[^/]+/callback"
FOLLOW_UP = r"/webhooks/\d+/[^/]+"
EPHEMERAL = 64
WEEK = timedelta(days=7)
ADA_SLACK, ALAN_SLACK, GRACE_SLACK = "U0SCH000001", "U0FAC000001", "U0ORG000001"
HEADS_UP = "A friendly heads-up about your stipend"


def fast_runtime(app) -> Runtime:
    """The runtime with the outbox paced fast enough for a test (the fakes allow 50 calls a second)."""
    return Runtime(app, worker=OutboxWorker(app, rates={"discord": 45.0, "slack": 45.0}))


def check_png(content: bytes) -> None:
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(content))
    image.verify()
    assert image.format == "PNG" and image.size == (800, 450)


# ---- Discord --------------------------------------------------------------------------------------------
async def interact_discord(fake: FakeDiscord, payload: dict) -> Recorded:
    before = len(fake.find("POST", CALLBACK))
    await fake.interact(payload)
    return await fake.wait_for("POST", CALLBACK, count=before + 1)


async def run(fake: FakeDiscord, name: str, options: dict | None = None, *, user_id: int) -> Recorded:
    return await interact_discord(fake, fake.command(name, options, user_id=user_id))


def said(call: Recorded) -> str:
    return json.dumps(call.payload()["data"], ensure_ascii=False)


async def test_attendance_and_stipends_over_discord(app, clock):
    app.platform = "discord"
    ada_ref, hedy_ref = f"#{await pid(app, 'Ada Lovelace')}", f"#{await pid(app, 'Hedy Lamarr')}"
    async with FakeDiscord() as fake:
        platform: DiscordPlatform = await started_discord(app, fake)
        try:
            clock.set(AMERICAS_W1 + timedelta(minutes=5))
            opened = await run(fake, "checkin-code", {"section": "americas-tue"}, user_id=ALAN)
            assert opened.payload()["data"]["flags"] & EPHEMERAL  # the code is shown to the facilitator only
            code = opened.payload()["data"]["embeds"][0]["title"].split()[-1]
            checked = await run(fake, "checkin", {"code": code}, user_id=ADA)
            assert "You're checked in" in said(checked) and checked.payload()["data"]["flags"] & EPHEMERAL

            # the checklist: a select of the roster pre-filled from the check-in, then Save
            shown = await run(fake, "attendance", {"section": "americas-tue"}, user_id=ALAN)
            assert shown.payload()["data"]["flags"] & EPHEMERAL
            message = fake.last_message()
            [select] = [c for row in message["components"] for c in row["components"] if c["type"] == 3]
            assert [o["label"] for o in select["options"]] == ["Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin"]
            assert [o.get("default", False) for o in select["options"]] == [True, False, False]
            refused = await interact_discord(fake, fake.click(message, "Save", user_id=ADA))
            assert "only for facilitators and organizers" in said(refused)
            ticked = await interact_discord(
                fake, fake.click(message, "Who was there?", values=[ada_ref, hedy_ref], user_id=ALAN)
            )
            assert ticked.payload()["type"] == 7  # the checklist replaces itself with the draft shown
            assert "Ticked, not saved yet: 2 of 3 present" in said(ticked)
            message = fake.messages[int(message["id"])]
            saved = await interact_discord(fake, fake.click(message, "Save", user_id=ALAN))
            assert saved.payload()["type"] == 7 and "Attendance recorded: americas-tue, week 1" in said(saved)
            assert await marks(app, "americas-tue", 1) == {
                "Ada Lovelace": "present",
                "Hedy Lamarr": "present",
                "Rosalind Franklin": "absent",
            }
            # the saved checklist is gone (replaced); a new one offers Excuse someone…, a modal with the reason
            await run(fake, "attendance", {"section": "americas-tue", "week": 1}, user_id=ALAN)
            form = await interact_discord(fake, fake.click(fake.last_message(), "Excuse someone…", user_id=ALAN))
            modal = form.payload()
            assert modal["type"] == 9 and "Excuse an absence: week 1" in json.dumps(modal)
            await fake.interact(
                fake.modal_submit(modal["data"]["custom_id"], {"excused": "Rosalind", "reason": "ill"}, user_id=ALAN)
            )
            excused = await fake.wait_for("POST", CALLBACK, count=len(fake.find("POST", CALLBACK)) + 1)
            assert "Rosalind Franklin: absent → excused" in said(excused)
            # the typed form, weeks 2 and 3: Ada is absent twice, Emmy comes on a make-up
            for week in (2, 3):
                clock.set(AMERICAS_W1 + (week - 1) * WEEK + timedelta(hours=1))
                typed = await run(
                    fake,
                    "attendance",
                    {"section": "americas-tue", "week": week, "present": "Hedy, Rosalind, Emmy Noether"},
                    user_id=ALAN,
                )
                assert "Attendance recorded" in said(typed) and "a make-up for their own week" in said(typed)
            bad = await run(
                fake, "attendance", {"section": "americas-tue", "week": 3, "present": "Ada", "excused": "Ada"},
                user_id=ALAN,
            )  # fmt: skip
            assert bad.payload()["data"]["flags"] & EPHEMERAL and "marked both present and excused" in said(bad)

            # /stipend for each role
            clock.set(ny(2, 12, month=2))  # Monday of week 4
            mine = await run(fake, "stipend", user_id=ADA)
            assert "1 of 3 sections so far (6 needed); you need every one of the 5 left" in said(mine)
            assert mine.payload()["data"]["flags"] & EPHEMERAL
            pay = await run(fake, "stipend", user_id=ALAN)
            assert "Your hours and pay" in said(pay) and "USD 180" in said(pay)
            everyone = await run(fake, "stipend", user_id=GRACE)
            assert "Stipends: everyone" in said(everyone) and "🟠 " in said(everyone)

            # the at-risk alert: through the outbox, to Ada's DMs, once
            runtime = fast_runtime(app)
            await runtime.run_until_idle()
            dm = f"/channels/{fake.dm_channels[ADA]}/messages"

            def heads_ups() -> list[dict]:
                posts = [r.payload() for r in fake.find("POST", dm)]
                return [p for p in posts if p.get("embeds") and p["embeds"][0].get("title") == HEADS_UP]

            sections = [p for p in heads_ups() if "section meeting" in p["embeds"][0]["description"]]
            assert (
                len(sections) == 1 and "each of the 5 still to come counts" in sections[0]["embeds"][0]["description"]
            )
            alan_dm = f"/channels/{fake.dm_channels[ALAN]}/messages"
            digests = [r.payload()["embeds"][0] for r in fake.find("POST", alan_dm) if r.payload().get("embeds")]
            assert any("Ada Lovelace" in e["description"] and "can miss no more sections" in e["description"]
                       for e in digests)  # fmt: skip
            count = len(heads_ups())
            await runtime.reload()
            await runtime.run_until_idle()
            assert len(heads_ups()) == count

            # the reports: CSV and the chart, privately
            report = await run(fake, "report", {"kind": "attendance"}, user_id=GRACE)
            assert report.payload()["type"] == 5  # slow: deferred, privately; the files come in the follow-up
            follow_up = await fake.wait_for("POST", FOLLOW_UP)
            files = dict(follow_up.files)
            assert follow_up.payload()["flags"] & EPHEMERAL
            [csv_name] = [n for n in files if n.endswith(".csv")]
            [png_name] = [n for n in files if n.endswith(".png")]
            rows = list(csv.DictReader(io.StringIO(files[csv_name].decode())))
            assert {(r["name"], r["mark"]) for r in rows if r["week"] == "1" and r["section"] == "americas-tue"} == {
                ("Ada Lovelace", "present"),
                ("Hedy Lamarr", "present"),
                ("Rosalind Franklin", "excused"),
            }
            check_png(files[png_name])
            await run(fake, "report", {"kind": "stipends"}, user_id=GRACE)
            files = dict((await fake.wait_for("POST", FOLLOW_UP, count=2)).files)
            [stipends] = files.values()
            kinds = [r["kind"] for r in csv.DictReader(io.StringIO(stipends.decode()))]
            assert kinds.count("scholar") == 8 and kinds.count("facilitator") == 3
        finally:
            await platform.stop()


# ---- Slack ----------------------------------------------------------------------------------------------
async def test_attendance_and_stipends_over_slack(app, clock):
    app.platform = "slack"
    async with FakeSlackAPI.running() as fake, running_slack(app, fake) as slack:
        clock.set(AMERICAS_W1 + timedelta(minutes=5))
        opened = await slash(slack, fake, "/checkin-code", "section:americas-tue", user=ALAN_SLACK)
        assert opened.ephemeral
        code = opened.response["blocks"][0]["text"]["text"].split()[-1]
        checked = await slash(slack, fake, "/checkin", f"code:{code}", user=ADA_SLACK)
        assert checked.ephemeral and "You're checked in" in checked.text
        wrong = await slash(slack, fake, "/checkin", "code:WRONG2", user="U0SCH000003")
        assert wrong.ephemeral and "4 more wrong tries" in wrong.text

        # the checklist over Block Kit: multi-select pre-filled with Ada, then Save
        shown = await slash(slack, fake, "/attendance", "americas-tue", user=ALAN_SLACK)
        assert shown.ephemeral
        blocks = shown.response["blocks"]
        actions = next(b for b in blocks if b["type"] == "actions")
        select = actions["elements"][0]
        assert select["type"] == "multi_static_select"
        assert [o["text"]["text"] for o in select["initial_options"]] == ["Ada Lovelace"]
        everyone = [o["value"] for o in select["options"]]
        ticked = await click(slack, fake, blocks, "Who was there?", values=everyone, user=ALAN_SLACK)
        assert ticked.response["replace_original"] is True and "Ticked, not saved yet: 3 of 3 present" in ticked.text
        saved = await click(slack, fake, ticked.response["blocks"], "Save", user=ALAN_SLACK)
        assert "Attendance recorded: americas-tue, week 1" in saved.text
        stale = await click(slack, fake, blocks, "Save", user=ALAN_SLACK)  # the first copy: stale now
        assert stale.ephemeral and "was saved since this checklist was shown" in stale.text

        # Excuse someone… opens a modal; its submission records the reason
        pressed, _ident = block_actions(fake, ticked.response["blocks"], "Excuse someone…", user=ALAN_SLACK)
        assert (await post_signed(slack, urlencode({"payload": json.dumps(pressed)})))[0] == 200
        view = (await fake.wait_for("views.open"))[-1].json("view")
        status, answer = await interact(slack, view_submission(view, {"excused": "Hedy", "reason": "ill"}, ALAN_SLACK))
        assert status == 200 and answer == {}
        posted = await fake.wait_for("chat.postEphemeral", where=lambda c: "Attendance corrected" in c.body["text"])
        assert "Hedy Lamarr: present → excused" in posted[0].body["text"]

        # typed: weeks 2 and 3 without Ada (week 3 with a make-up)
        for week in (2, 3):
            clock.set(AMERICAS_W1 + (week - 1) * WEEK + timedelta(hours=1))
            typed = await slash(
                slack, fake, "/attendance", f'section:americas-tue week:{week} present:"Hedy, Rosalind, Emmy Noether"',
                user=ALAN_SLACK,
            )  # fmt: skip
            assert typed.ephemeral and "Attendance recorded" in typed.text
        unknown = await slash(slack, fake, "/attendance", "section:americas-tue week:3 present:Zorro", user=ALAN_SLACK)
        assert unknown.ephemeral and "Nobody called 'Zorro' is on the roster" in unknown.text

        # /stipend for each role
        clock.set(ny(2, 12, month=2))
        mine = await slash(slack, fake, "/stipend", user=ADA_SLACK)
        assert mine.ephemeral and "you need every one of the 5 left" in mine.text
        pay = await slash(slack, fake, "/stipend", user=ALAN_SLACK)
        assert "Your hours and pay" in pay.text and "USD 180" in pay.text
        org = await slash(slack, fake, "/stipend", user=GRACE_SLACK)
        assert "Stipends: everyone" in org.text and "Alan Turing: 3 meeting(s), 4.5 h, USD 180" in org.text
        other = await slash(slack, fake, "/stipend", "user:Hedy", user=ADA_SLACK)
        assert other.ephemeral and "Scholars can see only their own stipend" in other.text

        # the at-risk alert, through the outbox to Ada's DM, once
        runtime = fast_runtime(app)
        await runtime.run_until_idle()

        def heads_ups() -> list:
            posts = fake.calls_to("chat.postMessage", ok=True)
            to_ada = [c for c in posts if c.body.get("channel") in ("D0SCH000001", ADA_SLACK)]
            return [c for c in to_ada if HEADS_UP in c.body.get("text", "")]

        sections = [c for c in heads_ups() if "section meeting" in c.body["text"]]
        assert len(sections) == 1
        count = len(heads_ups())
        await runtime.reload()
        await runtime.run_until_idle()
        assert len(heads_ups()) == count

        # the reports: the CSV and the chart uploaded to the organizer's DM
        before = len(fake.calls_to("upload"))
        report = await slash(slack, fake, "/report", "kind:attendance", user=GRACE_SLACK)
        assert report.ephemeral and "Sent attendance-" in report.text
        uploads = fake.calls_to("upload")[before:]
        assert len(uploads) == 2
        [png] = [u.raw for u in uploads if u.raw.startswith(b"\x89PNG")]
        check_png(png)
        [data] = [u.raw for u in uploads if not u.raw.startswith(b"\x89PNG")]
        assert data.decode().startswith("section,week,meeting_start_utc")

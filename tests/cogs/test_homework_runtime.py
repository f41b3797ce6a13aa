"""Reminders and digests through the real runtime: move the clock, run what fell due, see what was delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schedules.runtime import Runtime
from tests.cogs.test_homework import DUE_1, NY
from tests.cogs.test_homework import SCHOLARS as ALL_SCHOLARS
from tests.schedules.recording import RecordingSender

SCHOLARS = set(ALL_SCHOLARS)


async def names(app, keys, sender):
    out = []
    for key in keys:
        target, _message = sender.delivered[key]
        out.append((await app.people.get(target.person_id)).name)
    return out


async def test_reminders_reach_exactly_the_non_submitters_once(app, as_, clock):
    sender = RecordingSender("console")
    app.senders["console"] = sender
    runtime = Runtime(app)
    await as_("Ada Lovelace", "submit", week="1", link="https://example.com/ada")
    await as_("Tu Youyou", "submit", week="1", text="done")
    await as_("Alan Turing", "extend", user="Hedy Lamarr", week="1", until="2026-01-21 12:00")

    clock.set(DUE_1 - timedelta(hours=24) + timedelta(minutes=1))
    await runtime.run_until_idle()
    reminded = [k for k in sender.order if k.startswith("hw-reminder:week-1:")]
    got = await names(app, reminded, sender)
    assert sorted(got) == sorted(SCHOLARS - {"Ada Lovelace", "Tu Youyou", "Hedy Lamarr"})  # once each
    assert all(sender.calls[k] == 1 for k in reminded)
    assert [(await app.outbox.get(k)).state for k in reminded] == ["sent"] * len(reminded)
    assert (await app.outbox.get(next(k for k in sender.order if k.startswith("extension:")))).state == "sent"

    clock.advance(timedelta(minutes=30))
    await runtime.run_until_idle()  # a second run doubles nothing
    assert [k for k in sender.order if k.startswith("hw-reminder:")] == reminded
    assert all(sender.calls[k] == 1 for k in reminded)

    await as_("Emmy Noether", "submit", week="1", link="https://example.com/emmy")
    clock.set(DUE_1 + timedelta(hours=1, minutes=1))
    await runtime.run_until_idle()
    digests = {
        (await app.people.get(sender.delivered[k][0].person_id)).name: sender.delivered[k][1]
        for k in sender.order
        if k.startswith("hw-digest:week-1:")
    }
    assert set(digests) == {"Alan Turing", "Katherine Johnson", "Claude Shannon"}
    assert "**Not submitted:** Rosalind Franklin (americas-tue)" in digests["Alan Turing"].text
    assert "Hedy Lamarr (until" in digests["Alan Turing"].text
    assert "Marie Curie" in digests["Katherine Johnson"].text and "Emmy" not in digests["Katherine Johnson"].text

    hedy_until = datetime(2026, 1, 21, 12, 0, tzinfo=NY).astimezone(UTC)
    clock.set(hedy_until - timedelta(hours=24) + timedelta(minutes=1))
    await runtime.run_until_idle()
    extension_reminders = [k for k in sender.order if k.startswith("hw-reminder:week-1:") and ":rev-" in k]
    assert await names(app, extension_reminders, sender) == ["Hedy Lamarr"]
    assert "extended deadline" in sender.delivered[extension_reminders[0]][1].text
    await runtime.run_until_idle()
    assert sum(1 for k in sender.order if k.startswith("hw-reminder:")) == len(reminded) + 1


async def test_extending_x_then_y_then_x_tells_each_change_once_and_reminds_once_across_restarts(app, as_, clock):
    """Each change is delivered as it is made; restarts (a new runtime: recovery, re-plan) double nothing."""
    sender = RecordingSender("console")
    app.senders["console"] = sender
    x, y = "2026-02-10 18:00", "2026-02-12 18:00"
    for until in (x, y, x):
        await as_("Alan Turing", "extend", user="Ada Lovelace", week="3", until=until)
        runtime = Runtime(app)  # as after a restart
        await runtime.run_until_idle()
    dms = [k for k in sender.order if k.startswith("extension:week-3:")]
    assert [k.rsplit(":", 1)[1] for k in dms] == ["rev-1", "rev-2", "rev-3"]
    assert all(sender.calls[k] == 1 for k in dms)

    clock.set(datetime(2026, 2, 9, 18, 1, tzinfo=NY))  # 24 h before X
    for _ in range(2):
        await Runtime(app).run_until_idle()
    clock.set(datetime(2026, 2, 11, 18, 1, tzinfo=NY))  # 24 h before Y: that grant's reminder was skipped
    await Runtime(app).run_until_idle()
    reminders = [k for k in sender.order if k.startswith("hw-reminder:week-3:") and ":rev-" in k]
    assert [k.rsplit(":", 1)[1] for k in reminders] == ["rev-3"] and sender.calls[reminders[0]] == 1
    assert "<t:1770764400:" in sender.delivered[reminders[0]][1].text  # X, the deadline in force

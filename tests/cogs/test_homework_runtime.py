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

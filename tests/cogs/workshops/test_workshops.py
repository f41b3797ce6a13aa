"""Workshop sessions on a virtual clock: the agenda beforehand, each block announced at its time, a pairs block
that starts rotating pairs by itself; who a session is for; the cohort file's checks; `cohortbot check`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from bot.cohort import CohortError, parse_cohort
from bot.core.messages import Button
from bot.core.people import Person
from bot.core.roles import Role
from cogs.pairs._store import repo
from cogs.workshops import sessions_for
from schedules.runtime import Runtime
from tests.plugin import EXAMPLE_COHORT, console_actor
from tests.schedules.recording import RecordingSender

DAY_1 = "workshop-day-1"


async def test_the_agenda_and_each_block_are_announced_at_their_times(app, clock):
    session = app.cohort.session(DAY_1)
    blocks = app.cohort.session_blocks(session)
    sender = RecordingSender()
    app.senders["console"] = sender
    runtime = Runtime(app)
    await runtime.start()
    try:
        agenda_at = blocks[0][1] - timedelta(hours=24)
        clock.set(agenda_at - timedelta(seconds=1))
        await runtime.run_until_idle()
        assert not [k for k in sender.delivered if k.startswith(f"workshop:{DAY_1}")]
        clock.set(agenda_at)
        await runtime.run_until_idle()
        _, agenda = sender.delivered[f"workshop:{DAY_1}:agenda"]
        text = agenda.as_plain_text(app.cohort.zone)
        assert "Disagreeing well, day 1" in text and "How to Disagree (Paul Graham, 2008)" in text
        assert "10:45 EST–11:20 EST Rotating pairs: find a disagreement, then find its crux, rotating pairs" in text
        assert "(3 × 10 min in pairs)" in text

        for number, (block, start, end) in enumerate(blocks, start=1):
            key = f"workshop:{DAY_1}:block-{number}"
            clock.set(start - timedelta(seconds=1))
            await runtime.run_until_idle()
            assert key not in sender.delivered  # not early
            clock.set(start)
            await runtime.run_until_idle()
            target, message = sender.delivered[key]
            assert target.channel == "workshop" and message.title == f"Now: {block.title}"
            assert f"<t:{int(end.timestamp())}:t>" in message.text
            if block.kind == "pairs":
                [pairs] = await repo(app).active()
                assert pairs.workshop == f"{DAY_1}#{number}" and pairs.state == "lobby"
                assert (pairs.rounds, pairs.minutes, pairs.size) == (3, 10, 2)
                assert "Press **Join**" in message.text
                _, lobby = sender.delivered[f"pairs:{pairs.id}:lobby"]
                [join] = [a for a in lobby.actions if isinstance(a, Button)]
                for name in ("Ada Lovelace", "Emmy Noether", "Srinivasa Ramanujan", "Tu Youyou"):
                    await app.dispatcher.click(await console_actor(app, name), join.id)
                for number in (1, 2, 3):  # the lobby closes after 2 minutes, then a round every 10 minutes
                    clock.set(start + timedelta(minutes=2 + 10 * (number - 1)))
                    await runtime.run_until_idle()
                    assert f"pairs:{pairs.id}:round-{number}:post" in sender.delivered
                clock.set(start + timedelta(minutes=32))
                await runtime.run_until_idle()
        assert (await repo(app).get(1)).state == "done"  # its 3 rounds were over before the break
        clock.set(blocks[-1][2])
        await runtime.run_until_idle()
        assert f"workshop:{DAY_1}:end" in sender.delivered
        assert all(count == 1 for count in sender.calls.values())
    finally:
        await runtime.stop()


def person(role: Role = Role.SCHOLAR, track: str | None = "intro", sections: tuple[str, ...] = ()) -> Person:
    return Person(id=1, name="P", email="p@example.com", role=role, track=track, sections=sections)


def cohort_with(**session_changes) -> dict:
    data = yaml.safe_load(EXAMPLE_COHORT.read_text())
    data["sessions"][0].update(session_changes)
    return data


def test_sessions_for_a_person_between_two_instants(cohort):
    start = datetime(2026, 2, 1, tzinfo=UTC)
    found = sessions_for(cohort, person(), start, start + timedelta(days=14))
    assert [s.session.name for s in found] == [DAY_1, "workshop-day-2"]
    assert found[0].start == datetime(2026, 2, 7, 15, 0, tzinfo=UTC) and found[0].end == found[0].blocks[-1][2]
    assert sessions_for(cohort, person(), start, datetime(2026, 2, 7, 15, 0, tzinfo=UTC)) == []  # ends before
    only = parse_cohort(cohort_with(audience="track:advanced"))
    names = [s.session.name for s in sessions_for(only, person(), start, start + timedelta(days=14))]
    assert names == ["workshop-day-2"]  # day 1 is for the advanced track only
    assert len(sessions_for(only, person(track="advanced"), start, start + timedelta(days=14))) == 2
    assert len(sessions_for(only, person(Role.ORGANIZER, track=None), start, start + timedelta(days=14))) == 2


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"audience": "track:nope"}, "sessions[0].audience", "is not an audience"),
        ({"section": "nowhere"}, "sessions[0].section", "unknown section 'nowhere'"),
        (
            {"agenda": [{"title": "Pairs", "minutes": 20, "kind": "pairs", "pairs": {"rounds": 3, "minutes": 10}}]},
            "sessions[0].agenda[0].minutes",
            "3 rounds of 10 minutes after a 2-minute lobby take 32 minutes; the block has 20",
        ),
        (
            {"agenda": [{"title": "Talk", "minutes": 20, "kind": "talk", "pairs": {"rounds": 1}}]},
            "sessions[0].agenda[0].pairs",
            "only a block of kind pairs takes pairs settings",
        ),
        ({"agenda": [{"title": "Dance", "minutes": 20, "kind": "dance"}]}, "sessions[0].agenda[0].kind", "talk"),
    ],
)
def test_a_bad_session_is_refused_with_its_path(changes, path, message):
    with pytest.raises(CohortError) as caught:
        parse_cohort(cohort_with(**changes))
    assert any(p == path and message in m for p, m in caught.value.errors), caught.value.report()


def test_cohortbot_check_lists_the_sessions_and_their_jobs(capsys):
    from bot.cli import main

    assert main(["check", str(EXAMPLE_COHORT)]) == 0
    out = capsys.readouterr().out
    assert "Workshop sessions (2):" in out
    assert "workshop-day-1  Disagreeing well, day 1: find the crux" in out
    assert "Sat 07 Feb 2026, 10:00 EST - 12:05 EST  #workshop  all  5 blocks; pairs at 10:45 EST" in out
    assert "workshop:workshop-day-1:block-3" in out and "starts rotating pairs" in out
    assert "workshop:workshop-day-1:agenda" in out

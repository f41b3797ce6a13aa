"""Pairing sessions on a virtual clock: rounds on time, a restart in the middle, the lobby and its Join button,
late joiners and leavers, /topic, and every refusal (private, changing nothing)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import CohortBot
from bot.core.clock import ManualClock
from bot.core.messages import Button, Message, plain
from bot.core.platform import ChannelTarget, DMTarget
from cogs.pairs import _participants
from cogs.pairs._store import repo
from schedules.runtime import Runtime
from tests.plugin import console_actor
from tests.schedules.recording import RecordingSender

TABLES = ("pair_sessions", "pair_members", "pair_rounds", "pair_groups", "pair_met", "pair_topics", "outbox")
PROMPT = "Find something you disagree about; a disagreement you have used before is not allowed."


async def snapshot(app: CohortBot) -> dict[str, int]:
    """How many rows each table of the feature (and the outbox) holds."""
    return {t: await app.db.fetchval(f"SELECT COUNT(*) FROM {t}") for t in TABLES}


async def started(app: CohortBot, sender: RecordingSender | None = None) -> tuple[Runtime, RecordingSender]:
    sender = sender or RecordingSender()
    app.senders["console"] = sender
    runtime = Runtime(app)
    await runtime.start()
    return runtime, sender


async def ids(app: CohortBot, *names: str) -> list[int]:
    return [(await app.people.by_name(n))[0].id for n in names]


def text_of(message: Message, app: CohortBot) -> str:
    return message.as_plain_text(app.cohort.zone)


async def groups_of(app: CohortBot, session_id: int, number: int) -> list[tuple[int, ...]]:
    [played] = await repo(app).played(session_id, number)
    return sorted(played.groups.values())


# ---- refusals ---------------------------------------------------------------------------------------------
REFUSALS = [
    ("Ada Lovelace", "pair start", {}, "/pair start is only for facilitators and organizers; you are a scholar"),
    ("Alan Turing", "pair start", {"section": "europe-wed"}, "only do that for your own sections (americas-tue)"),
    ("Alan Turing", "pair start", {"size": "1"}, "size must be at least 2"),
    ("Alan Turing", "pair start", {"size": "4"}, "size must be at most 3"),
    ("Alan Turing", "pair start", {"rounds": "0"}, "rounds must be at least 1"),
    ("Alan Turing", "pair start", {"rounds": "21"}, "rounds must be at most 20"),
    ("Alan Turing", "pair start", {"minutes": "0"}, "minutes must be at least 1"),
    ("Alan Turing", "pair start", {"people": "Ada"}, "Pairs need at least 2 people"),
    ("Alan Turing", "pair start", {"people": "Ada, Emmy Noether"}, "Emmy Noether is not in one of your sections"),
    ("Alan Turing", "pair next", {}, "No pairing session is running that you run"),
    ("Alan Turing", "pair stop", {}, "No pairing session is running that you run"),
    ("Ada Lovelace", "pair next", {}, "/pair next is only for facilitators and organizers"),
    ("Ada Lovelace", "pair leave", {}, "You are not in a pairing session right now"),
    ("Ada Lovelace", "topic", {"text": "cats are better than dogs"}, "You are not in a pairing round right now"),
]


@pytest.mark.parametrize(("who", "command", "options", "expected"), REFUSALS)
async def test_refusals_are_private_clear_and_change_nothing(app, as_, who, command, options, expected):
    before = await snapshot(app)
    reply = await as_(who, command, **options)
    assert reply.private and reply.error is not None
    assert expected in reply.error
    assert await snapshot(app) == before


async def test_running_sessions_refuse_what_would_clash(app, as_):
    await as_("Katherine Johnson", "pair start", people="Emmy Noether, Marie Curie")
    await as_("Alan Turing", "pair start", people="Ada Lovelace, Hedy Lamarr")
    before = await snapshot(app)
    cases = [
        ("Alan Turing", "pair stop", {"section": "europe-wed"}, "Only the facilitators of section europe-wed"),
        ("Alan Turing", "pair start", {"people": "Ada Lovelace, Rosalind Franklin"}, "already running"),
        ("Grace Hopper", "pair start", {"section": "europe-wed"}, "already running: round 1 of 4 in #section-europe"),
        ("Grace Hopper", "pair next", {}, "Several pairing sessions are running"),
        ("Hedy Lamarr", "pair status", {"section": "europe-wed"}, "You are not in the pairing session"),
        ("Alan Turing", "pair add", {"user": "Ada Lovelace"}, "already in the pairing session in #section-americas"),
        ("Emmy Noether", "topic", {"text": "no"}, "at least 8 characters"),
    ]
    for who, command, options, expected in cases:
        reply = await as_(who, command, **options)
        assert reply.private and reply.error and expected in reply.error, (command, reply.error)
    assert await snapshot(app) == before


# ---- a session, round after round -------------------------------------------------------------------------
async def test_rounds_start_by_themselves_with_posts_and_direct_messages(app, as_, clock):
    runtime, sender = await started(app)
    try:
        reply = await as_("Alan Turing", "pair start", people="Ada, Hedy, Rosalind, Alan", rounds="3", minutes="10")
        assert "Round 1 of 3 has started in #section-americas with 4 people" in plain(
            reply.message.text, app.cohort.zone
        )
        start = clock.now()
        await runtime.run_until_idle()
        session = (await repo(app).active())[0]
        post_target, post = sender.delivered[f"pairs:{session.id}:round-1:post"]
        assert post_target == ChannelTarget("section-americas")
        assert post.title == "Round 1 of 3" and PROMPT in post.text
        ada, hedy, rosalind, alan = await ids(app, "Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin", "Alan Turing")
        assert sorted(post.mentions) == sorted([ada, hedy, rosalind, alan])  # each platform notifies them its way
        assert "Ada Lovelace" in post.text and "Hedy Lamarr" in post.text
        dm_target, dm = sender.delivered[f"pairs:{session.id}:round-1:dm-{ada}"]
        assert dm_target == DMTarget(ada) and PROMPT in dm.text and "Try: “" in dm.text
        ends = int((start + timedelta(minutes=10)).timestamp())
        assert f"<t:{ends}:t>" in dm.text  # the round's end, in each reader's zone

        seen: list[list[tuple[int, ...]]] = [await groups_of(app, session.id, 1)]
        for number in (2, 3):
            clock.advance(timedelta(minutes=9, seconds=59))
            await runtime.run_until_idle()
            assert f"pairs:{session.id}:round-{number}:post" not in sender.delivered  # not a second early
            clock.advance(timedelta(seconds=1))
            await runtime.run_until_idle()
            assert f"pairs:{session.id}:round-{number}:post" in sender.delivered
            seen.append(await groups_of(app, session.id, number))
        pairs = [frozenset(g) for r in seen for g in r]
        assert len(pairs) == len(set(pairs)) == 6  # 4 people, 3 rounds: everyone met everyone once

        clock.advance(timedelta(minutes=10))
        await runtime.run_until_idle()
        _, end = sender.delivered[f"pairs:{session.id}:end"]
        assert "That was the last of 3 rounds." in end.text
        assert (await repo(app).get(session.id)).state == "done"
        assert all(count == 1 for count in sender.calls.values())  # nothing sent twice
        assert {ada, hedy, rosalind, alan} == {p for r in seen for g in r for p in g}
    finally:
        await runtime.stop()


async def reopened(app: CohortBot, clock: ManualClock) -> CohortBot:
    """The bot after a restart: a new app on the same database file."""
    return await CohortBot.open(app.cohort, app.db.path, clock=clock)


async def test_a_restart_in_the_middle_continues_with_the_next_round_once_on_time(app, as_, clock):
    runtime, _ = await started(app)
    await as_("Alan Turing", "pair start", people="Ada, Hedy, Rosalind", rounds="3", minutes="10")
    await runtime.run_until_idle()
    session = (await repo(app).active())[0]
    due = session.next_at
    clock.advance(timedelta(minutes=4))
    await runtime.stop()  # the bot goes down in the middle of round 1 ...

    again = await reopened(app, clock)
    sender = RecordingSender()
    second, _ = await started(again, sender)  # ... and comes back before round 2 is due
    try:
        await second.run_until_idle()
        assert not any(k.startswith(f"pairs:{session.id}:round-2") for k in sender.delivered)
        clock.set(due)
        await second.run_until_idle()
        await second.run_until_idle()
        round_2 = [k for k in sender.delivered if k.startswith(f"pairs:{session.id}:round-2")]
        assert len(round_2) == 4  # the post and three DMs, once each
        assert all(sender.calls[k] == 1 for k in round_2)
        [played] = await repo(again).played(session.id, 2)
        assert played.started_at == due  # on time
        assert await again.db.fetchval("SELECT COUNT(*) FROM pair_rounds WHERE session_id = ?", (session.id,)) == 2
        assert (
            await again.db.fetchval("SELECT state FROM job_runs WHERE job_id = ?", (f"pairs:{session.id}:step-2",))
            == "done"
        )
        assert not any(k.startswith(f"pairs:{session.id}:round-1") for k in sender.delivered)  # never repeated
    finally:
        await second.stop()
        await again.close()


async def test_a_restart_after_the_round_was_due_starts_it_late_once(app, as_, clock):
    runtime, _ = await started(app)
    await as_("Alan Turing", "pair start", people="Ada, Hedy, Rosalind, Alan", rounds="2", minutes="10")
    session = (await repo(app).active())[0]
    await runtime.stop()
    clock.advance(timedelta(minutes=13))  # down when round 2 was due; back 3 minutes later
    again = await reopened(app, clock)
    second, sender = await started(again)
    try:
        await second.run_until_idle()
        assert f"pairs:{session.id}:round-2:post" in sender.delivered
        [played] = await repo(again).played(session.id, 2)
        assert played.started_at == clock.now() and played.ends_at == clock.now() + timedelta(minutes=10)
    finally:
        await second.stop()
        await again.close()


async def test_a_session_whose_round_fell_due_long_before_a_restart_is_ended(app, as_, clock):
    await as_("Alan Turing", "pair start", people="Ada, Hedy", rounds="2", minutes="10")
    session = (await repo(app).active())[0]
    clock.advance(timedelta(minutes=25))  # the round would be over before it started
    runtime, sender = await started(app)
    try:
        await runtime.run_until_idle()
        assert (await repo(app).get(session.id)).state == "stopped"
        assert "I was offline" in sender.delivered[f"pairs:{session.id}:end"][1].text
        assert f"pairs:{session.id}:round-2:post" not in sender.delivered
    finally:
        await runtime.stop()


# ---- the lobby, Join, late joiners and leavers -----------------------------------------------------------
def join_button(message: Message) -> Button:
    [button] = [a for a in message.actions if isinstance(a, Button) and a.label == "Join"]
    return button


async def press(app: CohortBot, name: str, button: Button):
    return await app.dispatcher.click(await console_actor(app, name), button.id)


async def test_lobby_join_button_late_joiners_and_leavers(app, as_, clock):
    runtime, sender = await started(app)
    try:
        reply = await as_("Alan Turing", "pair start", rounds="3")
        assert "The lobby is open in #section-americas" in reply.message.text
        await runtime.run_until_idle()
        session = (await repo(app).active())[0]
        _, lobby = sender.delivered[f"pairs:{session.id}:lobby"]
        button = join_button(lobby)
        for name in ("Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin"):
            answer = await press(app, name, button)
            assert answer.private and "You're in!" in answer.message.text and "round 1" in answer.message.text
        again = await press(app, "Ada Lovelace", button)
        assert "already in the pairing session" in again.error

        clock.advance(timedelta(minutes=2))  # the lobby closes: round 1 with the three of them (a trio)
        await runtime.run_until_idle()
        ada, hedy, rosalind, emmy = await ids(app, "Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin", "Emmy Noether")
        assert await groups_of(app, session.id, 1) == [tuple(sorted((ada, hedy, rosalind)))]

        late = await press(app, "Emmy Noether", join_button(sender.delivered[f"pairs:{session.id}:round-1:post"][1]))
        assert "from round 2" in late.message.text
        added = await as_("Alan Turing", "pair add", user="Alan Turing")
        assert "Added Alan Turing: paired from round 2" in added.message.text
        left = await as_("Hedy Lamarr", "pair leave")
        assert "not in round 2 or after" in left.message.text
        status = await as_("Alan Turing", "pair status")
        fields = {f.name: f.value for f in status.message.fields}
        assert fields["Joining next round"] == "Emmy Noether, Alan Turing"
        assert fields["Leaving after this round"] == "Hedy Lamarr"

        clock.advance(timedelta(minutes=10))
        await runtime.run_until_idle()
        round_2 = await groups_of(app, session.id, 2)
        placed = {p for g in round_2 for p in g}
        assert hedy not in placed and {ada, rosalind, emmy} <= placed and len(placed) == 4
        assert all(len(set(g) & {ada, rosalind}) < 2 for g in round_2)  # Ada and Rosalind met in round 1
        assert f"pairs:{session.id}:round-2:dm-{hedy}" not in sender.delivered
    finally:
        await runtime.stop()


async def test_a_lobby_nobody_joins_ends_with_a_note(app, as_, clock):
    runtime, sender = await started(app)
    try:
        await as_("Alan Turing", "pair start")
        session = (await repo(app).active())[0]
        await press(
            app,
            "Ada Lovelace",
            join_button(
                Message.model_validate((await app.outbox.get(f"pairs:{session.id}:lobby")).message.model_dump())
            ),
        )
        clock.advance(timedelta(minutes=2))
        await runtime.run_until_idle()
        assert "Only one person is taking part in round 1" in sender.delivered[f"pairs:{session.id}:end"][1].text
        assert await app.db.fetchval("SELECT COUNT(*) FROM pair_rounds") == 0
    finally:
        await runtime.stop()


async def test_those_checked_in_take_part_without_a_lobby(app, as_, monkeypatch):
    wanted = await ids(app, "Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin")

    async def present(_app, section, week):
        assert (section, week) == ("americas-tue", 1)
        return wanted

    monkeypatch.setattr(_participants, "present_people", present)
    reply = await as_("Alan Turing", "pair start")
    assert "with 3 people (those checked in for this week's meeting)" in reply.message.text
    session = (await repo(app).active())[0]
    assert sorted(m.person_id for m in await repo(app).members(session.id)) == sorted(wanted)


async def test_pairing_takes_those_checked_in_with_the_attendance_feature(app, as_, clock):
    code = (await as_("Alan Turing", "checkin-code", section="americas-tue")).message.title.split()[-1]
    for name in ("Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin"):
        assert (await as_(name, "checkin", code=code)).error is None
    assert sorted(await _participants.present_people(app, "americas-tue", 1)) == sorted(
        await ids(app, "Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin")
    )
    reply = await as_("Alan Turing", "pair start")
    assert "with 3 people (those checked in for this week's meeting)" in reply.message.text


async def test_pair_next_and_stop_by_the_facilitator(app, as_):
    await as_("Alan Turing", "pair start", people="Ada, Hedy, Rosalind, Alan", rounds="2")
    nxt = await as_("Alan Turing", "pair next")
    assert "Round 2 of 2 has started" in nxt.message.text
    stop = await as_("Grace Hopper", "pair stop", section="americas-tue")
    assert "Stopped the pairing session in #section-americas (round 2 of 2" in stop.message.text
    session = await repo(app).get(1)
    assert session.state == "stopped" and "Grace Hopper ended the session" in session.end_reason
    again = await as_("Alan Turing", "pair next")
    assert again.error and "No pairing session is running" in again.error


async def test_with_trios_off_an_odd_one_out_rests_and_is_told(app, as_, clock):
    app.cohort = app.cohort.model_copy(
        update={"pairing": app.cohort.pairing.model_copy(update={"trios_for_odd": False})}
    )
    runtime, sender = await started(app)
    try:
        await as_("Alan Turing", "pair start", people="Ada, Hedy, Rosalind", rounds="3")
        await runtime.run_until_idle()
        [played] = await repo(app).played(1, 1)
        assert len(played.resting) == 1 and all(len(g) == 2 for g in played.groups.values())
        rester = played.resting[0]
        assert "you rest this round" in sender.delivered[f"pairs:1:round-1:dm-{rester}"][1].title
        clock.advance(timedelta(minutes=10))
        await runtime.run_until_idle()
        [second] = await repo(app).played(1, 2)
        assert second.resting != played.resting  # the rest rotates
    finally:
        await runtime.stop()


# ---- /topic -----------------------------------------------------------------------------------------------
async def test_topic_refusals_an_accepted_topic_and_the_list(app, as_):
    ada, hedy, rosalind, alan = await ids(app, "Ada Lovelace", "Hedy Lamarr", "Rosalind Franklin", "Alan Turing")
    await as_("Alan Turing", "pair start", people="Ada, Hedy, Rosalind, Alan", rounds="3")
    groups = {frozenset(g) for g in await groups_of(app, 1, 1)}
    partner = {a: b for g in groups for a in g for b in g if a != b}
    names = {ada: "Ada Lovelace", hedy: "Hedy Lamarr", rosalind: "Rosalind Franklin", alan: "Alan Turing"}
    # round 1: Ada's pair logs one topic, the other pair another
    first = await as_("Ada Lovelace", "topic", text="Cats are better than dogs.")
    assert first.private and f"Logged “Cats are better than dogs.” for you and {names[partner[ada]]}" in plain(
        first.message.text, app.cohort.zone
    )
    other = next(p for p in names if p not in (ada, partner[ada]))
    await as_(names[other], "topic", text="Remote work beats the office for research")
    twice = await as_(names[partner[ada]], "topic", text="Tabs are better than spaces")
    assert "Your group already logged “Cats are better than dogs.” this round (Ada Lovelace)" in twice.error

    await as_("Alan Turing", "pair next")  # round 2: everyone has a new partner
    new_partner = {a: b for g in await groups_of(app, 1, 2) for a in g for b in g if a != b}[ada]
    before = await snapshot(app)
    exact = await as_("Ada Lovelace", "topic", text="cats are better than DOGS")
    assert (
        exact.private and "That is the same disagreement as “Cats are better than dogs.”, which you used" in exact.error
    )
    near = await as_("Ada Lovelace", "topic", text="Dogs are better pets than cats")
    assert "That is nearly the same as “Cats are better than dogs.”, which you used" in near.error
    assert f"with {names[partner[ada]]}" in near.error  # who used it with me
    partners = await as_("Ada Lovelace", "topic", text="remote work beats the office for research!")
    assert f"which {names[new_partner]} used" in partners.error  # my new partner's topic from round 1
    assert await snapshot(app) == before

    accepted = await as_("Ada Lovelace", "topic", text="Open-sourcing model weights does more good than harm")
    assert accepted.error is None and "Logged" in accepted.message.text
    listed = await as_("Ada Lovelace", "topic")
    assert listed.private
    rows = listed.message.table.rows
    assert [r[1] for r in rows] == [
        "Cats are better than dogs.",
        "Open-sourcing model weights does more good than harm",
    ]
    assert rows[0][2] == names[partner[ada]] and rows[1][2] == names[new_partner]


async def test_the_suggested_topic_is_one_nobody_in_the_group_used(app, as_, clock):
    bank = app.cohort.pairing.topics
    runtime, sender = await started(app)
    try:
        await as_("Alan Turing", "pair start", people="Ada, Hedy", rounds="2")
        await as_("Ada Lovelace", "topic", text=bank[0])  # Ada has used the first one ...
        await as_("Alan Turing", "pair stop")
        await as_(
            "Alan Turing", "pair start", people="Ada, Rosalind", rounds="1"
        )  # ... so Ada's new group won't get it
        await runtime.run_until_idle()
        [played] = await repo(app).played(2, 1)
        assert set(played.suggestions.values()) <= set(bank[1:])
        ada = (await ids(app, "Ada Lovelace"))[0]
        suggested = next(iter(played.suggestions.values()))
        assert f"Try: “{suggested}”" in sender.delivered[f"pairs:2:round-1:dm-{ada}"][1].text
    finally:
        await runtime.stop()


async def test_later_sessions_keep_people_who_met_apart(app, as_):
    # Four people, two sessions of one round: the second pairs everyone with someone new.
    await as_("Alan Turing", "pair start", people="Ada, Hedy, Rosalind, Alan", rounds="1")
    await as_("Alan Turing", "pair next")
    first = {frozenset(g) for g in await groups_of(app, 1, 1)}
    await as_("Alan Turing", "pair start", people="Ada, Hedy, Rosalind, Alan", rounds="1")
    second = {frozenset(g) for g in await groups_of(app, 2, 1)}
    assert not first & second


async def test_a_clock_jump_while_the_bot_is_up_starts_the_round_late_instead_of_ending(app, as_, clock):
    runtime, sender = await started(app)
    try:
        await as_("Alan Turing", "pair start", people="Ada, Hedy, Rosalind, Alan", rounds="2", minutes="10")
        await runtime.run_until_idle()
        clock.advance(timedelta(minutes=25))  # the demo's /clock +25m: the bot was running all along
        await runtime.run_until_idle()
        assert "pairs:1:round-2:post" in sender.delivered
        assert (await repo(app).get(1)).state == "running"
    finally:
        await runtime.stop()

"""Announcements on the core: who ``to`` means, who may announce, the preview, Send/Cancel once, scheduled ones on a
virtual clock (also across a restart), the delivery report and Retry failed, and the cost of a big audience."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import CohortBot
from bot.core.context import Place
from bot.core.messages import Button, Message, Reply
from bot.core.platform import (
    CHANNEL_MISSING,
    DEACTIVATED,
    DMS_CLOSED,
    EXPIRED,
    NOT_LINKED,
    NOT_MEMBER,
    REMOVED,
    DMTarget,
    PermanentSendError,
    Target,
)
from bot.roster import import_roster_file
from cogs.announcements._outbox import dm_key, failure_reason
from cogs.announcements._store import repo
from schedules.runtime import Runtime, plan
from tests.cogs.test_homework import SCHOLARS
from tests.plugin import console_actor
from tests.schedules.recording import RecordingSender

TEXT = "Lecture 2 moves to **Thursday**, see [the schedule](https://example.org/s)."
AMERICAS = ["Ada Lovelace", "Alan Turing", "Hedy Lamarr", "Rosalind Franklin"]


class PlatformSender(RecordingSender):
    """A sender for a platform where people need a linked account (as on Discord), optionally refusing some DMs."""

    def __init__(self, refuse: dict[int, str | None] | None = None) -> None:
        super().__init__("console")
        self.refuse = dict(refuse or {})  # person id -> the kind of failure to refuse their DM with

    async def unreachable(self, people) -> dict[int, str]:
        return {p.id: "has no Discord account linked" for p in people if not p.platform_id("discord")}

    async def send(self, target: Target, message: Message, *, key: str) -> str | None:
        if isinstance(target, DMTarget) and target.person_id in self.refuse:
            self.calls[key] += 1
            kind = self.refuse[target.person_id]
            raise PermanentSendError(f"refused ({kind}): Discord 403 (code 50007)", kind)
        return await super().send(target, message, key=key)


def field(reply: Reply, name: str) -> str:
    assert reply.message is not None, reply
    return next(f.value for f in reply.message.fields if f.name == name)


def button(reply: Reply, label: str) -> Button:
    assert reply.message is not None
    return next(c for c in reply.message.actions if isinstance(c, Button) and c.label == label)


async def press(app: CohortBot, name: str, reply: Reply, label: str) -> Reply:
    return await app.dispatcher.click(await console_actor(app, name), button(reply, label).id, [], Place())


async def names_of(app: CohortBot, announcement_id: int) -> list[str]:
    people = await app.people.get_many(await repo(app).recipient_ids(announcement_id))
    return sorted(p.name for p in people.values())


async def last_id(app: CohortBot) -> int:
    return int(await app.db.fetchval("SELECT MAX(id) FROM announcements"))


def dm_names(sender: RecordingSender, people: dict[int, str], prefix: str) -> list[str]:
    return sorted(people[t.person_id] for k, (t, _m) in sender.delivered.items() if k.startswith(prefix))


@pytest.fixture
async def everyone(app: CohortBot) -> dict[int, str]:
    return {p.id: p.name for p in await app.people.all()}


# ---- who `to` means -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("to", "expected", "label"),
    [
        ("all", None, "everyone"),
        ("scholars", SCHOLARS, "all scholars"),
        ("facilitators", ["Alan Turing", "Claude Shannon", "Katherine Johnson"], "all facilitators"),
        ("organizers", ["Grace Hopper"], "the organizers"),
        ("track:intro", [*AMERICAS, "Emmy Noether", "Katherine Johnson", "Marie Curie"], "the intro track"),
        ("section:americas-tue", AMERICAS, "section americas-tue"),
        ("people:Ada, hedy@example.com, Tu Youyou", ["Ada Lovelace", "Hedy Lamarr", "Tu Youyou"], "Ada Lovelace, "),
    ],
)
async def test_every_to_form_means_exactly_its_people(app, as_, everyone, to, expected, label):
    reply = await as_("Grace Hopper", "announce", message="Hello", to=to, dm="true")
    assert reply.error is None, reply.error
    announcement_id = await last_id(app)
    want = sorted(everyone.values()) if expected is None else sorted(expected)
    assert await names_of(app, announcement_id) == want
    size = f"({len(want)} {'person' if len(want) == 1 else 'people'})"
    assert field(reply, "To").startswith(label) and size in field(reply, "To")
    assert await app.outbox.counts() == {}  # a preview queues nothing


@pytest.mark.parametrize(
    ("to", "refusal"),
    [
        ("people:A", "'A' could be several people (Ada Lovelace, Alan Turing); write the full name."),
        ("people:Nobody Atall", "Nobody called 'Nobody Atall' is on the roster."),
        ("section:nowhere", "There is no section 'nowhere': sections are americas-tue, europe-wed, apac-thu."),
        ("track:expert", "There is no track 'expert': tracks are intro, advanced."),
        ("americas-tue", "Did you mean to:section:americas-tue?"),
        ("the gang", "It can be all, scholars, facilitators, organizers, track:<name> (intro, advanced)"),
    ],
)
async def test_a_to_that_is_ambiguous_or_unknown_is_refused_clearly(app, as_, to, refusal):
    reply = await as_("Grace Hopper", "announce", message="Hello", to=to, dm="true")
    assert reply.error is not None and refusal in reply.error and reply.private
    assert await app.db.fetchval("SELECT COUNT(*) FROM announcements") == 0


async def test_people_without_an_account_are_counted_in_the_preview_and_never_sent(app, as_, clock, everyone):
    sender = app.senders["console"] = PlatformSender()
    reply = await as_("Grace Hopper", "announce", message=TEXT, to="section:americas-tue", dm="true")
    assert field(reply, "Reaches") == "**3 of 4**"
    assert field(reply, "Cannot reach") == "1 has no Discord account linked: Rosalind Franklin"
    assert reply.message.text == TEXT and reply.message.title == "📣 Announcement from Grace Hopper"
    assert "Nothing is sent until you press Send" in field(reply, "Preview")

    sent = await press(app, "Grace Hopper", reply, "Send")
    assert sent.replace and "on its way to 3 of 4" in sent.message.text
    await Runtime(app).run_until_idle()
    announcement_id = await last_id(app)
    assert dm_names(sender, everyone, f"announce:{announcement_id}:") == ["Ada Lovelace", "Alan Turing", "Hedy Lamarr"]
    rosalind = next(i for i, n in everyone.items() if n == "Rosalind Franklin")
    assert await app.outbox.get(dm_key(announcement_id, rosalind)) is None  # never queued, never "sent"
    report = sender.delivered[f"announce-report:{announcement_id}:1"]
    assert report[0] == DMTarget(next(i for i, n in everyone.items() if n == "Grace Hopper"))
    assert "reached 3 of 4; 1 has no Discord account linked." in report[1].text
    details = await as_("Grace Hopper", "announcements", id=str(announcement_id))
    assert "delivered **3** · pending **0** · failed **0** · not reachable **1** (of 4)" in field(details, "Delivery")
    assert field(details, "Not reachable") == "1 has no Discord account linked: Rosalind Franklin"


async def test_nobody_reachable_is_refused_at_the_preview(app, as_):
    app.senders["console"] = PlatformSender()
    reply = await as_("Grace Hopper", "announce", message="Hi", to="people:Rosalind Franklin, Marie Curie")
    assert "None of the 2 people" in reply.error and "2 have no Discord account linked" in reply.error


# ---- people removed from the roster are gone ------------------------------------------------------------------
async def remove(app: CohortBot, name: str) -> int:
    person = (await app.people.by_name(name))[0]
    assert await app.people.set_removed(person.id, True, app.clock.now())
    return person.id


@pytest.mark.parametrize("to", ["all", "scholars", "track:intro", "section:americas-tue"])
async def test_someone_removed_is_neither_in_the_audience_nor_counted_in_the_preview(app, as_, to):
    app.senders["console"] = PlatformSender()
    ada = await remove(app, "Ada Lovelace")
    reply = await as_("Grace Hopper", "announce", message="Hello", to=to, dm="true")
    assert reply.error is None, reply.error
    recipients = await repo(app).recipient_ids(await last_id(app))
    assert ada not in recipients and recipients
    # "Reaches x of N": N counts no removed person
    assert field(reply, "Reaches").endswith(f" of {len(recipients)}**")
    assert f"({len(recipients)} people)" in field(reply, "To")


async def test_a_section_facilitator_removed_from_the_roster_is_not_told(app, as_):
    alan = await remove(app, "Alan Turing")
    reply = await as_("Grace Hopper", "announce", message="Hello", to="section:americas-tue", dm="true")
    assert alan not in await repo(app).recipient_ids(await last_id(app))
    assert field(reply, "Reaches") == "**3 of 3**"


async def test_naming_someone_removed_is_refused_and_changes_nothing(app, as_):
    await remove(app, "Ada Lovelace")
    reply = await as_("Grace Hopper", "announce", message="Hello", to="people:Ada Lovelace, Hedy Lamarr")
    assert reply.error == (
        "Ada Lovelace was removed from the roster, so I cannot tell them anything here: leave them out."
    )
    assert await app.db.fetchval("SELECT COUNT(*) FROM announcements") == 0


async def test_someone_removed_before_a_scheduled_announcement_goes_out_gets_nothing(app, as_, clock, everyone):
    app.senders["console"] = sender = RecordingSender()
    runtime = Runtime(app)
    at = (clock.now() + timedelta(hours=2)).astimezone(app.cohort.zone).strftime("%Y-%m-%d %H:%M")
    reply = await as_("Grace Hopper", "announce", message="Quiz", to="section:americas-tue", dm="true", at=at)
    await press(app, "Grace Hopper", reply, "Send")
    hedy = await remove(app, "Hedy Lamarr")
    clock.advance(timedelta(hours=2))
    await runtime.run_until_idle()
    assert dm_names(sender, everyone, "announce:1:") == ["Ada Lovelace", "Alan Turing", "Rosalind Franklin"]
    assert await app.outbox.get(dm_key(1, hedy)) is None  # never queued
    assert "reached 3 of 4; 1 was removed from the roster." in sender.delivered["announce-report:1:1"][1].text
    details = await as_("Grace Hopper", "announcements", id="1")
    assert field(details, "Not reachable") == "1 was removed from the roster: Hedy Lamarr"


async def test_a_scheduled_announcement_whose_author_left_the_roster_is_not_sent(app, as_, clock, everyone):
    app.senders["console"] = sender = RecordingSender()
    runtime = Runtime(app)
    at = (clock.now() + timedelta(hours=2)).astimezone(app.cohort.zone).strftime("%Y-%m-%d %H:%M")
    reply = await as_("Alan Turing", "announce", message="From Alan", to="section:americas-tue", at=at)
    await press(app, "Alan Turing", reply, "Send")
    await remove(app, "Alan Turing")
    clock.advance(timedelta(hours=2))
    await runtime.run_until_idle()
    assert not [k for k in sender.delivered if k.startswith("announce")]  # no post, no DM, no report
    details = await as_("Grace Hopper", "announcements", id="1")
    assert field(details, "Status").startswith("Not sent") and "no longer on the roster" in field(details, "Status")


async def test_a_queued_dm_to_someone_removed_meanwhile_is_not_sent(app, as_, everyone):
    app.senders["console"] = sender = RecordingSender()
    reply = await as_("Grace Hopper", "announce", message="Quiz", to="section:americas-tue", dm="true")
    await press(app, "Grace Hopper", reply, "Send")  # the four DMs are queued, none sent yet
    hedy = await remove(app, "Hedy Lamarr")
    await Runtime(app).run_until_idle()
    assert dm_names(sender, everyone, "announce:1:") == ["Ada Lovelace", "Alan Turing", "Rosalind Franklin"]
    assert sender.calls[dm_key(1, hedy)] == 0  # the platform was never asked
    assert (await app.outbox.get(dm_key(1, hedy))).state == "failed"
    assert "reached 3 of 4; 1 was removed from the roster." in sender.delivered["announce-report:1:1"][1].text
    details = await as_("Grace Hopper", "announcements", id="1")
    assert field(details, "Failed") == "1 was removed from the roster: Hedy Lamarr"


# ---- drafts are purged ----------------------------------------------------------------------------------------
async def test_previews_never_sent_are_purged_once_a_day_old_and_nothing_else(app, as_, clock):
    app.senders["console"] = RecordingSender()
    runtime = Runtime(app)
    first = await as_("Grace Hopper", "announce", message="Draft 1", to="section:americas-tue", dm="true")
    sent = await as_("Grace Hopper", "announce", message="Sent", to="section:americas-tue", dm="true")
    await press(app, "Grace Hopper", sent, "Send")
    cancelled = await as_("Grace Hopper", "announce", message="Dropped", to="section:americas-tue", dm="true")
    await press(app, "Grace Hopper", cancelled, "Cancel")
    clock.advance(timedelta(hours=12))
    await as_("Grace Hopper", "announce", message="Draft 2", to="organizers", dm="true")
    assert first.error is None

    async def states() -> dict[int, str]:
        return {r["id"]: r["state"] for r in await app.db.fetchall("SELECT id, state FROM announcements")}

    async def recipients_of(announcement_id: int) -> int:
        sql = "SELECT COUNT(*) FROM announcement_recipients WHERE announcement_id = ?"
        return int(await app.db.fetchval(sql, (announcement_id,)))

    await runtime.run_until_idle()
    assert await states() == {1: "draft", 2: "done", 3: "cancelled", 4: "draft"}  # none is a day old yet
    assert [j.id for j in await plan(app) if j.kind == "announcement-drafts"] == ["announce-drafts:1"]
    clock.advance(timedelta(hours=12))  # the first draft is a day old
    await runtime.run_until_idle()
    assert await states() == {2: "done", 3: "cancelled", 4: "draft"}
    assert await recipients_of(1) == 0 and await recipients_of(2) == 4
    clock.advance(timedelta(hours=12))
    await runtime.run_until_idle()
    assert await states() == {2: "done", 3: "cancelled"}
    assert [j for j in await plan(app) if j.kind == "announcement-drafts"] == []
    gone = await as_("Grace Hopper", "announcements", id="1")
    assert "There is no announcement #1" in gone.error


# ---- who may announce ---------------------------------------------------------------------------------------
async def test_a_scholar_cannot_announce(app, as_):
    reply = await as_("Ada Lovelace", "announce", message="Free pizza", to="all")
    assert reply.error == "/announce is only for facilitators and organizers; you are a scholar."
    listing = await as_("Ada Lovelace", "announcements")
    assert "only for facilitators and organizers" in listing.error


@pytest.mark.parametrize(
    ("to", "refusal"),
    [
        ("all", "Facilitators can announce only to their own sections (americas-tue), not to everyone."),
        ("scholars", "not to all scholars"),
        ("track:intro", "not to the intro track"),
        ("organizers", "not to the organizers"),
        ("section:europe-wed", "You can only do that for your own sections (americas-tue); europe-wed is not one"),
        ("people:Emmy Noether", "Emmy Noether is not in one of your sections"),
    ],
)
async def test_a_facilitator_cannot_announce_beyond_their_sections(app, as_, to, refusal):
    reply = await as_("Alan Turing", "announce", message="Hello", to=to, dm="true")
    assert reply.error is not None and refusal in reply.error
    assert await app.db.fetchval("SELECT COUNT(*) FROM announcements") == 0


async def test_a_facilitator_announces_to_their_own_section(app, as_):
    own = await as_("Alan Turing", "announce", message="See you Tuesday", dm="true")  # `to` defaults to it
    assert own.error is None and field(own, "To").startswith("section americas-tue (4 people)")
    person = await as_("Alan Turing", "announce", message="Hi Ada", to="people:Ada Lovelace")
    assert person.error is None and "by DM to each person" in field(person, "To")  # people: means DMs
    # only the author may send a preview; a facilitator cannot manage someone else's announcement
    other = await press(app, "Katherine Johnson", own, "Send")
    assert "is not yours" in other.error
    await press(app, "Alan Turing", own, "Send")
    listing = await as_("Katherine Johnson", "announcements")
    assert "No announcements yet" in listing.message.text  # facilitators see only their own
    peek = await as_("Katherine Johnson", "announcements", id="1")
    assert "is not yours" in peek.error


async def test_a_channel_post_needs_a_channel(app, as_):
    reply = await as_("Grace Hopper", "announce", message="Staff meeting", to="facilitators")
    assert "no channel for all facilitators in the cohort file (announcements.facilitators_channel)" in reply.error
    assert "add dm:true" in reply.error
    dm_needed = await as_("Grace Hopper", "announce", message="Hi", to="people:Ada", dm="false")
    assert "goes to each of them by DM" in dm_needed.error


# ---- Send and Cancel, once ----------------------------------------------------------------------------------
async def test_send_twice_or_after_cancel_is_refused(app, as_, clock):
    app.senders["console"] = sender = RecordingSender()
    runtime = Runtime(app)
    reply = await as_("Grace Hopper", "announce", message="Room change", to="section:americas-tue", dm="true")
    assert (await press(app, "Grace Hopper", reply, "Send")).error is None
    again = await press(app, "Grace Hopper", reply, "Send")
    assert again.error.startswith("Announcement #1 was already sent") and "never sent twice" in again.error
    late_cancel = await press(app, "Grace Hopper", reply, "Cancel")
    assert "was already sent" in late_cancel.error
    await runtime.run_until_idle()
    assert len([k for k in sender.delivered if k.startswith("announce:1:")]) == 4
    assert all(n == 1 for n in sender.calls.values())

    dropped = await as_("Grace Hopper", "announce", message="Never mind", to="all", dm="true")
    cancelled = await press(app, "Grace Hopper", dropped, "Cancel")
    assert cancelled.replace and "was not sent, and nothing was queued" in cancelled.message.text
    after = await press(app, "Grace Hopper", dropped, "Send")
    assert "was cancelled" in after.error and "nothing was sent" in after.error
    await runtime.run_until_idle()
    assert not [k for k in sender.delivered if k.startswith("announce:2:")]

    stale = await as_("Grace Hopper", "announce", message="Later", to="all", dm="true")
    clock.advance(timedelta(hours=1, minutes=1))
    expired = await press(app, "Grace Hopper", stale, "Send")
    assert "That has expired" in expired.error


async def test_a_message_too_long_is_refused_with_the_limit(app, as_):
    reply = await as_("Grace Hopper", "announce", message="x" * 4001, to="all")
    assert "message is too long (4001 characters; the limit is 4000)." in reply.error
    form = await as_("Grace Hopper", "announce", to="section:apac-thu", dm="true")
    assert form.form is not None and form.form.fields[0].max_length == 4000
    assert form.form.fixed == {"to": "section:apac-thu", "dm": "true", "ping": "false"}


# ---- scheduled ----------------------------------------------------------------------------------------------
async def test_a_scheduled_announcement_fires_once_at_its_time(app, as_, clock, everyone):
    app.senders["console"] = sender = RecordingSender()
    runtime = Runtime(app)
    at = (clock.now() + timedelta(hours=2)).astimezone(app.cohort.zone).strftime("%Y-%m-%d %H:%M")
    reply = await as_("Grace Hopper", "announce", message="Quiz tonight", to="section:europe-wed", dm="true", at=at)
    assert "in 2 hours" in field(reply, "When") or "<t:" in field(reply, "When")
    scheduled = await press(app, "Grace Hopper", reply, "Send")
    assert "Scheduled: announcement #1" in scheduled.message.text
    assert [j.id for j in await plan(app) if j.kind == "announcement"] == ["announce:1"]
    await runtime.run_until_idle()
    clock.advance(timedelta(hours=1, minutes=59))
    await runtime.run_until_idle()
    assert not [k for k in sender.delivered if k.startswith("announce")]  # not before its time
    clock.advance(timedelta(minutes=1))
    await runtime.run_until_idle()
    got = dm_names(sender, everyone, "announce:1:")
    assert got == ["Emmy Noether", "Katherine Johnson", "Marie Curie"]
    assert "reached 3 of 3" in sender.delivered["announce-report:1:1"][1].text  # reported when it fired
    clock.advance(timedelta(hours=3))
    await runtime.run_until_idle()
    assert all(n == 1 for n in sender.calls.values())
    assert len([k for k in sender.delivered if k.startswith("announce")]) == 4


async def test_a_cancelled_scheduled_announcement_sends_nothing(app, as_, clock):
    app.senders["console"] = sender = RecordingSender()
    runtime = Runtime(app)
    at = (clock.now() + timedelta(days=1)).astimezone(app.cohort.zone).strftime("%Y-%m-%d %H:%M")
    reply = await as_("Alan Turing", "announce", message="Bring laptops", dm="true", at=at)
    await press(app, "Alan Turing", reply, "Send")
    details = await as_("Grace Hopper", "announcements", id="1")  # an organizer may cancel a facilitator's
    assert "Scheduled for" in field(details, "Status")
    cancelled = await press(app, "Grace Hopper", details, "Cancel")
    assert "will not go out" in cancelled.message.text
    assert "Cancelled" in field(await as_("Grace Hopper", "announcements", id="1"), "Status")
    clock.advance(timedelta(days=2))
    await runtime.run_until_idle()
    assert not [k for k in sender.delivered if k.startswith("announce")]
    assert not [j for j in await plan(app) if j.kind.startswith("announcement")]


@pytest.mark.parametrize("down_at_its_time", [False, True], ids=["restart-before", "down-at-its-time"])
async def test_a_restart_before_its_time_still_fires_it_once(app, as_, clock, down_at_its_time, everyone):
    at = (clock.now() + timedelta(hours=2)).astimezone(app.cohort.zone).strftime("%Y-%m-%d %H:%M")
    reply = await as_("Grace Hopper", "announce", message="Reminder", to="section:apac-thu", dm="true", at=at)
    await press(app, "Grace Hopper", reply, "Send")
    path = Path(app.db.path)
    sent: list[str] = []
    for step in range(3):  # the bot restarts three times; the announcement goes out exactly once
        again = await CohortBot.open(app.cohort, path, clock=clock)
        again.senders["console"] = sender = RecordingSender()
        runtime = Runtime(again)
        try:
            await runtime.start()  # catch-up: what fell due while down (within the grace) runs once
            if step == 1 and not down_at_its_time:
                clock.advance(timedelta(hours=2))  # its time comes while this one runs
            await runtime.run_until_idle()
            sent += [k for k in sender.delivered if k.startswith("announce")]
        finally:
            await runtime.stop()
            await again.close()
        if step == 0 and down_at_its_time:
            clock.advance(timedelta(hours=3))  # its time passes while the bot is down
    assert sorted(k for k in sent if k.startswith("announce:1:")) == sorted(
        dm_key(1, i)
        for i, n in everyone.items()
        if n in ("Claude Shannon", "John von Neumann", "Srinivasa Ramanujan", "Tu Youyou")
    )
    assert [k for k in sent if k.startswith("announce-report")] == ["announce-report:1:1"]


async def test_one_missed_while_the_bot_was_down_beyond_the_grace_is_not_sent_late(app, as_, clock):
    at = (clock.now() + timedelta(hours=1)).astimezone(app.cohort.zone).strftime("%Y-%m-%d %H:%M")
    reply = await as_("Grace Hopper", "announce", message="Doors open", to="all", at=at, dm="true")
    await press(app, "Grace Hopper", reply, "Send")
    clock.advance(timedelta(hours=8))  # down from before its time until 7 h after it (grace: 6 h)
    again = await CohortBot.open(app.cohort, Path(app.db.path), clock=clock)
    again.senders["console"] = sender = RecordingSender()
    runtime = Runtime(again)
    try:
        await runtime.start()
        await runtime.run_until_idle()
        assert not [k for k in sender.delivered if k.startswith("announce")]
        details = await again.dispatch(await console_actor(again, "Grace Hopper"), "announcements", {"id": "1"})
        assert "It was missed: missed by 7.0 h" in field(details, "Status")
        listing = await again.dispatch(await console_actor(again, "Grace Hopper"), "announcements")
        assert "(**missed**: the bot was down then)" in field(listing, "Scheduled")
        cleared = await press(again, "Grace Hopper", details, "Cancel")
        assert cleared.error is None and "will not go out" in cleared.message.text
    finally:
        await runtime.stop()
        await again.close()


# ---- delivery report and Retry failed ------------------------------------------------------------------------
async def test_failures_are_reported_with_their_reasons_and_retried(app, as_, everyone):
    hedy = next(i for i, n in everyone.items() if n == "Hedy Lamarr")
    app.senders["console"] = sender = PlatformSender(refuse={hedy: DMS_CLOSED})
    runtime = Runtime(app)
    reply = await as_("Grace Hopper", "announce", message=TEXT, to="section:americas-tue", dm="true")
    await press(app, "Grace Hopper", reply, "Send")
    await runtime.run_until_idle()
    report = sender.delivered["announce-report:1:1"][1].text
    assert "reached 2 of 4; 1 has DMs closed or left, 1 has no Discord account linked." in report
    details = await as_("Grace Hopper", "announcements", id="1")
    assert "delivered **2** · pending **0** · failed **1** · not reachable **1** (of 4)" in field(details, "Delivery")
    assert field(details, "Failed") == "1 has DMs closed or left: Hedy Lamarr"

    sender.refuse.clear()
    retried = await press(app, "Grace Hopper", details, "Retry failed")
    assert "Trying 1 delivery(ies) of announcement #1 again" in retried.message.text
    await runtime.run_until_idle()
    assert sender.calls[dm_key(1, hedy)] == 2 and dm_key(1, hedy) in sender.delivered
    assert "reached 3 of 4; 1 has no Discord account linked." in sender.delivered["announce-report:1:2"][1].text
    nothing = await press(app, "Grace Hopper", details, "Retry failed")
    assert "Nothing to retry" in nothing.error


def test_failure_reasons_are_worded_from_the_kind_never_from_the_text():
    assert failure_reason(DMS_CLOSED, "refused") == "has DMs closed or left"
    assert failure_reason(NOT_MEMBER, None) == "is not a member (left, or never joined)"
    assert failure_reason(DEACTIVATED, "x") == "has a deactivated account"
    assert failure_reason(NOT_LINKED, "Ada Lovelace has not linked an account") == "has no account linked"
    assert failure_reason(CHANNEL_MISSING, "x") == "could not be found"
    assert failure_reason(REMOVED, "x") == "was removed from the roster"
    assert failure_reason(EXPIRED, "not delivered within 24 h") == "was not reached in time (the platform was down)"
    # unclassified: the sender's own reason, shortened; a code in it means nothing here
    assert failure_reason(None, "Discord 403 (code 50007): user_not_found") == (
        "failed (Discord 403 (code 50007): user_not_found)"
    )
    assert failure_reason(None, "gave up after 8 attempts: Discord 503") == "failed (Discord 503)"


async def test_an_unclassified_failure_is_reported_with_its_own_reason(app, as_, everyone):
    hedy = next(i for i, n in everyone.items() if n == "Hedy Lamarr")
    app.senders["console"] = sender = PlatformSender(refuse={hedy: None})
    await press(app, "Grace Hopper", await as_("Grace Hopper", "announce", message=TEXT, to="people:Hedy"), "Send")
    await Runtime(app).run_until_idle()
    assert "reached 0 of 1; 1 failed (refused (None): Discord 403 (code 50007))." in (
        sender.delivered["announce-report:1:1"][1].text
    )


async def test_the_list_shows_scheduled_and_recent_with_ids(app, as_, clock):
    app.senders["console"] = RecordingSender()
    at = (clock.now() + timedelta(days=1)).astimezone(app.cohort.zone).strftime("%Y-%m-%d %H:%M")
    await press(app, "Grace Hopper", await as_("Grace Hopper", "announce", message="a", to="all", dm="true"), "Send")
    later = await as_("Grace Hopper", "announce", message="b", to="track:advanced", at=at)
    await press(app, "Grace Hopper", later, "Send")
    await as_("Grace Hopper", "announce", message="c", to="all")  # a preview never sent is not listed
    await Runtime(app).run_until_idle()
    listing = await as_("Grace Hopper", "announcements")
    assert "**#2**" in field(listing, "Scheduled") and "posted in #advanced-course" in field(listing, "Scheduled")
    assert listing.message.table.rows == [["#1", listing.message.table.rows[0][1], "everyone", "by DM to each person",
                                           "done: 12/12 reached"]]  # fmt: skip


# ---- cost ---------------------------------------------------------------------------------------------------
async def select_count(app: CohortBot, as_, **options: str) -> int:
    statements: list[str] = []
    await app.db.conn.set_trace_callback(statements.append)
    try:
        reply = await as_("Grace Hopper", "announce", **options)
    finally:
        await app.db.conn.set_trace_callback(None)
    assert reply.error is None, reply.error
    return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))


async def test_resolving_a_big_audience_costs_about_its_size_not_a_query_per_person(app, as_, tmp_path, cohort, clock):
    small = await select_count(app, as_, message="hi", to="scholars", dm="true")
    roster = tmp_path / "many.csv"
    rows = [f"Scholar {n:04d},s{n}@example.com,scholar,intro,europe-wed,,,," for n in range(2_000)]
    roster.write_text("name,email,role,track,section,discord_id,slack_id,timezone,stipend_eligible\n" + "\n".join(rows))
    report = await import_roster_file(app.people, roster, cohort, clock.now())
    assert not report.errors
    app.senders["console"] = PlatformSender()  # asks who is unreachable: one call for everyone
    big = await select_count(app, as_, message="hi", to="scholars", dm="true")
    assert await repo(app).size(2) == 2_008
    assert big - small <= 10, (small, big)  # a few more chunks of 900 ids, not 2,000 more queries


async def test_to_is_suggested_as_one_types(app):
    complete = app.dispatcher.complete
    grace, alan = await console_actor(app, "Grace Hopper"), await console_actor(app, "Alan Turing")
    assert [c.value for c in await complete(grace, "announce", "to", "sec")] == [
        "section:americas-tue",
        "section:europe-wed",
        "section:apac-thu",
    ]
    assert [c.value for c in await complete(alan, "announce", "to", "")] == ["section:americas-tue", "people:"]
    assert [c.value for c in await complete(grace, "announce", "to", "people:Ada Lovelace, Hed")] == [
        "people:Ada Lovelace, Hedy Lamarr"
    ]
    assert [c.value for c in await complete(alan, "announce", "to", "people:Emm")] == []  # not in his section


async def test_at_is_read_in_the_authors_own_zone(app, as_):
    from datetime import UTC, datetime

    reply = await as_("Katherine Johnson", "announce", message="Tea at three", dm="true", at="2026-01-12 15:00")
    assert reply.error is None, reply.error
    announcement = await repo(app).get(await last_id(app))
    assert announcement.send_at == datetime(2026, 1, 12, 15, 0, tzinfo=UTC)  # Europe/London, not the cohort's zone
    assert announcement.label == "section europe-wed" and announcement.scheduled


async def test_a_paused_platform_is_shown_in_the_preview_and_the_details(app, as_, clock):
    from bot.delivery.health import PlatformHealth

    health = PlatformHealth("console", trip_after=2)
    for _ in range(2):
        health.failed(clock.now(), "503 service unavailable")
    app.outbox.health["console"] = health  # as the worker records it
    reply = await as_("Grace Hopper", "announce", message="Hello", to="section:apac-thu", dm="true")
    assert "console: paused since" in field(reply, "On hold") and "Nothing is lost" in field(reply, "On hold")
    await press(app, "Grace Hopper", reply, "Send")
    details = await as_("Grace Hopper", "announcements", id="1")
    assert "pending **4**" in field(details, "Delivery") and "paused" in field(details, "On hold")
    health.answered(clock.now())
    assert "On hold" not in [f.name for f in (await as_("Grace Hopper", "announcements", id="1")).message.fields]


async def test_with_the_real_scheduler_a_scheduled_announcement_goes_out_on_time(tmp_path, cohort):
    """Send schedules its job at once (app.schedule_changed), not at the next periodic re-plan minutes later.

    The real clock and APScheduler, with the wall clock held still (time-machine) until it is moved to the
    announcement's time: a busy machine cannot let ``at`` pass before Send, and nothing waits for it in real time.
    """
    import asyncio
    from datetime import datetime, time

    import time_machine

    from bot.core.clock import SystemClock
    from tests.plugin import EXAMPLE_ROSTER

    start = datetime.combine(cohort.start_date, time(8, 0), tzinfo=cohort.zone)
    at = start + timedelta(minutes=5)
    with time_machine.travel(start, tick=False) as traveller:
        app = await CohortBot.open(cohort, tmp_path / "real.db", clock=SystemClock())
        await import_roster_file(app.people, EXAMPLE_ROSTER, cohort, app.clock.now())
        app.senders["console"] = sender = RecordingSender()
        runtime = Runtime(app)
        await runtime.start()
        try:
            assert runtime.scheduler is not None  # the production path: APScheduler on the wall clock
            grace = await console_actor(app, "Grace Hopper")
            options = {"message": "Now", "to": "section:apac-thu", "dm": "true", "at": at.strftime("%Y-%m-%d %H:%M")}
            reply = await app.dispatch(grace, "announce", options)
            assert reply.error is None, reply.error
            await app.dispatcher.click(grace, button(reply, "Send").id, [], Place())
            for _ in range(500):  # the re-plan runs in the background: at most 5 s
                if runtime.scheduler.get_job("plan:announce:1") is not None:
                    break
                await asyncio.sleep(0.01)
            assert runtime.scheduler.get_job("plan:announce:1") is not None  # installed now, not at the next re-plan
            assert not [k for k in sender.delivered if k.startswith("announce:1:")]  # and not sent before its time

            traveller.move_to(at)
            runtime.scheduler.wakeup()  # APScheduler's timer waits in real seconds; the wall clock jumped
            for _ in range(500):  # at most 5 s
                if "announce-report:1:1" in sender.delivered:
                    break
                await asyncio.sleep(0.01)
            assert len([k for k in sender.delivered if k.startswith("announce:1:")]) == 4
            assert "announce-report:1:1" in sender.delivered
        finally:
            await runtime.stop()
            await app.close()

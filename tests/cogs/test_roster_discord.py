"""Joining and role sync over the real discord.py client against the fake Discord (tests/fakes/discord_api.py).

/join with a personal code (once only), a wrong code, the per-account limit on wrong codes, an account already
linked, and /join email: with the organizers' Approve/Deny buttons; server roles added and removed on the wire
as the roster changes, with nothing sent twice after a restart.
"""

from __future__ import annotations

import copy
import logging
from datetime import timedelta

import pytest

from bot.app import CohortBot
from bot.platforms.discord import DiscordPlatform
from cogs.roster._store import show_code, store
from cogs.roster._sync import task
from schedules.runtime import Runtime
from tests.fakes.discord_api import ADA, ALAN, EMMY, GRACE, STRANGER, FakeDiscord, Recorded, started_discord

CALLBACK = r"/interactions/\d+/[^/]+/callback"
EPHEMERAL = 64
NEWCOMER = 100000000000000998  # another server member who is not on the roster
ROLE_CALLS = r"/guilds/\d+/members/\d+/roles/\d+"


@pytest.fixture
async def fake():
    async with FakeDiscord() as server:
        server.add_member(NEWCOMER, "New Comer")
        yield server


@pytest.fixture
async def discord(app: CohortBot, fake: FakeDiscord):
    app.platform = "discord"
    platform = await started_discord(app, fake)
    yield platform
    await platform.stop()


async def interact(fake: FakeDiscord, payload: dict) -> Recorded:
    """Send one interaction and return the bot's callback to it."""
    before = len(fake.find("POST", CALLBACK))
    await fake.interact(payload)
    return await fake.wait_for("POST", CALLBACK, count=before + 1)


async def run(fake: FakeDiscord, name: str, options: dict | None = None, *, user_id: int) -> Recorded:
    return await interact(fake, fake.command(name, options, user_id=user_id))


def text_of(call: Recorded) -> str:
    data = call.payload().get("data") or {}
    return " ".join(
        " ".join([e.get("title") or "", e.get("description") or "", *(f["value"] for f in e.get("fields", []))])
        for e in data.get("embeds") or []
    )


def private(call: Recorded) -> bool:
    return bool(call.payload()["data"].get("flags", 0) & EPHEMERAL)


async def code_for(app: CohortBot, name: str) -> str:
    await store(app).ensure_codes(app.clock.now())
    [person] = await app.people.by_name(name)
    code = await store(app).code_of(person.id)
    return show_code(code.code)


async def test_join_with_a_good_code_links_once_only(app, fake, discord):
    code = await code_for(app, "Rosalind Franklin")
    stranger = await run(fake, "readings", user_id=STRANGER)
    assert private(stranger) and "/join" in text_of(stranger) and "not on the roster" in text_of(stranger)

    welcome = await run(fake, "join", {"code": code.lower().replace("-", " ")}, user_id=STRANGER)
    assert private(welcome) and "Welcome, **Rosalind Franklin**" in text_of(welcome)
    assert (await app.people.by_platform("discord", str(STRANGER))).name == "Rosalind Franklin"
    readings = await run(fake, "readings", user_id=STRANGER)  # now on the roster
    assert "Week 1" in text_of(readings)

    again = await run(fake, "join", {"code": code}, user_id=NEWCOMER)
    assert private(again) and "already been used" in text_of(again)
    assert await app.people.by_platform("discord", str(NEWCOMER)) is None
    [log] = await store(app).changes((await app.people.by_name("Rosalind Franklin"))[0].id)
    assert (log.action, log.by_text) == ("linked", "join code") and str(STRANGER) in log.detail


async def test_a_wrong_code_is_refused_and_wrong_tries_are_limited_per_account(app, fake, discord, clock):
    good = await code_for(app, "Marie Curie")
    wrong = await run(fake, "join", {"code": "ABCD-EFGH-JK"}, user_id=NEWCOMER)
    assert private(wrong) and "not right" in text_of(wrong) and "4 more times" in text_of(wrong)
    for _ in range(4):
        await run(fake, "join", {"code": "ZZZZ-ZZZZ-ZZ"}, user_id=NEWCOMER)
    limited = await run(fake, "join", {"code": good}, user_id=NEWCOMER)  # even the right code, now
    assert "Too many wrong codes" in text_of(limited) and "/join email:" in text_of(limited)
    assert await app.people.by_platform("discord", str(NEWCOMER)) is None
    other = await run(fake, "join", {"code": "ABCD-EFGH-JK"}, user_id=STRANGER)  # the limit is per account
    assert "not right" in text_of(other) and "Too many" not in text_of(other)

    clock.advance(timedelta(minutes=61))  # the window slides
    linked = await run(fake, "join", {"code": good}, user_id=NEWCOMER)
    assert "Welcome, **Marie Curie**" in text_of(linked)


async def test_an_account_already_linked_is_refused(app, fake, discord):
    code = await code_for(app, "Marie Curie")
    refused = await run(fake, "join", {"code": code}, user_id=ADA)
    assert private(refused) and "already linked to **Ada Lovelace**" in text_of(refused)
    refused = await run(fake, "join", {"email": "marie@example.com"}, user_id=ADA)
    assert "already linked to **Ada Lovelace**" in text_of(refused)
    [marie] = await app.people.by_name("Marie Curie")
    assert marie.platform_id("discord") is None and not (await store(app).code_of(marie.id)).used_at
    assert (await app.people.by_platform("discord", str(ADA))).name == "Ada Lovelace"
    own = await run(fake, "join", {"code": await code_for(app, "Ada Lovelace")}, user_id=ADA)
    assert "You're all set" in text_of(own)
    # nor can a code move a place already linked to another account (say, by an id in the CSV)
    hedys = await run(fake, "join", {"code": await code_for(app, "Hedy Lamarr")}, user_id=NEWCOMER)
    assert "already linked to another Discord account" in text_of(hedys) and "/join email:" in text_of(hedys)
    assert (await app.people.by_name("Hedy Lamarr"))[0].platform_id("discord") == "100000000000000012"


async def test_join_by_email_is_approved_or_denied_with_buttons(app, fake, discord):
    runtime = Runtime(app)
    asked = await run(fake, "join", {"email": "Marie@Example.com"}, user_id=STRANGER)
    assert private(asked) and "asked the organizers" in text_of(asked)
    twice = await run(fake, "join", {"email": "marie@example.com"}, user_id=STRANGER)
    assert "already asked" in text_of(twice)
    await runtime.run_until_idle()  # the request reaches the organizers' private channel, with buttons
    assert len(fake.find("POST", rf"/channels/{fake.channels['organizers']}/messages")) == 1
    request = fake.last_message()
    assert "marie@example.com" in str(request["embeds"]) and "Marie Curie" in str(request["embeds"])
    labels = [c["label"] for row in request["components"] for c in row["components"]]
    assert labels == ["Approve", "Deny"]
    stale = copy.deepcopy(request)  # as another organizer still sees it

    facilitator = await interact(fake, fake.click(request, "Approve", user_id=ALAN, channel="organizers"))
    assert private(facilitator) and "only for organizers" in text_of(facilitator)
    assert await app.people.by_platform("discord", str(STRANGER)) is None

    approved = await interact(fake, fake.click(request, "Approve", user_id=GRACE, channel="organizers"))
    assert approved.payload()["type"] == 7  # the request's message is replaced by its outcome
    assert "Approved by Grace Hopper" in text_of(approved) and approved.payload()["data"]["components"] == []
    assert (await app.people.by_platform("discord", str(STRANGER))).name == "Marie Curie"
    await runtime.run_until_idle()  # Marie is told in a DM
    dm = fake.dm_channels[STRANGER]
    [welcome] = fake.find("POST", rf"/channels/{dm}/messages")
    assert "An organizer approved your request" in str(welcome.payload())
    late = await interact(fake, fake.click(stale, "Deny", user_id=GRACE, channel="organizers"))
    assert private(late) and "already approved by Grace Hopper" in text_of(late)

    # someone not on the roster: the organizers deny; the asker sees it with /join
    await run(fake, "join", {"email": "someone@else.org"}, user_id=NEWCOMER)
    await runtime.run_until_idle()
    second = fake.last_message()
    assert "Nobody with this email is on the roster" in str(second["embeds"])
    cannot = await interact(fake, fake.click(second, "Approve", user_id=GRACE, channel="organizers"))
    assert "Nobody with someone@else.org is on the roster" in text_of(cannot)
    denied = await interact(fake, fake.click(second, "Deny", user_id=GRACE, channel="organizers"))
    assert "Denied by Grace Hopper" in text_of(denied)
    status = await run(fake, "join", user_id=NEWCOMER)
    assert "was declined" in text_of(status) and await app.people.by_platform("discord", str(NEWCOMER)) is None


async def test_join_requests_go_to_organizers_by_dm_without_an_organizer_channel(app, fake, discord):
    app.cohort = app.cohort.model_copy(
        update={"roster": app.cohort.roster.model_copy(update={"organizer_channel": None})}
    )
    await run(fake, "join", {"email": "marie@example.com"}, user_id=STRANGER)
    await Runtime(app).run_until_idle()
    dm = fake.dm_channels[GRACE]  # Grace is the only organizer (with a Discord account)
    [request] = fake.find("POST", rf"/channels/{dm}/messages")
    assert "Join request" in str(request.payload()) and not fake.find(
        "POST", rf"/channels/{fake.channels['organizers']}/messages"
    )


def role_calls(fake: FakeDiscord) -> list[tuple[str, int, str]]:
    """(PUT or DELETE, user id, role name) for every role change the bot sent."""
    names = {i: n for n, i in fake.role_ids.items()}
    found = []
    for r in fake.requests:
        if r.method in ("PUT", "DELETE") and r.path.startswith("/guilds/") and "/roles/" in r.path:
            parts = r.path.split("/")
            found.append((r.method, int(parts[4]), names[int(parts[6])]))
    return found


async def test_roles_are_added_and_removed_on_the_wire_and_not_twice_after_a_restart(app, fake, discord):
    await app.run_upkeep()  # start-up: one sync task per linked person
    await Runtime(app).run_until_idle()
    assert {"Scholars", "intro", "section-americas", "section-europe"} <= set(fake.role_ids)
    assert fake.member_roles(ADA) == {"Scholars", "intro", "section-americas"}
    assert fake.member_roles(EMMY) == {"Scholars", "intro", "section-europe"}
    assert fake.member_roles(ALAN) == {"Facilitators", "intro", "section-americas"}
    assert fake.member_roles(GRACE) == {"Organizers"}  # had it already: nothing sent for her
    assert not [c for c in role_calls(fake) if c[1] == GRACE]
    assert sorted(c[2] for c in role_calls(fake) if c[1] == ADA) == ["Scholars", "intro", "section-americas"]
    failed = await app.outbox.items("failed")  # roster people who are not in the server are reported
    assert failed and all("not a member of the Discord server" in i.last_error for i in failed)
    creates = len(fake.find("POST", r"/guilds/\d+/roles"))
    sent = len(role_calls(fake))
    await discord.stop()

    again = await CohortBot.open(app.cohort, app.db.path, clock=app.clock)  # the bot restarts
    again.platform = "discord"
    platform: DiscordPlatform = await started_discord(again, fake)
    try:
        assert await again.run_upkeep() == []  # nothing changed: nothing queued
        await Runtime(again).run_until_idle()
        assert len(role_calls(fake)) == sent and len(fake.find("POST", r"/guilds/\d+/roles")) == creates
        [ada] = await again.people.by_name("Ada Lovelace")  # a task run twice (a retry after a crash): no-op
        assert await platform.sender.run_task(task(ada.id, str(ADA)), key="again") == "roles +0 -0"
        assert len(role_calls(fake)) == sent

        moved = await run(
            fake, "roster", {"action": "set", "user": "Ada Lovelace", "section": "europe-wed"}, user_id=GRACE
        )
        assert "section: americas-tue → europe-wed" in text_of(moved)
        await Runtime(again).run_until_idle()
        assert role_calls(fake)[sent:] == [("PUT", ADA, "section-europe"), ("DELETE", ADA, "section-americas")]
        assert fake.member_roles(ADA) == {"Scholars", "intro", "section-europe"}

        await run(fake, "roster", {"action": "remove", "user": "Ada Lovelace"}, user_id=GRACE)
        await Runtime(again).run_until_idle()
        assert fake.member_roles(ADA) == set()
        refused = await run(fake, "readings", user_id=ADA)
        assert private(refused) and "no longer on the roster" in text_of(refused)
        total = len(role_calls(fake))
        await again.run_upkeep()
        await Runtime(again).run_until_idle()
        assert len(role_calls(fake)) == total  # still nothing twice
    finally:
        await platform.stop()
        await again.close()


async def test_a_missing_permission_is_logged_once_with_what_to_grant(app, fake, discord, caplog):
    fake.fail(403, code=50013, message="Missing Permissions", n=100, path=r"/roles")
    with caplog.at_level(logging.ERROR):
        await app.run_upkeep()
        await Runtime(app).run_until_idle()
    advice = [r for r in caplog.records if "Manage Roles" in r.getMessage()]
    assert len(advice) == 1 and "Scholars" in advice[0].getMessage()
    failed = await app.outbox.items("failed")
    assert any("missing Manage Roles" in i.last_error for i in failed)

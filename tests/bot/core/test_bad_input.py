"""Bad input to commands: every case gets a clear, short, private refusal and changes nothing.

Dates far away or in a compact form, huge option values, option keys that are not text, the demo's clock
pushed past the calendar, and a stranger reading the cohort's whole ``contact`` text.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from bot.app import CohortBot
from bot.core.commands import Command
from bot.core.context import Actor, Place
from bot.core.errors import OptionError, UserError
from bot.core.options import parse_local_datetime
from bot.core.textargs import TextParseError, resolve
from bot.platforms.console import ConsolePlatform
from cogs.homework._common import repo
from tests.plugin import RunAs, console_actor

HUGE = "x" * 100_000


async def ada_id(app: CohortBot) -> int:
    return next(p.id for p in await app.people.all() if p.name == "Ada Lovelace")


async def test_a_date_beyond_9999_is_refused_clearly_and_changes_nothing(app: CohortBot, as_: RunAs) -> None:
    for until in ("9999-12-31 23:59", "9999-06-01", "10000-01-01 00:00"):
        reply = await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until=until)
        assert reply.error is not None and reply.private, until
        assert "went wrong" not in reply.error  # not the generic apology with an error id
        assert "too far away" in reply.error or "must look like 2026-01-20 18:00" in reply.error, reply.error
    assert await repo(app).extension(await ada_id(app), 1) is None


async def test_a_date_far_away_but_valid_is_accepted(app: CohortBot, as_: RunAs) -> None:
    last = "9998-12-31 23:59"  # the last minute accepted
    reply = await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until=last)
    assert reply.error is None, reply.error
    extension = await repo(app).extension(await ada_id(app), 1)
    assert extension is not None and extension.until.year == 9999  # 23:59 in New York is 04:59 UTC next day


@pytest.mark.parametrize("typed", ["20260125", "2026-01-25", " 2026-01-25 "])
async def test_a_date_alone_means_23_59_in_every_form(app: CohortBot, as_: RunAs, typed: str) -> None:
    reply = await as_("Alan Turing", "extend", user="Ada Lovelace", week="1", until=typed)
    assert reply.error is None, reply.error
    extension = await repo(app).extension(await ada_id(app), 1)
    assert extension is not None
    assert extension.until == datetime(2026, 1, 25, 23, 59, tzinfo=app.cohort.zone).astimezone(UTC)


async def test_date_parsing_in_the_readers_zone(app: CohortBot) -> None:
    ctx = await app.dispatcher.context(await console_actor(app, "Emmy Noether"))  # Europe/Berlin
    assert parse_local_datetime("20260125", ctx) == datetime(2026, 1, 25, 22, 59, tzinfo=UTC)
    assert parse_local_datetime("2026-01-25 18:00", ctx) == datetime(2026, 1, 25, 17, 0, tzinfo=UTC)
    with pytest.raises(OptionError, match="too far away: give a date before 9999"):
        parse_local_datetime("9999-12-31", ctx, "until")


@pytest.mark.parametrize(
    ("who", "command", "options"),
    [
        ("Ada Lovelace", "readings", {"week": HUGE}),
        ("Ada Lovelace", "timezone", {"zone": HUGE}),
        ("Ada Lovelace", "submit", {"week": "1", "link": "ftp://" + HUGE}),
        ("Alan Turing", "extend", {"user": HUGE, "week": "1", "until": "2026-01-25"}),
        ("Alan Turing", "extend", {"user": "<@" + HUGE + ">", "week": "1", "until": "2026-01-25"}),
        ("Alan Turing", "extend", {"user": "Ada Lovelace", "week": "1", "until": HUGE}),
        ("Grace Hopper", "submissions", {"section": HUGE}),
        ("Ada Lovelace", "readings", {HUGE: "1"}),
        ("Ada Lovelace", HUGE, {}),
    ],
    ids=["week", "zone", "link", "person", "mention", "date", "section", "option-name", "command-name"],
)
async def test_a_huge_value_is_not_echoed_back_in_full(app: CohortBot, who: str, command: str, options: dict) -> None:
    reply = await app.dispatch(await console_actor(app, who), command, options, Place(channel_name="console"))
    assert reply.error is not None and reply.private
    assert len(reply.error) < 400, reply.error[:500]
    assert "went wrong" not in reply.error


async def test_a_refusal_is_bounded_whatever_a_feature_raises(app: CohortBot, as_: RunAs) -> None:
    async def echo(ctx) -> None:
        raise UserError(f"I will not accept {HUGE}")

    app.registry.add(Command("zz-echo", "Refuses verbosely.", echo))
    reply = await as_("Ada Lovelace", "zz-echo")
    assert reply.error is not None and len(reply.error) <= 1500 and reply.error.endswith("…")


def test_text_options_do_not_echo_a_huge_value(app: CohortBot) -> None:
    for line in (f"readings {HUGE}:1", f"readings week:1 {HUGE}:x", f'readings week:"1" {HUGE}'):
        slash, _, text = line.partition(" ")
        with pytest.raises(TextParseError) as info:
            resolve(app.registry, slash, text)
        assert len(info.value.message) < 400


@pytest.mark.parametrize("key", [1, None, ("week",), 2.5])
async def test_an_option_key_that_is_not_text_gets_a_reply_not_an_exception(app: CohortBot, key: object) -> None:
    reply = await app.dispatch(await console_actor(app, "Ada Lovelace"), "readings", {key: "2"}, Place())
    assert reply.error is not None and "/readings has no option" in reply.error
    assert reply.error_field is None or isinstance(reply.error_field, str)


async def test_the_whole_contact_text_reaches_a_stranger(app: CohortBot) -> None:
    whole = "Ask in #help or write to organizers@mlsafety-course.example.org to be added to the roster."
    assert app.cohort.contact == whole  # the example file quotes it: unquoted, YAML drops " #help ..." as a comment
    for platform, user in (("slack", "U0STRANGER"), ("discord", "999999999999999999"), ("console", "Nobody")):
        reply = await app.dispatch(Actor(platform, user, "Stranger"), "help", {}, Place())
        text = reply.message.text  # the refusal points to /join (docs/roster.md), then the contact, then the id
        assert f"roster of {app.cohort.program} yet" in text and "`/join [code:<string>] [email:<string>]`" in text
        assert f" {whole} (Your " in text and text.endswith(f": {user}.)")


async def test_the_demo_clock_cannot_crash_the_demo(app: CohortBot) -> None:
    out = io.StringIO()
    console = ConsolePlatform(app, stdin=io.StringIO(""), stdout=out)
    before = app.clock.now()
    for arg in ("+1000000w", "+99999999999999999999d", "9999-12-31 23:00", "9999-06-01 00:00"):
        await console.handle(f"/clock {arg}")
    assert out.getvalue().count("The clock cannot go that far") == 4
    assert app.clock.now() == before
    await console.handle("/clock +1w")  # and it still works
    assert "It is now Mon 19 Jan 2026, 08:00 EST." in out.getvalue()

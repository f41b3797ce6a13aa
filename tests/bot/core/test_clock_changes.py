"""Typed local times that a clock change makes impossible (spring forward) or ambiguous (fall back) are refused
privately with what to type instead, in every command that takes a date and time (/section move to:, /extend
until:, /announce at:), and nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.app import CohortBot
from bot.core.errors import OptionError
from bot.core.options import local_instant, parse_local_datetime
from tests.plugin import RunAs, console_actor

NEW_YORK = ZoneInfo("America/New_York")
GAP = "2026-03-08 02:30"  # New York springs forward at 02:00 that night
FOLD = "2026-11-01 01:30"  # New York falls back at 02:00 to 01:00 that night
GAP_ERROR = "2026-03-08 02:30 does not exist in America/New_York (clocks go forward at 02:00); give 03:00 or later."
FOLD_ERROR = (
    "2026-11-01 01:30 happens twice in America/New_York (clocks go back at 02:00 to 01:00); say which with its "
    "offset: 2026-11-01 01:30-04:00 (the first, EDT) or 2026-11-01 01:30-05:00 (the second, EST)."
)


async def state(app: CohortBot) -> tuple:
    """Everything the three commands could change."""
    tables = ("meeting_changes", "extensions", "announcements", "outbox")
    return tuple([[tuple(r) for r in await app.db.fetchall(f"SELECT * FROM {t}")] for t in tables])


@pytest.mark.parametrize(
    ("wall", "zone", "expected"),
    [
        ("2026-03-08 02:00", "America/New_York", "(clocks go forward at 02:00); give 03:00 or later."),
        ("2026-03-08 02:59", "America/New_York", "(clocks go forward at 02:00); give 03:00 or later."),
        ("2026-03-29 02:30", "Europe/Berlin", "(clocks go forward at 02:00); give 03:00 or later."),
        ("2026-03-29 01:15", "Europe/London", "(clocks go forward at 01:00); give 02:00 or later."),
        ("2026-10-04 02:10", "Australia/Lord_Howe", "(clocks go forward at 02:00); give 02:30 or later."),
    ],
)
def test_a_time_in_the_spring_forward_gap_is_refused_with_the_first_real_time(wall, zone, expected):
    with pytest.raises(OptionError) as refused:
        local_instant(datetime.fromisoformat(wall), ZoneInfo(zone), "to")
    assert str(refused.value) == f"to: {wall} does not exist in {zone} {expected}"


@pytest.mark.parametrize(
    ("wall", "zone", "expected"),
    [
        ("2026-11-01 01:00", "America/New_York", "(clocks go back at 02:00 to 01:00)"),
        ("2026-11-01 01:59", "America/New_York", "(clocks go back at 02:00 to 01:00)"),
        ("2026-10-25 02:30", "Europe/Berlin", "(clocks go back at 03:00 to 02:00)"),
        ("2026-04-05 01:45", "Australia/Lord_Howe", "(clocks go back at 02:00 to 01:30)"),
    ],
)
def test_a_time_that_happens_twice_is_refused_naming_both(wall, zone, expected):
    with pytest.raises(OptionError) as refused:
        local_instant(datetime.fromisoformat(wall), ZoneInfo(zone), "at")
    text = str(refused.value)
    assert text.startswith(f"at: {wall} happens twice in {zone} {expected}; say which with its offset: "), text
    first, second = (datetime.fromisoformat(part.split(" (")[0]) for part in text.split(": ")[-1].split(" or "))
    assert first < second and first.replace(tzinfo=None) == second.replace(tzinfo=None)  # the same wall time


@pytest.mark.parametrize(
    "wall", ["2026-03-08 01:59", "2026-03-08 03:00", "2026-11-01 00:59", "2026-11-01 02:00", "2026-07-01 02:30"]
)
def test_times_next_to_a_clock_change_are_read_as_written(wall):
    moment = local_instant(datetime.fromisoformat(wall), NEW_YORK)
    assert moment.astimezone(UTC).astimezone(NEW_YORK).replace(tzinfo=None) == datetime.fromisoformat(wall)


async def test_the_shared_parser_refuses_in_the_typing_persons_zone(app: CohortBot) -> None:
    alan = await app.dispatcher.context(await console_actor(app, "Alan Turing"))  # America/New_York
    emmy = await app.dispatcher.context(await console_actor(app, "Emmy Noether"))  # Europe/Berlin
    with pytest.raises(OptionError, match="does not exist in America/New_York"):
        parse_local_datetime(GAP, alan, "until")
    assert parse_local_datetime(GAP, emmy) == datetime(2026, 3, 8, 1, 30, tzinfo=UTC)  # no change in Berlin then
    with pytest.raises(OptionError, match="does not exist in Europe/Berlin"):
        parse_local_datetime("2026-03-29 02:30", emmy)
    # a time written with its offset is an instant: no question, either fold can be chosen
    assert parse_local_datetime(f"{FOLD}-04:00", alan) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert parse_local_datetime(f"{FOLD}-05:00", alan) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert parse_local_datetime("2026-03-08", alan) == datetime(2026, 3, 9, 3, 59, tzinfo=UTC)  # 23:59 EDT


@pytest.mark.parametrize(
    ("command", "options", "name"),
    [
        ("section move", {"section": "americas-tue", "week": "8"}, "to"),
        ("extend", {"user": "Ada Lovelace", "week": "8"}, "until"),
        ("announce", {"message": "Quiz tonight", "to": "section:americas-tue", "dm": "true"}, "at"),
    ],
)
@pytest.mark.parametrize(("wall", "expected"), [(GAP, GAP_ERROR), (FOLD, FOLD_ERROR)])
async def test_every_command_refuses_privately_and_changes_nothing(
    app, as_: RunAs, command, options, name, wall, expected
):
    who = "Grace Hopper" if command == "announce" else "Alan Turing"  # both in New York
    before = await state(app)
    reply = await as_(who, command, **options, **{name: wall})
    assert reply.private and reply.error is not None
    assert f"{name}: {expected}" in reply.error, reply.error
    assert await state(app) == before


async def test_a_move_into_the_gap_is_refused_and_one_with_an_offset_lands_where_written(app, as_: RunAs) -> None:
    before = await state(app)
    refused = await as_("Alan Turing", "section move", section="americas-tue", week="8", to=GAP)
    assert refused.error is not None and "give 03:00 or later" in refused.error
    assert await state(app) == before
    assert (await app.meetings.get("americas-tue", 8)).start == datetime(2026, 3, 3, 23, 0, tzinfo=UTC)  # unmoved
    moved = await as_("Alan Turing", "section move", section="americas-tue", week="8", to=f"{FOLD}-05:00")
    assert moved.error is None, moved.error
    assert "Sun 01 Nov 2026, 01:30 EST" in moved.message.as_plain_text(NEW_YORK)
    assert (await app.meetings.get("americas-tue", 8)).start == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)

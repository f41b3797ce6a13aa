"""Property: arbitrary option values to /submit and /extend never raise, and a refusal changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.app import CohortBot
from bot.cohort import load_cohort
from bot.core.clock import ManualClock
from bot.core.context import Place
from bot.core.messages import Attachment, Reply
from bot.roster import import_roster_file
from cogs.homework._common import MAX_FILE_BYTES
from tests.cogs.test_homework import snapshot
from tests.plugin import EXAMPLE_COHORT, EXAMPLE_ROSTER, console_actor

PEOPLE = ["Ada Lovelace", "Hedy Lamarr", "Emmy Noether", "Alan Turing", "Katherine Johnson", "Grace Hopper", "Stranger"]
SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

weeks = st.one_of(
    st.none(),
    st.integers(-3, 12),
    st.booleans(),
    st.sampled_from(["1", "2", "8", "0", "9", " 3 ", "week 1", "1.5", "١"]),
    st.text(max_size=6),
)
links = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://example.com/hw",
            "http://x.org/a?b=c",
            "ftp://x.org/a",
            "https://",
            "javascript:alert(1)",
            "https://x.org/" + "a" * 2001,
            "https://exa mple.com",
            "",
        ]
    ),
    st.text(max_size=30),
)
texts = st.one_of(st.none(), st.just("y" * 4001), st.just("   "), st.text(max_size=60))
files = st.one_of(
    st.none(),
    st.just(Attachment(filename="a.pdf", content=b"hello")),
    st.just(Attachment(filename="", content=b"")),
    st.just(Attachment(filename="big.bin", content=b"0" * (MAX_FILE_BYTES + 1))),
    st.text(max_size=10),
)
users = st.one_of(
    st.none(),
    st.sampled_from([*PEOPLE, "Ada", "ada@example.com", "<@100000000000000011>", "Marie", "a", ""]),
    st.text(max_size=12),
)
untils = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2026-01-20 12:00",
            "2026-01-20",
            "2025-12-01 10:00",
            "2026-01-14 10:00",
            "2026-02-30 10:00",
            "2026-01-22T12:00+05:00",
            "2099-01-01 00:00",
            "tomorrow",
            "",
        ]
    ),
    st.text(max_size=16),
)
moments = st.integers(0, 10 * 24)  # hours after the course starts


@pytest.fixture
def runner_app(tmp_path: Path) -> Iterator[tuple[asyncio.Runner, CohortBot, ManualClock]]:
    """One app for all examples (a snapshot before and after each one tells what changed)."""
    cohort = load_cohort(EXAMPLE_COHORT)
    clock = ManualClock(datetime.combine(cohort.start_date, time(8, 0), tzinfo=cohort.zone))
    with asyncio.Runner() as runner:
        app = runner.run(CohortBot.open(cohort, tmp_path / "prop.db", clock=clock))
        runner.run(import_roster_file(app.people, EXAMPLE_ROSTER, cohort, clock.now()))
        yield runner, app, clock
        runner.run(app.close())


async def check(app: CohortBot, who: str, command: str, options: dict) -> None:
    before = await snapshot(app)
    reply = await app.dispatch(await console_actor(app, who), command, options, Place())
    assert isinstance(reply, Reply)
    if reply.error is not None:
        assert "went wrong" not in reply.error, reply.error  # never an unhandled exception
        assert reply.private
        assert await snapshot(app) == before
        event("refused")
    elif reply.form is not None:
        assert await snapshot(app) == before
        event("form")
    else:
        assert reply.message is not None
        event("done")


# Mostly-valid values too, so that successes (and the refusals that only valid-looking input reaches) are explored.
scholars = st.sampled_from(["Ada Lovelace", "Hedy Lamarr", "Emmy Noether"])
staff = st.sampled_from(["Alan Turing", "Katherine Johnson", "Grace Hopper"])
good_weeks = st.one_of(st.integers(1, 8), st.integers(1, 8).map(str))
submits = st.one_of(
    st.tuples(
        st.sampled_from(PEOPLE), st.fixed_dictionaries({"week": weeks, "link": links, "text": texts, "file": files})
    ),
    st.tuples(
        scholars,
        st.fixed_dictionaries(
            {
                "week": good_weeks,
                "link": st.one_of(st.none(), st.just("https://example.com/hw")),
                "text": st.one_of(st.none(), st.text(min_size=1, max_size=40)),
                "file": st.one_of(st.none(), st.just(Attachment(filename="a.pdf", content=b"hello"))),
            }
        ),
    ),
)
extends = st.one_of(
    st.tuples(st.sampled_from(PEOPLE), st.fixed_dictionaries({"user": users, "week": weeks, "until": untils})),
    st.tuples(
        staff,
        st.fixed_dictionaries(
            {
                "user": st.sampled_from(["Ada Lovelace", "Hedy", "Emmy Noether", "Tu Youyou"]),
                "week": good_weeks,
                "until": st.sampled_from(["2026-03-20 12:00", "2026-01-20 12:00", "2026-02-02", "2026-01-13 09:00"]),
            }
        ),
    ),
)


@SETTINGS
@given(case=submits, hours=moments)
def test_submit_with_arbitrary_options(runner_app, case, hours):
    runner, app, clock = runner_app
    start = datetime.combine(app.cohort.start_date, time(8, 0), tzinfo=app.cohort.zone)
    clock.set(start + timedelta(hours=hours))
    who, options = case
    runner.run(check(app, who, "submit", options))


@SETTINGS
@given(case=extends, hours=moments)
def test_extend_with_arbitrary_options(runner_app, case, hours):
    runner, app, clock = runner_app
    start = datetime.combine(app.cohort.start_date, time(8, 0), tzinfo=app.cohort.zone)
    clock.set(start + timedelta(hours=hours))
    who, options = case
    runner.run(check(app, who, "extend", options))

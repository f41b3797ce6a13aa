"""Helpers shared by the attendance and stipend tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.app import CohortBot
from bot.core.context import Place
from bot.core.messages import Button, Reply, Select
from tests.plugin import console_actor

NY = ZoneInfo("America/New_York")
TABLES = (
    "attendance",
    "attendance_changes",
    "attendance_meetings",
    "attendance_drafts",
    "checkin_windows",
    "checkin_failures",
    "pay_adjustments",
    "stipend_alerts",
    "outbox",
)


def ny(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    """A moment in 2026, New York time (the cohort's zone)."""
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


# Week 1 meetings (the example cohort): americas-tue Tue 13 Jan 18:00 New York; europe-wed Wed 14 Jan 18:30 London;
# apac-thu Thu 15 Jan 19:00 Singapore. Week N is 7*(N-1) days later.
AMERICAS_W1 = ny(13, 18)


async def snapshot(app: CohortBot) -> list[list[tuple]]:
    """Every row this feature writes (and the outbox), to show that a refusal changed nothing."""
    return [[tuple(r) for r in await app.db.fetchall(f"SELECT * FROM {t} ORDER BY rowid")] for t in TABLES]


def text_of(reply: Reply) -> str:
    """The reply as plain text (New York time)."""
    assert reply.message is not None, reply
    return reply.message.as_plain_text(NY)


def control(reply: Reply, label: str) -> Button | Select:
    """The button with ``label``, or the select with that placeholder, in ``reply``."""
    assert reply.message is not None, reply
    for c in reply.message.actions:
        if (isinstance(c, Button) and c.label == label) or (isinstance(c, Select) and c.placeholder == label):
            return c
    raise AssertionError(f"no control {label!r} in {[getattr(c, 'label', c.kind) for c in reply.message.actions]}")


async def press(app: CohortBot, who: str, reply: Reply, label: str, values: list[str] | None = None) -> Reply:
    """``who`` clicks the control ``label`` of ``reply`` (choosing ``values`` in a select)."""
    found = control(reply, label)
    return await app.dispatcher.click(await console_actor(app, who), found.id, values or [], Place())


async def pid(app: CohortBot, name: str) -> int:
    """The roster id of ``name``."""
    [found] = await app.people.by_name(name)
    return found.id


async def marks(app: CohortBot, section: str, week: int) -> dict[str, str]:
    """``{name: status}`` of one meeting."""
    rows = await app.db.fetchall(
        "SELECT p.name, a.status FROM attendance a JOIN people p ON p.id = a.person_id"
        " WHERE a.section = ? AND a.week = ? ORDER BY p.name",
        (section, week),
    )
    return {r["name"]: r["status"] for r in rows}

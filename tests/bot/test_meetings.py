"""Section meetings: the cohort file's weekly pattern, with one-off moves and cancellations from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import CohortBot


async def test_meetings_follow_the_file_then_moves_and_cancellations(app: CohortBot):
    europe = await app.meetings.get("Europe-Wed", 2)  # case-insensitive
    assert europe is not None and europe.name == "europe-wed" and europe.held and europe.sequence == 0
    # Wednesday of week 2, 18:30 in London (GMT in January) = 18:30 UTC, 60 minutes
    assert europe.start == datetime(2026, 1, 21, 18, 30, tzinfo=UTC) and europe.minutes == 60
    assert await app.meetings.get("nowhere", 2) is None and await app.meetings.get("europe-wed", 9) is None

    new_start = datetime(2026, 1, 22, 17, 0, tzinfo=UTC)
    moved = await app.meetings.record("europe-wed", 2, "moved", starts_at=new_start, reason="holiday", by=None)
    assert (moved.status, moved.start, moved.end, moved.sequence) == (
        "moved",
        new_start,
        new_start + timedelta(hours=1),
        1,
    )
    cancelled = await app.meetings.record("europe-wed", 2, "cancelled", reason="snow")
    assert not cancelled.held and cancelled.reason == "snow" and cancelled.sequence == 2

    weeks = await app.meetings.of_section("europe-wed")
    assert [m.week for m in weeks] == list(range(1, 9)) and [m.held for m in weeks].count(False) == 1
    everyone = await app.meetings.all()
    assert len(everyone) == 3 * 8 and everyone == sorted(everyone, key=lambda m: (m.start, m.name))
    first_week = await app.meetings.between(datetime(2026, 1, 12, tzinfo=UTC), datetime(2026, 1, 19, tzinfo=UTC))
    assert [m.name for m in first_week] == ["americas-tue", "europe-wed", "apac-thu"]

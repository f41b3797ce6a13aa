"""The small shared helpers in bot/core/util.py."""

from __future__ import annotations

import pytest

from bot.core.util import SQL_BATCH, batched


def test_batched_splits_into_lists_of_at_most_size_keeping_order():
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []
    assert list(batched(iter(range(3)), 3)) == [[0, 1, 2]]  # any iterable, read once
    assert [len(b) for b in batched(range(SQL_BATCH + 1))] == [SQL_BATCH, 1]
    with pytest.raises(ValueError, match="at least one"):
        list(batched([1], 0))


def test_iso_is_to_the_second_in_the_times_own_zone_and_empty_for_none():
    from datetime import UTC, datetime, timedelta, timezone

    from bot.core.util import iso

    assert iso(datetime(2026, 1, 12, 14, 0, 5, 999, tzinfo=UTC)) == "2026-01-12T14:00:05+00:00"
    assert iso(datetime(2026, 1, 12, 9, 0, tzinfo=timezone(timedelta(hours=-5)))) == "2026-01-12T09:00:00-05:00"
    assert iso(None) == ""


def test_slug_never_changes_what_it_makes_of_a_text():
    from bot.core.util import slug

    assert slug("Introduction to ML Safety (Winter 2026)") == "introduction-to-ml-safety-winter-2026"
    assert slug("  ***  ") == "x" and slug(None, "table") == "table"
    assert slug("Week 1 — Readings & Notes", "table", 10) == "week-1-rea"


def test_plural_and_article_read_as_english() -> None:
    from bot.core.util import article, plural

    assert [plural(n, "meeting") for n in (0, 1, 2)] == ["0 meetings", "1 meeting", "2 meetings"]
    assert plural(1, "person", "people") == "1 person" and plural(3, "person", "people") == "3 people"
    assert article("organizer") == "an organizer" and article("scholar") == "a scholar"

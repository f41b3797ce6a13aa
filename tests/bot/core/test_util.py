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

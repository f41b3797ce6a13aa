"""Small helpers every part of the bot shares: batches of ids for SQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
SQL_BATCH = 500
"""Values per ``IN (...)`` list of one query: well under SQLite's limit on ``?`` parameters (999 in old builds)."""


def batched(items: Iterable[T], size: int = SQL_BATCH) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (``itertools.batched`` arrives in Python 3.12)."""
    if size < 1:
        raise ValueError("a batch holds at least one item")
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch

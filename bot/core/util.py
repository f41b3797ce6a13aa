"""Small helpers every part of the bot shares: batches of ids for SQL, times in keys, and slugs for ids and file
names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
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


def iso(dt: datetime | None) -> str:
    """``dt`` in ISO 8601 to the second, in its own zone (``""`` for ``None``), for keys, job ids and files.

    Outbox keys and job ids are made of it, so what it makes of a given time must never change.
    """
    return dt.replace(microsecond=0).isoformat() if dt else ""


def slug(text: str | None, default: str = "x", limit: int | None = None) -> str:
    """``Introduction to ML Safety (Winter 2026)`` -> ``introduction-to-ml-safety-winter-2026``: lower-case
    letters and digits joined by ``-`` (at most ``limit`` characters), or ``default`` if nothing is left.

    Calendar UIDs are made of slugs, so what it makes of a given text must never change.
    """
    cleaned = re.sub(r"[^a-z0-9]+", "-", (text or "").casefold()).strip("-")
    return cleaned[:limit] or default


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 scholar``, ``2 scholars`` (``many``: the plural when it is not ``word`` + "s", e.g. ``people``)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def article(word: str) -> str:
    """``a scholar``, ``an organizer``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"

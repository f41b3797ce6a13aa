"""Injectable clocks: the real one, and a virtual one that tests and the demo move by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

END_OF_DAY = time(23, 59)
"""What a date written without a time means, in commands and in the cohort file: 23:59 that day."""
LAST_YEAR = 9998
"""The last year typed dates may name: a year short of ``datetime.max``, so adding days or hours cannot overflow."""


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current time (aware, UTC)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; listeners hear about every move."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._listeners: list[Callable[[datetime], None]] = []

    def now(self) -> datetime:
        """Return the virtual time."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (aware)."""
        self._now = when.astimezone(UTC)
        for listener in list(self._listeners):
            listener(self._now)

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta``."""
        self.set(self._now + delta)

    def on_change(self, listener: Callable[[datetime], None]) -> None:
        """Call ``listener(now)`` after every move."""
        self._listeners.append(listener)


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as aware UTC; naive values are taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def to_db(dt: datetime) -> str:
    """Serialise an aware datetime for the database (ISO 8601 in UTC, seconds precision)."""
    return utc(dt).replace(microsecond=0).isoformat()


def from_db(value: str) -> datetime:
    """Parse a value written by :func:`to_db`."""
    return utc(datetime.fromisoformat(value))


def date_only(text: str) -> date | None:
    """The date if ``text`` is an ISO date alone (``2026-01-25``, ``20260125``), else ``None``."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None

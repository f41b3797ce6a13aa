"""Acting once per Slack request: retries and replays of the same request are answered, not run again.

Slack retries an Events API request it thinks went unanswered (``X-Slack-Retry-Num``, same ``event_id``), and
a signed request replayed by anyone within the 5-minute signature window passes the signature check again. So
each request's own id (``event_id`` for events; ``trigger_id``, which Slack makes fresh for every slash command,
click and modal submission) is remembered for :data:`TTL` seconds, longer than that window, and a request whose
id was already seen is acknowledged without running anything.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

TTL = 600.0  # seconds: more than Slack's 5-minute signature window and its retry schedule
MAX_KEYS = 20_000  # a burst of this many distinct requests within the TTL still fits


def request_key(body: dict[str, Any]) -> str | None:
    """The id that makes this request unique, or ``None`` for requests without one (nothing is remembered)."""
    if isinstance(body.get("event_id"), str):
        return f"event:{body['event_id']}"
    if isinstance(body.get("trigger_id"), str):
        return f"trigger:{body['trigger_id']}"
    return None


class RecentlySeen:
    """A bounded set of keys, each forgotten ``ttl`` seconds after it was first seen."""

    def __init__(self, ttl: float = TTL, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        self.clock = clock
        self._expires: OrderedDict[str, float] = OrderedDict()  # oldest first

    def first_time(self, key: str) -> bool:
        """Remember ``key``; ``True`` unless it was already seen within the last ``ttl`` seconds."""
        now = self.clock()
        while self._expires and next(iter(self._expires.values())) <= now:
            self._expires.popitem(last=False)
        if key in self._expires:
            return False
        self._expires[key] = now + self.ttl
        while len(self._expires) > self.max_keys:
            self._expires.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._expires)

"""A token bucket: pace requests to a platform's rate limit, and pause everything after a 429.

Pacing is always in real (monotonic) time, even when the schedule runs on a virtual clock: rate limits are
enforced by the platform in real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, and at most ``burst`` at once.

    ``burst`` defaults to 1: requests are spaced ``1/rate`` apart, so no one-second window ever holds more
    than ``rate + 1`` of them (a bucket with a large burst could send ``burst + rate`` in a second and trip a
    "50 per second" limit even at a lower average). ``rate=None`` means unlimited.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        burst: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for unlimited)")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep or asyncio.sleep
        self._tokens = float(burst)
        self._updated = monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every acquisition for ``seconds`` (a platform said ``retry_after``)."""
        self._paused_until = max(self._paused_until, self._monotonic() + max(0.0, seconds))
        self._tokens = min(self._tokens, 1.0)

    def _refill(self, now: float) -> None:
        if self.rate is None:
            self._tokens = float(self.burst)
        else:
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def delay(self) -> float:
        """Seconds until the next acquisition could succeed (0 if now)."""
        now = self._monotonic()
        self._refill(now)
        wait = max(0.0, self._paused_until - now)
        if self.rate is not None and self._tokens < 1.0 - 1e-9:  # tolerate float rounding
            wait = max(wait, (1.0 - self._tokens) / self.rate)
        return wait

    async def acquire(self) -> None:
        """Wait for a token (callers are served in arrival order)."""
        async with self._lock:
            while True:
                wait = self.delay()
                if wait <= 1e-9:
                    if self.rate is not None:
                        self._tokens -= 1.0
                    return
                await self._sleep(wait)

"""Pacing: space sends to a platform's rate limits, per platform and per channel, and slow down after a 429.

* :class:`TokenBucket`: one budget (a fixed grid of slots, GCRA), paused by a 429's ``retry_after``.
* :class:`Pacer`: what the outbox worker uses per platform, built from the sender's :class:`SendRate`: the
  platform-wide bucket (Discord's global 49/s; Slack's workspace-wide rate), a bucket per channel where the
  platform limits each one (Slack: about 1 message a second per channel, and each DM is its own channel), and,
  if ``adaptive``, a platform rate that drops after a 429 and climbs back while none comes (AIMD).

Pacing is always in real (monotonic) time, even when the schedule runs on a virtual clock: rate limits are
enforced by the platform in real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.core.platform import SendRate


class TokenBucket:
    """At most ``rate`` acquisitions per second, on a fixed grid of slots ``1/rate`` apart.

    Each acquisition takes the next slot of a schedule (the "virtual scheduling" form of a token bucket,
    GCRA). Under saturation the slots stay exactly ``1/rate`` apart however late the event loop wakes a
    waiter (a late wake-up does not push the later slots back, so the average rate is ``rate``, not
    ``1/(1/rate + wake-up latency)``), and any one-second window holds at most ``ceil(rate)`` slots.

    * ``burst`` (default 1): how many acquisitions an idle bucket allows back to back. With 1, an idle
      bucket restarts its grid at "now": no window ever holds more than ``rate + 1`` acquisitions.
    * ``tolerance`` (seconds, default a tenth of a slot, at most 2 ms): how far a waiter woken late may
      still count as on time. It keeps the grid under saturation; it also bounds how much closer than
      ``1/rate`` two acquisitions can ever be.
    * ``spin`` (seconds): sleep until that long before the slot, then yield to the loop until the slot is
      reached, so the slot is taken on time rather than up to a millisecond late (epoll's timeout is in
      whole milliseconds). Only with the real clock (the default ``sleep``); 0 disables it.
    * ``rate=None`` means unlimited; :meth:`pause` holds every acquisition (a platform said ``retry_after``).
    """

    def __init__(
        self,
        rate: float | None,
        *,
        burst: int = 1,
        tolerance: float | None = None,
        spin: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for unlimited)")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self.burst = burst
        self.interval = 0.0 if rate is None else 1.0 / rate
        self.tolerance = min(0.002, self.interval / 10) if tolerance is None else max(0.0, tolerance)
        if self.tolerance >= self.interval > 0:
            raise ValueError("tolerance must be shorter than a slot (1/rate)")
        self.spin = (0.002 if sleep is None else 0.0) if spin is None else max(0.0, spin)
        self._monotonic = monotonic
        self._sleep = sleep or asyncio.sleep
        self._next = monotonic() - (burst - 1) * self.interval  # the earliest time the next slot may be taken
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self.acquired = 0

    def set_rate(self, rate: float) -> None:
        """Change the rate from the next slot on (the slot already scheduled stays)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.interval = 1.0 / rate
        self.tolerance = min(self.tolerance, self.interval / 10)

    def idle(self) -> bool:
        """Whether the bucket has nothing scheduled (an idle bucket restarts its grid at "now")."""
        return self._due() + self.interval < self._monotonic() and not self._lock.locked()

    def pause(self, seconds: float) -> None:
        """Hold every acquisition for ``seconds`` (a platform said ``retry_after``); then restart the grid."""
        self._paused_until = max(self._paused_until, self._monotonic() + max(0.0, seconds))
        self._next = max(self._next, self._paused_until)

    def _due(self) -> float:
        return max(self._next, self._paused_until)

    def delay(self) -> float:
        """Seconds until the next acquisition could succeed (0 if now)."""
        return max(0.0, self._due() - self._monotonic())

    async def acquire(self) -> None:
        """Wait for the next slot (callers are served in arrival order)."""
        async with self._lock:
            while True:
                due = self._due()
                wait = due - self._monotonic()
                if wait <= 1e-9:
                    break
                if wait > self.spin:
                    await self._sleep(wait - self.spin if self.spin else wait)
                else:
                    await asyncio.sleep(0)  # the last moments: yield to the loop, wake on time
            self.acquired += 1
            if self.rate is None:
                return
            now = self._monotonic()
            # The slot taken: the one waited for if the wake-up was at most `tolerance` late (saturated: the
            # grid holds); otherwise "now", less the burst an idle bucket may spend.
            slot = max(due, now - self.tolerance - (self.burst - 1) * self.interval)
            self._next = slot + self.interval


class Pacer:
    """A platform's pacing: its platform-wide bucket and, if its rate says so, one bucket per channel.

    :meth:`acquire` waits for the channel's slot, then the platform's (so a platform slot is never spent while
    the channel is still busy). :meth:`rate_limited` is what a 429 does: pause the platform (``retry_after``)
    and, if ``adaptive``, lower the platform rate by ``decrease`` (not below ``floor`` times the configured
    rate); every ``recover_after`` seconds without a 429 it climbs back by ``increase`` of the configured rate.
    """

    MAX_CHANNELS = 5000  # idle channel buckets are dropped beyond this many

    def __init__(
        self,
        rate: SendRate,
        *,
        decrease: float = 0.7,
        increase: float = 0.1,
        floor: float = 0.1,
        recover_after: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.rate = rate
        self._monotonic = monotonic
        self._sleep = sleep
        self.platform = TokenBucket(rate.per_second, monotonic=monotonic, sleep=sleep)
        self.channels: dict[str, TokenBucket] = {}
        self.decrease, self.increase, self.floor, self.recover_after = decrease, increase, floor, recover_after
        self.current = rate.per_second  # the adaptive platform rate now
        self._changed = monotonic()
        self.rate_limits = 0

    async def acquire(self, channel: str | None = None) -> None:
        """Wait for ``channel``'s slot (if channels are paced) and then for a platform slot."""
        if self.rate.per_channel and channel is not None:
            await self._channel(channel).acquire()
        self._climb()
        await self.platform.acquire()

    def rate_limited(self, retry_after: float | None) -> None:
        """A 429: pause the whole platform for ``retry_after`` and, if adaptive, slow down."""
        self.rate_limits += 1
        if retry_after is not None:
            self.platform.pause(retry_after)
        if self.rate.adaptive and self.current is not None and self.rate.per_second is not None:
            self.current = max(self.rate.per_second * self.floor, self.current * self.decrease)
            self.platform.set_rate(self.current)
            self._changed = self._monotonic()

    def _climb(self) -> None:
        target = self.rate.per_second
        if not self.rate.adaptive or self.current is None or target is None or self.current >= target:
            return
        now = self._monotonic()
        if now - self._changed >= self.recover_after:
            self.current = min(target, self.current + target * self.increase)
            self.platform.set_rate(self.current)
            self._changed = now

    def _channel(self, channel: str) -> TokenBucket:
        bucket = self.channels.get(channel)
        if bucket is None:
            if len(self.channels) >= self.MAX_CHANNELS:
                self.channels = {k: b for k, b in self.channels.items() if not b.idle()}
            bucket = TokenBucket(self.rate.per_channel, monotonic=self._monotonic, sleep=self._sleep)
            self.channels[channel] = bucket
        return bucket

"""Platform-wide health: stop sending to a platform that keeps failing, probe it now and then, resume.

One :class:`PlatformHealth` per platform (a circuit breaker), in the app's clock time, so tests run a
two-hour outage on a virtual clock:

* **ok**: every lane sends. ``trip_after`` transient failures in a row (5xx, connection errors, timeouts,
  unknown outcomes; a 429 or a permanent error is an answer, so it breaks the run) pause the platform.
* **paused** until ``resume_at``: nothing is claimed for the platform; rows already claimed are handed back.
  The pause starts at ``first_pause`` seconds and grows by ``factor`` per failed probe up to ``max_pause``,
  each drawn in [½, 1] × that (jitter, so many bots do not probe in step; the lower half bounds the calls).
* **probing**: once ``resume_at`` has passed, one row is claimed and sent as the probe. Success (or any answer)
  -> ok, every lane resumes; a transient failure -> paused again, for longer.

So an outage of any length costs about one call per pause, not one per row: at most ``trip_after`` plus the
lanes' in-flight sends, then one call every ``max_pause / 2`` seconds or more.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

OK, PAUSED, PROBING = "ok", "paused", "probing"


class PlatformHealth:
    """The circuit breaker of one platform (see the module docstring)."""

    def __init__(
        self,
        platform: str,
        *,
        trip_after: int = 5,
        first_pause: float = 1.0,
        factor: float = 1.25,
        max_pause: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        if trip_after < 1 or first_pause <= 0 or factor < 1 or max_pause < first_pause:
            raise ValueError("bad circuit breaker settings")
        self.platform = platform
        self.trip_after = trip_after
        self.first_pause = first_pause
        self.factor = factor
        self.max_pause = max_pause
        self.rng = rng or random.Random()
        self.state = OK
        self.failures = 0  # transient failures in a row
        self.nominal = first_pause  # the pause before the next probe, before jitter
        self.resume_at: datetime | None = None
        self.paused_since: datetime | None = None
        self.last_error: str | None = None
        self.probe_in_flight = False
        self.probes = 0  # probes sent during the current pause
        self.trips = 0  # times the platform was paused (since the worker started)

    # ---- what the worker may do -------------------------------------------------------------------------
    def claim_limit(self, now: datetime, batch: int) -> int:
        """How many rows the worker may claim for this platform now: ``batch``, 1 (the probe) or 0."""
        if self.state == OK:
            return batch
        if self.state == PAUSED and self.resume_at is not None and now >= self.resume_at:
            self.state = PROBING
        if self.state == PROBING and not self.probe_in_flight:
            return 1
        return 0

    def probe_started(self) -> None:
        """The worker claimed the probe row."""
        self.probe_in_flight = True
        self.probes += 1

    def probe_abandoned(self) -> None:
        """The probe row was not sent after all (it expired, or the worker is stopping)."""
        self.probe_in_flight = False

    def sending(self) -> bool:
        """Whether ordinary rows (not the probe) may be sent now."""
        return self.state == OK

    # ---- what happened ------------------------------------------------------------------------------------
    def answered(self, now: datetime) -> None:
        """The platform answered (sent, or a permanent error, or a rate limit): it is up."""
        self.failures = 0
        self.probe_in_flight = False
        if self.state != OK:
            paused = (now - self.paused_since).total_seconds() if self.paused_since else 0.0
            log.warning(
                "outbox: %s answers again after %.0f s paused (%d probe(s)); resuming",
                self.platform,
                paused,
                self.probes,
            )
        self.state = OK
        self.nominal = self.first_pause
        self.resume_at = self.paused_since = None
        self.probes = 0

    def failed(self, now: datetime, reason: str) -> bool:
        """A transient failure (5xx, connection error, timeout, unknown outcome). Whether the platform is now
        paused (then the row's failure is the platform's, not the row's: it need not back off on its own)."""
        self.last_error = reason
        if self.state == OK:
            self.failures += 1
            if self.failures < self.trip_after:
                return False
            self.trips += 1
            self.paused_since = now
            self._pause(now)
            log.warning(
                "outbox: %s paused after %d transient errors in a row (last: %s); probing again in %.1f s",
                self.platform,
                self.failures,
                reason,
                (self.resume_at - now).total_seconds() if self.resume_at else 0.0,
            )
            return True
        if self.state == PROBING and self.probe_in_flight:
            self.probe_in_flight = False
            self.nominal = min(self.max_pause, self.nominal * self.factor)
            self._pause(now)
            log.info(
                "outbox: %s still failing (%s); next probe in %.1f s", self.platform, reason, self.pause_seconds(now)
            )
        return True  # a send that was in flight when the platform was paused: nothing more to learn

    def _pause(self, now: datetime) -> None:
        self.state = PAUSED
        self.resume_at = now + timedelta(seconds=self.nominal * self.rng.uniform(0.5, 1.0))

    # ---- reading ---------------------------------------------------------------------------------------------
    def pause_seconds(self, now: datetime) -> float:
        """Seconds until the next probe (0 if not paused)."""
        if self.state != PAUSED or self.resume_at is None:
            return 0.0
        return max(0.0, (self.resume_at - now).total_seconds())

    def describe(self) -> str | None:
        """One line for /outbox while the platform is not ok, else ``None``."""
        if self.state == OK:
            return None
        since = f" since {self.paused_since:%H:%M:%S} UTC" if self.paused_since else ""
        nxt = f", next probe at {self.resume_at:%H:%M:%S} UTC" if self.state == PAUSED and self.resume_at else ""
        return f"{self.platform}: paused{since} after transient errors ({self.last_error}){nxt}"

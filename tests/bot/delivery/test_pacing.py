"""The pacer on a fake monotonic clock: slots on a grid, no window above the rate, late wake-ups absorbed;
per-channel pacing under a platform rate, and a rate that adapts to 429s."""

from __future__ import annotations

import itertools
import random

import pytest

from bot.core.platform import SendRate
from bot.delivery.pacing import Pacer, TokenBucket


def clock_and_sleep(overshoot: float = 0.0, seed: int = 1):
    """A fake monotonic clock and a sleep that advances it, waking up to ``overshoot`` seconds late."""
    now = [0.0]
    rng = random.Random(seed)

    async def sleep(seconds: float) -> None:
        now[0] += seconds + rng.uniform(0.0, overshoot)

    return now, (lambda: now[0]), sleep


def most_in_one_second(times: list[float]) -> int:
    # (less 1 ns: slots summed in floating point land a hair early)
    return max(sum(1 for u in times[i:] if u < t + 1.0 - 1e-9) for i, t in enumerate(times))


async def saturate(bucket: TokenBucket, now: list[float], n: int) -> list[float]:
    times = []
    for _ in range(n):
        await bucket.acquire()
        times.append(now[0])
    return times


async def test_saturated_bucket_never_exceeds_the_rate_in_any_rolling_second():
    now, monotonic, sleep = clock_and_sleep()
    bucket = TokenBucket(49.0, monotonic=monotonic, sleep=sleep)
    times = await saturate(bucket, now, 500)
    assert most_in_one_second(times) <= 49
    assert times[-1] == pytest.approx(499 / 49)


async def test_late_wake_ups_do_not_slow_the_average_and_stay_under_the_limit():
    # Wake-ups up to 1 ms late (epoll rounds its timeout to whole milliseconds) within the 2 ms tolerance.
    now, monotonic, sleep = clock_and_sleep(overshoot=0.001)
    bucket = TokenBucket(49.0, monotonic=monotonic, sleep=sleep)
    times = await saturate(bucket, now, 2000)
    assert times[-1] <= 1999 / 49 + 0.001 + 1e-9  # the grid holds: no drift
    assert most_in_one_second(times) <= 50  # Discord's 50 per rolling second
    assert min(b - a for a, b in itertools.pairwise(times)) >= 1 / 49 - 0.001 - 1e-9


async def test_an_idle_bucket_restarts_its_grid_without_a_burst():
    now, monotonic, sleep = clock_and_sleep()
    bucket = TokenBucket(10.0, monotonic=monotonic, sleep=sleep)
    await bucket.acquire()
    now[0] += 5.0  # idle
    first = now[0]
    await bucket.acquire()
    await bucket.acquire()
    assert now[0] - first >= 0.1 - bucket.tolerance - 1e-9


async def test_burst_allows_that_many_back_to_back_after_idle():
    now, monotonic, sleep = clock_and_sleep()
    bucket = TokenBucket(10.0, burst=3, monotonic=monotonic, sleep=sleep)
    now[0] += 5.0
    start = now[0]
    for _ in range(3):
        await bucket.acquire()
    assert now[0] == start
    await bucket.acquire()
    assert now[0] > start


async def test_pause_holds_everything_then_restarts_the_grid():
    now, monotonic, sleep = clock_and_sleep()
    bucket = TokenBucket(50.0, monotonic=monotonic, sleep=sleep)
    await saturate(bucket, now, 10)
    paused_at = now[0]
    bucket.pause(1.0)
    times = await saturate(bucket, now, 50)
    assert times[0] >= paused_at + 1.0 - 1e-9
    assert most_in_one_second(times) <= 50


async def test_unlimited_never_waits():
    now, monotonic, sleep = clock_and_sleep()
    bucket = TokenBucket(None, monotonic=monotonic, sleep=sleep)
    await saturate(bucket, now, 100)
    assert now[0] == 0.0


async def test_slack_pacing_per_channel_under_a_workspace_rate():
    now, monotonic, sleep = clock_and_sleep()
    pacer = Pacer(SendRate(per_second=8.0, per_channel=1.0), monotonic=monotonic, sleep=sleep)
    times: dict[str, list[float]] = {}
    everything = []
    for i in range(60):
        channel = "dm:1" if i % 3 == 0 else f"dm:{i}"  # one busy conversation among many
        await pacer.acquire(channel)
        times.setdefault(channel, []).append(now[0])
        everything.append(now[0])
    busy = times["dm:1"]
    assert min(b - a for a, b in itertools.pairwise(busy)) >= 1.0 - 1e-9  # ~1 a second in one channel
    assert most_in_one_second(everything) <= 8  # and the workspace rate over all of them


async def test_a_429_slows_an_adaptive_rate_which_climbs_back():
    now, monotonic, sleep = clock_and_sleep()
    pacer = Pacer(SendRate(per_second=10.0, adaptive=True), monotonic=monotonic, sleep=sleep)
    await saturate(pacer.platform, now, 20)
    pacer.rate_limited(2.0)
    assert pacer.current == pytest.approx(7.0)
    paused_at = now[0]
    await pacer.acquire()
    assert now[0] >= paused_at + 2.0 - 1e-9  # Retry-After is honoured
    first = now[0]
    for _ in range(14):
        await pacer.acquire()
    assert (now[0] - first) == pytest.approx(14 / 7.0)  # the slower rate
    for _ in range(400):
        await pacer.acquire()
    assert pacer.current == 10.0  # back to the configured rate after a while without 429s


async def test_a_fixed_rate_ignores_429s_but_their_retry_after():
    _now, monotonic, sleep = clock_and_sleep()
    pacer = Pacer(SendRate(per_second=49.0), monotonic=monotonic, sleep=sleep)  # Discord: a published limit
    pacer.rate_limited(0.5)
    assert pacer.current == 49.0 and pacer.platform.delay() == pytest.approx(0.5)

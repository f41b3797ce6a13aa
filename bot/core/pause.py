"""Long computations on the event loop, in short slices, so that the bot keeps answering meanwhile.

A planner that derives thousands of things (every meeting of 1,250 sections) would hold the loop for as long as
it computes; every command waiting meanwhile would wait that long. Inside such a loop, ``await pause()`` (a
:class:`Pause`) yields to the loop once :data:`SLICE` seconds of work have passed since the last time, so no
slice holds the loop for longer than that (plus one step of the loop).
"""

from __future__ import annotations

import asyncio
import time

SLICE = 0.005  # seconds of work between two yields (tests set 0 to yield at every call)


class Pause:
    """``await pause()`` at each step of a long loop: yields to the event loop every :data:`SLICE` seconds.

    ``count`` is how many times it yielded. Call it once per step of some size (a section, a group), not per
    tiny item: each call costs a clock read.
    """

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = SLICE if seconds is None else seconds
        self.count = 0
        self._until = time.perf_counter() + self.seconds

    async def __call__(self) -> None:
        """Yield to the loop if this slice's time is up."""
        if time.perf_counter() >= self._until:
            await asyncio.sleep(0)
            self.count += 1
            self._until = time.perf_counter() + self.seconds

"""The clock behind every timed pause: real for the live assistant, virtual for tests and `simulate`.

Guides compute deadlines from `now()` and wait until them; nothing sums sleeps, so a long step
does not drift however often it is interrupted.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""

    def sleep_until(self, deadline: float) -> None:
        """Return at `deadline` (at once if it has passed)."""


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep_until(self, deadline: float) -> None:
        delay = deadline - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class VirtualClock:
    """Time moves only when told to, so a twenty-minute compress is tested in microseconds."""

    def __init__(self, start: float = 0.0):
        self.time = start

    def now(self) -> float:
        return self.time

    def sleep_until(self, deadline: float) -> None:
        self.advance_to(deadline)

    def advance(self, seconds: float) -> None:
        self.time += max(0.0, seconds)

    def advance_to(self, moment: float) -> None:
        self.time = max(self.time, moment)

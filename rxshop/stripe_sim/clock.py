"""The simulator's clock: real time plus an offset that tests move forward to expire and settle things."""

from __future__ import annotations

import time


class Clock:
    """The simulator's "now": real time plus an offset that only moves forward (POST /_sim/clock/advance)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def timestamp(self) -> int:
        return int(self.now())

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds

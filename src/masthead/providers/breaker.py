"""A circuit breaker per provider endpoint: open after N failures within a window, let one
probe through after a cooldown (half-open), close on its success.

It returns its transitions instead of emitting anything, so the runtime can record each one
as an event; it knows nothing of the log.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(self, *, failures: int, window_seconds: float, cooldown_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        self.threshold = failures
        self.window = window_seconds
        self.cooldown = cooldown_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: deque[float] = deque()
        self.state = CLOSED
        self._opened_at = 0.0
        self._probe_out = False

    def allow(self) -> tuple[bool, str | None]:
        """May a call go now? Returns (allowed, transition or None)."""
        with self._lock:
            if self.state == CLOSED:
                return True, None
            if self.state == OPEN and self._clock() - self._opened_at >= self.cooldown:
                self.state, self._probe_out = HALF_OPEN, True
                return True, HALF_OPEN
            if self.state == HALF_OPEN and not self._probe_out:
                self._probe_out = True
                return True, None
            return False, None

    def record_success(self) -> str | None:
        with self._lock:
            self._failures.clear()
            self._probe_out = False
            if self.state != CLOSED:
                self.state = CLOSED
                return CLOSED
            return None

    def record_failure(self) -> str | None:
        with self._lock:
            now = self._clock()
            self._probe_out = False
            if self.state == HALF_OPEN:  # the probe failed: back to open for another cooldown
                self.state, self._opened_at = OPEN, now
                return OPEN
            self._failures.append(now)
            while self._failures and self._failures[0] <= now - self.window:
                self._failures.popleft()
            if self.state == CLOSED and len(self._failures) >= self.threshold:
                self.state, self._opened_at = OPEN, now
                return OPEN
            return None

    def retry_in(self) -> float:
        with self._lock:
            if self.state != OPEN:
                return 0.0
            return max(0.0, self.cooldown - (self._clock() - self._opened_at))

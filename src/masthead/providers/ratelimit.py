"""Requests-per-minute, tokens-per-minute and concurrency limits for one model endpoint.

A sliding one-minute log of (time, tokens) rather than a token bucket: it never lets more
than the limit through in ANY 60-second window, which is what a provider's quota counts.
The provider counts a request when it arrives, which is some time after we send it; so an
entry's time is moved to when the call finished (never earlier than its arrival), and a
call still in flight never leaves the window.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 60.0


@dataclass
class Permit:
    """A granted call. `settle(actual_tokens)` replaces the estimate once usage is known."""

    limiter: RateLimiter | None
    entry: list[float]  # [time, tokens, in flight (1.0) or done (0.0)]

    def settle(self, actual_tokens: int) -> None:
        if self.limiter is not None:
            self.limiter._settle(self, actual_tokens)


class RateLimiter:
    def __init__(self, *, requests_per_minute: float | None = None, tokens_per_minute: float | None = None,
                 max_concurrent: int | None = None, clock: Callable[[], float] = time.monotonic):
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self.max_concurrent = max_concurrent
        self._clock = clock
        self._lock = threading.Lock()
        self._log: deque[list[float]] = deque()  # [time, tokens] per call in the last minute
        self._in_flight = 0

    def try_acquire(self, tokens: int) -> tuple[Permit | None, float, str]:
        """A permit, or None with how long to wait and which limit is in the way."""
        if self.rpm is None and self.tpm is None and self.max_concurrent is None:
            return Permit(None, [0.0, 0.0, 0.0]), 0.0, ""  # nothing to count
        with self._lock:
            now = self._clock()
            while self._log and self._log[0][2] == 0.0 and self._log[0][0] <= now - WINDOW:
                self._log.popleft()
            if self.max_concurrent is not None and self._in_flight >= self.max_concurrent:
                return None, 0.05, f"{self._in_flight} calls in flight (max_concurrent {self.max_concurrent})"
            if self.rpm is not None and len(self._log) >= self.rpm:
                # The oldest call leaves the window first; then one more fits.
                index = len(self._log) - int(self.rpm)
                wait = self._log[index][0] + WINDOW - now
                return None, max(wait, 0.001), f"{len(self._log)} requests in the last minute (limit {self.rpm:g})"
            if self.tpm is not None:
                used = sum(entry[1] for entry in self._log)
                if used + tokens > self.tpm and self._log:
                    wait = self._tokens_free_at(tokens, used) - now
                    return None, max(wait, 0.001), f"{used:.0f}+{tokens} tokens in the last minute (limit {self.tpm:g})"
            entry = [now, float(tokens), 1.0]
            self._log.append(entry)
            self._in_flight += 1
            return Permit(self, entry), 0.0, ""

    def _tokens_free_at(self, tokens: int, used: float) -> float:
        assert self.tpm is not None
        for entry in self._log:
            used -= entry[1]
            if used + tokens <= self.tpm:
                return entry[0] + WINDOW
        return self._log[-1][0] + WINDOW

    def _settle(self, permit: Permit, actual_tokens: int) -> None:
        with self._lock:
            permit.entry[0] = max(permit.entry[0], self._clock())
            permit.entry[1] = float(actual_tokens)
            permit.entry[2] = 0.0
            self._in_flight = max(0, self._in_flight - 1)
            permit.limiter = None  # settle once
            # Entries must stay in time order for expiry from the left: re-sort this one.
            self._log = deque(sorted(self._log, key=lambda e: e[0]))


UNLIMITED = RateLimiter()

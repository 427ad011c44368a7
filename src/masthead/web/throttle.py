"""Slows down token guessing per client address, so one guesser cannot lock the operator out.

Every wrong token (login form or bearer header) counts against the address it came from; an
address with `per_client` failures in the last `window` seconds gets 429 (with Retry-After)
for everything that presents a token, the right one included, until its oldest failure ages
out. Other addresses are not affected.

The last resort, for guessing spread over many addresses: once all addresses together fail
`global_limit` times in a window, any address with a failure in that window is refused. An
address with no failed try is never refused, so the operator's right token keeps working.

State is per process (a second server behind a load balancer counts on its own). The address
is the one the ASGI server reports: the TCP peer, or X-Forwarded-For when uvicorn trusts the
proxy that sent it (by default only 127.0.0.1).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

PER_CLIENT_FAILURES = 10
GLOBAL_FAILURES = 1000
WINDOW_SECONDS = 60.0
MAX_TRACKED_CLIENTS = 10_000  # a flood from many addresses must not grow memory without bound


@dataclass
class FailureThrottle:
    per_client: int = PER_CLIENT_FAILURES
    global_limit: int = GLOBAL_FAILURES
    window: float = WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    _by_client: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _swept_at: float = float("-inf")

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until `client` may present a token again, or None if it may now."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            mine = self._trimmed(client, now)
            if not mine:
                return None
            if len(mine) >= self.per_client:
                return self._seconds_until(mine[-self.per_client], now)
            if len(self._all) >= self.global_limit:
                return self._seconds_until(mine[-1], now)
            return None

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            self._expire(now)
            if client not in self._by_client and len(self._by_client) >= MAX_TRACKED_CLIENTS:
                self._by_client.pop(next(iter(self._by_client)))  # the longest-tracked address
            self._by_client.setdefault(client, deque()).append(now)
            self._all.append(now)

    def _seconds_until(self, failure: float, now: float) -> int:
        return max(1, math.ceil(failure + self.window - now))

    def _trimmed(self, client: str, now: float) -> deque[float] | None:
        times = self._by_client.get(client)
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        while self._all and self._all[0] <= horizon:
            self._all.popleft()
        # Every token check passes here: forget quiet addresses at most once a second.
        if now - self._swept_at >= 1.0:
            self._swept_at = now
            for client in [c for c, times in self._by_client.items() if not times or times[-1] <= horizon]:
                del self._by_client[client]

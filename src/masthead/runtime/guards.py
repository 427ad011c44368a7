"""Process-wide guards around model calls: rate limiters and circuit breakers per endpoint,
the budget guard, and the two ways a guard stops a task: defer it, or hand it to a person."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from masthead.config import MastheadConfig, RateLimitSection
from masthead.errors import MastheadError
from masthead.events.model import Meta, utc_now
from masthead.events.store import EventStore
from masthead.events.types import CircuitClosed, CircuitHalfOpened, CircuitOpened, EventData
from masthead.providers.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from masthead.providers.ratelimit import UNLIMITED, RateLimiter
from masthead.runtime.budget import BudgetGuard


class Deferral(MastheadError):
    """Hold the task back without counting an attempt: `state` is shown as its status."""

    def __init__(self, state: str, reason: str, run_after: float | None):
        self.state = state
        self.reason = reason
        self.run_after = run_after
        super().__init__(reason)


class NeedsHuman(MastheadError):
    """Automation cannot finish this step; a person can (masthead review complete)."""


class Guards:
    def __init__(self, store: EventStore, config: MastheadConfig):
        self.store = store
        self.config = config
        self.budget = BudgetGuard(store, config)
        self._lock = threading.Lock()
        self._limiters: dict[str, RateLimiter] = {}
        self._breakers: dict[str, CircuitBreaker] = {}

    def redact(self, text: str) -> str:
        """Remove every configured secret's value (model and embedder API keys, webhook
        secrets, publisher credentials, all read from the environment) from text bound for the log."""
        names = {self.config.providers.openai.api_key_env, self.config.memory.openai.api_key_env,
                 *(section.secret_env for section in self.config.webhooks.values()),
                 *self.config.publisher_secret_envs(),
                 *([self.config.ab.secret_env] if self.config.ab.secret_env else [])}
        for name in sorted(names):
            secret = os.environ.get(name)
            if secret and len(secret) >= 6:  # shorter values would blank out ordinary words
                text = text.replace(secret, "[redacted]")
        return text

    def limiter(self, endpoint: str) -> RateLimiter:
        with self._lock:
            if endpoint not in self._limiters:
                # Decided once per endpoint: a publisher's default is found through the
                # entry points, which is worth doing once, not on every send.
                section = self.config.rate_limits.get(endpoint) or self._service_limit(endpoint)
                self._limiters[endpoint] = UNLIMITED if section is None else RateLimiter(
                    requests_per_minute=section.requests_per_minute,
                    tokens_per_minute=section.tokens_per_minute,
                    max_concurrent=section.max_concurrent,
                )
            return self._limiters[endpoint]

    def _service_limit(self, endpoint: str) -> RateLimitSection | None:
        """A publisher's documented posting limit (X: 200 posts per 15 minutes per user) when
        `[rate_limits."publisher:<name>"]` sets none: the service would refuse past it anyway,
        and a 429 mid-thread costs more than waiting here."""
        name = endpoint.removeprefix("publisher:")
        section = self.config.publishers.get(name) if endpoint.startswith("publisher:") else None
        if section is None:
            return None
        from masthead.channels.publishers.registry import publisher_class

        per_minute = publisher_class(section.kind).capabilities.requests_per_minute
        return RateLimitSection(requests_per_minute=per_minute) if per_minute else None

    def breaker(self, provider: str) -> CircuitBreaker:
        with self._lock:
            if provider not in self._breakers:
                b = self.config.breaker
                self._breakers[provider] = CircuitBreaker(failures=b.failures, window_seconds=b.window_seconds,
                                                          cooldown_seconds=b.cooldown_seconds)
            return self._breakers[provider]

    def record_transition(self, provider: str, transition: str | None, reason: str, meta_for: Callable[[], Meta]) -> None:
        """Breaker transitions are events: the operator sees when and why a provider was cut off."""
        if transition is None:
            return
        event: EventData
        if transition == OPEN:
            b = self.config.breaker
            event = CircuitOpened(endpoint=provider, failures=b.failures, window_seconds=b.window_seconds, reason=reason)
        elif transition == HALF_OPEN:
            event = CircuitHalfOpened(endpoint=provider)
        elif transition == CLOSED:
            event = CircuitClosed(endpoint=provider)
        else:
            return
        self.store.append([event.to_new(f"breaker-{provider}")], meta_for())


def system_meta(task_id: str, job_id: str) -> Meta:
    return Meta(actor="system", at=utc_now(), causation_id=task_id, correlation_id=job_id)

"""The pure guard mechanisms: sliding-window rate limiter, circuit breaker, off-peak windows,
budget periods and backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from masthead.providers.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from masthead.providers.ratelimit import RateLimiter
from masthead.runtime.budget import next_day, next_month
from masthead.runtime.worker import backoff_seconds
from masthead.windows import next_open, parse_window


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_never_lets_more_than_rpm_through_in_any_minute():
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=5, clock=clock)
    sent = []
    for _ in range(400):
        permit, wait, _reason = limiter.try_acquire(10)
        if permit is None:
            clock.now += min(wait, 0.7)
            continue
        sent.append(clock.now)
        clock.now += 0.05
        permit.settle(10)
    assert len(sent) >= 10
    for t in sent:
        assert sum(1 for s in sent if t - 60 < s <= t) <= 5


def test_rate_limiter_names_the_limit_and_the_wait():
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=2, clock=clock)
    for _ in range(2):
        limiter.try_acquire(1)[0].settle(1)
    permit, wait, reason = limiter.try_acquire(1)
    assert permit is None and 59 < wait <= 60 and "limit 2" in reason


def test_tokens_per_minute_and_concurrency():
    clock = Clock()
    limiter = RateLimiter(tokens_per_minute=100, max_concurrent=1, clock=clock)
    first, _, _ = limiter.try_acquire(60)
    assert first is not None
    blocked, _, reason = limiter.try_acquire(10)
    assert blocked is None and "max_concurrent" in reason
    first.settle(70)
    blocked, wait, reason = limiter.try_acquire(40)
    assert blocked is None and "tokens" in reason and wait > 0
    clock.now += 61
    assert limiter.try_acquire(40)[0] is not None


def test_an_in_flight_call_never_leaves_the_window():
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=1, clock=clock)
    slow, _, _ = limiter.try_acquire(1)
    clock.now += 90  # still running after 90 s
    assert limiter.try_acquire(1)[0] is None
    slow.settle(1)  # finished now: counts from now
    clock.now += 59
    assert limiter.try_acquire(1)[0] is None
    clock.now += 2
    assert limiter.try_acquire(1)[0] is not None


def test_breaker_opens_half_opens_and_closes():
    clock = Clock()
    breaker = CircuitBreaker(failures=3, window_seconds=10, cooldown_seconds=5, clock=clock)
    assert [breaker.record_failure() for _ in range(3)] == [None, None, OPEN]
    assert breaker.allow() == (False, None)
    clock.now += 5
    assert breaker.allow() == (True, HALF_OPEN)
    assert breaker.allow() == (False, None)  # one probe at a time
    assert breaker.record_success() == CLOSED
    assert breaker.allow() == (True, None)


def test_a_failed_probe_reopens_and_old_failures_expire():
    clock = Clock()
    breaker = CircuitBreaker(failures=2, window_seconds=10, cooldown_seconds=5, clock=clock)
    breaker.record_failure()
    clock.now += 11
    assert breaker.record_failure() is None  # the first one left the window
    assert breaker.record_failure() == OPEN
    clock.now += 5
    breaker.allow()
    assert breaker.record_failure() == OPEN
    assert breaker.retry_in() == pytest.approx(5)


@pytest.mark.parametrize("text", ["22:00-06:00", "mon-fri 09:00-17:00", "sat,sun 00:00-24:00", "fri-mon 20:00-02:00"])
def test_windows_parse(text):
    parse_window(text)


@pytest.mark.parametrize("text", ["22-06", "noon-1pm", "xyz 10:00-11:00", "25:00-26:00"])
def test_bad_windows_are_refused(text):
    with pytest.raises(ValueError):
        parse_window(text)


def test_next_open_inside_and_outside_a_window_across_midnight():
    # Thursday 2026-11-26 23:30 UTC is inside 22:00-06:00; 12:00 is not.
    inside = datetime(2026, 11, 26, 23, 30, tzinfo=UTC).timestamp()
    assert next_open(["22:00-06:00"], "UTC", inside) == inside
    early = datetime(2026, 11, 27, 5, 0, tzinfo=UTC).timestamp()
    assert next_open(["22:00-06:00"], "UTC", early) == early
    noon = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp()
    assert next_open(["22:00-06:00"], "UTC", noon) == datetime(2026, 11, 26, 22, 0, tzinfo=UTC).timestamp()
    # Weekend-only window seen from a Thursday, in Berlin time (UTC+1 in November).
    opens = next_open(["sat,sun 00:00-24:00"], "Europe/Berlin", noon)
    assert opens == datetime(2026, 11, 27, 23, 0, tzinfo=UTC).timestamp()


def test_budget_periods_roll_over_in_utc():
    t = datetime(2026, 12, 31, 18, 0, tzinfo=UTC).timestamp()
    assert next_day(t) == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    assert next_month(t) == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    assert next_month(datetime(2026, 2, 10, tzinfo=UTC).timestamp()) == datetime(2026, 3, 1, tzinfo=UTC).timestamp()


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(1)
    delays = [backoff_seconds(attempt, 1.0, 30.0, rng) for attempt in range(1, 8)]
    assert 0.5 <= delays[0] <= 1.5 and 2 <= delays[2] <= 6
    assert all(d <= 45 for d in delays)  # cap 30 x jitter 1.5
    assert len({round(backoff_seconds(3, 1.0, 30.0), 6) for _ in range(20)}) > 1  # jittered


def test_redaction_removes_every_configured_secret(monkeypatch: pytest.MonkeyPatch):
    from masthead.config import MastheadConfig
    from masthead.runtime.guards import Guards

    config = MastheadConfig.model_validate({
        "providers": {"openai": {"api_key_env": "MODEL_KEY"}},
        "memory": {"openai": {"api_key_env": "EMBEDDER_KEY"}},
        "webhooks": {"github": {"secret_env": "HOOK_SECRET", "project": "p", "kind": "release_notes"}},
    })
    monkeypatch.setenv("MODEL_KEY", "sk-model-0123456789")
    monkeypatch.setenv("EMBEDDER_KEY", "sk-embed-0123456789")
    monkeypatch.setenv("HOOK_SECRET", "hook-secret-0123456789")
    monkeypatch.setenv("SHORT", "ab")
    text = "401 for sk-model-0123456789; embedder sk-embed-0123456789; hook-secret-0123456789 in a body; ab stays"
    assert Guards(None, config).redact(text) == "401 for [redacted]; embedder [redacted]; [redacted] in a body; ab stays"  # type: ignore[arg-type]

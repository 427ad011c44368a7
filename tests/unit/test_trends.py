"""Trend detection: robust z-score against the same weekday of the 28 days before."""

from __future__ import annotations

import datetime as dt

from masthead.sources.trends import detect, score_day

MONDAY = dt.date(2026, 11, 30)


def weekly(days: int = 35, end: dt.date = MONDAY) -> dict[str, float]:
    """Mondays busy (500), other days quiet (100), with a little wobble."""
    series = {}
    for back in range(days):
        day = end - dt.timedelta(days=back)
        series[day.isoformat()] = (500.0 if day.weekday() == 0 else 100.0) + (back % 3)
    return series


def test_the_score_is_a_robust_z_against_the_same_weekday() -> None:
    series = {"2026-11-02": 100.0, "2026-11-09": 110.0, "2026-11-16": 90.0, "2026-11-23": 100.0, "2026-11-30": 200.0}
    score, dates, values, median, mad = score_day(series, MONDAY)  # type: ignore[misc]
    assert (dates, values, median, mad) == (["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"],
                                            [100.0, 110.0, 90.0, 100.0], 100.0, 5.0)
    # spread = max(1.4826 * 5, 10% of 100, 1) = 10
    assert score == 10.0


def test_a_busy_monday_is_not_a_trend_but_a_busy_tuesday_is() -> None:
    series = weekly()
    assert detect("visitors", "", series, [MONDAY.isoformat()], []) == []
    tuesday = (MONDAY + dt.timedelta(days=1)).isoformat()
    series[tuesday] = 500.0
    [trend] = detect("visitors", "", series, [tuesday], [])
    assert (trend.date, trend.direction, trend.median) == (tuesday, "up", 100.5)
    assert trend.score >= 3.5


def test_a_drop_is_a_trend_too() -> None:
    series = weekly()
    series[MONDAY.isoformat()] = 120.0
    [trend] = detect("visitors", "", series, [MONDAY.isoformat()], [])
    assert trend.direction == "down" and trend.score <= -3.5


def test_small_numbers_are_not_trends() -> None:
    series = {day: value / 20 for day, value in weekly().items()}  # 5 a day, 25 on Mondays
    tuesday = (MONDAY + dt.timedelta(days=1)).isoformat()
    series[tuesday] = 30.0  # six times the usual, but 30 < the minimum volume of 50
    assert detect("visitors", "", series, [tuesday], []) == []


def test_too_little_history_is_no_baseline() -> None:
    series = weekly(days=15)  # only two earlier Mondays
    series[MONDAY.isoformat()] = 5000.0
    assert detect("visitors", "", series, [MONDAY.isoformat()], []) == []


def test_one_spike_gives_one_trend_within_the_cooldown() -> None:
    series = weekly(days=40, end=MONDAY + dt.timedelta(days=3))
    spike = [(MONDAY + dt.timedelta(days=n)).isoformat() for n in (1, 2, 3)]
    for day in spike:
        series[day] = 900.0
    trends = detect("visitors", "", series, spike, [])
    assert [t.date for t in trends] == [spike[0]]
    # and across polls: a trend found earlier holds the next days back
    assert detect("visitors", "", series, spike[1:], [spike[0]]) == []


def test_old_days_of_a_first_import_are_not_reported() -> None:
    series = weekly(days=70)
    old_tuesday = (MONDAY - dt.timedelta(days=27)).isoformat()
    series[old_tuesday] = 900.0
    assert detect("visitors", "", series, list(series), []) == []

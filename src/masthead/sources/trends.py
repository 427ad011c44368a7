"""Trend detection over a daily series: a robust z-score against the same weekday.

A day's value is compared with the same weekday in the 28 days before it (the 4 previous
Mondays for a Monday), so a weekly rhythm is not mistaken for a trend. The baseline is their
median; the spread is their median absolute deviation (MAD), scaled by 1.4826 so it matches a
standard deviation for normal data, and never below MIN_SPREAD_SHARE of the median (or 1): four
equal baseline values would otherwise make any change infinite.

    score = (value - median) / max(1.4826 * MAD, MIN_SPREAD_SHARE * |median|, 1)

A day is a trend when |score| >= THRESHOLD, at least MIN_BASELINE_POINTS of the 4 weekdays have
a value, the larger of the value and the median is at least MIN_VOLUME (ten visits going to
thirty is noise), and no trend was found for the same series in the COOLDOWN_DAYS before it
(one spike, one signal). Only days within RECENT_DAYS of the series' newest day are checked:
a first import of a year of history reports this week's trends, not last spring's. Pure functions: the same series gives the same trends.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

WINDOW_WEEKS = 4
MIN_BASELINE_POINTS = 3
THRESHOLD = 3.5
MIN_VOLUME = 50.0
COOLDOWN_DAYS = 7
RECENT_DAYS = 7
MAD_SCALE = 1.4826
MIN_SPREAD_SHARE = 0.1


@dataclass(frozen=True)
class Trend:
    metric: str
    dimension: str
    date: str
    value: float
    baseline_dates: list[str]
    baseline_values: list[float]
    median: float
    mad: float
    score: float

    @property
    def direction(self) -> str:
        return "up" if self.score > 0 else "down"


def score_day(series: dict[str, float], day: dt.date) -> tuple[float, list[str], list[float], float, float] | None:
    """(score, baseline dates, baseline values, median, MAD) of `day`, or None without enough baseline."""
    dates = [(day - dt.timedelta(weeks=week)).isoformat() for week in range(WINDOW_WEEKS, 0, -1)]
    known = [date for date in dates if date in series]
    if len(known) < MIN_BASELINE_POINTS:
        return None
    values = [series[date] for date in known]
    median = statistics.median(values)
    mad = statistics.median(abs(value - median) for value in values)
    spread = max(MAD_SCALE * mad, MIN_SPREAD_SHARE * abs(median), 1.0)
    return (series[day.isoformat()] - median) / spread, known, values, median, mad


def detect(metric: str, dimension: str, series: dict[str, float], days: list[str],
           earlier_trends: list[str]) -> list[Trend]:
    """The trends among `days` (ISO dates of `series`), oldest first, given the dates of the
    trends already found for this series (for the cooldown)."""
    found: list[Trend] = []
    last = sorted(earlier_trends)
    newest = dt.date.fromisoformat(max(series))
    for iso in sorted(set(days)):
        if (newest - dt.date.fromisoformat(iso)).days >= RECENT_DAYS:
            continue
        day = dt.date.fromisoformat(iso)
        scored = score_day(series, day)
        if scored is None:
            continue
        score, dates, values, median, mad = scored
        if abs(score) < THRESHOLD or max(series[iso], median) < MIN_VOLUME:
            continue
        if any(0 <= (day - dt.date.fromisoformat(prior)).days < COOLDOWN_DAYS for prior in last):
            continue
        found.append(Trend(metric, dimension, iso, series[iso], dates, values, median, mad, round(score, 2)))
        last.append(iso)
    return found

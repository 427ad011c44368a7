"""Analytics exports read into daily points: real Plausible and Umami layouts, the generic CSV,
and malformed files refused with the file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from masthead.sources.analytics import AnalyticsFileError, read_export

DATA = Path(__file__).resolve().parents[1] / "data" / "analytics"


def test_plausible_time_series_gives_one_series_per_metric_column() -> None:
    points = read_export((DATA / "plausible_visitors.csv").read_text("utf-8"), "plausible", "visitors.csv")
    metrics = {metric for _, metric, _ in points}
    assert metrics == {"visitors", "pageviews", "visits", "views_per_visit", "bounce_rate", "visit_duration"}
    assert len({day for day, _, _ in points}) == 35
    assert points[("2026-11-30", "visitors", "")] == 480
    assert points[("2026-11-30", "pageviews", "")] == 1320


def test_umami_events_are_counted_per_utc_day() -> None:
    points = read_export((DATA / "umami_website_event.csv").read_text("utf-8"), "umami", "events.csv")
    day1 = {(metric, dim): value for (day, metric, dim), value in points.items() if day == "2026-11-29"}
    assert day1 == {("pageviews", ""): 3, ("events", ""): 1, ("visitors", ""): 2, ("visits", ""): 2,
                    ("pageviews", "/"): 1, ("pageviews", "/pricing"): 1, ("pageviews", "/blog/3-2"): 1}
    assert points[("2026-11-30", "pageviews", "/pricing")] == 2
    assert points[("2026-11-30", "visitors", "")] == 2  # one session came back after midnight


def test_generic_csv_adds_up_rows_of_the_same_day_and_keeps_dimensions() -> None:
    text = ("date,metric,value,dimension\n2026-11-30,signups,3,\n2026-11-30,signups,4,\n"
            "2026-11-30,clicks,10,newsletter\n\n2026-11-29,signups,,\n")
    assert read_export(text, "csv", "g.csv") == {("2026-11-30", "signups", ""): 7.0,
                                                 ("2026-11-30", "clicks", "newsletter"): 10.0}


@pytest.mark.parametrize(("text", "fmt", "message"), [
    ("date,metric,value\n2026-11-30,signups,3\n2026-11-30,signups\n", "csv",
     r"g\.csv, line 3: 2 columns where the header has 3"),
    ('date,metric,value\n2026-11-30,"signups,3\n', "csv", r"g\.csv, line \d: not valid CSV"),
    ("date,metric,value\n2026-11-30,signups,3\n2026-12-01,signups,lots\n", "csv",
     r"g\.csv, line 3, column value: 'lots' is not a number"),
    ("date,metric,value\n2026-11-30,signups,nan\n", "csv", r"line 2, column value: 'nan' is not a number"),
    ("date,metric,value\n30/11/2026,signups,3\n", "csv", r"line 2, column date: '30/11/2026' is not a date"),
    ("day,metric,value\n2026-11-30,signups,3\n", "csv", r"g\.csv has no date column"),
    ("date,visitors\n2026-11-30,12\n2026-12-01,twelve\n", "plausible", r"line 3, column visitors: 'twelve'"),
    ("name,visitors\n/pricing,12\n", "plausible", r"no date column; it is not a Plausible time series"),
    ("session_id,event_type,created_at\nabc,9,2026-11-30 10:00:00\n", "umami",
     r"line 2, column event_type: '9' is not 1 or 2"),
    ("date,visitors\n", "plausible", None),
])
def test_malformed_files_name_the_file_line_and_column(text: str, fmt: str, message: str | None) -> None:
    if message is None:  # a header alone is an empty export: nothing to import, and no error
        assert read_export(text, fmt, "g.csv") == {}  # type: ignore[arg-type]
        return
    with pytest.raises(AnalyticsFileError, match=message) as caught:
        read_export(text, fmt, "g.csv")  # type: ignore[arg-type]
    assert caught.value.fix

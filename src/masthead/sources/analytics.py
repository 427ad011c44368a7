"""Analytics exports read into daily points: {(date, metric, dimension): value}.

Three layouts (the source's `format`):
- `plausible`: Plausible's daily time series (`visitors.csv` of its CSV export): a `date`
  column and one column per metric (visitors, visits, pageviews, views_per_visit,
  bounce_rate, visit_duration; whichever the file has).
- `umami`: Umami's raw event export (`website_event` rows: session_id, visit_id, url_path,
  event_type, created_at, ...), counted per UTC day into pageviews (event_type 1, in total and
  per url_path), events (event_type 2), visitors (distinct session_id) and visits (distinct visit_id).
- `csv`: `date,metric,value[,dimension]`, one point per row.
Rows for the same (date, metric, dimension) within one file are added up. A file is read whole
before anything is kept: a ragged or truncated row, an unreadable date or text where a number
belongs raises AnalyticsFileError naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import defaultdict
from collections.abc import Iterator
from typing import Literal

from masthead.errors import InputError

Format = Literal["plausible", "umami", "csv"]
Point = tuple[str, str, str]  # (ISO date, metric, dimension; "" for the total)
GENERIC_COLUMNS = ("date", "metric", "value")
UMAMI_REQUIRED = ("session_id", "event_type", "created_at")


class AnalyticsFileError(InputError):
    """An analytics export that cannot be imported; nothing of it is."""


def read_export(text: str, fmt: Format, file: str) -> dict[Point, float]:
    rows = _rows(text, file)
    header = [name.strip().lower() for name in next(rows, (0, []))[1]]
    if not header:
        raise AnalyticsFileError(f"{file} is empty", fix="drop a complete export")
    if fmt == "plausible":
        return _plausible(header, rows, file)
    if fmt == "umami":
        return _umami(header, rows, file)
    return _generic(header, rows, file)


def _rows(text: str, file: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank row; a truncated quote is an error, not a short file."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    width = None
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if width is None:
                width = len(cells)
            elif len(cells) != width:
                raise AnalyticsFileError(
                    f"{file}, line {reader.line_num}: {len(cells)} columns where the header has {width}"
                    " (a truncated or malformed row)", fix="export the file again, or fix or remove that line")
            yield reader.line_num, cells
    except csv.Error as exc:
        raise AnalyticsFileError(f"{file}, line {reader.line_num}: not valid CSV ({exc})",
                                 fix="export the file again; it may have been cut off while copying") from None


def _need(header: list[str], columns: tuple[str, ...], file: str, layout: str) -> dict[str, int]:
    missing = [name for name in columns if name not in header]
    if missing:
        raise AnalyticsFileError(f"{file} has no {', '.join(missing)} column; it is not a {layout} file",
                                 fix=f"drop a {layout} export, or change the source's format")
    return {name: header.index(name) for name in header}


def _date(value: str, file: str, line: int, column: str) -> str:
    text = value.strip()
    try:
        return (dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)).isoformat()
    except ValueError:
        raise AnalyticsFileError(f"{file}, line {line}, column {column}: {text[:40]!r} is not a date",
                                 fix="write dates as YYYY-MM-DD") from None


def _number(value: str, file: str, line: int, column: str) -> float | None:
    text = value.strip().replace("%", "")
    if not text:
        return None  # a blank cell: no value that day
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise AnalyticsFileError(f"{file}, line {line}, column {column}: {value.strip()[:40]!r} is not a number",
                                 fix="metric columns hold numbers only; fix the cell or export the file again")
    return number


def _plausible(header: list[str], rows: Iterator[tuple[int, list[str]]], file: str) -> dict[Point, float]:
    where = _need(header, ("date",), file, "Plausible time series (visitors.csv)")
    metrics = [name for name in header if name != "date"]
    if not metrics:
        raise AnalyticsFileError(f"{file} has a date column and no metric", fix="drop Plausible's visitors.csv")
    points: dict[Point, float] = defaultdict(float)
    for line, cells in rows:
        day = _date(cells[where["date"]], file, line, "date")
        for metric in metrics:
            value = _number(cells[where[metric]], file, line, metric)
            if value is not None:
                points[(day, metric, "")] += value
    return dict(points)


def _umami(header: list[str], rows: Iterator[tuple[int, list[str]]], file: str) -> dict[Point, float]:
    where = _need(header, UMAMI_REQUIRED, file, "Umami event export")
    points: dict[Point, float] = defaultdict(float)
    visitors: dict[str, set[str]] = defaultdict(set)
    visits: dict[str, set[str]] = defaultdict(set)
    for line, cells in rows:
        day = _date(cells[where["created_at"]], file, line, "created_at")
        kind = cells[where["event_type"]].strip()
        if kind not in ("1", "2"):
            raise AnalyticsFileError(f"{file}, line {line}, column event_type: {kind[:20]!r} is not 1 or 2",
                                     fix="drop Umami's own export (1 = pageview, 2 = custom event)")
        visitors[day].add(cells[where["session_id"]])
        if "visit_id" in where:
            visits[day].add(cells[where["visit_id"]])
        if kind == "2":
            points[(day, "events", "")] += 1
            continue
        points[(day, "pageviews", "")] += 1
        if "url_path" in where and cells[where["url_path"]].strip():
            points[(day, "pageviews", cells[where["url_path"]].strip())] += 1
    for day, sessions in visitors.items():
        points[(day, "visitors", "")] = len(sessions)
    for day, ids in visits.items():
        points[(day, "visits", "")] = len(ids)
    return dict(points)


def _generic(header: list[str], rows: Iterator[tuple[int, list[str]]], file: str) -> dict[Point, float]:
    where = _need(header, GENERIC_COLUMNS, file, "date,metric,value[,dimension]")
    points: dict[Point, float] = defaultdict(float)
    for line, cells in rows:
        day = _date(cells[where["date"]], file, line, "date")
        metric = cells[where["metric"]].strip()
        if not metric:
            raise AnalyticsFileError(f"{file}, line {line}, column metric: empty", fix="name the metric, e.g. visitors")
        value = _number(cells[where["value"]], file, line, "value")
        dimension = cells[where["dimension"]].strip() if "dimension" in where else ""
        if value is not None:
            points[(day, metric, dimension)] += value
    return dict(points)

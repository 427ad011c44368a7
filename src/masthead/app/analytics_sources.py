"""Polling an analytics source once: new export files in its folder, then trend signals.

Each file (a CSV, or the zip the service exports) is imported once by its content hash, whole or not at all (one AnalyticsImported
event). The daily series are rebuilt from every file the source imported (a later file's point
replaces an earlier one's); the days of the files imported since the last recorded poll are
checked for trends (masthead.sources.trends), so a poll that stopped after importing a file
still looks at its days next time. A trend becomes a `trend` signal whose body carries the
evidence; its source `analytics:<name>:trend:<series hash>:<date>` gives the cooldown its memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from masthead.app.commands import MAX_SIGNAL_BYTES
from masthead.app.source_state import (
    ConfiguredSource,
    add_signal_once,
    append_to_source,
    last_event,
    record_poll,
    source_events,
)
from masthead.app.workspace import Workspace
from masthead.errors import InputError
from masthead.events.source_types import AnalyticsImported, SourcePolled
from masthead.sources.analytics import Format, Point, read_export
from masthead.sources.analytics_zip import read_zip_export
from masthead.sources.trends import THRESHOLD, WINDOW_WEEKS, Trend, detect
from masthead.text_input import read_capped, read_text_file

TREND_SIGNAL_KIND = "trend"
MAX_EXPORT_BYTES = 512 * 1024 * 1024
Series = dict[tuple[str, str], dict[str, float]]  # (metric, dimension) -> date -> value


def poll_analytics(ws: Workspace, source: ConfiguredSource) -> dict[str, Any]:
    spec = source.spec
    assert spec.path is not None and spec.format is not None  # SourceSpec requires both for analytics
    result: dict[str, Any] = {"project": source.project.name, "name": spec.name, "imported": 0, "signals": [],
                              "polled": True}
    folder = ws.root / spec.path
    if not folder.is_dir():
        missing = f"the folder {spec.path} does not exist in the workspace; create it and drop exports there"
        record_poll(ws, source, SourcePolled(project=source.project.name, source=spec.name, status="error",
                                             error=missing))
        return result | {"state": "error", "error": missing, "files": []}
    files, errors = _import_files(ws, source, folder)
    signals = [signal for signal in (_signal(ws, source, trend) for trend in _new_trends(ws, source)) if signal]
    error = "; ".join(errors) or None
    record_poll(ws, source, SourcePolled(project=source.project.name, source=spec.name,
                                         status="error" if errors else "ok", error=error,
                                         imported=len(signals), files=files))
    return result | {"state": "error" if errors else "ok", "error": error, "files": files,
                     "imported": len(signals), "signals": signals}


def _import_files(ws: Workspace, source: ConfiguredSource, folder: Path) -> tuple[list[str], list[str]]:
    """Import each new file whole; a bad file is named in the errors and nothing of it is kept."""
    spec = source.spec
    known = {event.data["sha256"] for event in source_events(ws, source, "AnalyticsImported")}
    imported, errors = [], []
    exports = sorted(path for path in folder.iterdir() if path.suffix.lower() in (".csv", ".zip") and path.is_file())
    for path in exports:
        try:
            digest, points = _read(path, spec.format or "csv", known)
            if points is None:
                continue
        except InputError as exc:  # AnalyticsFileError, or a file that is empty, binary or too big
            errors.append(f"{exc.message} (fix: {exc.fix})" if exc.fix else exc.message)
            continue
        event = AnalyticsImported(project=source.project.name, source=spec.name, file=path.name, sha256=digest,
                                  format=spec.format or "csv",
                                  points=[(day, metric, dim, value) for (day, metric, dim), value in sorted(points.items())])
        append_to_source(ws, source, [event])
        known.add(digest)
        imported.append(path.name)
    return imported, errors


def _read(path: Path, fmt: Format, known: set[str]) -> tuple[str, dict[Point, float] | None]:
    """(content hash, points) of one export file; no points when that content was imported."""
    if path.suffix.lower() == ".zip":
        data = read_capped(path, f"analytics export {path.name}", MAX_EXPORT_BYTES)
        digest = hashlib.sha256(data).hexdigest()
        return digest, None if digest in known else read_zip_export(data, fmt, path.name, MAX_EXPORT_BYTES)
    text = read_text_file(path, "analytics export", MAX_EXPORT_BYTES)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return digest, None if digest in known else read_export(text, fmt, path.name)


def _new_trends(ws: Workspace, source: ConfiguredSource) -> list[Trend]:
    last_poll = last_event(ws, source)
    checked_until = last_poll.seq if last_poll else 0
    series: Series = defaultdict(dict)
    fresh: dict[tuple[str, str], list[str]] = defaultdict(list)
    for event in source_events(ws, source, "AnalyticsImported"):
        for day, metric, dimension, value in event.data["points"]:
            series[(metric, dimension)][day] = value
            if event.seq > checked_until:
                fresh[(metric, dimension)].append(day)
    trends = []
    for key, days in fresh.items():
        earlier = _trend_dates(ws, source, key)
        trends.extend(detect(key[0], key[1], series[key], days, earlier))
    return trends


def _series_key(source: ConfiguredSource, metric: str, dimension: str) -> str:
    digest = hashlib.sha256(f"{metric}\n{dimension}".encode()).hexdigest()[:12]
    return f"analytics:{source.spec.name}:trend:{digest}"


def _trend_dates(ws: Workspace, source: ConfiguredSource, key: tuple[str, str]) -> list[str]:
    prefix = _series_key(source, *key)
    rows = ws.store.query("SELECT source FROM signals WHERE project = ? AND source LIKE ?",
                          (source.project.name, prefix + ":%"))
    return [row["source"].rsplit(":", 1)[1] for row in rows]


def trend_body(trend: Trend) -> str:
    """The signal text: the finding in words, then the evidence as JSON (the numbers ground the pieces)."""
    series = trend.metric + (f" ({trend.dimension})" if trend.dimension else "")
    weekday = dt.date.fromisoformat(trend.date).strftime("%A")
    ratio = f"{trend.value / trend.median:.1f}x" if trend.median else "up from 0"
    words = (f"{series} on {trend.date} ({weekday}) was {trend.value:g}, {ratio} the usual {weekday} "
             f"(median {trend.median:g} over the {len(trend.baseline_values)} previous {weekday}s); "
             f"robust z-score {trend.score:g}, {trend.direction}.")
    evidence = {"series": {"metric": trend.metric, "dimension": trend.dimension}, "date": trend.date,
                "value": trend.value, "direction": trend.direction, "score": trend.score,
                "baseline": {"dates": trend.baseline_dates, "values": trend.baseline_values,
                             "median": trend.median, "mad": trend.mad},
                "method": {"name": "robust z-score, same weekday", "window_days": WINDOW_WEEKS * 7,
                           "threshold": THRESHOLD}}
    return f"{words}\n\nEvidence:\n{json.dumps(evidence, indent=2)}"[:MAX_SIGNAL_BYTES]


def _signal(ws: Workspace, source: ConfiguredSource, trend: Trend) -> str | None:
    """The trend's new signal; None when a poller racing this one stored it first."""
    series = trend.metric + (f" {trend.dimension}" if trend.dimension else "")
    added = add_signal_once(ws, source.project.name, f"{_series_key(source, trend.metric, trend.dimension)}:{trend.date}",
                            kind=TREND_SIGNAL_KIND, body=trend_body(trend),
                            title=f"Trend: {series} {trend.direction} on {trend.date}"[:200], priority="normal",
                            trust="untrusted")
    return added.signal_id if added.created else None

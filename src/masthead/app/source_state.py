"""The sources of the project YAML and their streams of SourcePolled events.

A source's state is its stream (`source-<project>:<name>`): the last SourcePolled says what
the source answered; feeds also read their ETag and passed-over entries from it, analytics
sources their AnalyticsImported files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from masthead.app.commands import add_signal, get_project
from masthead.app.workspace import Workspace
from masthead.errors import ConcurrencyConflict, MastheadError, NotFoundError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.source_types import SourcePolled
from masthead.events.types import EventData
from masthead.projects import Project, SourceSpec, project_from_spec

RECORD_ATTEMPTS = 3


@dataclass(frozen=True)
class ConfiguredSource:
    project: Project
    spec: SourceSpec

    @property
    def stream(self) -> str:
        return stream_of("source", f"{self.project.name}:{self.spec.name}")


def configured_sources(ws: Workspace, project: str | None = None, name: str | None = None) -> list[ConfiguredSource]:
    """The sources of every project (or of one), optionally only those called `name`."""
    if project is not None:
        projects = [get_project(ws, project)]
    else:
        projects = [project_from_spec(row["spec"]) for row in ws.store.query("SELECT spec FROM projects ORDER BY name")]
    found = [ConfiguredSource(p, spec) for p in projects for spec in p.sources if name in (None, spec.name)]
    if name is not None and not found:
        known = sorted({spec.name for p in projects for spec in p.sources})
        raise NotFoundError(f"no project has a source named {name!r}",
                            fix=f"use one of: {', '.join(known)}" if known
                            else "add a sources: list to the project YAML and `masthead project apply` it")
    return found


@dataclass(frozen=True)
class SourceEvent:
    seq: int
    version: int
    data: dict[str, Any]
    at: str


# A source's stream grows by one event per poll (35,000 a year at every: 15m), so these read
# only the events they need, by type, newest first where one is enough, through the
# (stream, version) index, instead of replaying the stream.
def source_events(ws: Workspace, source: ConfiguredSource, kind: str) -> list[SourceEvent]:
    """Every event of one type in the source's stream, oldest first (for the rare types)."""
    rows = ws.store.query("SELECT seq, version, data, meta FROM events WHERE stream = ? AND type = ? ORDER BY version",
                          (source.stream, kind))
    return [_event(row) for row in rows]


def last_event(ws: Workspace, source: ConfiguredSource, kind: str = "SourcePolled") -> SourceEvent | None:
    rows = ws.store.query("SELECT seq, version, data, meta FROM events WHERE stream = ? AND type = ?"
                          " ORDER BY version DESC LIMIT 1", (source.stream, kind))
    return _event(rows[0]) if rows else None


def count_polls(ws: Workspace, source: ConfiguredSource) -> int:
    rows = ws.store.query("SELECT COUNT(*) AS n FROM events WHERE stream = ? AND type = 'SourcePolled'",
                          (source.stream,))
    return int(rows[0]["n"])


def _event(row: dict[str, Any]) -> SourceEvent:
    return SourceEvent(seq=int(row["seq"]), version=int(row["version"]), data=json.loads(row["data"]),
                       at=json.loads(row["meta"])["at"])


def record_poll(ws: Workspace, source: ConfiguredSource, event: SourcePolled,
                also: Sequence[EventData] = ()) -> None:
    """Append the poll (and any events that go with it) in one write, with the running total.
    A poller racing on the same source (another serve process) may append in between: then
    the total is read again on top of its record."""
    for attempt in range(RECORD_ATTEMPTS):
        last = last_event(ws, source)
        total = (int(last.data.get("imported_total", 0)) if last else 0) + event.imported
        try:
            append_to_source(ws, source, [*also, event.model_copy(update={"imported_total": total})])
            return
        except ConcurrencyConflict:
            if attempt == RECORD_ATTEMPTS - 1:
                raise


def append_to_source(ws: Workspace, source: ConfiguredSource, events: Sequence[EventData]) -> None:
    version = ws.store.stream_version(source.stream)
    # Expecting the version just read makes a racing poller that appended in between a
    # ConcurrencyConflict instead of an interleaving.
    ws.store.append([event.to_new(source.stream, version + index) for index, event in enumerate(events)],
                    Meta(actor="system", at=utc_now()))


@dataclass(frozen=True)
class SourceSignal:
    signal_id: str
    job_ids: list[str]
    created: bool  # False: the item had its signal already (an earlier poll, or a racing poller)


# The condition of the unique index of migration 0015, repeated word for word: a query that
# carries it lets SQLite and Postgres look the key up in that index instead of scanning.
SOURCE_KEYED = ("(source LIKE 'feed:%' OR source LIKE 'analytics:%' OR source LIKE 'github:%'"
                " OR source LIKE 'calendar:%' OR source LIKE 'schedule:%')")


def find_source_signal(ws: Workspace, project: str, source_key: str) -> str | None:
    rows = ws.store.query(f"SELECT id FROM signals WHERE project = ? AND source = ? AND {SOURCE_KEYED}",
                          (project, source_key))
    return rows[0]["id"] if rows else None


def add_signal_once(ws: Workspace, project: str, source_key: str, **signal: Any) -> SourceSignal:
    """The signal of one source item (a feed entry, a trend, a delivery, a launch lead, a
    schedule tick), made once: the unique index on (project, source) of migration 0015
    refuses a second one from a poller racing this one, here or in another process."""
    existing = find_source_signal(ws, project, source_key)
    if existing is not None:
        return SourceSignal(existing, [], created=False)
    try:
        added = add_signal(ws, project, source=source_key, **signal)
    except Exception as exc:
        # The racing poller stored it first: the backend's unique violation, or a conflict the
        # store reports as such. Bad input (any other MastheadError) is the caller's to see.
        if isinstance(exc, MastheadError) and not isinstance(exc, ConcurrencyConflict):
            raise
        raced = find_source_signal(ws, project, source_key)
        if raced is None:
            raise
        return SourceSignal(raced, [], created=False)
    return SourceSignal(added.signal_id, added.job_ids, created=True)

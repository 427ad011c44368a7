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

from masthead.app.commands import get_project
from masthead.app.workspace import Workspace
from masthead.errors import NotFoundError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.source_types import SourcePolled
from masthead.events.types import EventData
from masthead.projects import Project, SourceSpec, project_from_spec


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
    """Append the poll (and any events that go with it) in one write, with the running total."""
    last = last_event(ws, source)
    total = (int(last.data.get("imported_total", 0)) if last else 0) + event.imported
    append_to_source(ws, source, [*also, event.model_copy(update={"imported_total": total})])


def append_to_source(ws: Workspace, source: ConfiguredSource, events: Sequence[EventData]) -> None:
    version = ws.store.stream_version(source.stream)
    # Expecting the version just read makes a racing poller that appended in between a
    # ConcurrencyConflict instead of an interleaving.
    ws.store.append([event.to_new(source.stream, version + index) for index, event in enumerate(events)],
                    Meta(actor="system", at=utc_now()))



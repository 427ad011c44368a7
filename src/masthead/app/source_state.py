"""The sources of the project YAML and their streams of SourcePolled events.

A source's state is its stream (`source-<project>:<name>`): the last SourcePolled says what
the source answered; feeds also read their ETag and passed-over entries from it, analytics
sources their AnalyticsImported files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from masthead.app.commands import get_project
from masthead.app.workspace import Workspace
from masthead.errors import NotFoundError
from masthead.events.model import Meta, StoredEvent, stream_of, utc_now
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


def source_events(ws: Workspace, source: ConfiguredSource, kind: str = "SourcePolled") -> list[StoredEvent]:
    return [event for event in ws.store.read(stream=source.stream) if event.type == kind]


def record_poll(ws: Workspace, source: ConfiguredSource, event: SourcePolled) -> None:
    append_to_source(ws, source, [event])


def append_to_source(ws: Workspace, source: ConfiguredSource, events: Sequence[EventData]) -> None:
    # Expecting the stream's current version makes two pollers of one source conflict
    # (ConcurrencyConflict) instead of both recording.
    version = max((e.version for e in ws.store.read(stream=source.stream)), default=0)
    ws.store.append([event.to_new(source.stream, version + index) for index, event in enumerate(events)],
                    Meta(actor="system", at=utc_now()))

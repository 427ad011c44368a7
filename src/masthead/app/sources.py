"""`masthead sources`: the project YAML's `sources:`, their state, and polling them once.

A source's state is its stream of SourcePolled events (`source-<project>:<name>`): the last
one says what the feed answered (with the ETag and Last-Modified the next poll sends back);
all of them together name the entries a first poll passed over. Each imported entry is a
signal whose source is `feed:<name>:<entry key hash>`, so an entry is imported once across
restarts: a poll that stopped half-way is finished by the next one, never duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from masthead.app.commands import add_signal, get_project
from masthead.app.workspace import Workspace
from masthead.errors import NotFoundError
from masthead.events.model import Meta, StoredEvent, stream_of, utc_now
from masthead.events.source_types import SourcePolled
from masthead.projects import Project, SourceSpec, project_from_spec
from masthead.sources.feed import (
    FeedEntry,
    FeedUnusable,
    entry_source_key,
    fetch_feed,
    new_client,
    public_url,
)

FEED_SIGNAL_KIND = "feed_item"
TITLE_CHARS = 200


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


def _polls(ws: Workspace, source: ConfiguredSource) -> list[StoredEvent]:
    return [event for event in ws.store.read(stream=source.stream) if event.type == "SourcePolled"]


def source_state(ws: Workspace, source: ConfiguredSource) -> dict[str, Any]:
    """What `sources list` shows: the configuration and the last poll's outcome."""
    spec, polls = source.spec, _polls(ws, source)
    last = polls[-1] if polls else None
    imported = sum(int(event.data.get("imported", 0)) for event in polls)
    return {
        "project": source.project.name, "name": spec.name, "kind": spec.kind,
        "url": public_url(spec.url) if spec.url else None, "path": spec.path, "format": spec.format,
        "every": spec.every, "backfill": spec.backfill,
        "state": last.data["status"] if last else "never_polled",
        "last_polled_at": last.meta.at if last else None,
        "final_url": public_url(last.data["final_url"]) if last and last.data.get("final_url") else None,
        "error": last.data.get("error") if last else None,
        "polls": len(polls), "imported": imported,
    }


def list_sources(ws: Workspace, project: str | None = None) -> list[dict[str, Any]]:
    return [source_state(ws, source) for source in configured_sources(ws, project)]


def poll_sources(ws: Workspace, *, name: str | None = None, project: str | None = None,
                 client: httpx.Client | None = None) -> list[dict[str, Any]]:
    """Poll each chosen source once; one result per source. A source that fails is recorded
    with its state and the others go on."""
    sources = configured_sources(ws, project, name)
    owned = client is None
    http = client or new_client()
    try:
        return [poll_feed(ws, source, http) if source.spec.kind == "feed" else _not_yet(source)
                for source in sources]
    finally:
        if owned:
            http.close()


def _not_yet(source: ConfiguredSource) -> dict[str, Any]:
    return {"project": source.project.name, "name": source.spec.name, "state": "skipped", "imported": 0,
            "signals": [], "error": "analytics sources are imported by a later version of masthead"}


def poll_feed(ws: Workspace, source: ConfiguredSource, client: httpx.Client) -> dict[str, Any]:
    spec = source.spec
    assert spec.url is not None  # SourceSpec requires it for feeds
    polls = _polls(ws, source)
    same_url = [event for event in polls if event.data["url"] == spec.url]
    last = same_url[-1].data if same_url else None
    result: dict[str, Any] = {"project": source.project.name, "name": spec.name, "imported": 0, "signals": []}
    if last is not None and last["status"] == "gone":
        return result | {"state": "gone", "error": last.get("error"), "polled": False}
    try:
        fetched = fetch_feed(client, spec.url, etag=last.get("etag") if last else None,
                             last_modified=last.get("last_modified") if last else None)
    except FeedUnusable as exc:
        _record(ws, source, SourcePolled(project=source.project.name, source=spec.name, url=spec.url,
                                                status=exc.status, error=str(exc)))
        return result | {"state": exc.status, "error": str(exc), "polled": True}
    first = not any(event.data["status"] in ("ok", "not_modified") for event in same_url)
    fresh = _unseen(ws, source, polls, fetched.entries)
    chosen, skipped = _backfill(fresh, spec.backfill) if first else (fresh, [])
    signals = [_import(ws, source, entry) for entry in chosen]
    _record(ws, source, SourcePolled(
        project=source.project.name, source=spec.name, url=spec.url, status=fetched.status,
        final_url=fetched.final_url, etag=fetched.etag, last_modified=fetched.last_modified,
        imported=len(signals), skipped=[entry.key for entry in skipped]))
    return result | {"state": fetched.status, "imported": len(signals), "signals": signals,
                     "skipped": len(skipped), "error": None, "polled": True}


def _unseen(ws: Workspace, source: ConfiguredSource, polls: list[StoredEvent],
            entries: list[FeedEntry]) -> list[FeedEntry]:
    stored = {row["source"] for row in ws.store.query(
        "SELECT source FROM signals WHERE project = ? AND source LIKE ?",
        (source.project.name, f"feed:{source.spec.name}:%"))}
    passed_over = {key for event in polls for key in event.data.get("skipped", [])}
    unseen, keys = [], set()
    for entry in entries:
        if entry.key in keys or entry.key in passed_over or entry_source_key(source.spec.name, entry.key) in stored:
            continue
        keys.add(entry.key)  # a feed may list one entry twice
        unseen.append(entry)
    return unseen


def _backfill(entries: list[FeedEntry], backfill: int) -> tuple[list[FeedEntry], list[FeedEntry]]:
    """The first poll imports the newest `backfill` entries (entries are oldest first)."""
    cut = max(len(entries) - backfill, 0)
    return entries[cut:], entries[:cut]


def _import(ws: Workspace, source: ConfiguredSource, entry: FeedEntry) -> str:
    added = add_signal(ws, source.project.name, kind=FEED_SIGNAL_KIND, body=entry.signal_body(),
                       title=(entry.title or "")[:TITLE_CHARS] or None, priority="normal",
                       source=entry_source_key(source.spec.name, entry.key), trust="untrusted")
    return added.signal_id


def _record(ws: Workspace, source: ConfiguredSource, event: SourcePolled) -> None:
    # Expecting the stream's current version makes two pollers of one source conflict
    # (ConcurrencyConflict) instead of both recording a poll.
    version = max((e.version for e in ws.store.read(stream=source.stream)), default=0)
    ws.store.append([event.to_new(source.stream, version)], Meta(actor="system", at=utc_now()))

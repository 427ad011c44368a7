"""`masthead sources`: the project YAML's `sources:`, their state, and polling them once.

Feeds are polled in app/feed_sources.py, analytics folders in app/analytics_sources.py; both
record each poll as a SourcePolled event in the source's stream (app/source_state.py).
"""

from __future__ import annotations

from typing import Any

import httpx

from masthead.app.analytics_sources import poll_analytics
from masthead.app.feed_sources import poll_feed
from masthead.app.source_state import ConfiguredSource, configured_sources, count_polls, last_event
from masthead.app.workspace import Workspace
from masthead.sources.feed import new_client, public_url


def source_state(ws: Workspace, source: ConfiguredSource) -> dict[str, Any]:
    """What `sources list` shows: the configuration and the last poll's outcome."""
    spec, last = source.spec, last_event(ws, source)
    data = last.data if last else {}
    return {
        "project": source.project.name, "name": spec.name, "kind": spec.kind,
        "url": public_url(spec.url) if spec.url else None, "path": spec.path, "format": spec.format,
        "every": spec.every, "backfill": spec.backfill if spec.kind == "feed" else None,
        "state": data.get("status", "never_polled"),
        "last_polled_at": last.at if last else None,
        "final_url": public_url(data["final_url"]) if data.get("final_url") else None,
        "error": data.get("error"),
        "polls": count_polls(ws, source), "imported": int(data.get("imported_total", 0)),
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
        return [poll_feed(ws, source, http) if source.spec.kind == "feed" else poll_analytics(ws, source)
                for source in sources]
    finally:
        if owned:
            http.close()

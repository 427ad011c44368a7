"""`masthead sources`: the project YAML's `sources:`, their state, and polling them once.

Feeds are polled in app/feed_sources.py, analytics folders in app/analytics_sources.py,
calendars in app/calendar_sources.py; GitHub releases arrive by webhook (app/github_sources.py).
Each records every poll (or delivery) as a SourcePolled event in the source's stream
(app/source_state.py). app/poller.py polls them on their `every` inside serve and run --watch.
"""

from __future__ import annotations

from typing import Any

import httpx

from masthead.app.analytics_sources import poll_analytics
from masthead.app.calendar_sources import poll_calendar, shown_location
from masthead.app.feed_sources import poll_feed
from masthead.app.source_state import ConfiguredSource, configured_sources, count_polls, last_event
from masthead.app.workspace import Workspace
from masthead.runtime.blackouts import blackouts_of
from masthead.sources.feed import new_client, public_url


def source_state(ws: Workspace, source: ConfiguredSource) -> dict[str, Any]:
    """What `sources list` shows: the configuration and the last poll's outcome (for GitHub
    releases, the last delivery's); a calendar's blackout windows."""
    spec, last = source.spec, last_event(ws, source)
    data = last.data if last else {}
    return {
        "project": source.project.name, "name": spec.name, "kind": spec.kind,
        "url": shown_location(spec.url) if spec.url else None, "path": spec.path, "format": spec.format,
        "every": spec.every if spec.is_polled else None, "backfill": spec.backfill if spec.kind == "feed" else None,
        "state": data.get("status", "never_polled" if spec.is_polled else "no_delivery_yet"),
        "detail": data.get("detail"),
        "blackouts": _blackouts(ws, source) if spec.kind == "calendar" else [],
        "last_polled_at": last.at if last else None,
        "final_url": public_url(data["final_url"]) if data.get("final_url") else None,
        "error": data.get("error"),
        "polls": count_polls(ws, source), "imported": int(data.get("imported_total", 0)),
    }


def _blackouts(ws: Workspace, source: ConfiguredSource) -> list[dict[str, Any]]:
    return [{"start": b.start.isoformat(), "end": b.end.isoformat(), "summary": b.summary, "uid": b.uid}
            for b in blackouts_of(ws.store, source.project.name) if b.source == source.spec.name]


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
        return [poll_source(ws, source, http) for source in sources]
    finally:
        if owned:
            http.close()


def poll_source(ws: Workspace, source: ConfiguredSource, client: httpx.Client) -> dict[str, Any]:
    """Poll one source once by its kind (GitHub releases are not polled: they are pushed)."""
    if not source.spec.is_polled:
        return {"project": source.project.name, "name": source.spec.name, "state": "pushed", "imported": 0,
                "signals": [], "error": None, "polled": False,
                "detail": "GitHub posts releases to POST /hooks/github; there is nothing to poll"}
    if source.spec.kind == "feed":
        return poll_feed(ws, source, client)
    if source.spec.kind == "calendar":
        return poll_calendar(ws, source, client)
    return poll_analytics(ws, source)

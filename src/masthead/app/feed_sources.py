"""Polling a feed source once: conditional GET, new entries to `feed_item` signals.

Each imported entry is a signal whose source is `feed:<name>:<entry key hash>`, so an entry is
imported once across restarts: a poll that stopped half-way (signals stored, its SourcePolled
not) is finished by the next one, never duplicated. A first poll imports the newest `backfill`
entries and records the others as passed over.
"""

from __future__ import annotations

from typing import Any

import httpx

from masthead.app.source_state import (
    ConfiguredSource,
    add_signal_once,
    last_event,
    record_poll,
    source_events,
)
from masthead.app.workspace import Workspace
from masthead.events.source_types import FeedEntriesPassedOver, SourcePolled
from masthead.sources.feed import FeedEntry, FeedUnusable, entry_source_key, fetch_feed

FEED_SIGNAL_KIND = "feed_item"
TITLE_CHARS = 200


def poll_feed(ws: Workspace, source: ConfiguredSource, client: httpx.Client) -> dict[str, Any]:
    spec = source.spec
    assert spec.url is not None  # SourceSpec requires it for feeds
    last_poll = last_event(ws, source)
    last = last_poll.data if last_poll is not None and last_poll.data.get("url") == spec.url else None
    result: dict[str, Any] = {"project": source.project.name, "name": spec.name, "imported": 0, "signals": []}
    if last is not None and last["status"] == "gone":
        return result | {"state": "gone", "error": last.get("error"), "polled": False}
    # After an error the validators of the last good answer are gone with it: a full GET.
    try:
        fetched = fetch_feed(client, spec.url, etag=last.get("etag") if last else None,
                             last_modified=last.get("last_modified") if last else None)
    except FeedUnusable as exc:
        record_poll(ws, source, SourcePolled(project=source.project.name, source=spec.name, url=spec.url,
                                             status=exc.status, error=str(exc)))
        return result | {"state": exc.status, "error": str(exc), "polled": True}
    if fetched.status == "not_modified" and last is not None and last["status"] == "not_modified":
        # A run of 304s is recorded once: polling an unchanged feed writes nothing at all.
        return result | {"state": "not_modified", "skipped": 0, "error": None, "polled": True}
    passed = [event for event in source_events(ws, source, "FeedEntriesPassedOver") if event.data["url"] == spec.url]
    fresh = _unseen(ws, source, {key for event in passed for key in event.data["keys"]}, fetched.entries)
    chosen, skipped = (fresh, []) if passed else _backfill(fetched.entries, fresh, spec.backfill)
    signals = [signal for signal in (_import(ws, source, entry) for entry in chosen) if signal is not None]
    first = [] if passed else [FeedEntriesPassedOver(project=source.project.name, source=spec.name, url=spec.url,
                                                     keys=[entry.key for entry in skipped])]
    record_poll(ws, source, SourcePolled(
        project=source.project.name, source=spec.name, url=spec.url, status=fetched.status,
        final_url=fetched.final_url, etag=fetched.etag, last_modified=fetched.last_modified,
        imported=len(signals), skipped=len(skipped)), also=first)
    return result | {"state": fetched.status, "imported": len(signals), "signals": signals,
                     "skipped": len(skipped), "error": None, "polled": True}


def _unseen(ws: Workspace, source: ConfiguredSource, passed_over: set[str], entries: list[FeedEntry]) -> list[FeedEntry]:
    stored = {row["source"] for row in ws.store.query(
        "SELECT source FROM signals WHERE project = ? AND source LIKE ?",
        (source.project.name, f"feed:{source.spec.name}:%"))}
    unseen, keys = [], set()
    for entry in entries:
        if entry.key in keys or entry.key in passed_over or entry_source_key(source.spec.name, entry.key) in stored:
            continue
        keys.add(entry.key)  # a feed may list one entry twice
        unseen.append(entry)
    return unseen


def _backfill(entries: list[FeedEntry], fresh: list[FeedEntry],
              backfill: int) -> tuple[list[FeedEntry], list[FeedEntry]]:
    """A first poll imports the newest `backfill` entries of the feed (entries are oldest first)
    and passes over the rest. Counted on the whole feed, not on what is still unseen, so a
    first poll that stopped half-way and runs again does not reach further back."""
    newest = {entry.key for entry in entries[max(len(entries) - backfill, 0):]}
    return [e for e in fresh if e.key in newest], [e for e in fresh if e.key not in newest]


def _import(ws: Workspace, source: ConfiguredSource, entry: FeedEntry) -> str | None:
    """The entry's new signal; None when a poller racing this one stored it first."""
    added = add_signal_once(ws, source.project.name, entry_source_key(source.spec.name, entry.key),
                            kind=FEED_SIGNAL_KIND, body=entry.signal_body(),
                            title=(entry.title or "")[:TITLE_CHARS] or None, priority="normal", trust="untrusted")
    return added.signal_id if added.created else None

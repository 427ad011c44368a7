"""Blackout windows from a project's calendar sources: no publication inside them.

A calendar source records the blackout windows it holds (CalendarBlackoutsRecorded, in the
source's stream `source-<project>:<name>`) whenever they change; the latest record of each
calendar source the project still lists is what holds now.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from masthead.events.model import stream_of
from masthead.events.store import EventStore
from masthead.projects import project_from_spec

Query = Callable[..., list[dict[str, Any]]]  # a store's `query`


@dataclass(frozen=True)
class Blackout:
    source: str
    uid: str
    start: datetime
    end: datetime
    summary: str

    @property
    def reason(self) -> str:
        what = self.summary or self.uid
        return f"blackout until {self.end.isoformat().replace('+00:00', 'Z')}: {what} (calendar source {self.source})"


def blackouts_of(store: EventStore | Query, project: str) -> list[Blackout]:
    """Every recorded blackout window of the project's calendar sources, by start (`store` may
    be a store or its `query` function, as the slot scheduler has)."""
    query = store if callable(store) else store.query
    rows = query("SELECT spec FROM projects WHERE name = ?", (project,))
    if not rows:
        return []
    found = []
    for source in project_from_spec(rows[0]["spec"]).sources:
        if source.kind != "calendar":
            continue
        # Newest first through the (stream, version) index: the latest record is all that holds.
        latest = query("SELECT data FROM events WHERE stream = ? AND type = 'CalendarBlackoutsRecorded'"
                       " ORDER BY version DESC LIMIT 1", (stream_of("source", f"{project}:{source.name}"),))
        for window in json.loads(latest[0]["data"])["windows"] if latest else []:
            found.append(Blackout(source=source.name, uid=window["uid"], start=_moment(window["start"]),
                                  end=_moment(window["end"]), summary=window["summary"]))
    return sorted(found, key=lambda blackout: (blackout.start, blackout.source))


def blackouts_at(store: EventStore, project: str, when: float | datetime) -> list[Blackout]:
    """The blackout windows of the project that contain `when` (unix seconds or an aware time)."""
    moment = when if isinstance(when, datetime) else datetime.fromtimestamp(when, UTC)
    return [blackout for blackout in blackouts_of(store, project) if blackout.start <= moment < blackout.end]


def _moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))

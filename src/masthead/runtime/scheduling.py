"""Scheduled publication: when a piece may go out on its channel.

A piece publishes when approved, unless a time is recorded for it (`PublicationScheduled`):
a time a person chose (`review approve --at`, `--next-slot`) or, for a piece a gate approved
(auto, soft) on a channel with `slots:`, the channel's next free slot, taken by the publish
step. Every scheduling event of a channel is appended on one stream at the version read, so
two pieces taking the same slot at once conflict and the second looks again: one piece per slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from masthead.errors import StateError
from masthead.events.model import NewEvent, stream_of
from masthead.events.types import PublicationScheduled
from masthead.projects import ChannelSettings, Project
from masthead.runtime.blackouts import Query, blackouts_of
from masthead.slots import from_iso, iso_utc, local_label, next_free_slot, parse_slot
from masthead.windows import zone


def schedule_stream(project: str, channel: str) -> str:
    return stream_of("schedule", f"{project}/{channel}")


def taken_times(query: Query, project: str, channel: str, piece_id: str) -> list[datetime]:
    """Times other pieces of the channel hold (a rejected piece gives its slot back)."""
    rows = query("SELECT scheduled_at FROM pieces WHERE project = ? AND channel = ? AND id != ?"
                 " AND scheduled_at IS NOT NULL AND status != 'rejected'", (project, channel, piece_id))
    return [from_iso(row["scheduled_at"]) for row in rows]


def slot_of(slots: list[str], at: datetime, tz_name: str) -> str | None:
    """The slot spec a time belongs to, if it is one of the channel's slots."""
    day = at.astimezone(zone(tz_name)).date()
    return next((spec for spec in slots if parse_slot(spec).on(day, tz_name) == at), None)


def next_slot(query: Query, project: Project, channel: str, piece_id: str, now: float) -> datetime:
    """The channel's next free slot after `now`; StateError when the channel has none."""
    settings = project.channels.get(channel) or ChannelSettings()
    if not settings.slots:
        raise StateError(f"channel {channel} of project {project.name} has no slots",
                         fix=f'add slots: ["mon-fri 09:30"] under channels.{channel} in the project YAML, or give --at')
    # A slot inside a calendar blackout is not free: the piece takes the first one after it.
    windows = blackouts_of(query, project.name)
    at = next_free_slot(settings.slots, project.timezone, datetime.fromtimestamp(now, UTC),
                        taken_times(query, project.name, channel, piece_id),
                        blocked=lambda t: any(w.start <= t < w.end for w in windows))
    if at is None:
        raise StateError(f"every slot of channel {channel} is taken for the coming year",
                         fix="add slots to the channel, or give --at")
    return at


def scheduled_event(query: Query, project: Project, piece: dict[str, Any], at: datetime) -> NewEvent:
    """The event recording `at` for the piece, at the channel schedule's current version."""
    stream = schedule_stream(project.name, piece["channel"])
    seen = int(query("SELECT MAX(version) AS v FROM events WHERE stream = ?", (stream,))[0]["v"] or 0)
    settings = project.channels.get(piece["channel"]) or ChannelSettings()
    event = PublicationScheduled(piece_id=piece["id"], version=piece["version"], project=project.name,
                                 channel=piece["channel"], at=iso_utc(at),
                                 slot=slot_of(settings.slots, at, project.timezone))
    return event.to_new(stream, seen)


@dataclass
class PublishHold:
    """The publication waits until `until` (unix time); `events` record a slot just taken."""

    reason: str
    until: float
    scheduled_at: str
    events: list[NewEvent] = field(default_factory=list)


def publish_hold(query: Query, project: Project, piece: dict[str, Any], now: float,
                 human_approved: bool) -> PublishHold | None:
    """Why the piece may not be published yet, or None when it may go now.

    A person's plain approval publishes at once; a gate's approval on a channel with slots takes
    the next free slot first."""
    events: list[NewEvent] = []
    scheduled = piece.get("scheduled_at")
    settings = project.channels.get(piece["channel"]) or ChannelSettings(gate="hard")
    if scheduled is None:
        if not settings.slots or human_approved:
            return None
        at = next_slot(query, project, piece["channel"], piece["id"], now)
        events.append(scheduled_event(query, project, piece, at))
        scheduled = iso_utc(at)
    at = from_iso(scheduled)
    if now >= at.timestamp():
        return None
    return PublishHold(f"scheduled for {local_label(at, project.timezone)}", at.timestamp(), scheduled, events)

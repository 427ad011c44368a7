"""What is scheduled to publish: per channel, its slots and the pieces waiting for their time
(`review list`, `piece show` and the desk read this)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from masthead.app.workspace import Workspace
from masthead.personal_data import open_pieces
from masthead.slots import from_iso, local_label, next_free_slot


def _projects(ws: Workspace) -> dict[str, dict[str, Any]]:
    return {row["name"]: json.loads(row["spec"]) for row in ws.store.query("SELECT name, spec FROM projects")}


def scheduled_label(ws: Workspace, project: str, scheduled_at: str | None) -> str | None:
    """`2026-12-08 09:30 Europe/Berlin` for a piece's scheduled time, in its project's zone."""
    if scheduled_at is None:
        return None
    spec = _projects(ws).get(project, {})
    return local_label(from_iso(scheduled_at), spec.get("timezone", "UTC"))


def publication_queue(ws: Workspace, now: float | None = None) -> list[dict[str, Any]]:
    """One row per channel that has slots or scheduled pieces: its slots, its next free slot and
    the approved pieces waiting for their time, soonest first."""
    now = time.time() if now is None else now
    waiting = open_pieces(ws.store.query, ws.store.query(
        "SELECT id, project, channel, text, subject, version, scheduled_at, scheduled_slot"
        " FROM pieces WHERE status = 'approved' AND scheduled_at IS NOT NULL ORDER BY scheduled_at, id"))
    rows = []
    for name, spec in sorted(_projects(ws).items()):
        tz = spec.get("timezone", "UTC")
        for channel, settings in sorted(spec.get("channels", {}).items()):
            slots = settings.get("slots") or []
            pieces = [p | {"scheduled": local_label(from_iso(p["scheduled_at"]), tz)}
                      for p in waiting if p["project"] == name and p["channel"] == channel]
            if not slots and not pieces:
                continue
            taken = [from_iso(row["scheduled_at"]) for row in ws.store.query(
                "SELECT scheduled_at FROM pieces WHERE project = ? AND channel = ? AND scheduled_at IS NOT NULL"
                " AND status != 'rejected'", (name, channel))]
            free = next_free_slot(slots, tz, datetime.fromtimestamp(now, UTC), taken) if slots else None
            rows.append({"project": name, "channel": channel, "timezone": tz, "slots": slots, "pieces": pieces,
                         "next_free": local_label(free, tz) if free else None})
    return rows

"""The review desk's queue: priority, deadline and age, with escalation past a project's SLA.

An item that has waited longer than its project's `review_sla_minutes` is *overdue*: it moves
above every item that is not, and is marked, so a forgotten piece cannot sink under new work.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from masthead.app.queries import review_queue
from masthead.app.workspace import Workspace
from masthead.runtime.jobs import PRIORITIES

PRIORITY_NAMES = {rank: name for name, rank in PRIORITIES.items()}


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def priority_name(rank: int) -> str:
    return PRIORITY_NAMES.get(rank, str(rank))


def review_slas(ws: Workspace) -> dict[str, float | None]:
    """Each project's review SLA in minutes (None: no escalation)."""
    rows = ws.store.query("SELECT name, spec FROM projects")
    return {r["name"]: json.loads(r["spec"]).get("review_sla_minutes") for r in rows}


def queue_order(item: dict[str, Any]) -> tuple[Any, ...]:
    # Overdue first; then higher priority, then the nearest deadline, then the longest wait.
    return (not item["overdue"], -item["priority"], item["deadline"] is None, item["deadline"] or "", item["since"])


def desk_queue(ws: Workspace, now: float | None = None) -> list[dict[str, Any]]:
    now = time.time() if now is None else now
    slas = review_slas(ws)
    items = []
    for item in review_queue(ws):
        sla = slas.get(item["project"])
        waited = max(0.0, (now - epoch(item["since"])) / 60)
        items.append(item | {
            "waited_minutes": round(waited, 1),
            "sla_minutes": sla,
            "overdue": sla is not None and waited > sla,
            "priority_name": priority_name(item["priority"]),
        })
    return sorted(items, key=queue_order)


def queue_neighbours(queue: list[dict[str, Any]], piece_id: str) -> tuple[str | None, str | None]:
    """The pieces before and after `piece_id` in the desk's order (for j/k on the piece page)."""
    ids = [item["piece_id"] for item in queue]
    if piece_id not in ids:
        return None, ids[0] if ids else None
    at = ids.index(piece_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)

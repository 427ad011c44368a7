"""The review desk's queue: priority, deadline and age, with escalation past a project's SLA.

An item that has waited longer than its project's `review_sla_minutes` is *overdue*: it moves
above every item that is not, and is marked, so a forgotten piece cannot sink under new work.
Each item names the signal it came from, so two releases of the same product look different.

Approving at the desk a version whose checks failed takes a confirmation that names the failed
checks (`approval_confirmation`); the CLI and the JSON API name the piece id explicitly instead.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from masthead.app.listings import opened_signals
from masthead.app.queries import review_queue
from masthead.app.workspace import Workspace
from masthead.personal_data import open_checks, open_pieces
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


def signals_of_jobs(ws: Workspace, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The signal each job came from (id, kind, title, received_at), by job id."""
    unique = sorted(set(job_ids))
    if not unique:
        return {}
    marks = ",".join("?" * len(unique))
    rows = ws.store.query(
        f"SELECT j.id AS job_id, s.id, s.kind, s.title, s.received_at, s.subject, s.sealed FROM jobs j"
        f" JOIN signals s ON s.id = j.signal_id WHERE j.id IN ({marks})", unique)
    return {row.pop("job_id"): row for row in opened_signals(ws, rows)}


def desk_queue(ws: Workspace, now: float | None = None) -> list[dict[str, Any]]:
    from masthead.app.escalation import review_people  # it reads `epoch` from here

    now = time.time() if now is None else now
    slas = review_slas(ws)
    queue = review_queue(ws)
    signals = signals_of_jobs(ws, [item["job_id"] for item in queue])
    items = []
    for item in queue:
        sla = slas.get(item["project"])
        waited = max(0.0, (now - epoch(item["since"])) / 60)
        items.append(item | {
            "waited_minutes": round(waited, 1),
            "sla_minutes": sla,
            "overdue": sla is not None and waited > sla,
            "priority_name": priority_name(item["priority"]),
            "signal": signals.get(item["job_id"]),
            "people": review_people(ws, {"id": item["piece_id"], "version": item["version"],
                                         "project": item["project"], "channel": item["channel"]}),
        })
    return sorted(items, key=queue_order)


def queue_neighbours(queue: list[dict[str, Any]], piece_id: str) -> tuple[str | None, str | None]:
    """The pieces before and after `piece_id` in the desk's order (for j/k on the piece page)."""
    ids = [item["piece_id"] for item in queue]
    if piece_id not in ids:
        return None, ids[0] if ids else None
    at = ids.index(piece_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def first_words(text: str, limit: int = 40) -> str:
    """The start of a text, cut at a word boundary, to name a piece in one line."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0] or line[:limit]
    return cut.rstrip(" ,.;:") + " ..."


def piece_label(piece: dict[str, Any]) -> str:
    """How the desk names a piece to the operator: `newsletter piece 'Tallybook 3.2 ...'`
    (the subject line where the channel has one, else the first words of the text)."""
    return f"{piece['channel']} piece '{first_words(piece.get('subject') or piece['text'])}'"


@dataclass(frozen=True)
class ApprovalConfirmation:
    """What the operator must confirm before approving `version`: the checks it failed."""

    piece_id: str
    version: int
    label: str
    failed: list[dict[str, str]]


def approval_confirmation(ws: Workspace, piece_id: str, version: int) -> ApprovalConfirmation | None:
    """The confirmation approving `version` needs, or None when it needs none: its checks all
    passed, or it is not the piece's current version (the approval itself refuses a stale one)."""
    rows = open_pieces(ws.store.query, ws.store.query(
        "SELECT id, channel, text, subject, version FROM pieces WHERE id = ?", (piece_id,)))
    if not rows or rows[0]["version"] != version:
        return None
    failed = open_checks(ws.store.query, ws.store.query(
        "SELECT name, detail FROM checks WHERE piece_id = ? AND version = ? AND passed = 0 ORDER BY name",
        (piece_id, version)))
    if not failed:
        return None
    return ApprovalConfirmation(piece_id=piece_id, version=version, label=piece_label(rows[0]), failed=failed)

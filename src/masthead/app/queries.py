"""Read-side questions: pieces, their versions and diffs, and full lineage."""

from __future__ import annotations

import difflib
import json
from typing import Any

from masthead.app.listings import TASKS_WITH_OUTPUT, opened_signals, task_row
from masthead.app.schedule_views import scheduled_label
from masthead.app.workspace import Workspace
from masthead.channels.threads import numbered, parts_of, threads_allowed
from masthead.errors import InputError, NotFoundError
from masthead.personal_data import (
    SEALED_ITEMS_NOTE,
    open_checks,
    open_partial,
    open_piece,
    open_pieces,
    open_signal,
)

PIECE_STATUSES = ("drafted", "in_review", "approved", "rejected", "published")


def piece_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "job_id": row["job_id"], "project": row["project"], "channel": row["channel"],
        "status": row["status"], "version": row["version"], "text": row["text"], "subject": row["subject"],
        "flags": json.loads(row["flags"]), "approved_version": row["approved_version"],
        "created_at": row["created_at"], "updated_at": row["updated_at"], "scheduled_at": row.get("scheduled_at"),
    }


def list_pieces(ws: Workspace, status: str | None = None, project: str | None = None) -> list[dict[str, Any]]:
    if status is not None and status not in PIECE_STATUSES:
        raise InputError(f"--status {status!r} is not a piece status", fix=f"use one of: {', '.join(PIECE_STATUSES)}")
    sql, params = "SELECT * FROM pieces WHERE 1 = 1", []
    if status:
        sql += " AND status = ?"
        params.append(status)
    if project:
        sql += " AND project = ?"
        params.append(project)
    return [piece_summary(r) for r in open_pieces(ws.store.query, ws.store.query(sql + " ORDER BY created_at, id", params))]


def review_queue(ws: Workspace) -> list[dict[str, Any]]:
    rows = open_pieces(ws.store.query, ws.store.query(
        "SELECT q.*, p.channel, p.project, p.text, p.subject, p.flags, p.job_id FROM review_queue q"
        " JOIN pieces p ON p.id = q.piece_id ORDER BY q.priority DESC, q.deadline IS NULL, q.deadline, q.since"
    ))
    threads = _thread_settings(ws)
    found = confidences(ws.store, [r["piece_id"] for r in rows])
    return [{**r, "flags": json.loads(r["flags"]), "parts": thread_parts(r, threads),
             "confidence": found.get((r["piece_id"], r["version"]))} for r in rows]


def _thread_settings(ws: Workspace) -> dict[tuple[str, str], str | None]:
    """Each project channel's `thread:` setting, keyed by (project, channel). Read from the stored
    spec's JSON, which was validated when the project was applied: the review queue is a listing,
    and validating every project with its models would load pydantic (about half of its start-up CPU, benchmarks/cli.py)."""
    settings: dict[tuple[str, str], str | None] = {}
    for row in ws.store.query("SELECT name, spec FROM projects"):
        for channel, channel_settings in (json.loads(row["spec"]).get("channels") or {}).items():
            settings[(row["name"], channel)] = (channel_settings or {}).get("thread")
    return settings


def thread_parts(piece: dict[str, Any], threads: dict[tuple[str, str], str | None]) -> list[str] | None:
    """A thread's numbered parts as they will be posted; None for a piece that is one post."""
    if not threads_allowed(piece["channel"], threads.get((piece["project"], piece["channel"]))):
        return None
    parts = parts_of(piece["text"])
    return numbered(parts) if len(parts) > 1 else None


def confidences(store: Any, piece_ids: list[str]) -> dict[tuple[str, int], dict[str, Any]]:
    """(piece, version) -> the confidence recorded with that version's latest checks
    (runtime/confidence.py: a value in [0, 1] and its parts)."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    streams = [f"piece-{piece}" for piece in dict.fromkeys(piece_ids)]
    for start in range(0, len(streams), 500):  # bound the statement's parameters
        chunk = streams[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in store.query(f"SELECT data FROM events WHERE stream IN ({marks}) AND type = 'ChecksRecorded'"
                               " ORDER BY seq", chunk):
            data = json.loads(row["data"])
            if data.get("confidence") is not None:
                found[(data["piece_id"], data["version"])] = data["confidence"] | {
                    "text": confidence_text(data["confidence"])}
    return found


CONFIDENCE_PARTS = ("checks", "coverage", "voice", "agreement")  # the order runtime/confidence.py weighs them


def confidence_text(confidence: dict[str, Any]) -> str:
    """The confidence as one line, as the gate words it: 0.83 (checks 1, coverage 1, voice 0.46, agreement 0.88)."""
    parts = confidence.get("parts") or {}
    named = ", ".join(f"{name} {parts[name]:g}" for name in CONFIDENCE_PARTS if name in parts)
    return f"{confidence['value']:.2f} ({named})"


def manual_queue(ws: Workspace) -> list[dict[str, Any]]:
    """Steps automation gave up on (needs_human), most urgent first, with what a person needs."""
    rows = ws.store.query(
        "SELECT t.id, t.job_id, t.step, t.kind, t.channel, t.priority, t.updated_at, t.needs_human, j.project"
        " FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.status = 'needs_human'"
        " ORDER BY t.priority DESC, t.updated_at"
    )
    items = []
    for row in rows:
        detail = json.loads(row.pop("needs_human") or "{}")
        items.append({**row, "reason": detail.get("reason", ""), "inputs": detail.get("inputs", {}),
                      "partial": open_partial(ws.store.query, detail.get("partial", []))})
    return items


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=old_label, tofile=new_label))


def _items(store: Any, job_id: str) -> dict[str, Any] | None:
    """The job's ItemsExtracted event: what its signal says, as parsed before any agent ran.
    A signal about one person keeps its items sealed with it: parsed again from the opened
    signal, or none once the person is forgotten."""
    rows = store.query("SELECT data FROM events WHERE stream = ? AND type = 'ItemsExtracted'", (f"items-{job_id}",))
    items = json.loads(rows[0]["data"]) if rows else None
    if items is None or items.get("note") != SEALED_ITEMS_NOTE:
        return items
    signal = open_signal(store, store.query("SELECT * FROM signals WHERE id = ?", (items["signal_id"],))[0])
    if signal["forgotten"]:
        return items | {"note": "the person was forgotten: the signal and its items are unreadable"}
    # The item parser loads only for a sealed signal's lineage: listings stay light.
    from masthead.runtime.context import signal_items

    extraction = signal_items(signal)
    return items | {"items": [{"kind": i.kind, "text": i.text, "salience": i.salience, "position": i.position,
                               "section": i.section} for i in extraction.ranked()],
                    "product": extraction.product, "version": extraction.version, "link": extraction.link,
                    "left_out": extraction.left_out, "note": extraction.note}


def _versions(store: Any, piece_id: str, confidence: dict[tuple[str, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Each version with its checks, its confidence and its diff from the one before."""
    versions = open_pieces(store.query, store.query("SELECT * FROM piece_versions WHERE piece_id = ? ORDER BY version",
                                                    (piece_id,)))
    checks = open_checks(store.query, store.query("SELECT * FROM checks WHERE piece_id = ? ORDER BY version, name",
                                                  (piece_id,)))
    for index, version in enumerate(versions):
        version["confidence"] = confidence.get((piece_id, version["version"]))
        version["checks"] = [
            {"name": c["name"], "passed": bool(c["passed"]), "detail": c["detail"]}
            for c in checks if c["version"] == version["version"]
        ]
        if index > 0:
            prev = versions[index - 1]
            version["diff"] = unified_diff(prev["text"], version["text"], f"v{prev['version']}", f"v{version['version']}")
    return list(versions)


def piece_detail(ws: Workspace, piece_id: str) -> dict[str, Any]:
    store = ws.store
    rows = store.query("SELECT * FROM pieces WHERE id = ?", (piece_id,))
    if not rows:
        raise NotFoundError(f"piece {piece_id!r} does not exist", fix="see `masthead pieces list`")
    piece = piece_summary(open_piece(store.query, rows[0]))
    confidence = confidences(store, [piece_id])
    versions = _versions(store, piece_id, confidence)
    job = store.query("SELECT * FROM jobs WHERE id = ?", (piece["job_id"],))[0]
    signal = opened_signals(ws, store.query("SELECT id, kind, title, priority, source, trust, sha256, received_at,"
                                            " subject, sealed FROM signals WHERE id = ?", (job["signal_id"],)))[0]
    tasks = [task_row(t, store.query) for t in store.query(
        f"{TASKS_WITH_OUTPUT} WHERE t.job_id = ? AND (t.channel = ? OR t.channel IS NULL) ORDER BY t.created_seq",
        (job["id"], piece["channel"]),
    )]
    task_ids = [t["id"] for t in tasks]
    marks = ",".join("?" * len(task_ids)) or "''"
    calls = store.query(
        f"SELECT call_key, task_id, provider, model, tier, tokens_in, tokens_out, latency_ms, cost_usd, at, requested"
        f" FROM model_calls WHERE task_id IN ({marks}) ORDER BY at", task_ids,
    )
    for version in versions:
        # What this version cost: the model calls of the task that wrote it.
        version["cost_usd"] = round(sum(c["cost_usd"] for c in calls if c["task_id"] == version["task_id"]), 8)
    steps = []
    # Imported here: memory items load the event models, which listings and the queue do not need.
    from masthead.memory.lineage import retrievals_for_tasks

    memory = retrievals_for_tasks(store, [t["id"] for t in tasks])
    for task in tasks:
        output = task["output"] or {}
        steps.append({
            "task_id": task["id"], "step": task["step"], "kind": task["kind"], "status": task["status"],
            "attempts": task["attempts"], "error": task["last_error"], "waiting_for": task["wait_reason"],
            "agent": output.get("agent"), "prompt_version": output.get("prompt_version"), "tier": output.get("tier"),
            "model_calls": [c for c in calls if c["task_id"] == task["id"]],
            "memory": memory.get(task["id"], []),
            # A draft step's candidates, their checks and coverage, and why the winner won.
            "selection": output.get("selection"), "model_dropped": output.get("model_dropped"),
        })
    decisions = store.query("SELECT * FROM decisions WHERE piece_id = ? ORDER BY seq", (piece_id,))
    publications = store.query("SELECT * FROM publications WHERE piece_id = ? ORDER BY requested_at", (piece_id,))
    tests = store.query("SELECT id, status, winner, metric, method FROM ab_tests WHERE piece_id = ? ORDER BY started_at",
                        (piece_id,))
    from masthead.app.escalation import review_people  # the desk's module, which imports this one

    return {
        **piece,
        "parts": thread_parts(piece, _thread_settings(ws)),
        "scheduled": scheduled_label(ws, piece["project"], piece.get("scheduled_at")),
        "confidence": confidence.get((piece_id, piece["version"])),
        "ab_tests": tests,
        "versions": versions,
        "people": review_people(ws, piece),
        "lineage": {
            "signal": signal,
            "items": _items(store, job["id"]),
            "job": {"id": job["id"], "recipe": job["recipe"], "status": job["status"]},
            "steps": steps,
            "cost_usd": round(sum(c["cost_usd"] for c in calls), 8),
            "tokens": {"in": sum(c["tokens_in"] for c in calls), "out": sum(c["tokens_out"] for c in calls)},
            "decisions": decisions,
            "publications": publications,
        },
    }

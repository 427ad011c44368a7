"""Read-side listings for the API and the desk: projects, signals, jobs, tasks, publications
and events. Reads only; every change goes through `masthead.app.commands`."""

from __future__ import annotations

import json
from typing import Any

from masthead.app.workspace import Workspace
from masthead.errors import InputError, NotFoundError

MAX_PAGE = 500
MAX_OFFSET = 2**53  # beyond any real log, inside SQLite's 64-bit integers
JOB_STATUSES = ("running", "done", "failed", "deferred")
TASK_STATUSES = ("queued", "running", "waiting", "done", "failed", "skipped", "needs_human",
                 "waiting_rate_limit", "deferred_budget", "off_peak")
PUBLICATION_STATUSES = ("requested", "delivered", "failed", "needs_human", "retracted")


def check_page(limit: int, offset: int = 0) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit {limit} is out of range", field="limit", fix=f"use 1 to {MAX_PAGE}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InputError(f"offset {offset} is out of range", field="offset", fix=f"use 0 to {MAX_OFFSET}")


def _one_of(value: str | None, allowed: tuple[str, ...], name: str) -> None:
    if value is not None and value not in allowed:
        raise InputError(f"{name} {value!r} is not one of {', '.join(allowed)}", field=name,
                         fix=f"use one of: {', '.join(allowed)}")


# -- projects -----------------------------------------------------------------------------
def project_row(row: dict[str, Any]) -> dict[str, Any]:
    spec = json.loads(row["spec"])
    return {"name": row["name"], "description": row["description"], "revision": row["revision"],
            "updated_at": row["updated_at"], "spec": spec}


def list_projects(ws: Workspace) -> list[dict[str, Any]]:
    return [project_row(r) for r in ws.store.query("SELECT * FROM projects ORDER BY name")]


def project_detail(ws: Workspace, name: str) -> dict[str, Any]:
    rows = ws.store.query("SELECT * FROM projects WHERE name = ?", (name,))
    if not rows:
        raise NotFoundError(f"project {name!r} does not exist", field="name", fix="see GET /api/v1/projects")
    counts = ws.store.query("SELECT status, COUNT(*) AS n FROM pieces WHERE project = ? GROUP BY status", (name,))
    return project_row(rows[0]) | {"pieces": {r["status"]: r["n"] for r in counts}}


# -- signals ------------------------------------------------------------------------------
_SIGNAL_COLUMNS = "id, project, kind, title, priority, source, sha256, received_at, seq, LENGTH(body) AS body_chars"


def list_signals(ws: Workspace, *, project: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    check_page(limit, offset)
    sql, params = f"SELECT {_SIGNAL_COLUMNS} FROM signals", []
    if project:
        sql += " WHERE project = ?"
        params.append(project)
    return ws.store.query(sql + " ORDER BY seq DESC LIMIT ? OFFSET ?", [*params, limit, offset])


def signal_detail(ws: Workspace, signal_id: str) -> dict[str, Any]:
    rows = ws.store.query(f"SELECT {_SIGNAL_COLUMNS}, body FROM signals WHERE id = ?", (signal_id,))
    if not rows:
        raise NotFoundError(f"signal {signal_id!r} does not exist", field="signal_id", fix="see GET /api/v1/signals")
    jobs = ws.store.query("SELECT id, recipe, status FROM jobs WHERE signal_id = ? ORDER BY created_at", (signal_id,))
    return rows[0] | {"jobs": jobs}


# -- jobs and tasks -----------------------------------------------------------------------
# Tasks with their outputs, which live in their TaskSucceeded events (tasks.output_seq).
TASKS_WITH_OUTPUT = "SELECT t.*, e.data AS outcome FROM tasks t LEFT JOIN events e ON e.seq = t.output_seq"


def task_row(row: dict[str, Any]) -> dict[str, Any]:
    """A task as the API shows it: its output and hand-off decoded, lease internals kept."""
    task = dict(row)
    outcome = task.pop("outcome", None)
    task["output"] = json.loads(outcome)["output"] if outcome else None
    if task.get("needs_human"):
        task["needs_human"] = json.loads(task["needs_human"])
    return task


def list_jobs(ws: Workspace, *, status: str | None, project: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    _one_of(status, JOB_STATUSES, "status")
    check_page(limit, offset)
    sql, params = "SELECT * FROM jobs WHERE 1 = 1", []
    if status:
        sql += " AND status = ?"
        params.append(status)
    if project:
        sql += " AND project = ?"
        params.append(project)
    return ws.store.query(sql + " ORDER BY created_at DESC, id LIMIT ? OFFSET ?", [*params, limit, offset])


def job_detail(ws: Workspace, job_id: str) -> dict[str, Any]:
    rows = ws.store.query("SELECT * FROM jobs WHERE id = ?", (job_id,))
    if not rows:
        raise NotFoundError(f"job {job_id!r} does not exist", field="job_id", fix="see GET /api/v1/jobs")
    tasks = ws.store.query(f"{TASKS_WITH_OUTPUT} WHERE t.job_id = ? ORDER BY t.created_seq", (job_id,))
    pieces = ws.store.query("SELECT id, channel, status, version FROM pieces WHERE job_id = ? ORDER BY channel", (job_id,))
    return rows[0] | {"tasks": [task_row(t) for t in tasks], "pieces": pieces}


def list_tasks(ws: Workspace, *, status: str | None, job_id: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    _one_of(status, TASK_STATUSES, "status")
    check_page(limit, offset)
    sql, params = f"{TASKS_WITH_OUTPUT} WHERE 1 = 1", []
    if status:
        sql += " AND t.status = ?"
        params.append(status)
    if job_id:
        sql += " AND t.job_id = ?"
        params.append(job_id)
    rows = ws.store.query(sql + " ORDER BY t.created_seq DESC LIMIT ? OFFSET ?", [*params, limit, offset])
    return [task_row(r) for r in rows]


def task_detail(ws: Workspace, task_id: str) -> dict[str, Any]:
    rows = ws.store.query(f"{TASKS_WITH_OUTPUT} WHERE t.id = ?", (task_id,))
    if not rows:
        raise NotFoundError(f"task {task_id!r} does not exist", field="task_id", fix="see GET /api/v1/tasks")
    return task_row(rows[0])


# -- publications and events ----------------------------------------------------------------
def list_publications(ws: Workspace, *, status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    _one_of(status, PUBLICATION_STATUSES, "status")
    check_page(limit, offset)
    sql, params = "SELECT * FROM publications", []
    if status:
        sql += " WHERE status = ?"
        params.append(status)
    return ws.store.query(sql + " ORDER BY requested_at DESC LIMIT ? OFFSET ?", [*params, limit, offset])


def events_page(ws: Workspace, *, since: int, limit: int, stream: str | None) -> dict[str, Any]:
    """Events with seq > since, oldest first; `next_since` continues where this page ended."""
    if not 0 <= since <= MAX_OFFSET:
        raise InputError(f"since {since} is out of range", field="since", fix="use 0 or a seq from an earlier page")
    check_page(limit)
    events = [e.as_dict() for e in ws.store.read(since=since, stream=stream, limit=limit)]
    head, _ = ws.store.head()
    return {"events": events, "next_since": events[-1]["seq"] if events else since, "head": head}

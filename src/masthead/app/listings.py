"""Read-side listings for the API and the desk: projects, signals, jobs, tasks, publications
and events. Reads only; every change goes through `masthead.app.commands`."""

from __future__ import annotations

import json
from typing import Any

from masthead.app.workspace import Workspace
from masthead.errors import InputError, NotFoundError
from masthead.personal_data import open_partial, open_signals
from masthead.runtime.outputs import Query, step_output

MAX_PAGE = 500
MAX_OFFSET = 2**53  # beyond any real log, inside SQLite's 64-bit integers
JOB_STATUSES = ("running", "done", "failed", "deferred")
TASK_STATUSES = ("queued", "running", "waiting", "done", "failed", "skipped", "needs_human",
                 "waiting_rate_limit", "deferred_budget", "off_peak", "waiting_config")
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


def project_names(ws: Workspace) -> list[dict[str, Any]]:
    """Each project's name, description, revision and update time (no spec): `masthead project list`."""
    return ws.store.query("SELECT name, description, revision, updated_at FROM projects ORDER BY name")


def job_project(ws: Workspace, job_id: str) -> str:
    rows = ws.store.query("SELECT project FROM jobs WHERE id = ?", (job_id,))
    if not rows:
        raise NotFoundError(f"job {job_id!r} does not exist", field="job", fix="see `masthead jobs list` for job ids")
    return str(rows[0]["project"])


def list_projects(ws: Workspace) -> list[dict[str, Any]]:
    return [project_row(r) for r in ws.store.query("SELECT * FROM projects ORDER BY name")]


def project_detail(ws: Workspace, name: str) -> dict[str, Any]:
    rows = ws.store.query("SELECT * FROM projects WHERE name = ?", (name,))
    if not rows:
        raise NotFoundError(f"project {name!r} does not exist", field="name", fix="see GET /api/v1/projects")
    counts = ws.store.query("SELECT status, COUNT(*) AS n FROM pieces WHERE project = ? GROUP BY status", (name,))
    return project_row(rows[0]) | {"pieces": {r["status"]: r["n"] for r in counts}}


# -- signals ------------------------------------------------------------------------------
_SIGNAL_COLUMNS = ("id, project, kind, title, priority, source, sha256, received_at, seq, LENGTH(body) AS body_chars,"
                   " subject, sealed")


def opened_signals(ws: Workspace, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Signal rows as listings show them: a person's sealed title, body and contact opened (or
    "[forgotten]", with `forgotten` true), the contact as an object, the token itself left out."""
    shown = []
    for row in open_signals(ws.store, rows):
        row = {key: value for key, value in row.items() if key != "sealed"}
        row.setdefault("forgotten", False)
        if "contact" in row:
            row["contact"] = json.loads(row["contact"]) if row["contact"] else None
        shown.append(row)
    return shown


def list_signals(ws: Workspace, *, project: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    check_page(limit, offset)
    sql, params = f"SELECT {_SIGNAL_COLUMNS} FROM signals", []
    if project:
        sql += " WHERE project = ?"
        params.append(project)
    return opened_signals(ws, ws.store.query(sql + " ORDER BY seq DESC LIMIT ? OFFSET ?", [*params, limit, offset]))


def signal_detail(ws: Workspace, signal_id: str) -> dict[str, Any]:
    rows = ws.store.query(f"SELECT {_SIGNAL_COLUMNS}, body, contact FROM signals WHERE id = ?", (signal_id,))
    if not rows:
        raise NotFoundError(f"signal {signal_id!r} does not exist", field="signal_id", fix="see GET /api/v1/signals")
    jobs = ws.store.query("SELECT id, recipe, status FROM jobs WHERE signal_id = ? ORDER BY created_at", (signal_id,))
    return opened_signals(ws, rows)[0] | {"jobs": jobs}


# -- jobs and tasks -----------------------------------------------------------------------
# Tasks with their outputs, which live in their TaskSucceeded events (tasks.output_seq).
TASKS_WITH_OUTPUT = "SELECT t.*, e.data AS outcome FROM tasks t LEFT JOIN events e ON e.seq = t.output_seq"


def task_row(row: dict[str, Any], query: Query) -> dict[str, Any]:
    """A task as the API shows it: its output and hand-off decoded, lease internals kept."""
    task = dict(row)
    outcome = task.pop("outcome", None)
    task["output"] = step_output(query, outcome) if outcome else None
    if task.get("needs_human"):
        task["needs_human"] = json.loads(task["needs_human"])
        task["needs_human"]["partial"] = open_partial(query, task["needs_human"].get("partial", []))
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
    return rows[0] | {"tasks": [task_row(t, ws.store.query) for t in tasks], "pieces": pieces}


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
    return [task_row(r, ws.store.query) for r in rows]


def task_detail(ws: Workspace, task_id: str) -> dict[str, Any]:
    rows = ws.store.query(f"{TASKS_WITH_OUTPUT} WHERE t.id = ?", (task_id,))
    if not rows:
        raise NotFoundError(f"task {task_id!r} does not exist", field="task_id", fix="see GET /api/v1/tasks")
    return task_row(rows[0], ws.store.query)


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


# -- jobs and signals as the operator reads them (`masthead jobs`, `masthead signals`) -----
_PRIORITY_NAMES = {10: "high", 5: "normal", 1: "low"}
# Task states that hold a job back, and what the operator reads for each.
_HELD = ("waiting", "needs_human", "waiting_config", "deferred_budget", "off_peak", "waiting_rate_limit")
_JOB_TASK_COLUMNS = ("id, job_id, step, channel, kind, status, attempts, max_attempts, wait_reason, last_error,"
                     " run_after")


def _known_project(ws: Workspace, project: str | None) -> None:
    if project is not None and not ws.store.query("SELECT 1 FROM projects WHERE name = ?", (project,)):
        raise NotFoundError(f"project {project!r} does not exist", field="project",
                            fix="see `masthead project list`")


def _in(values: list[str]) -> str:
    return ",".join("?" * len(values)) or "''"


def _job_reasons(ws: Workspace, job_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each job's own events (started, parked, released, completed) with their reasons."""
    streams = [f"job-{job_id}" for job_id in job_ids]
    history: dict[str, list[dict[str, Any]]] = {job_id: [] for job_id in job_ids}
    for row in ws.store.query(f"SELECT seq, type, data, meta FROM events WHERE stream IN ({_in(streams)})"
                              " ORDER BY seq", streams):
        data, meta = json.loads(row["data"]), json.loads(row["meta"])
        history[data["id"]].append({"seq": row["seq"], "type": row["type"], "at": meta["at"],
                                    "reason": data.get("reason")})
    return history


def _task_wait(task: dict[str, Any]) -> dict[str, Any] | None:
    held = task["status"] in _HELD or (task["status"] == "queued" and task["wait_reason"])
    if not held:
        return None
    return {"task_id": task["id"], "status": task["status"], "reason": task["wait_reason"] or task["last_error"]}


def _job_summaries(ws: Workspace, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["id"] for r in rows]
    tasks = ws.store.query(f"SELECT {_JOB_TASK_COLUMNS} FROM tasks WHERE job_id IN ({_in(ids)}) ORDER BY created_seq",
                           ids)
    history = _job_reasons(ws, ids)
    summaries = []
    for row in rows:
        own = [t for t in tasks if t["job_id"] == row["id"]]
        counts: dict[str, int] = {}
        for task in own:
            counts[task["status"]] = counts.get(task["status"], 0) + 1
        parked = [e["reason"] for e in history[row["id"]] if e["type"] == "JobDeferred"]
        summaries.append({
            "id": row["id"], "project": row["project"], "recipe": row["recipe"], "signal_id": row["signal_id"],
            "priority": _PRIORITY_NAMES.get(row["priority"], str(row["priority"])),
            "criticality": row["criticality"], "status": row["status"],
            "deferred_reason": parked[-1] if row["status"] == "deferred" and parked else None,
            "created_at": row["created_at"], "finished_at": row["finished_at"], "task_counts": counts,
            "waiting": [w for w in map(_task_wait, own) if w is not None],
        })
    return summaries


def job_summaries(ws: Workspace, *, status: str | None, project: str | None, limit: int = 100,
                  offset: int = 0) -> list[dict[str, Any]]:
    """Jobs, newest first, each with its task counts and what holds it back."""
    _known_project(ws, project)
    return _job_summaries(ws, list_jobs(ws, status=status, project=project, limit=limit, offset=offset))


def job_overview(ws: Workspace, job_id: str) -> dict[str, Any]:
    """One job: its signal, every task with its state and wait reason, its pieces, its history."""
    rows = ws.store.query("SELECT * FROM jobs WHERE id = ?", (job_id,))
    if not rows:
        raise NotFoundError(f"job {job_id!r} does not exist", field="job",
                            fix="see `masthead jobs list` for the ids")
    summary = _job_summaries(ws, rows)[0]
    signal = opened_signals(ws, ws.store.query("SELECT id, kind, title, source, received_at, subject, sealed"
                                               " FROM signals WHERE id = ?", (summary["signal_id"],)))
    tasks = ws.store.query(f"SELECT {_JOB_TASK_COLUMNS} FROM tasks WHERE job_id = ? ORDER BY created_seq", (job_id,))
    pieces = ws.store.query("SELECT id, channel, status, version FROM pieces WHERE job_id = ? ORDER BY channel",
                            (job_id,))
    return summary | {
        "signal": signal[0] if signal else None,
        "tasks": [{k: v for k, v in t.items() if k != "job_id"} for t in tasks],
        "pieces": pieces, "history": _job_reasons(ws, [job_id])[job_id],
    }


def _with_jobs(ws: Workspace, signals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [s["id"] for s in signals]
    jobs = ws.store.query(f"SELECT * FROM jobs WHERE signal_id IN ({_in(ids)}) ORDER BY created_at, id", ids)
    summaries = _job_summaries(ws, jobs)
    return [{**s, "jobs": [j for j in summaries if j["signal_id"] == s["id"]]} for s in signals]


def signal_summaries(ws: Workspace, *, project: str | None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Signals, newest first, each with the jobs it started and their states."""
    _known_project(ws, project)
    return _with_jobs(ws, list_signals(ws, project=project, limit=limit, offset=offset))


def signal_overview(ws: Workspace, signal_id: str) -> dict[str, Any]:
    rows = ws.store.query(f"SELECT {_SIGNAL_COLUMNS}, body, contact FROM signals WHERE id = ?", (signal_id,))
    if not rows:
        raise NotFoundError(f"signal {signal_id!r} does not exist", field="signal",
                            fix="see `masthead signals list` for the ids")
    return _with_jobs(ws, opened_signals(ws, rows))[0]


def held_work(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    """What will not run by itself now: parked jobs and tasks held by a guard or a missing
    setting, with the reasons (`masthead run` prints them when it stops)."""
    parked = _job_summaries(ws, ws.store.query("SELECT * FROM jobs WHERE status = 'deferred' ORDER BY created_at, id"))
    held = ws.store.query(
        "SELECT id, status, wait_reason AS reason FROM tasks"
        " WHERE status IN ('deferred_budget', 'off_peak', 'waiting_config') ORDER BY created_seq")
    return {"parked_jobs": [{"id": j["id"], "project": j["project"], "reason": j["deferred_reason"]} for j in parked],
            "held_tasks": held}

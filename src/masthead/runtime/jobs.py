"""Starting jobs and deciding what runs next, inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from typing import Any

from masthead.errors import ConcurrencyConflict
from masthead.events.model import Meta, NewEvent, StoredEvent, canonical_json, stream_of, utc_now
from masthead.events.store import EventStore, Transaction
from masthead.events.types import (
    JobCompleted,
    JobDeferred,
    JobReleased,
    JobReopened,
    JobStarted,
    RecipeRecorded,
    TaskEnqueued,
    TaskReopened,
    TaskSkipped,
    TaskWoken,
)
from masthead.recipes.schema import Recipe
from masthead.runtime.context import job_plan
from masthead.runtime.ids import new_id
from masthead.runtime.plan import Slot, decide, slots

PRIORITIES = {"high": 10, "normal": 5, "low": 1}
# A signal's priority sets its jobs' criticality unless the recipe names one.
CRITICALITY = {"high": "critical", "normal": "normal", "low": "background"}

# Backpressure bounds the jobs that use workers, models or budget. A running job is active
# while one of its tasks runs, is ready, or will run by itself later (a retry, a rate-limit,
# budget or off-peak wait). A job whose open tasks all wait for a person (a review, a hand-off,
# a key to set) or for a soft-gate deadline uses none of these, so it holds no slot: otherwise
# a few pieces in review would stall every new signal.
_ACTIVE_TASK = (
    "SELECT 1 FROM tasks t WHERE t.job_id = j.id AND (t.status IN ('running', 'waiting_rate_limit',"
    " 'deferred_budget', 'off_peak') OR (t.status = 'queued' AND t.wait_reason IS NULL))"
)
# Counted up to the bound only: the callers ask "is there room, and how much", and a project
# with hundreds of running jobs (a burst of signals, pieces waiting in review) would otherwise
# have every new signal look at each of them.
ACTIVE_JOBS = ("SELECT COUNT(*) AS n FROM (SELECT 1 FROM jobs j WHERE j.project = ? AND j.status = 'running'"
               f" AND EXISTS ({_ACTIVE_TASK}) LIMIT ?) AS active")
PARKED_JOB = "SELECT 1 FROM jobs WHERE status = 'deferred' AND project = ? LIMIT 1"


def _enqueue(job_id: str, slot: Slot, priority: int, criticality: str, now: float) -> NewEvent:
    # Every value comes from the validated recipe and job: no validation round trip.
    return TaskEnqueued.trusted(
        stream_of("task", slot.id), 0,
        id=slot.id, job_id=job_id, step=slot.step.id, channel=slot.channel, kind=slot.step.kind,
        priority=priority, run_after=now, max_attempts=slot.step.retries + 1, idempotency_key=slot.id,
        criticality=criticality,
    )


def _first_tasks(job_id: str, recipe: Recipe, channels: list[str], priority: int, criticality: str) -> list[NewEvent]:
    decision = decide(job_id, recipe, channels, {}, set())
    now = time.time()
    return [_enqueue(job_id, slot, priority, criticality, now) for slot in decision.enqueue]


# id(recipe) -> (recipe, digest, spec): parsed recipes are cached (recipes/loader.py), so the
# same object comes back for the same file, and its digest is computed once. An edited file
# gives a new object; emptied now and then so the old ones do not pile up in a long-lived process.
_DIGESTS: dict[int, tuple[Recipe, str, dict[str, Any]]] = {}
_DIGESTS_KEPT = 256


def recipe_digest(recipe: Recipe) -> tuple[str, dict[str, Any]]:
    """The recipe's digest (sha256 of its canonical JSON) and that JSON's data."""
    known = _DIGESTS.get(id(recipe))
    if known is None or known[0] is not recipe:
        if len(_DIGESTS) >= _DIGESTS_KEPT:
            _DIGESTS.clear()
        spec = recipe.model_dump(mode="json")
        known = _DIGESTS[id(recipe)] = (recipe, hashlib.sha256(canonical_json(spec).encode()).hexdigest(), spec)
    return known[1], known[2]


def record_recipe(tx: Transaction, recipe: Recipe, meta: Meta) -> str:
    """Store the recipe once (RecipeRecorded) unless the log has it already; its digest."""
    digest, spec = recipe_digest(recipe)
    if not tx.query("SELECT 1 FROM recipes WHERE digest = ?", (digest,)):
        recorded = RecipeRecorded(digest=digest, name=recipe.name, spec=spec)
        tx.append([recorded.to_new(stream_of("recipe", digest[:32]))], meta)
    return digest


def start_job(tx: Transaction, *, project: str, channels: list[str], recipe: Recipe, signal_id: str,
              priority: str, meta: Meta, max_active: int) -> str:
    """Start a job, or park it (accepted, stored, never dropped) when the project is at its bound."""
    job_id = new_id("job")
    rank = PRIORITIES[priority]
    criticality = recipe.criticality or CRITICALITY[priority]
    started = JobStarted(
        id=job_id, project=project, recipe=recipe.name, recipe_digest=record_recipe(tx, recipe, meta),
        signal_id=signal_id, priority=rank, channels=channels, criticality=criticality,
    )
    events = [started.to_new(stream_of("job", job_id), 0)]
    active = active_jobs(tx, project, max_active)
    if active >= max_active:
        reason = (f"{active} of {max_active} active jobs for project {project} (max_active_jobs {max_active});"
                  " it starts when one finishes or waits for a person")
        events.append(JobDeferred(id=job_id, reason=reason).to_new(stream_of("job", job_id)))
    else:
        events += _first_tasks(job_id, recipe, channels, rank, criticality)
    tx.append(events, meta)
    return job_id


def active_jobs(tx: Transaction, project: str, at_most: int) -> int:
    """How many of the project's jobs hold a backpressure slot (see ACTIVE_JOBS), counted up to
    `at_most`: the answer is exact below it and `at_most` at or above it."""
    return int(tx.query(ACTIVE_JOBS, (project, max(0, at_most)))[0]["n"])


def release_deferred(tx: Transaction, store: EventStore, project: str, max_active: int, meta: Meta,
                     reason: str) -> None:
    """Start parked jobs of `project` while it has room: highest priority first, then oldest.
    `reason` says why there is room; each JobReleased carries it."""
    # Nearly always nothing is parked: one look through the status index, not the count of
    # active jobs (which reads every running job's tasks).
    if not tx.query(PARKED_JOB, (project,)):
        return
    room = max_active - active_jobs(tx, project, max_active)
    if room <= 0:
        return
    for job in tx.query(
        "SELECT id, priority, criticality FROM jobs WHERE project = ? AND status = 'deferred'"
        " ORDER BY priority DESC, created_at LIMIT ?", (project, room),
    ):
        recipe, channels = job_plan(store, job["id"])
        events = [JobReleased(id=job["id"], reason=reason).to_new(stream_of("job", job["id"]))]
        events += _first_tasks(job["id"], recipe, channels, job["priority"], job["criticality"])
        tx.append(events, meta)


def project_max_active(tx: Transaction, project: str, default: int) -> int:
    rows = tx.query("SELECT spec FROM projects WHERE name = ?", (project,))
    bound = json.loads(rows[0]["spec"]).get("max_active_jobs") if rows else None
    return int(bound or default)


# The job's row, whether its project has a parked job, and its tasks' rows, in ONE statement
# (one snapshot: on Postgres a read made before the append lock is checked against a
# fingerprint of exactly these rows, migration 0021).
_JOB_ROWS = (
    "SELECT j.id AS job_id, j.status AS job_status, j.priority, j.criticality, j.project,"
    " EXISTS (SELECT 1 FROM jobs p WHERE p.status = 'deferred' AND p.project = j.project) AS parked,"
    " t.id, t.status, t.halted, t.version, t.wait_reason"
    " FROM jobs j LEFT JOIN tasks t ON t.job_id = j.id"
)
JOB_STATE = _JOB_ROWS + " WHERE j.id = ?"
# The same for every running job at once (the start-up reconcile), each job's rows together.
RUNNING_JOB_STATES = _JOB_ROWS + " WHERE j.status = 'running' ORDER BY j.id"
# Task states in which a job holds a backpressure slot (the Python twin of _ACTIVE_TASK).
_ACTIVE_STATES = frozenset({"running", "waiting_rate_limit", "deferred_budget", "off_peak"})


@dataclass(frozen=True)
class TaskState:
    """What scheduling reads of one task."""

    id: str
    status: str
    halted: bool
    version: int
    wait_reason: str | None

    @property
    def active(self) -> bool:
        return self.status in _ACTIVE_STATES or (self.status == "queued" and self.wait_reason is None)


@dataclass(frozen=True)
class JobState:
    """What scheduling reads of one job: its row, its tasks, and whether its project has a
    parked job (nearly always not; when it has, the release reads more, under the lock)."""

    id: str
    status: str
    priority: int
    criticality: str
    project: str
    parked: bool
    tasks: tuple[TaskState, ...]

    def with_task(self, task: TaskState) -> JobState:
        """This state with `task`'s row replaced: a finishing task as its outcome will leave it."""
        return replace(self, tasks=tuple(task if t.id == task.id else t for t in self.tasks))

    @property
    def holds_slot(self) -> bool:
        """Whether the job holds a backpressure slot (see _ACTIVE_TASK), from the rows read."""
        return self.status == "running" and any(t.active for t in self.tasks)

    def unchanged_params(self, leaving_out: str) -> tuple[Any, ...]:
        """The parameters of the "job" check (Transaction.check_unchanged, migration 0021): the
        fingerprint of these rows, `leaving_out` the finishing task (its outcome's append
        checks that one's version)."""
        others = [t for t in self.tasks if t.id != leaving_out]
        return (self.id, leaving_out, self.status, len(others), sum(t.version for t in others), self.parked)


def read_job_state(tx: Transaction, job_id: str) -> JobState:
    return _job_state(job_id, tx.query(JOB_STATE, (job_id,)))


def _job_state(job_id: str, rows: list[dict[str, Any]]) -> JobState:
    first = rows[0]
    tasks = tuple(TaskState(r["id"], r["status"], bool(r["halted"]), int(r["version"]), r["wait_reason"])
                  for r in rows if r["id"] is not None)
    return JobState(job_id, first["job_status"], first["priority"], first["criticality"], first["project"],
                    bool(first["parked"]), tasks)



def jobs_behind(store: EventStore, now: float) -> list[str]:
    """The running jobs whose rows say something was missed: a successor never enqueued, a
    skip or an end never recorded. Read in one statement outside any write transaction (a
    start-up look at every running job; nearly always none is behind)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in store.query(RUNNING_JOB_STATES):
        grouped.setdefault(row["job_id"], []).append(row)
    behind = []
    for job_id, rows in grouped.items():
        recipe, channels = job_plan(store, job_id)
        events, _finished = schedule_events(_job_state(job_id, rows), recipe, channels, now)
        if events:
            behind.append(job_id)
    return behind


def schedule_events(state: JobState, recipe: Recipe, channels: list[str], now: float) -> tuple[list[NewEvent], bool]:
    """What follows from the job's rows: its newly ready tasks enqueued (or woken, if reopened),
    the ones that cannot go on skipped, and JobCompleted when it is finished; and whether it
    finished (then a parked job of its project may start). Pure: no reads."""
    if state.status == "deferred":
        return [], False
    job_id = state.id
    # Reopened tasks (a rejected piece reopened) are planned again as if they had never run:
    # woken (not enqueued: they exist) when what they need is done.
    reopened = {t.id: t.version for t in state.tasks if t.status == "reopened"}
    states = {t.id: t.status for t in state.tasks if t.id not in reopened}
    halted = {t.id for t in state.tasks if t.halted}
    decision = decide(job_id, recipe, channels, states, halted)
    events: list[NewEvent] = [
        TaskWoken(id=slot.id, reason="its step's turn again after a reopen", run_after=now)
        .to_new(stream_of("task", slot.id), reopened[slot.id]) if slot.id in reopened
        else _enqueue(job_id, slot, state.priority, state.criticality, now) for slot in decision.enqueue]
    for slot in slots(job_id, recipe, channels) if decision.skip else ():
        if slot.id in decision.skip and slot.id in reopened:
            events.append(TaskSkipped(id=slot.id, reason=decision.skip[slot.id])
                          .to_new(stream_of("task", slot.id), reopened[slot.id]))
        elif slot.id in decision.skip:
            events.append(_enqueue(job_id, slot, state.priority, state.criticality, now))
            events.append(TaskSkipped(id=slot.id, reason=decision.skip[slot.id]).to_new(stream_of("task", slot.id), 1))
    finished = decision.job_finished and state.status == "running"
    if finished:
        status = "failed" if decision.job_failed else "done"
        events.append(JobCompleted(id=job_id, status=status).to_new(stream_of("job", job_id)))
    return events, finished


def schedule(tx: Transaction, store: EventStore, job_id: str, meta: Meta, now: float | None = None,
             default_max_active: int = 20) -> None:
    """Enqueue the job's newly ready tasks, skip the ones that cannot go on, close a finished job."""
    recipe, channels = job_plan(store, job_id)
    schedule_from(tx, store, read_job_state(tx, job_id), recipe, channels, meta,
                  time.time() if now is None else now, default_max_active)


def schedule_from(tx: Transaction, store: EventStore, state: JobState, recipe: Recipe, channels: list[str],
                  meta: Meta, now: float, default_max_active: int) -> list[StoredEvent]:
    """`schedule` with the job's rows read already (and, on Postgres, checked by the caller
    with `check_unchanged` if read before the append lock); the events it appended."""
    events, finished = schedule_events(state, recipe, channels, now)
    stored = tx.append(events, meta) if events else []
    if finished and state.parked:
        release_parked(tx, store, state.project, default_max_active, meta, f"a slot is free: job {state.id} finished")
    return stored


def release_parked(tx: Transaction, store: EventStore, project: str, default_max_active: int, meta: Meta,
                   reason: str) -> None:
    """`release_deferred` under the project's own bound (its `max_active_jobs`, else the default)."""
    release_deferred(tx, store, project, project_max_active(tx, project, default_max_active), meta, reason)


def reopen_events(tx: Transaction, job_id: str, tasks: list[dict[str, Any]], why: str) -> list[NewEvent]:
    """The events that plan `tasks` (rows with id, version, status) of a job again as if they had
    never run: `TaskReopened` for each not reopened already, after `JobReopened` if the job had
    finished. Append them, then `schedule` the job: it wakes each task when what it needs is done
    and skips again whatever still cannot run (a reopened rejection, an undone approval, a retry)."""
    events: list[NewEvent] = []
    if tx.query("SELECT id FROM jobs WHERE id = ? AND status IN ('done', 'failed')", (job_id,)):
        events.append(JobReopened(id=job_id, reason=why).to_new(stream_of("job", job_id)))
    events += [TaskReopened(id=task["id"], reason=why).to_new(stream_of("task", task["id"]), task["version"])
               for task in tasks if task["status"] != "reopened"]
    return events


def yield_slot(tx: Transaction, store: EventStore, job_id: str, why: str, meta: Meta,
               default_max_active: int = 20) -> None:
    """A task of `job_id` now waits (for a person, a deadline or a guard): if the whole job no
    longer holds a slot, start the project's parked jobs that now fit."""
    yield_slot_from(tx, store, read_job_state(tx, job_id), why, meta, default_max_active)


def yield_slot_from(tx: Transaction, store: EventStore, state: JobState, why: str, meta: Meta,
                    default_max_active: int) -> None:
    """`yield_slot` with the job's rows read already, its waiting task as its outcome left it."""
    if state.holds_slot or not state.parked:
        return
    release_parked(tx, store, state.project, default_max_active, meta, f"a slot is free: job {state.id} waits ({why})")


def wake_deferred(store: EventStore, project: str | None, reason: str, state: str = "deferred_budget") -> int:
    """Let tasks deferred in `state` try again now (a budget limit was raised; for
    `waiting_config`, a key or model path may have been set); they defer again if not."""
    sql = "SELECT t.id, t.version, t.job_id FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.status = ?"
    params: tuple[str, ...] = (state,)
    if project is not None:
        sql += " AND j.project = ?"
        params = (state, project)
    woken = 0
    for task in store.query(sql, params):
        event = TaskWoken(id=task["id"], reason=reason, run_after=time.time())
        try:
            store.append([event.to_new(stream_of("task", task["id"]), task["version"])],
                         Meta(actor="system", at=utc_now(), causation_id=task["id"], correlation_id=task["job_id"]))
            woken += 1
        except ConcurrencyConflict:
            continue
    return woken

"""Starting jobs and deciding what runs next, inside the caller's transaction."""

from __future__ import annotations

import json
import time

from masthead.events.model import Meta, NewEvent, stream_of
from masthead.events.store import EventStore, Transaction
from masthead.events.types import JobCompleted, JobStarted, TaskEnqueued, TaskSkipped
from masthead.recipes.schema import Recipe
from masthead.runtime.context import job_plan
from masthead.runtime.ids import new_id
from masthead.runtime.plan import Slot, decide, slots

PRIORITIES = {"high": 10, "normal": 5, "low": 1}


def _enqueue(job_id: str, slot: Slot, priority: int, now: float) -> NewEvent:
    return TaskEnqueued(
        id=slot.id, job_id=job_id, step=slot.step.id, channel=slot.channel, kind=slot.step.kind,
        priority=priority, run_after=now, max_attempts=slot.step.retries + 1, idempotency_key=slot.id,
    ).to_new(stream_of("task", slot.id), 0)


def start_job(tx: Transaction, *, project: str, channels: list[str], recipe: Recipe, signal_id: str,
              priority: str, meta: Meta) -> str:
    job_id = new_id("job")
    rank = PRIORITIES[priority]
    started = JobStarted(
        id=job_id, project=project, recipe=recipe.name, recipe_spec=recipe.model_dump(mode="json"),
        signal_id=signal_id, priority=rank, channels=channels,
    )
    events = [started.to_new(stream_of("job", job_id), 0)]
    decision = decide(job_id, recipe, channels, {}, set())
    now = time.time()
    events += [_enqueue(job_id, slot, rank, now) for slot in decision.enqueue]
    tx.append(events, meta)
    return job_id


def schedule(tx: Transaction, store: EventStore, job_id: str, meta: Meta, now: float | None = None) -> None:
    """Enqueue the job's newly ready tasks, skip the ones that cannot go on, close a finished job."""
    recipe, channels = job_plan(store, job_id)
    job = tx.query("SELECT status, priority FROM jobs WHERE id = ?", (job_id,))[0]
    rows = tx.query("SELECT id, status, output FROM tasks WHERE job_id = ?", (job_id,))
    states = {r["id"]: r["status"] for r in rows}
    halted = {r["id"] for r in rows if r["output"] and json.loads(r["output"]).get("halt")}
    decision = decide(job_id, recipe, channels, states, halted)
    now = time.time() if now is None else now
    by_id = {slot.id: slot for slot in decision.enqueue}
    events: list[NewEvent] = [_enqueue(job_id, slot, job["priority"], now) for slot in by_id.values()]

    for slot in slots(job_id, recipe, channels):
        if slot.id in decision.skip:
            events.append(_enqueue(job_id, slot, job["priority"], now))
            events.append(TaskSkipped(id=slot.id, reason=decision.skip[slot.id]).to_new(stream_of("task", slot.id), 1))
    if decision.job_finished and job["status"] == "running":
        status = "failed" if decision.job_failed else "done"
        events.append(JobCompleted(id=job_id, status=status).to_new(stream_of("job", job_id)))
    if events:
        tx.append(events, meta)

"""Job planning: which task slots a recipe has for a project, and which are ready to run.

Pure functions over the recipe, the project's channels and the tasks' current states, so the
same decision is made whether a worker finishes a task or the scheduler reconciles after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from masthead.recipes.schema import Recipe, Step
from masthead.runtime.ids import task_id

TERMINAL = {"done", "failed", "skipped"}


@dataclass(frozen=True)
class Slot:
    step: Step
    channel: str | None
    id: str


def slots(job_id: str, recipe: Recipe, channels: list[str]) -> list[Slot]:
    planned: list[Slot] = []
    for step in recipe.steps:
        if step.for_each == "channel":
            allowed = channels if step.channels is None else [c for c in channels if c in step.channels]
            planned.extend(Slot(step, c, task_id(job_id, step.id, c)) for c in allowed)
        else:
            planned.append(Slot(step, None, task_id(job_id, step.id, None)))
    return planned


def dependencies(slot: Slot, by_id: dict[str, Slot], job_id: str, recipe: Recipe) -> list[str]:
    """Ids of the slots this one waits for; a fanned-out need means the same channel's instance."""
    deps = []
    for need in slot.step.needs:
        needed = recipe.step(need)
        dep_id = task_id(job_id, need, slot.channel if needed.for_each == "channel" else None)
        # A need limited to other channels (subject lines only for email) simply does not apply.
        if dep_id in by_id:
            deps.append(dep_id)
    return deps


@dataclass(frozen=True)
class Decision:
    enqueue: list[Slot]
    skip: dict[str, str]  # slot id -> reason
    job_finished: bool
    job_failed: bool


def decide(job_id: str, recipe: Recipe, channels: list[str], states: dict[str, str], halted: set[str]) -> Decision:
    """Given task states (id -> status) and halted task ids, decide what to enqueue or skip."""
    planned = slots(job_id, recipe, channels)
    by_id = {s.id: s for s in planned}
    states = dict(states)
    enqueue: list[Slot] = []
    skip: dict[str, str] = {}
    changed = True
    while changed:  # a skip can make later slots decidable in the same pass
        changed = False
        for slot in planned:
            if slot.id in states:
                continue
            deps = dependencies(slot, by_id, job_id, recipe)
            if not all(states.get(d) in TERMINAL for d in deps):
                continue
            blocked = [d for d in deps if states[d] != "done" or d in halted]
            if blocked:
                skip[slot.id] = f"skipped because {blocked[0]} did not go on"
                states[slot.id] = "skipped"
                changed = True
            else:
                enqueue.append(slot)
                states[slot.id] = "queued"
    finished = all(states.get(s.id) in TERMINAL for s in planned)
    failed = any(states.get(s.id) == "failed" for s in planned)
    return Decision(enqueue=enqueue, skip=skip, job_finished=finished, job_failed=failed)

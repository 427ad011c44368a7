"""The claim of a Postgres finishing transaction: the ready task it row-locked before the append
lock, or a task it enqueued itself, whichever the ready-task query would rank first."""

from __future__ import annotations

from masthead.events.model import Meta, StoredEvent
from masthead.runtime.worker import most_urgent

NOW = 1000.0


def event(seq: int, kind: str, task: str, version: int, **data: object) -> StoredEvent:
    return StoredEvent(seq=seq, stream=f"task-{task}", version=version, type=kind,
                       data={"id": task, "job_id": "job-1", **data}, meta=Meta(actor="system", at="x"), hash="h")


def enqueued(seq: int, task: str, priority: int = 5, run_after: float = NOW) -> StoredEvent:
    return event(seq, "TaskEnqueued", task, 1, priority=priority, run_after=run_after)


def row(task: str, priority: int, enqueued_at: float, seq: int) -> dict[str, object]:
    return {"id": task, "job_id": "job-0", "version": 1, "attempts": 0, "priority": priority,
            "enqueued_at": enqueued_at, "created_seq": seq}


def test_the_older_ready_task_of_the_same_priority_wins_over_the_one_just_enqueued():
    waiting = row("old", 5, NOW - 10, 3)
    assert most_urgent([waiting], [enqueued(9, "new")], NOW, 60.0) is waiting


def test_a_more_urgent_task_just_enqueued_is_claimed_at_the_version_its_enqueue_gave():
    chosen = most_urgent([row("old", 1, NOW - 10, 3)], [enqueued(9, "new", priority=10)], NOW, 60.0)
    assert chosen is not None and (chosen["id"], chosen["version"], chosen["attempts"]) == ("new", 1, 0)


def test_a_task_enqueued_and_skipped_in_the_same_transaction_is_not_claimed():
    skipped = event(10, "TaskSkipped", "new", 2, reason="cannot go on")
    assert most_urgent([], [enqueued(9, "new"), skipped], NOW, 60.0) is None


def test_a_task_enqueued_to_run_later_is_not_claimed_now():
    assert most_urgent([], [enqueued(9, "later", run_after=NOW + 5)], NOW, 60.0) is None

"""The task queue contract on SQLite and Postgres: claims are exclusive under concurrent
workers, leases expire and are extended, outcomes from a lost lease are refused, and (Postgres)
commits that enqueue work wake listening workers."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from masthead.errors import ConcurrencyConflict
from masthead.events.model import Meta, NewEvent, StoredEvent, stream_of, utc_now
from masthead.events.types import TaskClaimed, TaskEnqueued, TaskSucceeded
from masthead.runtime.lease import Heartbeats
from masthead.runtime.presence import Presence, list_workers
from masthead.runtime.worker import Worker, wakes_workers


def meta() -> Meta:
    return Meta(actor="system", at=utc_now())


def enqueue(store: Any, count: int, *, priority: int = 5, prefix: str = "t") -> list[str]:
    ids = [f"{prefix}{n:03d}" for n in range(count)]
    events: list[NewEvent] = [
        TaskEnqueued(id=task_id, job_id="job-1", step="brief", channel=None, kind="agent", priority=priority,
                     run_after=time.time() - 1, max_attempts=3, idempotency_key=task_id).to_new(stream_of("task", task_id), 0)
        for task_id in ids
    ]
    store.append(events, meta())
    return ids


def worker(store: Any, name: str, lease_seconds: float = 30.0) -> Worker:
    # Claiming needs no step services: they are used only to run a task.
    return Worker(store, None, name, lease_seconds=lease_seconds, backoff_base=0.1, backoff_max=1.0)  # type: ignore[arg-type]


def test_claims_are_exclusive_under_concurrent_workers(backend):
    tasks = enqueue(backend.open(), 60)
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def claim_all(index: int) -> None:
        me = worker(backend.open(), f"w{index}")
        start.wait()  # every worker claims at the same moment
        while (task := me.claim()) is not None:
            with lock:
                claimed.append((task["id"], me.name))

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    counts = Counter(task_id for task_id, _ in claimed)
    assert sorted(counts) == tasks and set(counts.values()) == {1}
    rows = backend.open().query("SELECT id, status, lease_owner, attempts FROM tasks ORDER BY id")
    owners = dict(claimed)
    assert all(r["status"] == "running" and r["attempts"] == 1 and r["lease_owner"] == owners[r["id"]] for r in rows)


def test_the_most_urgent_task_is_claimed_first(store):
    enqueue(store, 2, priority=1, prefix="low")
    enqueue(store, 1, priority=10, prefix="high")
    assert worker(store, "w").claim()["id"] == "high000"


def test_an_expired_lease_is_claimed_again_and_the_old_outcome_is_refused(backend):
    store = backend.open()
    [task_id] = enqueue(store, 1)
    slow = worker(store, "slow", lease_seconds=0.2)
    held = slow.claim()
    assert held is not None and worker(store, "other").claim() is None  # held: nobody else gets it
    time.sleep(0.3)
    taken = worker(backend.open(), "fast").claim()
    assert taken is not None and taken["id"] == task_id and taken["attempts"] == 2
    late = TaskSucceeded(id=task_id, output={"from": "slow"})
    with pytest.raises(ConcurrencyConflict):
        store.append([late.to_new(stream_of("task", task_id), held["version"])], meta())
    store.append([TaskSucceeded(id=task_id, output={"from": "fast"}).to_new(stream_of("task", task_id), taken["version"])],
                 meta())
    done = store.query("SELECT t.status, e.data FROM tasks t JOIN events e ON e.seq = t.output_seq")
    assert [(row["status"], json.loads(row["data"])["output"]) for row in done] == [("done", {"from": "fast"})]


def test_a_lease_keeper_extends_the_lease_while_the_step_runs(store):
    enqueue(store, 1)
    task = worker(store, "w", lease_seconds=0.3).claim()
    first_until = task["lease_until"]
    heartbeats = Heartbeats(store)
    keeper = heartbeats.hold(task, "w", 0.3, meta)
    time.sleep(0.75)  # more than two leases: only the extensions keep it ours
    assert worker(store, "thief", lease_seconds=0.3).claim() is None
    current = keeper.release()
    heartbeats.stop()
    assert current["version"] >= task["version"] + 2 and not keeper.lost
    row = store.query("SELECT lease_until, version FROM tasks")[0]
    assert row["lease_until"] > first_until and row["version"] == current["version"]
    kinds = [e.type for e in store.read(stream=stream_of("task", task["id"]))]
    assert kinds[:2] == ["TaskEnqueued", "TaskClaimed"] and set(kinds[2:]) == {"TaskLeaseExtended"}
    store.append([TaskSucceeded(id=task["id"], output={}).to_new(stream_of("task", task["id"]), current["version"])],
                 meta())


def test_a_lease_keeper_notices_that_the_task_was_taken(store):
    enqueue(store, 1)
    task = worker(store, "w", lease_seconds=30).claim()
    # Another worker took it over (its lease had run out while this one stalled).
    stolen = TaskClaimed(id=task["id"], worker="other", lease_until=time.time() + 30, attempt=2)
    store.append([stolen.to_new(stream_of("task", task["id"]), task["version"])], meta())
    heartbeats = Heartbeats(store)
    keeper = heartbeats.hold(task, "w", 0.15, meta)
    time.sleep(0.3)
    assert keeper.lost and keeper.release()["version"] == task["version"]
    heartbeats.stop()


def test_workers_register_and_show_what_they_hold(backend):
    store = backend.open()
    enqueue(store, 2)
    presence = Presence(store, name="box-1", owner="box:42", concurrency=2, interval=0.05)
    presence.start()
    try:
        worker(store, "box:42:0").claim()
        time.sleep(0.12)
        [listed] = list_workers(store, stale_after=1.0)
        assert listed["name"] == "box-1" and listed["live"] and [t["id"] for t in listed["holds"]] == ["t000"]
        assert not list_workers(store, stale_after=1.0, now=time.time() + 5)[0]["live"]
    finally:
        presence.stop()
    assert list_workers(store, stale_after=1.0) == []


@contextmanager
def listening(backend: Any) -> Iterator[tuple[Any, threading.Event]]:
    """A writer's store, and an event set when a listening store is woken (Postgres NOTIFY)."""
    listener, writer = backend.open(), backend.open()
    woken = threading.Event()
    stop = listener.listen(woken.set)
    try:
        time.sleep(0.3)  # the first wake-up comes from starting to listen
        woken.clear()
        yield writer, woken
    finally:
        stop()


def test_a_commit_that_enqueues_wakes_listening_workers(postgres_backend):
    """Postgres only: SQLite has no channel between processes, so its workers poll."""
    with listening(postgres_backend) as (writer, woken):
        writer.append([NewEvent("note-1", "Noted", {}, 0)], meta())  # not a wake-up type
        assert not woken.wait(0.5)
        enqueue(writer, 1)
        assert woken.wait(5)


def test_a_commit_that_claims_what_it_enqueues_wakes_nobody(postgres_backend):
    """A step's finishing transaction enqueues its job's next step and claims it itself: other
    workers have nothing to claim, so they are not woken (each would run an empty claim)."""
    with listening(postgres_backend) as (writer, woken):
        task = TaskEnqueued(id="t-own", job_id="job-1", step="brief", channel=None, kind="agent", priority=5,
                            run_after=time.time() - 1, max_attempts=3, idempotency_key="t-own")
        claim = TaskClaimed(id="t-own", worker="w0", lease_until=time.time() + 30, attempt=1)
        stream = stream_of("task", "t-own")
        writer.append([task.to_new(stream, 0), claim.to_new(stream, 1)], meta())
        assert not woken.wait(0.5)
        enqueue(writer, 1)  # one it does not claim: that wakes them
        assert woken.wait(5)


def test_only_a_task_made_ready_and_left_unclaimed_wakes_workers():
    def event(type_: str, task: str) -> StoredEvent:
        return StoredEvent(seq=1, stream=f"task-{task}", version=1, type=type_, data={"id": task}, meta=meta(), hash="")

    assert not wakes_workers([event("Noted", "a")])
    assert wakes_workers([event("TaskEnqueued", "a")]) and wakes_workers([event("TaskWoken", "a")])
    assert not wakes_workers([event("TaskSucceeded", "a"), event("TaskEnqueued", "b"), event("TaskClaimed", "b")])
    assert wakes_workers([event("TaskEnqueued", "b"), event("TaskEnqueued", "c"), event("TaskClaimed", "b")])

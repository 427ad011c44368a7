"""Workers: claim a task with a lease, run its step, append the outcome with what comes next.

Every state change is an event. A claim is a `TaskClaimed` appended at the task stream's
current version inside one write transaction, so two workers can never hold the same task;
the outcome is appended at the version the claim produced, so a worker that lost its lease
(it was too slow and someone else re-claimed) cannot overwrite the newer owner's work.

A step with no external effect is one write transaction: the records of its model calls (held
in a `PendingCalls` while it runs), its outcome, the next task's enqueue and this worker's next
claim commit together. A failure commits the records with the failure event. On Postgres that
transaction makes its reads before its first append takes the append lock, and has them checked
under the lock (`Transaction.check_unchanged`), so no other writer waits through them.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from masthead.errors import ConcurrencyConflict, MastheadError, ProviderError, StaleRead
from masthead.events.model import Meta, NewEvent, StoredEvent, stream_of, utc_now
from masthead.events.store import EventStore, Transaction
from masthead.events.types import (
    TaskClaimed,
    TaskDeferred,
    TaskFailed,
    TaskNeedsHuman,
    TaskRetryScheduled,
    TaskSucceeded,
    TaskWaiting,
)
from masthead.personal_data import PersonWasForgotten, Sealer
from masthead.processes import pid_alive
from masthead.runtime.context import TaskContext, job_plan, load_context
from masthead.runtime.guards import Deferral, NeedsHuman
from masthead.runtime.handlers import HANDLERS
from masthead.runtime.jobs import (
    JobState,
    TaskState,
    read_job_state,
    schedule,
    schedule_from,
    yield_slot,
    yield_slot_from,
)
from masthead.runtime.lease import Heartbeats, Lease
from masthead.runtime.model_client import PendingCalls, holding_calls
from masthead.runtime.outputs import compact_output
from masthead.runtime.steps import StepOutcome, StepServices
from masthead.windows import next_open

# Steps that call models; when they cannot finish, a person can (manual fallback).
HUMAN_FINISHABLE = {"agent", "check", "refine"}

HOST = socket.gethostname()

# Events after whose commit a task may be ready to claim: workers elsewhere are woken for them
# (Postgres NOTIFY). Timed waits (retries, soft gates) are found by polling.
WAKE_EVENTS = frozenset({"TaskEnqueued", "TaskWoken", "TaskRetryScheduled"})


def wakes_workers(events: Sequence[StoredEvent]) -> bool:
    """Whether a commit made a task ready that it did not also claim. A step's finishing
    transaction enqueues its job's next step and, nearly always, claims it itself: waking every
    other worker for it (a NOTIFY to each process, an empty claim in each) would cost them CPU
    for nothing, more of it the more workers there are."""
    ready = {event.data["id"] for event in events if event.type in WAKE_EVENTS}
    return bool(ready) and bool(ready - {event.data["id"] for event in events if event.type == "TaskClaimed"})

# Tries of a step's finishing transaction on Postgres before the last, which takes the append
# lock up front: each try that fails does so because another commit changed what it read.
FINISH_TRIES = 4


@dataclass(frozen=True)
class _Claimed:
    """A task this transaction claimed, and its row if it was read in the transaction."""

    id: str
    row: dict[str, Any] | None


def most_urgent(ready: list[dict[str, Any]], enqueued: list[StoredEvent], now: float,
                ageing: float) -> dict[str, Any] | None:
    """The claim of a finishing transaction on Postgres: the ready task it read (and row-locked)
    before the append lock, or a task it enqueued itself (the job's next step), whichever the
    ready-task query would rank first (priority with ageing, then the older). The enqueued one is
    claimed without reading it back: its row is what TaskEnqueued projects. So the job's next
    step stays with this worker when nothing more urgent waits, as on SQLite, where the ready
    query runs after the enqueue."""
    candidates = list(ready[:1])
    # A task enqueued only to be skipped in the same breath (a step that cannot go on) is not
    # ready: only a stream whose last event here is its TaskEnqueued counts.
    last = {event.stream: event for event in enqueued}
    for event in last.values():
        if event.type == "TaskEnqueued" and event.data["run_after"] <= now:
            candidates.append({"id": event.data["id"], "job_id": event.data["job_id"], "version": event.version,
                               "attempts": 0, "priority": event.data["priority"],
                               "enqueued_at": event.data["run_after"], "created_seq": event.seq})
    if not candidates:
        return None
    return min(candidates, key=lambda t: (-(t["priority"] + (now - t["enqueued_at"]) / ageing), t["created_seq"]))


@dataclass(frozen=True)
class TaskReport:
    task_id: str
    kind: str
    status: str  # done | waiting | retry | deferred | needs_human | failed | lost
    seconds: float
    detail: str = ""


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter (0.5x to 1.5x), so retries of many tasks spread out."""
    rng = rng or random.Random()
    return min(cap, base * (2 ** max(0, attempt - 1)) * (0.5 + rng.random()))


def _meta(task: dict[str, Any], actor: str = "system") -> Meta:
    return Meta(actor=actor, at=utc_now(), causation_id=task["id"], correlation_id=task["job_id"])


class Worker:
    def __init__(self, store: EventStore, services: StepServices, name: str, *,
                 lease_seconds: float, backoff_base: float, backoff_max: float,
                 ageing_seconds: float = 300.0, max_active: int = 20,
                 redact: Callable[[str], str] = lambda text: text, heartbeats: Heartbeats | None = None):
        self.store = store
        self.services = services
        self.name = name
        self.lease_seconds = lease_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.ageing_seconds = ageing_seconds
        self.max_active = max_active
        self.redact = redact
        self.heartbeats = heartbeats or Heartbeats(store)
        # Set when a step of this worker overran its timeout: the thread running it is left to
        # finish (or hang) on its own, and `on_abandoned` lets the runner start another.
        self.abandoned = False
        self.on_abandoned: Callable[[Worker, TaskReport], None] | None = None
        self._claim_next = False
        self._next: dict[str, Any] | None = None
        # Called between a finishing transaction's reads and its first append, with the try's
        # number (0 first): tests force an interleaving with it.
        self.before_first_append: Callable[[int], None] | None = None
        # The model-call records of the step running now, written with its outcome or failure.
        self._pending: PendingCalls | None = None

    # -- claiming ------------------------------------------------------------------------
    def claim(self, now: float | None = None) -> dict[str, Any] | None:
        try:
            with self.store.claim_transaction() as tx:
                claimed = self._claim_in(tx, self._now() if now is None else now)
        except ConcurrencyConflict:
            return None  # someone changed the task first; the next look finds what is ready now
        return self._claimed_row(claimed)

    def _now(self) -> float:
        # The runtime's clock (tests pass one); a bare worker (the queue's contract tests) has none.
        return self.services.clock() if self.services is not None else time.time()

    def _claim_in(self, tx: Transaction, now: float) -> _Claimed | None:
        # On Postgres the chosen row stays locked and other claimers skip it, so claimers pass
        # each other; only the append below waits for the append lock.
        rows = tx.query_skip_locked(self.store.ready_task_sql, {"now": now, "ageing": self.ageing_seconds})
        return self._claim_row(tx, rows[0], now) if rows else None

    def _claim_row(self, tx: Transaction, task: dict[str, Any], now: float) -> _Claimed:
        # Built from the task row and this worker's own settings: no validation round trip.
        claim = TaskClaimed.trusted(stream_of("task", task["id"]), task["version"], id=task["id"], worker=self.name,
                                    lease_until=now + self.lease_seconds, attempt=task["attempts"] + 1)
        tx.append([claim], _meta(task))
        if self.store.locks_at_begin:
            # SQLite: the write lock is held from BEGIN anyway; reading the row here is cheaper
            # than another transaction after COMMIT.
            return _Claimed(task["id"], tx.query("SELECT * FROM tasks WHERE id = ?", (task["id"],))[0])
        # Postgres: every read after the first append is a round trip made holding the append
        # lock; the claimed row is read after COMMIT instead (_claimed_row).
        return _Claimed(task["id"], None)

    def _claimed_row(self, claimed: _Claimed | None) -> dict[str, Any] | None:
        """The claimed task's row, read after COMMIT where it was not read in the transaction.
        Only this worker's lease changes the row now; should anything else have (a person
        cancelled it in between), the task is not run: its lease is not ours to act on."""
        if claimed is None or claimed.row is not None:
            return claimed.row if claimed is not None else None
        rows = self.store.query("SELECT * FROM tasks WHERE id = ?", (claimed.id,))
        if not rows or rows[0]["status"] != "running" or rows[0]["lease_owner"] != self.name:
            return None
        return rows[0]

    def take_next(self) -> dict[str, Any] | None:
        """The task claimed in the transaction that finished the last one, if any."""
        task, self._next = self._next, None
        return task

    # -- running -------------------------------------------------------------------------
    def run(self, task: dict[str, Any], *, claim_next: bool = False) -> TaskReport:
        """Run a claimed task. With `claim_next`, the transaction that records a success also
        claims the next ready task (one commit fewer per step); `take_next()` has it."""
        self._claim_next = claim_next
        lease = self.heartbeats.hold(task, self.name, self.lease_seconds, lambda: _meta(task))
        self._pending = PendingCalls(self.store)
        try:
            with holding_calls(self._pending):
                return self._run(task, lease)
        finally:
            lease.release()
            self._pending = None

    def _run(self, task: dict[str, Any], lease: Lease) -> TaskReport:
        started = time.perf_counter()
        ctx: TaskContext | None = None
        try:
            ctx = load_context(self.store, task)
            self._check_off_peak(ctx)
            # The step runs on this thread; if it overruns, the heartbeat thread records the
            # timeout and this thread's eventual outcome is dropped (see _abandon).
            context = ctx
            lease.watch(ctx.step.timeout_seconds, lambda: self._abandon(task, lease, context, started))
            outcome = HANDLERS[task["kind"]](ctx, self.services)
            # Outcomes are appended at the version the last lease extension left the task at.
            task = lease.release()
            if lease.overran:
                return self._late(task, started)
            self._finish(task, outcome, ctx.sealer)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an event, never a crash
            task = lease.release()
            if lease.overran:
                return self._late(task, started)
            if isinstance(exc, ConcurrencyConflict):
                self._write_calls_alone()
                return self._conflict(task, exc, started)
            if isinstance(exc, Deferral):
                return self._defer(task, exc, started)
            return self._failed(task, exc, started, ctx)
        status = "waiting" if outcome.waiting else "done"
        return TaskReport(task["id"], task["kind"], status, time.perf_counter() - started, outcome.wait_reason or "")

    def _abandon(self, task: dict[str, Any], lease: Lease, ctx: TaskContext, started: float) -> None:
        """Called by the heartbeat thread when the step overran: record the timeout as a
        transient failure at the lease's version, and have this worker replaced."""
        timeout = ctx.step.timeout_seconds
        error = ProviderError(f"step {task['id']} timed out after {timeout:g} s", transient=True,
                              fix="raise the step's timeout_seconds in the recipe, or use a faster model")
        report = self._failed({**task, "version": lease.version}, error, started, ctx, self._pending)
        self.abandoned = True
        if self.on_abandoned is not None:
            self.on_abandoned(self, report)

    @staticmethod
    def _late(task: dict[str, Any], started: float) -> TaskReport:
        return TaskReport(task["id"], task["kind"], "lost", time.perf_counter() - started,
                          "returned after its timeout; the outcome is not recorded")

    def _check_off_peak(self, ctx: TaskContext) -> None:
        if ctx.task["criticality"] != "background" or ctx.task["kind"] not in HUMAN_FINISHABLE:
            return
        now = time.time()
        opens = next_open(ctx.project.off_peak, ctx.project.timezone, now)
        if opens > now:
            raise Deferral("off_peak", f"background work runs in the project's off-peak windows "
                           f"({', '.join(ctx.project.off_peak)}, {ctx.project.timezone})", opens)

    def _write_calls_into(self, tx: Transaction, pending: PendingCalls | None = None, *, failing: bool = True) -> None:
        """The step's held model-call records into `tx`. On a failure path some may have been
        committed already (an outcome's commit landed, then something after it raised), so
        those are looked up and left out; the success path has nothing to look up."""
        pending = pending or self._pending
        if pending is not None:
            pending.write_into(tx, skip_recorded=failing)

    def _write_calls_alone(self, pending: PendingCalls | None = None) -> None:
        """The outcome could not be written (lease lost): the answers paid for still are."""
        pending = pending or self._pending
        if pending is not None:
            with contextlib.suppress(MastheadError):
                pending.write_alone()

    def _defer(self, task: dict[str, Any], deferral: Deferral, started: float) -> TaskReport:
        event = TaskDeferred(id=task["id"], state=deferral.state, reason=self.redact(deferral.reason),
                             run_after=deferral.run_after)
        try:
            with self.store.transaction() as tx:
                self._write_calls_into(tx)
                tx.append([event.to_new(stream_of("task", task["id"]), task["version"])], _meta(task))
                yield_slot(tx, self.store, task["job_id"], deferral.state, _meta(task), self.max_active)
        except ConcurrencyConflict:
            self._write_calls_alone()
            return TaskReport(task["id"], task["kind"], "lost", time.perf_counter() - started, "lease lost")
        return TaskReport(task["id"], task["kind"], "deferred", time.perf_counter() - started, deferral.reason)

    def _hand_to_human(self, task: dict[str, Any], reason: str, ctx: TaskContext | None,
                       pending: PendingCalls | None) -> None:
        inputs: dict[str, Any] = ctx.handoff_inputs(self.store) if ctx is not None else {}
        partial = [
            {"call_key": c["call_key"], "provider": c["provider"], "model": c["model"],
             "output": json.loads(c["data"])["output"]}
            for c in self.store.query(
                "SELECT m.call_key, m.provider, m.model, e.data FROM model_calls m JOIN events e ON e.seq = m.seq"
                " WHERE m.task_id = ? ORDER BY m.at, m.seq", (task["id"],))
        ]
        # Calls of this run not yet committed: they are newer than every recorded one. Each output
        # is copied as its record holds it (sealed, for a job about one person).
        recorded = {c["call_key"] for c in partial}
        partial += [{"call_key": c["call_key"], "provider": c["provider"], "model": c["model"], "output": c["output"]}
                    for c in (pending.held() if pending is not None else []) if c["call_key"] not in recorded]
        event = TaskNeedsHuman(id=task["id"], reason=reason, inputs=inputs, partial=partial)
        with self.store.transaction() as tx:
            self._write_calls_into(tx, pending)
            tx.append([event.to_new(stream_of("task", task["id"]), task["version"])], _meta(task))
            yield_slot(tx, self.store, task["job_id"], "a person must finish a step", _meta(task), self.max_active)

    def _finish(self, task: dict[str, Any], outcome: StepOutcome, sealer: Sealer | None = None) -> None:
        done = self._outcome_event(task, outcome, sealer)  # built once: sealing is not repeatable
        if self.store.locks_at_begin:
            with self.store.transaction() as tx:
                self._finish_locked(tx, task, outcome, done)
            return
        # Postgres: the reads are made before the append lock and checked under it (see
        # _finish_unlocked); a read that went stale is made again. The last try takes the lock
        # up front, so a step under heavy contention still finishes.
        for attempt in range(FINISH_TRIES):
            last = attempt == FINISH_TRIES - 1
            self._next = None
            try:
                with self.store.transaction() if last else self.store.claim_transaction() as tx:
                    claimed = self._finish_unlocked(tx, task, outcome, done, attempt)
            except StaleRead:
                if last:
                    raise
                continue
            self._next = self._claimed_row(claimed)
            return

    def _outcome_event(self, task: dict[str, Any], outcome: StepOutcome, sealer: Sealer | None) -> NewEvent:
        stream = stream_of("task", task["id"])
        done: TaskWaiting | TaskSucceeded
        if outcome.waiting:
            done = TaskWaiting(id=task["id"], reason=outcome.wait_reason or "", run_after=outcome.wait_until,
                               attempt_given_back=True)
        else:
            output = dict(outcome.output)
            if outcome.halt:
                output["halt"] = True
            # The model's answer is in its call's record, committed here too: stored once.
            output = compact_output(output, self._pending.answers() if self._pending is not None else {})
            if sealer is not None:
                # A job about one person: what the step derived from their signal is sealed.
                output = sealer.seal_output(output)
            done = TaskSucceeded(id=task["id"], output=output)
        return done.to_new(stream, task["version"])

    def _append_outcome(self, tx: Transaction, task: dict[str, Any], outcome: StepOutcome, done: NewEvent) -> None:
        # The step's model calls, then its outcome at the claimed version: if the lease was
        # lost, the append refuses and nothing of this transaction lands (see _run).
        self._write_calls_into(tx, failing=False)
        tx.append([done], _meta(task))
        for actor, event in outcome.events:
            tx.append([event], _meta(task, actor))

    def _finish_locked(self, tx: Transaction, task: dict[str, Any], outcome: StepOutcome, done: NewEvent) -> None:
        """SQLite: the write lock is held from BEGIN, so reads anywhere in it are current."""
        self._append_outcome(tx, task, outcome, done)
        if not outcome.waiting:
            schedule(tx, self.store, task["job_id"], _meta(task), default_max_active=self.max_active)
        else:
            yield_slot(tx, self.store, task["job_id"], outcome.wait_reason or "waiting", _meta(task),
                       self.max_active)
        if self._claim_next:
            # The transaction already holds the write lock, so this claim cannot conflict and undo
            # the outcome above; it finds the task just enqueued if that is the most urgent.
            self._next = self._claimed_row(self._claim_in(tx, time.time()))

    def _finish_unlocked(self, tx: Transaction, task: dict[str, Any], outcome: StepOutcome, done: NewEvent,
                         attempt: int) -> _Claimed | None:
        """Postgres: every read first, then every append (the first takes the append lock).
        The job's rows are read with the finishing task as its outcome will leave it, and
        checked under the lock without a round trip (check_unchanged: StaleRead if a sibling
        finished, a person acted, the job was reopened or a job was parked meanwhile); the next
        ready task is row-locked (SKIP LOCKED), so nobody else can claim or change it."""
        now = time.time()
        job_id = task["job_id"]
        # A step whose own events touch its job's tasks (a refine wakes its gate) makes the
        # schedule read after those appends, under the lock, as before: rare, and always right.
        early = not any(e.stream.startswith("task-") or e.stream == stream_of("job", job_id) for _, e in outcome.events)
        state = self._job_state(tx, task, done) if early else None
        if state is not None:
            tx.check_unchanged("job", state.unchanged_params(leaving_out=task["id"]))
        ready = (tx.query_skip_locked(self.store.ready_task_sql, {"now": now, "ageing": self.ageing_seconds})
                 if self._claim_next else [])
        # Not a task this transaction appends to before its claim (its own, if its lease ran out;
        # one its step's events wake): the claim would name a version those appends moved.
        touched = {done.stream} | {e.stream for _, e in outcome.events}
        ready = [row for row in ready if stream_of("task", row["id"]) not in touched]
        if self.before_first_append is not None:
            self.before_first_append(attempt)
        self._append_outcome(tx, task, outcome, done)
        state = state or self._job_state(tx, task, done)
        recipe, channels = job_plan(self.store, job_id)
        enqueued: list[StoredEvent] = []
        if not outcome.waiting:
            enqueued = schedule_from(tx, self.store, state, recipe, channels, _meta(task), now, self.max_active)
        else:
            yield_slot_from(tx, self.store, state, outcome.wait_reason or "waiting", _meta(task), self.max_active)
        if not self._claim_next:
            return None
        chosen = most_urgent(ready, enqueued, now, self.ageing_seconds)
        return self._claim_row(tx, chosen, now) if chosen is not None else None

    @staticmethod
    def _job_state(tx: Transaction, task: dict[str, Any], done: NewEvent) -> JobState:
        """The job's rows, the finishing task's as its outcome `done` leaves it (as the
        projections of TaskSucceeded and TaskWaiting set status, halted and wait_reason)."""
        state = read_job_state(tx, task["job_id"])
        if done.type == "TaskWaiting":
            after = TaskState(task["id"], "waiting" if done.data["run_after"] is None else "queued", False,
                              done.expected_version + 1, done.data["reason"])
        else:
            after = TaskState(task["id"], "done", bool(done.data["output"].get("halt")), done.expected_version + 1, None)
        return state.with_task(after)

    def _conflict(self, task: dict[str, Any], exc: ConcurrencyConflict, started: float) -> TaskReport:
        # Either the lease was lost (the task moved on without us) or a piece changed while the
        # step ran (a human acted). In the second case run the step again at once.
        current = self.store.query("SELECT version, lease_owner FROM tasks WHERE id = ?", (task["id"],))
        if current and current[0]["version"] == task["version"]:
            retry = TaskRetryScheduled(id=task["id"], error=f"state changed while running: {exc}", run_after=time.time())
            with contextlib.suppress(ConcurrencyConflict):
                self.store.append([retry.to_new(stream_of("task", task["id"]), task["version"])], _meta(task))
            return TaskReport(task["id"], task["kind"], "retry", time.perf_counter() - started, "state changed; re-running")
        return TaskReport(task["id"], task["kind"], "lost", time.perf_counter() - started, "lease lost to another worker")

    def _failed(self, task: dict[str, Any], exc: Exception, started: float, ctx: TaskContext | None = None,
                pending: PendingCalls | None = None) -> TaskReport:
        transient = exc.transient if isinstance(exc, ProviderError) else not isinstance(exc, MastheadError)
        if isinstance(exc, NeedsHuman):
            transient = False
        message = self.redact(str(exc) if isinstance(exc, MastheadError) else f"{type(exc).__name__}: {exc}")
        stream = stream_of("task", task["id"])
        pending = pending or self._pending
        try:
            if transient and task["attempts"] < task["max_attempts"]:
                delay = backoff_seconds(task["attempts"], self.backoff_base, self.backoff_max)
                if isinstance(exc, ProviderError) and exc.retry_after:
                    delay = max(delay, exc.retry_after)
                retry = TaskRetryScheduled(id=task["id"], error=message, run_after=time.time() + delay)
                with self.store.transaction() as tx:  # with the calls it paid for: the retry reuses them
                    self._write_calls_into(tx, pending)
                    tx.append([retry.to_new(stream, task["version"])], _meta(task))
                return TaskReport(task["id"], task["kind"], "retry", time.perf_counter() - started, message)
            if task["kind"] in HUMAN_FINISHABLE and not isinstance(exc, PersonWasForgotten):
                # Degrade to manual: the step waits in the review queue with its inputs, what
                # the models wrote so far and why automation stopped.
                why = message if not transient else f"gave up after {task['attempts']} attempts: {message}"
                self._hand_to_human(task, why, ctx, pending)
                return TaskReport(task["id"], task["kind"], "needs_human", time.perf_counter() - started, why)
            with self.store.transaction() as tx:
                self._write_calls_into(tx, pending)
                tx.append([TaskFailed(id=task["id"], error=message).to_new(stream, task["version"])], _meta(task))
                schedule(tx, self.store, task["job_id"], _meta(task), default_max_active=self.max_active)
        except ConcurrencyConflict:
            self._write_calls_alone(pending)
            return TaskReport(task["id"], task["kind"], "lost", time.perf_counter() - started, "lease lost to another worker")
        return TaskReport(task["id"], task["kind"], "failed", time.perf_counter() - started, message)


def release_orphans(store: EventStore) -> list[str]:
    """Give back leases held by dead processes on this host, so a restart resumes at once
    instead of waiting for their leases to run out."""
    released = []
    for task in store.query("SELECT * FROM tasks WHERE status = 'running'"):
        owner = task["lease_owner"] or ""
        parts = owner.split(":")
        if len(parts) < 2 or parts[0] != HOST or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if pid == os.getpid() or pid_alive(pid):
            continue
        retry = TaskRetryScheduled(id=task["id"], error=f"worker {owner} died while running it", run_after=time.time())
        try:
            store.append([retry.to_new(stream_of("task", task["id"]), task["version"])], _meta(task))
            released.append(task["id"])
        except ConcurrencyConflict:
            continue
    return released

"""The scheduler and workers of one process: `masthead run`, `masthead worker`, `masthead serve`.

N worker threads claim and run tasks. They sleep on a wake-up event set whenever this
process appends an event or (Postgres) another process NOTIFYs, and otherwise poll.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from masthead.events.model import Meta, StoredEvent, utc_now
from masthead.events.store import EventStore
from masthead.projections.snapshots import SnapshotSchedule
from masthead.runtime.jobs import (
    jobs_behind,
    release_parked,
    schedule,
    wake_deferred,
)
from masthead.runtime.lease import Heartbeats
from masthead.runtime.presence import Presence
from masthead.runtime.steps import StepServices
from masthead.runtime.worker import HOST, TaskReport, Worker, release_orphans, wakes_workers

log = logging.getLogger("masthead.runtime")


@dataclass
class RunSummary:
    reports: list[TaskReport] = field(default_factory=list)
    released: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.reports if r.status == status)


# The longest rate-limit wait that still counts as work in progress: X's 15-minute window,
# with room to spare. A longer one is a daily quota (LinkedIn's reset at midnight UTC, X's
# 24-hour cap) and waits like a budget does.
SHORT_RATE_LIMIT_WAIT_SECONDS = 1200.0


def is_idle(store: EventStore, now: float | None = None) -> bool:
    """Nothing running and nothing queued except timed waits (soft gates) and human waits."""
    # Rate-limit waits are short and count as work in progress; budget, off-peak, review and
    # soft-gate waits (and a spent daily quota) can last hours, so `--until-idle` stops with
    # them still waiting.
    horizon = (time.time() if now is None else now) + SHORT_RATE_LIMIT_WAIT_SECONDS
    rows = store.query(
        "SELECT COUNT(*) AS n FROM tasks WHERE status = 'running'"
        " OR (status = 'waiting_rate_limit' AND run_after <= ?)"
        " OR (status = 'queued' AND wait_reason IS NULL)",
        (horizon,),
    )
    return int(rows[0]["n"]) == 0


def reconcile(store: EventStore, default_max_active: int = 20) -> None:
    """Re-derive successors for every running job and start parked jobs that now have room;
    a no-op unless something was missed. Tasks deferred for budget look again (a limit in
    masthead.toml may have been raised since), and so do tasks that waited for a provider's
    key or model file (it may have been set since)."""
    # Only the jobs found behind get a write transaction (on Postgres each takes the append lock,
    # which every other writer waits for); `schedule` reads their rows again under it.
    for job_id in jobs_behind(store, time.time()):
        with store.transaction() as tx:
            schedule(tx, store, job_id, Meta(actor="system", at=utc_now(), correlation_id=job_id),
                     default_max_active=default_max_active)
    for row in store.query("SELECT DISTINCT project FROM jobs WHERE status = 'deferred'"):
        with store.transaction() as tx:
            meta = Meta(actor="system", at=utc_now())
            release_parked(tx, store, row["project"], default_max_active, meta, "a slot is free (re-checked at start)")
    wake_deferred(store, None, "re-checking budgets at start")
    wake_deferred(store, None, "re-checking provider settings at start", state="waiting_config")


class Runner:
    def __init__(self, store: EventStore, services: StepServices, *, concurrency: int, lease_seconds: float,
                 backoff_base: float, backoff_max: float, poll_interval: float, ageing_seconds: float = 300.0,
                 max_active: int = 20,
                 redact: Callable[[str], str] = lambda text: text,
                 on_report: Callable[[TaskReport], None] | None = None,
                 name: str | None = None, snapshot_every: int = 0, snapshot_keep: int = 2):
        self.store = store
        self.services = services
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.on_report = on_report
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._claiming = threading.Lock()  # held by the one idle thread that looks for work
        self._busy = 0
        self.summary = RunSummary()
        self.max_active = max_active
        # One thread extends the leases of every task held here and gives up on overrunning steps.
        self.heartbeats = Heartbeats(store)

        def make_worker(index: int) -> Worker:
            worker = Worker(store, services, f"{HOST}:{os.getpid()}:{index}", lease_seconds=lease_seconds,
                            backoff_base=backoff_base, backoff_max=backoff_max, ageing_seconds=ageing_seconds,
                            max_active=max_active, redact=redact, heartbeats=self.heartbeats)
            worker.on_abandoned = self._replace
            return worker

        self._make_worker = make_worker
        self.workers = [make_worker(index) for index in range(concurrency)]
        self._threads: list[tuple[threading.Thread, Worker]] = []
        self._until_idle = False
        owner = f"{HOST}:{os.getpid()}"
        # In `masthead workers` as `name`; beats often enough to be seen alive well within a lease.
        self.presence = Presence(store, name=name or owner, owner=owner, concurrency=concurrency,
                                 interval=min(5.0, lease_seconds / 3))
        self.snapshots = SnapshotSchedule(store, every=snapshot_every, keep=snapshot_keep)

    def _on_append(self, events: list[StoredEvent]) -> None:
        if wakes_workers(events):
            self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self, *, until_idle: bool = False) -> RunSummary:
        self.summary.released = release_orphans(self.store)
        reconcile(self.store, self.max_active)
        listeners = self.store.listeners
        listeners.append(self._on_append)
        listeners.append(self.snapshots)
        stop_listening = self.store.listen(self._wake.set)  # commits by other processes (Postgres)
        self.presence.start()
        self._until_idle = until_idle
        try:
            for worker in self.workers:
                self._start(worker)
            while live := self._live_threads():
                live[0].join(0.5)  # short joins keep Ctrl-C responsive
        except KeyboardInterrupt:
            self.stop()
            for thread in self._live_threads():
                thread.join(5)
            raise
        finally:
            self.presence.stop()
            self.heartbeats.stop()
            stop_listening()
            listeners.remove(self.snapshots)
            listeners.remove(self._on_append)
        return self.summary

    def _start(self, worker: Worker) -> None:
        thread = threading.Thread(target=self._loop, args=(worker, self._until_idle), name=worker.name, daemon=True)
        with self._lock:
            self._threads.append((thread, worker))
        thread.start()

    def _live_threads(self) -> list[threading.Thread]:
        """Threads still working for this run; a thread stuck in an abandoned step is not waited for."""
        with self._lock:
            return [thread for thread, worker in self._threads if thread.is_alive() and not worker.abandoned]

    def _replace(self, worker: Worker, report: TaskReport) -> None:
        """A step of `worker` overran its timeout (called from the heartbeat thread once the
        timeout is recorded): its thread is left behind, and a new worker takes its place."""
        with self._lock:
            self.summary.reports.append(report)
            self._busy -= 1
            replacement = self._make_worker(len(self._threads))
        if self.on_report is not None:
            self.on_report(report)
        if not self._stop.is_set():
            self._start(replacement)
        self._wake.set()

    def _loop(self, worker: Worker, until_idle: bool) -> None:
        task: dict[str, Any] | None = None
        while task is not None or not self._stop.is_set():
            if task is None:
                # One idle thread of this process looks for work at a time; the other idle
                # threads wait for their turn here rather than all querying the queue on every
                # wake-up.
                if not self._claiming.acquire(timeout=self.poll_interval):
                    continue
                try:
                    task = self._claim_or_wait(worker, until_idle)
                finally:
                    self._claiming.release()
                if task is None:
                    continue
            try:
                report = worker.run(task, claim_next=not self._stop.is_set())
            except BaseException:
                with self._lock:
                    self._busy -= 1
                raise
            if worker.abandoned:
                return  # its step overran; the heartbeat thread counted it and started a replacement
            # A task claimed along with the outcome is run next (even when stopping: it is ours
            # now); the thread stays busy meanwhile.
            task = worker.take_next()
            if task is None:
                with self._lock:
                    self._busy -= 1
            with self._lock:
                self.summary.reports.append(report)
            if self.on_report is not None:
                self.on_report(report)
            self._wake.set()  # a finished task may have made others ready

    def _claim_or_wait(self, worker: Worker, until_idle: bool) -> dict[str, Any] | None:
        """Claim a task (counted busy before the turn passes on), or wait for a wake-up until
        there is one; None when stopping."""
        while not self._stop.is_set():
            self._wake.clear()
            try:
                task = worker.claim()
            except Exception:  # noqa: BLE001 - e.g. the database restarting; the worker waits and looks again
                log.exception("worker %s could not claim a task", worker.name)
                self._stop.wait(self.poll_interval * 10)
                continue
            if task is not None:
                with self._lock:
                    self._busy += 1
                return task
            with self._lock:
                nobody_busy = self._busy == 0
            if until_idle and nobody_busy and is_idle(self.store):
                self.stop()
                return None
            self._wake.wait(self._next_wait())
        return None

    def _next_wait(self) -> float:
        """Sleep until the next retry is due (or one poll interval, whichever is sooner)."""
        rows = self.store.query(
            "SELECT MIN(run_after) AS t FROM tasks WHERE status IN ('queued', 'waiting_rate_limit')")
        due = rows[0]["t"]
        if due is None:
            return self.poll_interval
        return max(0.01, min(self.poll_interval, due - time.time()))

"""Heartbeats for claimed tasks: extend their leases while their steps run.

A claim holds a task for `lease_seconds`; a step that runs longer would lose it to another
worker. While a step runs, `TaskLeaseExtended` is appended every third of a lease, at the task
stream's version, so the extension is in the log like the claim itself (`tasks.lease_until`
stays a projection that a replay rebuilds exactly). A step shorter than a third of a lease
(nearly all of them) writes no extension at all. If the worker dies, its extensions stop, and
the task is free again one lease after the last one.

One `Heartbeats` thread serves every task a process holds, not a thread per step. It is also
the steps' watchdog: a step still running at its deadline is given up on (`Lease.watch`), so a
hung model call cannot hold its task forever. The heartbeat
and the worker both append to the task stream, so they take turns: `Lease.release()` waits for
an extension or a give-up in flight and hands back the task at the version the outcome must be
appended at.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from masthead.errors import ConcurrencyConflict
from masthead.events.model import Meta, stream_of
from masthead.events.store import EventStore
from masthead.events.types import TaskLeaseExtended

log = logging.getLogger("masthead.runtime")


class Lease:
    """One held task: the version its outcome goes at, and whether someone took it from us."""

    def __init__(self, board: Heartbeats, task: dict[str, Any], worker: str, lease_seconds: float,
                 meta: Callable[[], Meta]):
        self._board = board
        self._task = task
        self._worker = worker
        self._lease_seconds = lease_seconds
        self._meta = meta
        self.version: int = task["version"]
        self.lost = False
        self.next_beat = time.monotonic() + lease_seconds / 3
        # Held while an extension is appended, and by release(): the two never append at once.
        self._turn = threading.Lock()
        self._released = False
        self.deadline: float | None = None  # monotonic; see watch()
        self._on_overrun: Callable[[], None] | None = None
        self.overran = False

    def watch(self, seconds: float, on_overrun: Callable[[], None]) -> None:
        """If the task is still held `seconds` from now, give it up: the heartbeat thread calls
        `on_overrun` (which records the failure at `self.version`) and `overran` turns True, so
        whatever the step returns later is never recorded."""
        self._on_overrun = on_overrun
        self.deadline = time.monotonic() + seconds
        self._board.due(self.deadline)

    def overrun(self) -> None:
        with self._turn:
            if self._released or self.lost:
                return
            self._released = True
            self.overran = True
            if self._on_overrun is not None:
                try:
                    self._on_overrun()
                except Exception:  # noqa: BLE001 - the lease runs out on its own; another worker retries
                    log.exception("could not record that task %s overran its timeout", self._task["id"])
        self._board.drop(self)

    def release(self) -> dict[str, Any]:
        """Stop extending; the task row as the worker must append its outcome to it."""
        with self._turn:
            self._released = True
        self._board.drop(self)
        return {**self._task, "version": self.version}

    def beat(self, store: EventStore) -> bool:
        """Extend the lease if it is still held; False once there is nothing more to do."""
        with self._turn:
            if self._released or self.lost:
                return False
            event = TaskLeaseExtended.trusted(stream_of("task", self._task["id"]), self.version,
                                              id=self._task["id"], worker=self._worker,
                                              lease_until=time.time() + self._lease_seconds)
            try:
                stored = store.append([event], self._meta())
            except ConcurrencyConflict:
                # Someone else holds the task now (our lease ran out before we could extend it):
                # the outcome of our run will be refused at the old version, as it must be.
                self.lost = True
                return False
            except Exception:  # noqa: BLE001 - a failed beat (database away) is retried next interval
                pass
            else:
                self.version = stored[0].version
            self.next_beat = time.monotonic() + self._lease_seconds / 3
            return True


class Heartbeats:
    """One thread that extends the leases of every task this process holds, each when due."""

    def __init__(self, store: EventStore, name: str = "heartbeats"):
        self._store = store
        self._name = name
        self._leases: set[Lease] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._sleep_until = 0.0  # when the thread looks again (monotonic)

    def hold(self, task: dict[str, Any], worker: str, lease_seconds: float, meta: Callable[[], Meta]) -> Lease:
        lease = Lease(self, task, worker, lease_seconds, meta)
        with self._lock:
            self._leases.add(lease)
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            elif lease.next_beat < self._sleep_until:  # due before the thread looks again
                self._wake.set()
        return lease

    def due(self, when: float) -> None:
        """Something is due at `when` (monotonic): wake the thread if it would sleep past it."""
        with self._lock:
            if when < self._sleep_until:
                self._wake.set()

    def drop(self, lease: Lease) -> None:
        with self._lock:
            self._leases.discard(lease)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        with self._lock:
            if thread is None or not thread.is_alive():  # a later hold() starts a new thread
                self._thread = None
                self._stopped = False

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopped:
                    return
                leases = list(self._leases)
            now = time.monotonic()
            for lease in leases:
                if lease.deadline is not None and lease.deadline <= now:
                    lease.overrun()
                elif lease.next_beat <= now and not lease.beat(self._store):
                    self.drop(lease)
            with self._lock:
                upcoming = min((min(lease.next_beat, lease.deadline or lease.next_beat) for lease in self._leases),
                               default=now + 1.0)
                self._sleep_until = min(upcoming, time.monotonic() + 1.0)
                self._wake.clear()
            # hold() wakes the thread early only for a lease due before it would look anyway.
            self._wake.wait(max(0.005, self._sleep_until - time.monotonic()))

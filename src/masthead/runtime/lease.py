"""Heartbeats for a claimed task: extend its lease while its step runs.

A claim holds a task for `lease_seconds`; a step that runs longer would lose it to another
worker. While the step runs, a keeper thread appends `TaskLeaseExtended` every third of a
lease, at the task stream's version, so the extension is in the log like the claim itself
(`tasks.lease_until` stays a projection that a replay rebuilds exactly). A step shorter than a
third of a lease (nearly all of them) writes no extension at all. If the worker dies, its
extensions stop, and the task is free again one lease after the last one.

The keeper and the worker both append to the task stream, so they take turns: `release()`
stops the keeper (waiting for an extension in flight) and hands back the task at the version
the outcome must be appended at.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from masthead.errors import ConcurrencyConflict
from masthead.events.model import Meta, stream_of
from masthead.events.store import EventStore
from masthead.events.types import TaskLeaseExtended


class LeaseKeeper:
    def __init__(self, store: EventStore, task: dict[str, Any], worker: str, lease_seconds: float,
                 meta: Callable[[], Meta]):
        self._store = store
        self._task = task
        self._worker = worker
        self._lease_seconds = lease_seconds
        self._meta = meta
        self.version: int = task["version"]
        self.lost = False
        # Held while an extension is appended, and by release(): the two never append at once.
        self._turn = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{task['id']}", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def release(self) -> dict[str, Any]:
        """Stop extending; the task row as the worker must append its outcome to it."""
        with self._turn:
            self._stopped.set()
        return {**self._task, "version": self.version}

    def _beat(self) -> None:
        interval = self._lease_seconds / 3
        while not self._stopped.wait(interval):
            with self._turn:
                if self._stopped.is_set():
                    return
                if not self._extend():
                    return

    def _extend(self) -> bool:
        event = TaskLeaseExtended(id=self._task["id"], worker=self._worker,
                                  lease_until=time.time() + self._lease_seconds)
        try:
            stored = self._store.append([event.to_new(stream_of("task", self._task["id"]), self.version)],
                                        self._meta())
        except ConcurrencyConflict:
            # Someone else holds the task now (our lease ran out before we could extend it):
            # the outcome of our run will be refused at the old version, as it must be.
            self.lost = True
            return False
        except Exception:  # noqa: BLE001 - a failed beat (database away) is retried next interval
            return True
        self.version = stored[0].version
        return True

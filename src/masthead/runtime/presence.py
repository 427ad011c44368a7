"""Which worker processes are alive, and what they hold: the `workers` table.

Each process that runs tasks (`masthead worker`, `masthead run`, `masthead serve` with workers)
registers a row and beats every few seconds; a clean stop removes it. The table is not in the
log on purpose: it describes processes, which a replay could not bring back, and a beat every
few seconds would fill the log with nothing the system decides on. Nothing reads it to decide
anything either: who may take a task is settled by leases, which are in the log
(`TaskClaimed`, `TaskLeaseExtended`). It only answers `masthead workers`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from masthead.events.store import EventStore

log = logging.getLogger("masthead.workers")

# A row not beaten for this long belongs to a process that died without saying so.
FORGET_AFTER_SECONDS = 3600.0


class Presence:
    def __init__(self, store: EventStore, *, name: str, owner: str, concurrency: int, interval: float):
        self.store = store
        self.name = name
        self.owner = owner  # leases of this process are held as `<owner>:<thread>`
        self.concurrency = concurrency
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at = 0.0

    def start(self) -> None:
        self._started_at = time.time()
        self._register(self._started_at)
        self._thread = threading.Thread(target=self._beat, name="masthead-presence", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        try:
            self.store.execute_unlogged("DELETE FROM workers WHERE name = ?", (self.name,))
        except Exception:  # noqa: BLE001 - the row ages out if the database is gone
            log.warning("could not remove worker %s from the registry", self.name)

    def _register(self, now: float) -> None:
        # An upsert, also for each beat: if another process with the same --name stopped and
        # removed the row, this one's next beat puts it back.
        host, _, _pid = self.owner.partition(":")
        self.store.execute_unlogged(
            "INSERT INTO workers (name, host, pid, owner, concurrency, started_at, beat_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET host = excluded.host,"
            " pid = excluded.pid, owner = excluded.owner, concurrency = excluded.concurrency,"
            " started_at = excluded.started_at, beat_at = excluded.beat_at",
            (self.name, host, os.getpid(), self.owner, self.concurrency, self._started_at, now),
        )

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            now = time.time()
            try:
                self._register(now)
                self.store.execute_unlogged("DELETE FROM workers WHERE beat_at < ?", (now - FORGET_AFTER_SECONDS,))
            except Exception:  # noqa: BLE001 - a missed beat is harmless; try again next interval
                log.warning("worker %s could not record its heartbeat", self.name)


def list_workers(store: EventStore, *, stale_after: float, now: float | None = None) -> list[dict[str, Any]]:
    """Registered workers, newest beat first, each with `live` and the tasks it holds."""
    now = time.time() if now is None else now
    workers = store.query("SELECT * FROM workers ORDER BY beat_at DESC, name")
    running = store.query("SELECT id, lease_owner, lease_until, step, kind FROM tasks WHERE status = 'running'"
                          " ORDER BY id")
    for worker in workers:
        prefix = worker["owner"] + ":"
        worker["live"] = now - worker["beat_at"] <= stale_after
        worker["holds"] = [t for t in running if (t["lease_owner"] or "").startswith(prefix)]
    return workers

"""The source poller of `masthead serve` and `masthead run --watch`: one loop that polls each
source on its `every` and fires the cron schedules.

Each poll runs on a small thread pool, so a source that hangs (a feed server that never
answers within its timeout, a huge calendar) holds only its own thread: the loop skips it
while it is in flight and goes on with the others. The project YAML is read again at every
tick, so an applied change takes effect without a restart. Several processes may poll the
same workspace (several serve processes on Postgres): what they import is made once by the
unique index of migration 0015, and what they record conflicts instead of interleaving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any

import httpx

from masthead.app.schedules import run_schedules
from masthead.app.source_state import ConfiguredSource, configured_sources, last_event
from masthead.app.sources import poll_source
from masthead.app.workspace import Workspace
from masthead.sources.feed import new_client

log = logging.getLogger("masthead.sources")
TICK_SECONDS = 1.0  # a look at the clock: sources are polled on their own `every`
MAX_PARALLEL_POLLS = 4


def log_result(message: str, failed: bool) -> None:
    (log.warning if failed else log.info)("%s", message)


class SourcePoller:
    def __init__(self, ws: Workspace, *, clock: Callable[[], float] = time.time, tick_seconds: float = TICK_SECONDS,
                 client: httpx.Client | None = None, report: Callable[[str, bool], None] = log_result):
        self.ws = ws
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.report = report
        self._client = client or new_client()
        self._owns_client = client is None
        self._pool = ThreadPoolExecutor(MAX_PARALLEL_POLLS, thread_name_prefix="masthead-poll")
        self._next_due: dict[str, float] = {}
        self._in_flight: dict[str, Future[Any]] = {}
        self._schedule_errors: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SourcePoller:
        self._thread = threading.Thread(target=self._loop, name="masthead-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop looking and give the polls in flight `timeout` seconds to record what they
        fetched (before the workspace closes); a stuck one is left to its HTTP timeout."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        wait(list(self._in_flight.values()), timeout=timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._owns_client:
            self._client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - the loop must outlive a bad tick (a database blip)
                self.report(f"sources: this round failed ({type(exc).__name__}: {exc}); trying again", True)
            self._stop.wait(self.tick_seconds)

    def tick(self) -> list[Future[Any]]:
        """Start the polls that are due and fire the schedules that are; returns the polls started."""
        now = self.clock()
        started = []
        for source in configured_sources(self.ws):
            if not source.spec.is_polled or self._busy(source.stream):
                continue
            due = self._next_due.get(source.stream)
            if due is None:
                due = self._first_due(source)
            if now < due:
                self._next_due[source.stream] = due
                continue
            self._next_due[source.stream] = now + source.spec.every_seconds
            future = self._pool.submit(self._poll, source)
            self._in_flight[source.stream] = future
            started.append(future)
        self._fire_schedules(now)
        return started

    def _busy(self, stream: str) -> bool:
        future = self._in_flight.get(stream)
        if future is not None and future.done():
            del self._in_flight[stream]
            return False
        return future is not None

    def _first_due(self, source: ConfiguredSource) -> float:
        """After a restart a source is due `every` after its last recorded poll (at once if never)."""
        last = last_event(self.ws, source)
        if last is None:
            return 0.0
        return datetime.fromisoformat(last.at.replace("Z", "+00:00")).timestamp() + source.spec.every_seconds

    def _poll(self, source: ConfiguredSource) -> None:
        name = f"{source.project.name}/{source.spec.name}"
        try:
            result = poll_source(self.ws, source, self._client)
        except Exception as exc:  # noqa: BLE001 - one source's failure must not stop the others
            self.report(f"source {name}: poll failed ({type(exc).__name__}: {exc})", True)
            return
        state, error = result.get("state"), result.get("error")
        if state == "not_modified" and not result.get("imported"):
            return  # an unchanged feed is not news
        line = f"source {name}: {state}, {result.get('imported', 0)} new signal(s)"
        self.report(line + (f": {error}" if error else ""), state == "error")

    def _fire_schedules(self, now: float) -> None:
        for fired in run_schedules(self.ws, now=now):
            where = f"schedule {fired['project']}/{fired['recipe']} ({fired['cron']})"
            if fired.get("error"):
                # Tried again every tick: said once, not once a second, until it changes.
                if self._schedule_errors.get(where) != fired["error"]:
                    self.report(f"{where} did not fire: {fired['error']}", True)
                self._schedule_errors[where] = fired["error"]
                continue
            self._schedule_errors.pop(where, None)
            caught_up = f", caught up once ({fired['missed']} earlier tick(s) passed over)" if fired["missed"] else ""
            self.report(f"{where}: fired for {fired['tick']}{caught_up}; signal {fired['signal_id']}", False)

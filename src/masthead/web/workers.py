"""The scheduler and workers inside `masthead serve`: the workspace's Runner on a thread, and
the source poller (sources on their `every`, cron schedules) on another."""

from __future__ import annotations

import logging
import threading

from masthead.app.poller import SourcePoller
from masthead.web.state import DeskState

log = logging.getLogger("masthead.web")


def start_workers(state: DeskState) -> None:
    runner = state.workspace.runner(on_text=state.broadcaster.publish_token)

    def run() -> None:
        try:
            runner.run(until_idle=False)
        except Exception:  # noqa: BLE001 - a crash of the runner must be visible, not silent
            log.exception("the workers stopped on an unexpected error; API and desk keep serving")

    thread = threading.Thread(target=run, name="masthead-workers", daemon=True)
    state.runner, state.runner_thread = runner, thread
    thread.start()
    start_escalation(state)


ESCALATION_SECONDS = 60.0


def start_escalation(state: DeskState) -> None:
    """Look for reviews waiting past an escalation step once a minute, beside the workers."""
    from masthead.app.escalation import escalate_due

    stop = state.escalation_stop = threading.Event()

    def loop() -> None:
        while not stop.wait(ESCALATION_SECONDS):
            try:
                escalate_due(state.workspace)
            except Exception:  # noqa: BLE001 - one failed look must not end the loop; the next one retries
                log.exception("looking for reviews to escalate failed")

    threading.Thread(target=loop, name="masthead-escalation", daemon=True).start()


def stop_workers(state: DeskState, timeout: float = 10.0) -> None:
    """Ask the workers to stop after their current step; a step cut short is retried on restart."""
    if state.escalation_stop is not None:
        state.escalation_stop.set()
    if state.runner is None or state.runner_thread is None:
        return
    state.runner.stop()
    state.runner_thread.join(timeout)
    state.runner, state.runner_thread = None, None


def start_poller(state: DeskState) -> None:
    state.poller = SourcePoller(state.workspace).start()


def stop_poller(state: DeskState) -> None:
    if state.poller is not None:
        state.poller.stop()
        state.poller = None

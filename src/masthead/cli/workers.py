"""`masthead worker` (run tasks from the shared queue, on any machine) and `masthead workers`."""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Any

import click

from masthead.app.commands import check_tier_providers
from masthead.cli.common import CliState, echo, echo_json, pass_state
from masthead.cli.run import print_report
from masthead.runtime.presence import list_workers


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="Tasks run at once by this process (default: [runtime] concurrency).")
@click.option("--name", default=None, help="Shown by `masthead workers` (default: host:pid).")
@click.option("--quiet", is_flag=True, help="Print no line per task.")
@pass_state
def worker_cmd(state: CliState, concurrency: int | None, name: str | None, quiet: bool) -> None:
    """Claim and run tasks until stopped (Ctrl-C or SIGTERM); start as many as you like, anywhere.

    With Postgres, workers on several machines share one queue: each claim skips the tasks
    others hold, NOTIFY wakes idle workers at once, and they poll as well. A worker that dies
    loses its tasks to the others when their leases run out.
    """
    ws = state.workspace()
    # Said up front; only the steps that need a provider it cannot build wait, with the reason.
    for warning in check_tier_providers(ws):
        echo(f"warning: {warning}", err=True)
    runner = ws.runner(concurrency=concurrency, on_report=None if quiet else print_report, name=name)
    # SIGTERM (systemd, docker stop, kill) stops like Ctrl-C: steps in flight are resumed elsewhere.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: runner.stop())
    echo(f"worker {runner.presence.name}: {runner.concurrency} at a time on {ws.store.location};"
         " Ctrl-C stops", err=quiet)
    with contextlib.suppress(KeyboardInterrupt):  # the normal way to stop a worker
        runner.run(until_idle=False)
    echo(f"worker {runner.presence.name} stopped after {len(runner.summary.reports)} task(s)", err=quiet)


@click.command("workers")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_state
def workers_cmd(state: CliState, as_json: bool) -> None:
    """List live worker processes and the tasks they hold."""
    ws = state.workspace()
    # A worker beats every min(5 s, lease/3); three missed beats and it is no longer live.
    stale_after = 3 * min(5.0, ws.config.runtime.lease_seconds / 3)
    now = time.time()
    workers = [w for w in list_workers(ws.store, stale_after=stale_after, now=now) if w["live"]]
    if as_json:
        echo_json(workers)
        return
    if not workers:
        echo("no live workers")
    for worker in workers:
        echo(_worker_line(worker, now))
        for task in worker["holds"]:
            echo(f"    {task['id']}  ({task['kind']}, lease {task['lease_until'] - now:+.0f} s)")


def _worker_line(worker: dict[str, Any], now: float) -> str:
    up = now - worker["started_at"]
    return (f"{worker['name']}  pid {worker['pid']} on {worker['host']}, {worker['concurrency']} at a time,"
            f" up {up:.0f} s, beat {now - worker['beat_at']:.1f} s ago, holds {len(worker['holds'])}")

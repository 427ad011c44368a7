"""`masthead run`: the scheduler and workers in this process."""

from __future__ import annotations

from typing import Any

import click

from masthead.app.commands import check_tier_providers
from masthead.app.listings import held_work
from masthead.cli.common import CliState, echo, pass_state, short
from masthead.errors import InputError, MastheadError
from masthead.runtime.worker import TaskReport

SYMBOLS = {"done": "✓", "waiting": "…", "retry": "↻", "deferred": "⏸", "needs_human": "✋", "failed": "✗", "lost": "?"}


def print_held(held: dict[str, list[dict[str, Any]]]) -> None:
    """Work that will not go on by itself: parked jobs and held tasks, each with why."""
    for job in held["parked_jobs"]:
        echo(f"parked: job {job['id']} ({job['project']}): {job['reason']}")
    for task in held["held_tasks"]:
        echo(f"held: task {task['id']} {task['status']}: {task['reason']}")
    if held["parked_jobs"] or held["held_tasks"]:
        echo("see `masthead jobs list` and `masthead jobs show JOB`")


def print_report(report: TaskReport) -> None:
    detail = f"  {short(report.detail, 80)}" if report.detail else ""
    echo(f"  {SYMBOLS.get(report.status, ' ')} {report.status:<8} {report.task_id:<40} {report.seconds:6.1f} s{detail}")


@click.command("run")
@click.option("--until-idle", is_flag=True,
              help="Stop when no task can run now (humans and soft-gate deadlines aside); exit 1 if a task failed.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None, help="Worker threads (default: [runtime] concurrency).")
@click.option("--watch", is_flag=True,
              help="Also poll the project sources on their `every` and fire the cron schedules, as serve does.")
@pass_state
def run_cmd(state: CliState, until_idle: bool, concurrency: int | None, watch: bool) -> None:
    """Run queued tasks; safe to stop and start again at any moment."""
    if watch and until_idle:
        raise InputError("--watch and --until-idle do not go together: watching never becomes idle",
                         field="--watch", fix="use `masthead run --watch` alone, or `masthead sources poll` then "
                                              "`masthead run --until-idle`")
    ws = state.workspace()
    # A missing key or model file is said up front, but nothing is refused: only the steps that
    # need that provider wait (with the reason), everything else runs.
    for warning in check_tier_providers(ws):
        echo(f"warning: {warning}", err=True)
    runner = ws.runner(concurrency=concurrency, on_report=print_report)
    if not until_idle:
        echo("running; Ctrl-C to stop (nothing is lost)")
    poller = None
    if watch:
        from masthead.app.poller import (
            SourcePoller,  # httpx and the sources load only when watching
        )

        poller = SourcePoller(ws, report=lambda line, failed: echo(line, err=failed)).start()
        echo("watching the project sources and schedules")
    try:
        summary = runner.run(until_idle=until_idle)
    finally:
        if poller is not None:
            poller.stop()
    from masthead.app.escalation import escalate_due  # only once the work is done
    from masthead.app.stats import review_queue_size

    for item in escalate_due(ws):
        echo(f"escalated {item['piece_id']} v{item['version']} to {item['notify']} (waited"
             f" {item['waited_minutes']:.0f} min)")
    if summary.released:
        echo(f"resumed {len(summary.released)} task(s) left by a stopped process")
    waiting = review_queue_size(ws)
    echo(f"idle: {summary.count('done')} done, {summary.count('waiting')} waiting, "
               f"{summary.count('retry')} retried, {summary.count('deferred')} deferred, "
               f"{summary.count('failed')} failed, {summary.count('needs_human')} need a human; "
               f"{waiting} piece(s) in review (masthead review list)")
    print_held(held_work(ws))
    failed = [r.task_id for r in summary.reports if r.status == "failed"]
    if until_idle and failed:
        # Scripts (cron, CI) learn from the exit status that something needs looking at; a
        # hand-off to a person is not a failure: it waits safely in the review queue.
        raise MastheadError(f"{len(failed)} task(s) failed: {', '.join(failed[:5])}{' ...' if len(failed) > 5 else ''}",
                            fix=f"read why with `masthead log --stream task-{failed[0]}`")

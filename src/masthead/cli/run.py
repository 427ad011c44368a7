"""`masthead run`: the scheduler and workers in this process."""

from __future__ import annotations

import click

from masthead.app.commands import check_tier_providers
from masthead.cli.common import CliState, echo, pass_state, short
from masthead.errors import MastheadError
from masthead.runtime.worker import TaskReport

SYMBOLS = {"done": "✓", "waiting": "…", "retry": "↻", "deferred": "⏸", "needs_human": "✋", "failed": "✗", "lost": "?"}


def print_report(report: TaskReport) -> None:
    detail = f"  {short(report.detail, 80)}" if report.detail else ""
    echo(f"  {SYMBOLS.get(report.status, ' ')} {report.status:<8} {report.task_id:<40} {report.seconds:6.1f} s{detail}")


@click.command("run")
@click.option("--until-idle", is_flag=True,
              help="Stop when no task can run now (humans and soft-gate deadlines aside); exit 1 if a task failed.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None, help="Worker threads (default: [runtime] concurrency).")
@pass_state
def run_cmd(state: CliState, until_idle: bool, concurrency: int | None) -> None:
    """Run queued tasks; safe to stop and start again at any moment."""
    ws = state.workspace()
    check_tier_providers(ws)  # a broken tier config is one error now, not a failed job per signal
    runner = ws.runner(concurrency=concurrency, on_report=print_report)
    if not until_idle:
        echo("running; Ctrl-C to stop (nothing is lost)")
    summary = runner.run(until_idle=until_idle)
    if summary.released:
        echo(f"resumed {len(summary.released)} task(s) left by a stopped process")
    waiting = ws.store.query("SELECT COUNT(*) AS n FROM review_queue")[0]["n"]
    echo(f"idle: {summary.count('done')} done, {summary.count('waiting')} waiting, "
         f"{summary.count('retry')} retried, {summary.count('deferred')} deferred, "
         f"{summary.count('failed')} failed, {summary.count('needs_human')} need a human; "
         f"{waiting} piece(s) in review (masthead review list)")
    failed = [r.task_id for r in summary.reports if r.status == "failed"]
    if until_idle and failed:
        # Scripts (cron, CI) learn from the exit status that something needs looking at; a
        # hand-off to a person is not a failure: it waits safely in the review queue.
        raise MastheadError(f"{len(failed)} task(s) failed: {', '.join(failed[:5])}{' ...' if len(failed) > 5 else ''}",
                            fix=f"read why with `masthead log --stream task-{failed[0]}`")

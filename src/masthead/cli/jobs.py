"""`masthead jobs list` and `masthead jobs show`: what each job is doing, and what holds it back."""

from __future__ import annotations

from typing import Any

import click

from masthead.app.listings import JOB_STATUSES, job_overview, job_summaries
from masthead.cli.common import CliState, echo, echo_json, pass_state, short


@click.group("jobs")
def jobs_group() -> None:
    """Jobs: one run of a recipe for one signal."""


def job_line(job: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(job["task_counts"].items())) or "no tasks"
    return f"{job['id']}  {job['status']:<8} {job['priority']:<6} {job['recipe']:<16} {job['project']:<12} tasks: {counts}"


def held_lines(job: dict[str, Any]) -> list[str]:
    """Why the job is not moving on its own, one line per reason."""
    lines = [f"deferred: {job['deferred_reason']}"] if job["deferred_reason"] else []
    lines += [f"{wait['status']}: {wait['task_id']}: {short(wait['reason'] or '', 100)}" for wait in job["waiting"]]
    return lines


@jobs_group.command("list")
@click.option("--status", type=click.Choice(JOB_STATUSES), help="Only jobs in this state.")
@click.option("--project", help="Only this project's jobs.")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True, help="At most this many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_state
def jobs_list(state: CliState, status: str | None, project: str | None, limit: int, as_json: bool) -> None:
    """List jobs, newest first, with their tasks' states and what each waits for."""
    jobs = job_summaries(state.workspace(), status=status, project=project, limit=limit)
    if as_json:
        echo_json(jobs)
        return
    if not jobs:
        echo("no jobs")
    for job in jobs:
        echo(job_line(job))
        for line in held_lines(job):
            echo(f"    {line}")


@jobs_group.command("show")
@click.argument("job")
@click.option("--json", "as_json", is_flag=True, help="A JSON object.")
@pass_state
def jobs_show(state: CliState, job: str, as_json: bool) -> None:
    """One job: its recipe, signal, priority, state, every task with why it waits, and its pieces."""
    detail = job_overview(state.workspace(), job)
    if as_json:
        echo_json(detail)
        return
    echo(f"job {detail['id']}  {detail['status']}  recipe {detail['recipe']}  project {detail['project']}"
               f"  priority {detail['priority']} ({detail['criticality']})")
    signal = detail["signal"]
    if signal:
        echo(f"signal {signal['id']}  {signal['kind']}  {signal['title'] or '(no title)'}"
                   f"  from {signal['source']} at {signal['received_at']}")
    for line in held_lines(detail):
        echo(line)
    echo("tasks:")
    for task in detail["tasks"]:
        why = task["wait_reason"] or (task["last_error"] if task["status"] in ("failed", "needs_human") else None)
        echo(f"  {task['id']:<44} {task['status']:<14} attempts {task['attempts']}/{task['max_attempts']}"
                   + (f"  {short(why, 90)}" if why else ""))
    echo("pieces:" if detail["pieces"] else "pieces: none yet")
    for piece in detail["pieces"]:
        echo(f"  {piece['id']}  {piece['channel']:<10} {piece['status']:<10} v{piece['version']}")
    for event in detail["history"]:
        reason = f": {event['reason']}" if event["reason"] else ""
        echo(f"  {event['at']}  {event['type']}{reason}")



@jobs_group.command("retry")
@click.argument("job")
@click.option("--reason", required=True, help="What you fixed; kept in the log.")
@click.option("--json", "as_json", is_flag=True, help="A JSON object.")
@pass_state
def jobs_retry(state: CliState, job: str, reason: str, as_json: bool) -> None:
    """Run a job's failed steps again (and the steps skipped after them), keeping what succeeded."""
    from masthead.app.retry import retry_job

    retried = retry_job(state.workspace(), job, operator=state.principal(), reason=reason)
    if as_json:
        echo_json({"job_id": retried.job_id, "failed": retried.failed, "skipped": retried.skipped})
        return
    echo(f"retrying {len(retried.failed)} failed step(s) of {job} ({', '.join(retried.failed)})"
         + (f" and {len(retried.skipped)} skipped after them" if retried.skipped else "")
         + "; `masthead run --until-idle` runs them")

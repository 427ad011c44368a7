"""`masthead signals list` and `masthead signals show`: what came in, and which jobs it started."""

from __future__ import annotations

from typing import Any

import click

from masthead.app.listings import signal_overview, signal_summaries
from masthead.cli.common import CliState, echo, echo_json, pass_state, short
from masthead.cli.jobs import held_lines


@click.group("signals")
def signals_group() -> None:
    """Signals that came in (add one with `masthead signal add`)."""


def signal_line(signal: dict[str, Any]) -> str:
    jobs = ", ".join(f"{job['id']} {job['status']}" for job in signal["jobs"]) or "no job"
    title = short(signal["title"] or "(no title)", 40)
    return (f"{signal['id']}  {signal['received_at']}  {signal['project']:<12} {signal['kind']:<14} {title}"
            f"  [{signal['source']}]  jobs: {jobs}")


@signals_group.command("list")
@click.option("--project", help="Only this project's signals.")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True, help="At most this many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_state
def signals_list(state: CliState, project: str | None, limit: int, as_json: bool) -> None:
    """List signals, newest first, with the jobs each started and their states."""
    signals = signal_summaries(state.workspace(), project=project, limit=limit)
    if as_json:
        echo_json(signals)
        return
    if not signals:
        echo("no signals")
    for signal in signals:
        echo(signal_line(signal))


@signals_group.command("show")
@click.argument("signal")
@click.option("--json", "as_json", is_flag=True, help="A JSON object.")
@pass_state
def signals_show(state: CliState, signal: str, as_json: bool) -> None:
    """One signal: kind, title, source, when it came in, its text, and its jobs with their states."""
    detail = signal_overview(state.workspace(), signal)
    if as_json:
        echo_json(detail)
        return
    echo(f"signal {detail['id']}  {detail['kind']}  project {detail['project']}  priority {detail['priority']}")
    echo(f"title: {detail['title'] or '(no title)'}")
    echo(f"source: {detail['source']}  received {detail['received_at']}  {detail['body_chars']} characters"
               f"  sha256 {detail['sha256'][:12]}…")
    echo("")
    echo(short(detail["body"], 300))
    echo("")
    if not detail["jobs"]:
        echo("no job: no recipe is triggered by this kind (see `masthead recipe list`)")
    for job in detail["jobs"]:
        echo(f"job {job['id']}  {job['status']}  {job['recipe']}  (masthead jobs show {job['id']})")
        for line in held_lines(job):
            echo(f"    {line}")


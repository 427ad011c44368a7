"""`masthead sources list` and `masthead sources poll`: feeds, analytics folders, calendars and
GitHub release webhooks of the project YAML."""

from __future__ import annotations

from typing import Any

import click

from masthead.app.sources import list_sources, poll_sources
from masthead.cli.common import CliState, echo, echo_json, pass_state


@click.group("sources")
def sources_group() -> None:
    """Signal sources that arrive by themselves: feeds, analytics exports, calendars, GitHub releases."""


def _where(source: dict[str, Any]) -> str:
    if source["kind"] == "github_releases":
        return "POST /hooks/github"
    return source["url"] or f"{source['path']} ({source['format']})"


@sources_group.command("list")
@click.option("--project", help="Only this project's sources.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_state
def sources_list(state: CliState, project: str | None, as_json: bool) -> None:
    """Each source with its state: never_polled, ok, not_modified, gone, error (with the reason) or, for
    GitHub releases, ignored (the last delivery's reason); a calendar's blackout windows."""
    sources = list_sources(state.workspace(), project)
    if as_json:
        echo_json(sources)
        return
    if not sources:
        echo("no sources: add a sources: list to a project YAML (docs/configuration.md)")
    for source in sources:
        polled = source["last_polled_at"] or "never"
        every = f"every {source['every']:<5}" if source["every"] else "pushed    "
        echo(f"{source['project']:<12} {source['name']:<16} {source['kind']:<15} {source['state']:<15} "
             f"{every} imported {source['imported']:<5} last {polled}  {_where(source)}")
        if source["error"] or source["detail"]:
            echo(f"    {source['error'] or source['detail']}")
        for window in source["blackouts"]:
            echo(f"    blackout {window['start']} .. {window['end']}  {window['summary']}")


@sources_group.command("poll")
@click.argument("name", required=False)
@click.option("--project", help="Only this project's sources.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array: one result per source.")
@pass_state
def sources_poll(state: CliState, name: str | None, project: str | None, as_json: bool) -> None:
    """Poll every source (or the one called NAME) once and import what is new as signals
    (GitHub releases are not polled: GitHub posts them to /hooks/github)."""
    results = poll_sources(state.workspace(), name=name, project=project)
    if as_json:
        echo_json(results)
    else:
        if not results:
            echo("no sources: add a sources: list to a project YAML (docs/configuration.md)")
        for result in results:
            line = f"{result['project']}/{result['name']}: {result['state']}, {result['imported']} new signal(s)"
            if result.get("files"):
                line += f", imported {', '.join(result['files'])}"
            if result.get("skipped"):
                line += f", {result['skipped']} older entries passed over (backfill)"
            echo(line)
            if result["error"] or result.get("detail") and not result["polled"]:
                echo(f"    {result['error'] or result['detail']}")
    if any(result["state"] == "error" for result in results):
        raise SystemExit(1)

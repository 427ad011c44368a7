"""`masthead publishers list|check [NAME] [--json]`: the configured publishers and their credentials."""

from __future__ import annotations

import click

from masthead.app.publishers import check_publishers, list_publishers
from masthead.cli.common import CliState, echo, echo_json, pass_state


@click.group("publishers")
def publishers_group() -> None:
    """Where pieces go: the [publishers.<name>] tables of masthead.toml (and `file`)."""


@publishers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_state
def list_cmd(state: CliState, as_json: bool) -> None:
    """List the publishers, their kind, the credential each reads and what exactly once means there."""
    rows = list_publishers(state.workspace())
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        credential = f"  credential ${row['credential_env']}" if row["credential_env"] else ""
        echo(f"{row['name']:<16} {row['kind']:<9} {row['exactly_once']}{credential}")


@publishers_group.command("check")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_state
def check_cmd(state: CliState, name: str | None, as_json: bool) -> None:
    """Verify credentials against the real services; exits 1 if any publisher fails."""
    rows = check_publishers(state.workspace(), name)
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            echo(f"{row['name']:<16} {'ok' if row['ok'] else 'FAILED':<6} {row['detail']}")
    if not all(row["ok"] for row in rows):
        raise SystemExit(1)


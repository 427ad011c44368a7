"""`masthead token [--rotate]`: print the operator token that the API and the desk's login take."""

from __future__ import annotations

import click

from masthead.app.auth import ensure_token, rotate_token, token_path
from masthead.cli.common import CliState, echo, pass_state


@click.command("token")
@click.option("--rotate", is_flag=True, help="Replace the token; every API client and browser session must use the new one.")
@pass_state
def token_cmd(state: CliState, rotate: bool) -> None:
    """Print the operator token (stored in .masthead/token, mode 0600, never in the log)."""
    root = state.workspace().root
    if rotate:
        token = rotate_token(root)
        echo("rotated: the old token and every browser session no longer work", err=True)
    else:
        token, created = ensure_token(root)
        if created:
            echo(f"created {token_path(root)}", err=True)
    echo(token)

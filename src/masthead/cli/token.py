"""`masthead token [--rotate] [--user NAME]`: print the operator token, or issue a user's token."""

from __future__ import annotations

import click

from masthead.app.auth import ensure_token, rotate_token, token_path
from masthead.cli.common import CliState, echo, pass_state


@click.command("token")
@click.option("--rotate", is_flag=True, help="Replace the token; every API client and browser session must use the new one.")
@click.option("--user", "user", metavar="NAME",
              help="Issue NAME's own token (shown once; the one before stops working). Yours: any role; others': owner.")
@pass_state
def token_cmd(state: CliState, rotate: bool, user: str | None) -> None:
    """Print the operator token (stored in .masthead/token, mode 0600, never in the log), or issue a user's."""
    if user is not None:
        from masthead.app.people import issue_token

        token = issue_token(state.workspace(), state.principal(), user)
        echo(f"issued a token for {user}; it is shown once, and the one before no longer works", err=True)
        echo(token)
        return
    from masthead.app.permissions import authorize

    ws = state.workspace()
    authorize(state.principal(), "administer")  # the operator token is the owner's authority
    root = ws.root
    if rotate:
        token = rotate_token(root)
        echo("rotated: the old token and every browser session no longer work", err=True)
    else:
        token, created = ensure_token(root)
        if created:
            echo(f"created {token_path(root)}", err=True)
    echo(token)

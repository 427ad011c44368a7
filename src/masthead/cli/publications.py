"""`masthead publications list|settle`: the outbox, and settling what needs a person."""

from __future__ import annotations

import click

from masthead.app.listings import list_publications
from masthead.cli.common import CliState, echo, echo_json, pass_state


@click.group("publications")
def publications_group() -> None:
    """The outbox: one publication per piece version, channel and publisher."""


@publications_group.command("list")
@click.option("--status", help="requested, delivered, failed, needs_human or retracted.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_state
def list_cmd(state: CliState, status: str | None, limit: int, as_json: bool) -> None:
    """List publications, newest first; a needs_human one shows how to settle it."""
    rows = list_publications(state.workspace(), status=status, limit=limit, offset=0)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        echo("no publications" + (f" with status {status}" if status else ""))
    for row in rows:
        where = row["url"] or row["location"] or ""
        echo(f"{row['idempotency_key']}  {row['status']:<11} {row['publisher']:<10} {where}")
        if row["reason"]:
            echo(f"    {row['reason']}")
        if row["status"] == "needs_human":
            echo(f"    settle: masthead publications settle {row['idempotency_key']} --published URL | --not-published")


@publications_group.command("settle")
@click.argument("key")
@click.option("--published", "url", metavar="URL", help="It is out there, at this link: never sent again.")
@click.option("--not-published", is_flag=True, help="It is not out there: the next attempt sends it.")
@click.option("--note", help="Kept in the log with your decision.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def settle_cmd(state: CliState, key: str, url: str | None, not_published: bool, note: str | None,
               operator: str | None) -> None:
    """Say what became of a publication that needs a person (status needs_human)."""
    from masthead.app.settlement import (
        settle_publication,  # loads the runtime: only to change state
    )

    ws = state.workspace()
    row = settle_publication(ws, key, operator=operator or ws.config.workspace.operator, published_url=url,
                             not_published=not_published, note=note)
    if row["status"] == "delivered":
        echo(f"recorded {key} as published at {row['url']}; it will not be sent again")
    else:
        echo(f"recorded {key} as not published; `masthead run` sends it again")

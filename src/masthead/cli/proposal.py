"""`masthead proposal outcome`."""

from __future__ import annotations

import click

from masthead.cli.common import CliState, echo, echo_json, pass_state


@click.group("proposal")
def proposal_group() -> None:
    """Client proposals: record whether each was won or lost (it becomes memory)."""


@proposal_group.command("outcome")
@click.argument("piece_id")
@click.argument("outcome", type=click.Choice(["won", "lost"]))
@click.option("--value", help="The contract value, e.g. 12000.")
@click.option("--note", help="Why it was won or lost; kept in the log.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def proposal_outcome(state: CliState, piece_id: str, outcome: str, value: str | None, note: str | None,
                     operator: str | None, as_json: bool) -> None:
    """Record that a proposal was won or lost; it becomes `proposal` memory that later proposals draw on."""
    from masthead.app.proposals import record_outcome

    ws = state.workspace()
    ids = record_outcome(ws, piece_id, outcome, operator=operator or ws.config.workspace.operator, value=value,
                         note=note)
    if as_json:
        echo_json({"piece_id": piece_id, "outcome": outcome, "memory_ids": ids})
        return
    echo(f"recorded {piece_id} as {outcome}; remembered as {len(ids)} proposal passage(s)"
         + (" that new proposals for this client prefer" if outcome == "won" else ""))

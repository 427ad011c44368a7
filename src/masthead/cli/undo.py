"""`masthead undo [--seq N] [--show]`: undo your own last action shortly after it (app/undo.py)."""

from __future__ import annotations

import click

from masthead.cli.common import CliState, echo, pass_state


@click.command("undo")
@click.option("--seq", type=click.IntRange(min=1), help="The action's seq (as --show names it); default: your last action.")
@click.option("--show", is_flag=True, help="Only say what would be undone, and until when.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def undo_cmd(state: CliState, seq: int | None, show: bool, operator: str | None) -> None:
    """Undo your own last action (approve, reject, edit, revert, reopen) for 2 minutes after it."""
    from masthead.app.undo import undo, undo_offer

    ws = state.workspace()
    who = state.principal()
    if show:
        offer = undo_offer(ws, who)
        echo(f"seq {offer.seq}: your {offer.what}, until {offer.until_label}" if offer
             else f"{who.name} has no last action that can still be undone")
        return
    done = undo(ws, who, seq=seq)
    echo(f"{done.message} (seq {done.seq}); the piece is {done.status.replace('_', ' ')} now")

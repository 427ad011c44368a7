"""`masthead snapshot`: take a projection snapshot now, or list the ones kept."""

from __future__ import annotations

import click

from masthead.cli.common import CliState, echo, echo_json, pass_state
from masthead.projections.snapshots import list_snapshots, take_snapshot


@click.command("snapshot")
@click.option("--list", "show", is_flag=True, help="List the snapshots kept instead of taking one.")
@click.option("--json", "as_json", is_flag=True, help="With --list: a JSON array.")
@pass_state
def snapshot_cmd(state: CliState, show: bool, as_json: bool) -> None:
    """Snapshot every read model as of the newest event, so `replay --rebuild` reads only later
    events. Workers take one on their own every [snapshots] every_events events."""
    ws = state.workspace()
    if show:
        rows = list_snapshots(ws.store)
        if as_json:
            echo_json(rows)
        elif not rows:
            echo("no snapshots")
        for row in [] if as_json else rows:
            echo(f"seq {row['seq']}  {row['rows']:,} rows in {row['tables']} tables, {row['bytes']:,} bytes,"
                 f" taken {row['created_at']}")
        return
    taken = take_snapshot(ws.store, keep=ws.config.snapshots.keep)
    if taken is None:
        echo("the log is empty; nothing to snapshot")
        return
    echo(f"snapshot at seq {taken.seq}: {taken.rows:,} rows in {taken.tables} tables, {taken.bytes:,} bytes")

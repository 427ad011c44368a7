"""`masthead init`, `masthead log`, `masthead replay --verify`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from masthead.app.workspace import init_workspace
from masthead.cli.common import CliState, echo, echo_json, pass_state, short
from masthead.errors import InputError, IntegrityError
from masthead.projections.replay import verify
from masthead.projections.snapshots import rebuild_in_place


@click.command("init")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@pass_state
def init_cmd(state: CliState, directory: Path | None) -> None:
    """Create a workspace: masthead.toml (commented defaults) and the database.

    DIRECTORY defaults to --workspace, else the current folder."""
    ws, created = init_workspace(directory or Path(state.workspace_option or "."))
    try:
        config = ws.root / "masthead.toml"
        echo(f"{'created' if created else 'kept existing'} {config}")
        echo(f"database {ws.store.location}")
        echo("next: masthead project apply project.yaml  (see docs/configuration.md#project-yaml)")
    finally:
        ws.close()


@click.command("log")
@click.option("--stream", help="Only events of this stream (e.g. piece-pc-1a2b3c4d5e).")
@click.option("--since", type=int, default=0, show_default=True, help="Only events after this seq.")
@click.option("--limit", type=int, default=None, help="At most this many events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line with the seven fields.")
@pass_state
def log_cmd(state: CliState, stream: str | None, since: int, limit: int | None, as_json: bool) -> None:
    """Print events from the log, oldest first."""
    if since < 0:
        raise InputError("--since must be 0 or more", fix="pass a seq number from an earlier `masthead log`")
    for event in state.workspace().store.read(since=since, stream=stream, limit=limit):
        if as_json:
            echo_json(event.as_dict(), one_line=True)
        else:
            data = short(json.dumps(event.data, ensure_ascii=False), 90)
            echo(f"{event.seq:>6}  {event.meta.at}  {event.meta.actor:<18} {event.type:<20} {event.stream}  {data}")


@click.command("replay")
@click.option("--verify", "do_verify", is_flag=True,
              help="Rebuild every projection from zero into a scratch database and compare.")
@click.option("--rebuild", is_flag=True,
              help="Replace the read models in place: the newest snapshot plus the events after it.")
@click.option("--from-zero", is_flag=True, help="With --rebuild: ignore snapshots and replay the whole log.")
@pass_state
def replay_cmd(state: CliState, do_verify: bool, rebuild: bool, from_zero: bool) -> None:
    """Check the hash chain and that the read models equal a rebuild from the log (--verify), or
    rebuild the read models in place (--rebuild; other writers wait until it is done)."""
    if do_verify == rebuild:
        raise InputError("pass exactly one of --verify and --rebuild", fix="masthead replay --verify")
    if from_zero and not rebuild:
        raise InputError("--from-zero only goes with --rebuild", fix="masthead replay --rebuild --from-zero")
    ws = state.workspace()

    def progress(count: int) -> None:
        echo(f"  replayed {count:,} events", err=True)

    if rebuild:
        started = time.perf_counter()
        done = rebuild_in_place(ws.store, use_snapshot=not from_zero, progress=progress)
        source = f"snapshot at seq {done.from_snapshot} ({done.restored_rows:,} rows)" \
            if done.from_snapshot is not None else "zero"
        echo(f"rebuilt the read models from {source} and {done.replayed:,} events after it, up to seq"
             f" {done.head}, in {time.perf_counter() - started:.2f} s")
        return
    report = verify(ws.store, progress)
    if not report.ok:
        raise IntegrityError(f"replay --verify failed: {report.problem}",
                             fix="restore the database from a backup, or rebuild the read models if only they"
                                 " drifted (masthead replay --rebuild; docs/operations.md)")
    echo(f"ok: {report.events:,} events, hash chain intact; {report.tables} projections "
         f"({report.rows:,} rows) equal a rebuild from the log")

"""`masthead export`, `import`, `backup` and `restore`: the history leaves the machine and comes back."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import click

from masthead.cli.common import CliState, echo, pass_state


def _progress(verb: str) -> Callable[[int], None]:
    """Progress on stderr, at most one line every two seconds, so a long run shows it is alive."""
    last = [time.monotonic()]

    def report(count: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 2.0:
            last[0] = now
            echo(f"  {verb} {count:,} events", err=True)

    return report


@click.command("export")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), metavar="FILE",
              help="The file to write (a tar of manifest.json and events.jsonl.gz).")
@click.option("--since", type=int, default=0, show_default=True,
              help="Only events after this seq (for `import --append` onto a copy that ends there).")
@pass_state
def export_cmd(state: CliState, out: Path, since: int) -> None:
    """Write the whole log (or the events after --since), with hashes and a manifest, to one file.

    Memory vectors and other caches are left out: they are derived again after an import."""
    from masthead.app.history import export_history

    started = time.perf_counter()
    manifest = export_history(state.workspace().store, out, since=since, progress=_progress("exported"))
    echo(f"exported {manifest.event_count:,} events (seq {manifest.first_seq} to {manifest.last_seq}, head"
         f" {manifest.head_hash[:12]}) to {out} in {time.perf_counter() - started:.2f} s")


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--append", is_flag=True,
              help="Add to a non-empty log; the file must start right after its head (export --since).")
@pass_state
def import_cmd(state: CliState, file: Path, append: bool) -> None:
    """Import an export file into an empty workspace (SQLite or Postgres), verified before and after.

    The manifest and the whole hash chain are checked before anything is written; the events go
    in with their seq and hashes in one transaction, the read models are rebuilt, and
    `replay --verify` runs."""
    from masthead.app.history import import_history

    started = time.perf_counter()
    report = import_history(state.workspace().store, file, append=append, progress=_progress("checked"))
    echo(f"imported {report.imported:,} events (seq {report.manifest.first_seq} to {report.manifest.last_seq})"
         f" in {time.perf_counter() - started:.2f} s")
    echo(f"ok: {report.verify.events:,} events, hash chain intact; {report.verify.tables} projections"
         f" ({report.verify.rows:,} rows) equal a rebuild from the log")


@click.command("backup")
@click.argument("directory", type=click.Path(path_type=Path))
@pass_state
def backup_cmd(state: CliState, directory: Path) -> None:
    """Back up the workspace's database into a new folder, consistent while writers run.

    SQLite: SQLite's online backup API, then the copy's hash chain is checked; Postgres: an
    export file. The folder gets a manifest.json; `masthead restore DIR` brings it back."""
    from masthead.app.backup import backup

    started = time.perf_counter()
    manifest = backup(state.workspace().store, directory, progress=_progress("exported"))
    echo(f"backed up {manifest.last_seq:,} events ({manifest.kind}: {manifest.file}, schema {manifest.schema_version},"
         f" head {manifest.head_hash[:12]}) to {directory} in {time.perf_counter() - started:.2f} s")


@click.command("restore")
@click.argument("directory", type=click.Path(path_type=Path))
@pass_state
def restore_cmd(state: CliState, directory: Path) -> None:
    """Restore a backup folder into a workspace whose log is empty, then run replay --verify.

    The manifest, the file's SHA-256, the schema (a backup from a newer Masthead is refused) and
    the whole hash chain are checked before anything is written."""
    from masthead.app.backup import restore

    started = time.perf_counter()
    report = restore(state.workspace().store, directory, progress=_progress("checked"))
    echo(f"restored {report.events:,} events from {directory} in {time.perf_counter() - started:.2f} s")
    echo(f"ok: {report.events:,} events, hash chain intact; {report.tables} projections ({report.rows:,} rows)"
         " equal a rebuild from the log")

"""`masthead demo [DIR]`."""

from __future__ import annotations

from pathlib import Path

import click

from masthead.app.demo import run_demo
from masthead.cli.common import CliState, echo, short
from masthead.cli.run import print_report


@click.command("demo")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.pass_obj
def demo_cmd(state: CliState, directory: Path | None) -> None:
    """Create a sample workspace and turn sample release notes into reviewed pieces.

    DIRECTORY defaults to --workspace, else ./demo-workspace."""
    folder = directory or Path(state.workspace_option or "demo-workspace")
    result = run_demo(folder, say=echo, on_report=print_report)
    ws = result.workspace
    echo("\n== Masthead demo report ==")
    echo("pieces: " + ", ".join(f"{n} {status}" for status, n in sorted(result.statuses.items())))
    if result.published:
        echo(f"published files ({len(result.published)}) under {ws / 'out'}:")
        for location in result.published:
            echo(f"  {location}")
        # What Masthead wrote is the first thing a new user should read.
        for channel, text in result.published_texts:
            echo(f"\n-- published on {channel} --")
            echo("\n".join(f"  {line}" for line in text.splitlines()))
        echo("")
    else:
        echo("published: none yet (every piece is waiting for a person, see below)")
    if result.in_review:
        echo(f"waiting for review ({len(result.in_review)}):")
        for item in result.in_review:
            echo(f"  {item['piece_id']} {item['channel']:<10} {item['gate']:<4} {short(item['reason'], 90)}")
        first = result.in_review[0]["piece_id"]
        echo("read one and approve it:")
        echo(f"  masthead -w {ws} review show {first}")
        echo(f"  masthead -w {ws} review approve {first}")
        echo(f"  masthead -w {ws} run --until-idle")
    echo(f"explain a piece: masthead -w {ws} piece show PIECE_ID")
    echo(f"check the log:   masthead -w {ws} replay --verify")

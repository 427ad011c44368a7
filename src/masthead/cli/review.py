"""`masthead review list|show|approve|reject|edit`."""

from __future__ import annotations

from pathlib import Path

import click

from masthead.app.queries import manual_queue, piece_detail, review_queue
from masthead.cli.common import CliState, echo, echo_json, pass_state, short
from masthead.cli.inspect import print_piece
from masthead.text_input import read_text_file


@click.group("review")
def review_group() -> None:
    """The human review queue."""


@review_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def review_list(state: CliState, as_json: bool) -> None:
    """Pieces waiting for a decision and steps waiting for a person, most urgent first."""
    items = review_queue(state.workspace())
    manual = manual_queue(state.workspace())
    if as_json:
        echo_json({"pieces": items, "steps": manual})
        return
    if not items and not manual:
        echo("the review queue is empty")
    for step in manual:
        echo(f"{step['id']}  needs a human  ({step['project']}, step {step['step']})")
        echo(f"    why: {short(step['reason'], 100)}")
        echo(f"    finish it: masthead review complete {step['id']} --file OUTPUT")
    for item in items:
        flag = f"  ⚑ {len(item['flags'])} failed check(s)" if item["flags"] else ""
        echo(f"{item['piece_id']}  v{item['version']}  {item['channel']:<10} {item['gate']:<4}  "
             f"{short(item['text'], 50)}{flag}")
        echo(f"    why: {short(item['reason'], 100)}")
        if item.get("confidence"):
            echo(f"    confidence: {item['confidence']['text']}")


@review_group.command("show")
@click.argument("piece_id")
@pass_state
def review_show(state: CliState, piece_id: str) -> None:
    """Show a piece with its checks, versions and lineage."""
    print_piece(piece_detail(state.workspace(), piece_id))


def _operator(state: CliState, name: str | None) -> str:
    return name or state.workspace().config.workspace.operator


@review_group.command("approve")
@click.argument("piece_id")
@click.option("--version", type=int, help="The version you read (default: the current one).")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def review_approve(state: CliState, piece_id: str, version: int | None, operator: str | None) -> None:
    """Approve the exact current version of a piece."""
    from masthead.app.commands import (
        approve,  # agents, recipes, runtime: loaded only to change a piece
    )

    piece = approve(state.workspace(), piece_id, operator=_operator(state, operator), version=version)
    flags = " (it has failed checks; you approved it anyway)" if piece["flags"] != "[]" else ""
    echo(f"approved {piece_id} v{piece['approved_version']}{flags}; `masthead run --until-idle` publishes it")


@review_group.command("reject")
@click.argument("piece_id")
@click.option("--reason", required=True, help="Why; kept in the log.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def review_reject(state: CliState, piece_id: str, reason: str, operator: str | None) -> None:
    """Reject a piece; it will not be published."""
    from masthead.app.commands import (
        reject,  # agents, recipes, runtime: loaded only to change a piece
    )

    reject(state.workspace(), piece_id, operator=_operator(state, operator), reason=reason)
    echo(f"rejected {piece_id}")


@review_group.command("edit")
@click.argument("piece_id")
@click.option("--file", "file", required=True, type=click.Path(path_type=Path), help="The new text (`-`: standard input).")
@click.option("--subject", help="A new subject line (newsletter, email).")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def review_edit(state: CliState, piece_id: str, file: Path, subject: str | None, operator: str | None) -> None:
    """Make a new version by hand; its checks run at once and the gate decides what happens next."""
    from masthead.app.commands import (
        edit,  # agents, recipes, runtime: loaded only to change a piece
    )
    from masthead.app.next_step import next_step

    text = read_text_file(file, "edit", 1_000_000, option="--file")
    version = edit(state.workspace(), piece_id, operator=_operator(state, operator), text=text, subject=subject)
    echo(f"saved {piece_id} v{version}; {next_step(state.workspace(), piece_id)}")


@review_group.command("refine")
@click.argument("piece_id")
@click.option("--note", help="What to change; the final tier is told.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def review_refine(state: CliState, piece_id: str, note: str | None, operator: str | None) -> None:
    """Ask the final tier for a better version of a piece."""
    from masthead.app.commands import (
        refine,  # agents, recipes, runtime: loaded only to change a piece
    )

    task = refine(state.workspace(), piece_id, operator=_operator(state, operator), note=note)
    echo(f"queued {task}; `masthead run --until-idle` writes the new version")


@review_group.command("complete")
@click.argument("ref", metavar="TASK_OR_PIECE")
@click.option("--file", "file", required=True, type=click.Path(path_type=Path),
              help="The step's output: the text for drafting steps, JSON for others (`-`: standard input).")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def review_complete(state: CliState, ref: str, file: Path, operator: str | None) -> None:
    """Finish a step that automation gave up on; the recipe goes on from there."""
    from masthead.app.commands import (
        complete,  # agents, recipes, runtime: loaded only to change a piece
    )

    text = read_text_file(file, "completion", 1_000_000, option="--file")
    task = complete(state.workspace(), ref, operator=_operator(state, operator), text=text)
    echo(f"completed {task} by hand; `masthead run --until-idle` continues the recipe")

"""`masthead review list|show|approve|reject|edit|refine|complete|resolve`."""

from __future__ import annotations

from pathlib import Path

import click

from masthead.app.permissions import Principal
from masthead.app.queries import manual_queue, piece_detail, review_queue
from masthead.app.schedule_views import publication_queue
from masthead.cli.common import CliState, echo, echo_json, echo_lines, pass_state, short
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
    scheduled = [(row, piece) for row in publication_queue(state.workspace()) for piece in row["pieces"]]
    if as_json:
        echo_json({"pieces": items, "steps": manual, "scheduled": [p for _, p in scheduled]})
        return
    if not items and not manual:
        echo("the review queue is empty")
    lines: list[str] = []
    for step in manual:
        lines += [f"{step['id']}  needs a human  ({step['project']}, step {step['step']})",
                  f"    why: {short(step['reason'], 100)}",
                  f"    finish it: masthead review complete {step['id']} --file OUTPUT"]
    for item in items:
        flag = f"  ⚑ {len(item['flags'])} failed check(s)" if item["flags"] else ""
        thread = f"  [thread of {len(item['parts'])} posts]" if item["parts"] else ""
        lines += [f"{item['piece_id']}  v{item['version']}  {item['channel']:<10} {item['gate']:<4}  "
                  f"{short(item['text'], 50)}{thread}{flag}",
                  f"    why: {short(item['reason'], 100)}"]
        if item.get("confidence"):
            lines.append(f"    confidence: {item['confidence']['text']}")
    for row, piece in scheduled:
        lines.append(f"{piece['id']}  v{piece['version']}  {row['channel']:<10} scheduled for {piece['scheduled']}  "
                     f"{short(piece['text'], 40)}")
    echo_lines(lines)


@review_group.command("show")
@click.argument("piece_id")
@pass_state
def review_show(state: CliState, piece_id: str) -> None:
    """Show a piece with its checks, versions and lineage."""
    print_piece(piece_detail(state.workspace(), piece_id))


def _operator(state: CliState, name: str | None) -> Principal:
    """The person acting: this command's --as NAME, else `masthead --as`/$MASTHEAD_USER, else the owner."""
    return state.principal()


@review_group.command("approve")
@click.argument("piece_id")
@click.option("--version", type=int, help="The version you read (default: the current one).")
@click.option("--at", "at", metavar="'YYYY-MM-DD HH:MM'",
              help="Publish at this time (project time zone) instead of now; on a scheduled piece, moves it.")
@click.option("--next-slot", is_flag=True, help="Publish at the channel's next free slot (its `slots:`).")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def review_approve(state: CliState, piece_id: str, version: int | None, at: str | None, next_slot: bool,
                   operator: str | None) -> None:
    """Approve the exact current version of a piece (now, at a time, or at the next free slot)."""
    from masthead.app.commands import (
        approve,  # agents, recipes, runtime: loaded only to change a piece
    )

    piece = approve(state.workspace(), piece_id, operator=_operator(state, operator), version=version,
                    at=at, next_slot=next_slot)
    if piece.get("scheduled") and piece["status"] == "approved":
        echo(f"moved {piece_id} to {piece['scheduled']}; `masthead run` publishes it then")
        return
    flags = " (it has failed checks; you approved it anyway)" if piece["flags"] != "[]" else ""
    if piece["missing"]:
        echo(f"recorded your approval of {piece_id} v{piece['approved_version']}{flags}; still needed:"
             f" {', '.join(piece['missing'])}")
        return
    when = f"; publishes at {piece['scheduled']} (`masthead run` must be running then)" if piece.get("scheduled") \
        else "; `masthead run --until-idle` publishes it"
    echo(f"approved {piece_id} v{piece['approved_version']}{flags}{when}")


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
    """Make a new version by hand; its checks run at once and the gate decides what happens next.

    A thread (X, Bluesky, Mastodon) is written as its posts separated by lines of only `---`;
    each post's number ("2/3") is counted again on save, so adding or removing a post needs no
    renumbering."""
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


@review_group.command("resolve")
@click.argument("piece_id")
@click.argument("flag")
@click.option("--accept", is_flag=True, required=True, help="Accept the flagged term as it stands (say why in --note).")
@click.option("--note", required=True, help="Why the term is acceptable; kept in the log.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def review_resolve(state: CliState, piece_id: str, flag: str, accept: bool, note: str, operator: str | None) -> None:
    """Resolve a proposal's legal flag: accept it with a note (or edit the piece so it is gone)."""
    from masthead.app.proposals import open_flags, resolve_flag

    ws = state.workspace()
    resolved = resolve_flag(ws, piece_id, flag, operator=_operator(state, operator), note=note)
    left = open_flags(ws, piece_id)
    tail = f"{len(left)} high-severity flag(s) left" if left else "no high-severity flag left; it can be approved"
    echo(f"resolved {resolved.id} ({resolved.title}) of {piece_id}; {tail}")
@review_group.command("revert")
@click.argument("piece_id")
@click.option("--to-version", "to_version", type=int, required=True, help="The version to bring back.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def review_revert(state: CliState, piece_id: str, to_version: int, operator: str | None) -> None:
    """Make a new version equal to an earlier one; its checks run and the gate decides again."""
    from masthead.app.commands import revert
    from masthead.app.next_step import next_step

    version = revert(state.workspace(), piece_id, operator=_operator(state, operator), to_version=to_version)
    echo(f"saved {piece_id} v{version} (a copy of v{to_version}); {next_step(state.workspace(), piece_id)}")


@review_group.command("reopen")
@click.argument("piece_id")
@click.option("--reason", required=True, help="Why; kept in the log.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def review_reopen(state: CliState, piece_id: str, reason: str, operator: str | None) -> None:
    """Take a rejection back: the piece goes back to review and its gate and publish steps run again."""
    from masthead.app.commands import reopen

    reopen(state.workspace(), piece_id, operator=_operator(state, operator), reason=reason)
    echo(f"reopened {piece_id}; `masthead run --until-idle` puts it back in the review queue")


@review_group.command("escalate")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def review_escalate(state: CliState, as_json: bool) -> None:
    """Notify (once per step) about reviews waiting past the projects' `escalation:` steps; `run`
    and `serve` do this by themselves."""
    from masthead.app.escalation import escalate_due

    done = escalate_due(state.workspace())
    if as_json:
        echo_json(done)
        return
    if not done:
        echo("no review waits past an escalation step")
    for item in done:
        how = f"via {item['via']}" if item["delivered"] else "recorded only (no publisher named)"
        echo(f"{item['piece_id']} v{item['version']}: waited {item['waited_minutes']:.0f} min; notified"
             f" {item['notify']} {how}")

"""`masthead pieces list` and `masthead piece show`: what was made, and how."""

from __future__ import annotations

from typing import Any

import click

from masthead.app.queries import list_pieces, piece_detail
from masthead.cli.common import CliState, echo, echo_json, echo_lines, pass_state, short


@click.group("pieces")
def pieces_group() -> None:
    """Content items."""


@pieces_group.command("list")
@click.option("--status", help="drafted, in_review, approved, rejected or published.")
@click.option("--project", help="Only this project's pieces.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
@pass_state
def pieces_list(state: CliState, status: str | None, project: str | None, as_json: bool) -> None:
    """List pieces."""
    pieces = list_pieces(state.workspace(), status, project)
    if as_json:
        echo_json(pieces)
        return
    if not pieces:
        echo("no pieces")
    echo_lines(f"{piece['id']}  {piece['status']:<10} v{piece['version']}  {piece['channel']:<10} "
               f"{short(piece['text'], 60)}" + (f"  ⚑ {len(piece['flags'])}" if piece["flags"] else "")
               for piece in pieces)


@click.group("piece")
def piece_group() -> None:
    """One content item."""


def print_piece(detail: dict[str, Any]) -> None:
    # Imported here, not at the top: the memory module loads numpy, which `pieces list` never needs.
    from masthead.cli.memory import memory_lines

    echo(f"piece {detail['id']}  {detail['channel']}  {detail['status']}  v{detail['version']}  "
         f"(project {detail['project']}, job {detail['job_id']})")
    if detail["subject"]:
        echo(f"subject: {detail['subject']}")
    if detail.get("scheduled"):
        echo(f"scheduled for {detail['scheduled']}")
    if detail.get("confidence"):
        echo(f"confidence: {detail['confidence']['text']}")
    for test in detail.get("ab_tests", []):
        winner = f", winner {test['winner']}" if test["winner"] else ""
        echo(f"A/B test {test['id']} ({test['method']}, {test['metric']}): {test['status']}{winner}"
             f"  (masthead ab show {test['id']})")
    echo("")
    for line in text_lines(detail):
        echo(line)
    echo("")
    for line in people_lines(detail.get("people")):
        echo(line)
    for version in detail["versions"]:
        made = f"{version['author']}" + (f" ({version['tier']}, {version['prompt_version']})" if version["tier"] else "")
        cost = f", ${version['cost_usd']:.6f}" if version.get("cost_usd") else ""
        echo(f"v{version['version']} {version['kind']} by {made} at {version['created_at']}{cost}")
        if version.get("confidence"):
            echo(f"    confidence {version['confidence']['text']}")
        for check in version["checks"]:
            mark = "pass" if check["passed"] else "FAIL"
            echo(f"    {mark}  {check['name']:<15} {check['detail']}")
        if version.get("diff"):
            echo("    " + version["diff"].rstrip().replace("\n", "\n    "))
    lineage = detail["lineage"]
    signal = lineage["signal"]
    echo(f"\nlineage: signal {signal['id']} ({signal['kind']}, {signal['source']}, {signal['trust']}, sha256 {signal['sha256'][:12]}…)"
               f" -> job {lineage['job']['id']} ({lineage['job']['recipe']}, {lineage['job']['status']})")
    for line in item_lines(lineage.get("items")):
        echo(f"  {line}")
    for step in lineage["steps"]:
        agent = f" agent {step['agent']} {step['prompt_version']} [{step['tier']}]" if step["agent"] else ""
        echo(f"  {step['step']:<9} {step['status']:<8}{agent}" + (f"  error: {short(step['error'], 80)}" if step["error"] else ""))
        for line in selection_lines(step.get("selection"), step.get("model_dropped")):
            echo(f"      {line}")
        for call in step["model_calls"]:
            fallback = f" [fallback for {call['requested']}]" if call.get("requested") else ""
            echo(f"      call {call['provider']}:{call['model']} ({call['tier']}) {call['tokens_in']}→{call['tokens_out']} tokens"
                 f" {call['latency_ms']:.0f} ms ${call['cost_usd']:.6f}{fallback}")
        for line in memory_lines(step.get("memory", [])):
            echo(f"      {line}")
    echo(f"  cost ${lineage['cost_usd']:.6f}, tokens {lineage['tokens']['in']} in / {lineage['tokens']['out']} out")
    for decision in lineage["decisions"]:
        reason = f": {decision['reason']}" if decision["reason"] else ""
        echo(f"  {decision['at']}  {decision['decision']} v{decision['version']} by {decision['actor']}{reason}")
    for publication in lineage["publications"]:
        remote = f" [{publication['remote_id']}]" if publication.get("remote_id") else ""
        echo(f"  published v{publication['version']} via {publication['publisher']} -> {publication['location']}"
                   f"{remote} ({publication['status']})")
        if publication.get("reason") and publication["status"] != "delivered":
            echo(f"      {publication['reason']}")


def people_lines(people: dict[str, Any] | None) -> list[str]:
    """Which approvals of this version are in and which are missing; who it is escalated to."""
    if not people or not (people["given"] or people["missing"] or people["escalations"]):
        return []
    given = ", ".join(f"{g['name']} ({g['role']})" for g in people["given"]) or "none"
    lines = [f"approvals of this version: {len(people['given'])} of {people['needed']} in: {given}"]
    if people["missing"]:
        lines.append(f"still needed: {', '.join(people['missing'])}")
    for step in people["escalations"]:
        how = {"recorded": "recorded only", "sending": f"sending via {step['via']}",
               "sent": f"sent via {step['via']}", "failed": f"notice via {step['via']} failed: {step['detail']}"}
        lines.append(f"escalated to {step['notify']} at {step['at']} ({how.get(step['status'], step['status'])})")
    return [*lines, ""]


@piece_group.command("retract")
@click.argument("piece_id")
@click.option("--reason", default=None, help="Why; recorded with the retraction.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def piece_retract(state: CliState, piece_id: str, reason: str | None, operator: str | None, as_json: bool) -> None:
    """Delete the piece's published posts where the service allows (Mastodon, Bluesky, X,
    LinkedIn, feed); exits 1 when a publisher cannot take its post back (file, webhook)."""
    from masthead.app.retraction import retract_piece

    ws = state.workspace()
    rows = retract_piece(ws, piece_id, operator=operator or ws.config.workspace.operator, reason=reason)
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            echo(f"{'retracted' if row['retracted'] else 'KEPT':<9} {row['publisher']:<12} {row['detail']}")
    if not all(row["retracted"] for row in rows):
        raise SystemExit(1)


def text_lines(detail: dict[str, Any]) -> list[str]:
    """The piece's text; a thread part by part, each headed with its number, as it will be posted."""
    parts = detail.get("parts")
    if not parts:
        return [detail["text"]]
    lines = [f"thread of {len(parts)} posts, each a reply to the one before"
             " (`review edit`: a line of only --- separates two posts; numbers are counted again):"]
    for index, part in enumerate(parts, start=1):
        lines += [f"--- post {index} of {len(parts)} ---", part]
    return lines


def item_lines(items: dict[str, Any] | None) -> list[str]:
    if not items:
        return []
    lines = [f"items ({len(items['items'])}, most salient first){': ' + items['note'] if items['note'] else ''}:"]
    lines += [f"  {item['salience']:>5.2f} {item['kind']:<10} {short(item['text'], 90)}" for item in items["items"][:10]]
    return lines


def selection_lines(selection: dict[str, Any] | None, dropped: str | None) -> list[str]:
    lines = [f"model candidate dropped: {short(dropped, 100)}"] if dropped else []
    if not selection:
        return lines
    for index, candidate in enumerate(selection["candidates"]):
        mark = "*" if index == selection.get("winner") else " "
        verdict = "pass" if candidate["passed"] else "FAIL " + short("; ".join(candidate["failures"]), 70)
        lines.append(f"{mark} candidate {index} {candidate['kind']:<8} covers {candidate['coverage']} item(s),"
                     f" voice {candidate['voice']:g}, {verdict}")
    lines.append(f"why: {selection['why']}")
    return lines


@piece_group.command("show")
@click.argument("piece_id")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def piece_show(state: CliState, piece_id: str, as_json: bool) -> None:
    """Versions with diffs, checks, lineage, decisions and publication of one piece."""
    detail = piece_detail(state.workspace(), piece_id)
    if as_json:
        echo_json(detail)
        return
    print_piece(detail)

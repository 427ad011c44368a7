"""`masthead costs`: the ledger by day, job, model or channel, and budget use."""

from __future__ import annotations

import click

from masthead.app.costs import GROUPINGS, cost_report
from masthead.cli.common import CliState, echo, echo_json, pass_state


@click.command("costs")
@click.option("--project", help="Only this project.")
@click.option("--by", type=click.Choice(list(GROUPINGS)), default="day", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def costs_cmd(state: CliState, project: str | None, by: str, as_json: bool) -> None:
    """Money and tokens spent on model calls, cost per published piece and per won proposal, budget use."""
    report = cost_report(state.workspace(), project=project, by=by)
    if as_json:
        echo_json(report)
        return
    echo(f"{by:<28} {'calls':>6} {'tokens in':>10} {'tokens out':>10} {'USD':>12}")
    for row in report["rows"]:
        echo(f"{str(row['key']):<28} {row['calls']:>6} {row['tokens_in']:>10} {row['tokens_out']:>10} {row['usd']:>12.6f}")
    per_piece = report["cost_per_published_piece"]
    echo(f"total ${report['total_usd']:.6f} over {report['calls']} calls; {report['published_pieces']} published"
         + (f"; ${per_piece:.6f} per published piece" if per_piece is not None else ""))
    if report["won_proposals"] or report["proposal_spend_usd"]:
        per_win = report["cost_per_won_proposal"]
        echo(f"proposals: ${report['proposal_spend_usd']:.6f} spent, {report['won_proposals']} won"
             + (f"; ${per_win:.6f} per won proposal" if per_win is not None else ""))
    for use in report["budgets"]:
        echo(f"budget {use['scope']}.{use['limit']} {use['period']}: ${use['spent']:.6f} of ${use['value']:g}"
             f" ({use['share']:.0%})")

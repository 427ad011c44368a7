"""`masthead ab start|record|show|list`: A/B tests of subject lines with Thompson sampling or a
fixed split; results come in as cumulative CSV reports from the mail service."""

from __future__ import annotations

from pathlib import Path

import click

from masthead.cli.common import CliState, echo, echo_json, pass_state

MAX_RESULTS_BYTES = 1_000_000


@click.group("ab")
def ab_group() -> None:
    """A/B tests of a piece's subject lines: posteriors, probability of being best, the winner."""


def _operator(state: CliState, name: str | None) -> str:
    from masthead.app.commands import human

    return human(name or state.workspace().config.workspace.operator)


@ab_group.command("start")
@click.argument("piece_id")
@click.option("--metric", type=click.Choice(["opens", "clicks"]), default="opens", show_default=True)
@click.option("--method", type=click.Choice(["thompson", "fixed"]), default="thompson", show_default=True,
              help="thompson: batches allocated by the probability of being best; fixed: a share of the list split evenly.")
@click.option("--variant", "variants", multiple=True, help="A variant's text (repeat); default: the piece's subject lines.")
@click.option("--list-size", type=int, default=10_000, show_default=True, help="Recipients in the whole list.")
@click.option("--batch", "batch_size", type=int, default=500, show_default=True, help="thompson: sends per batch.")
@click.option("--test-share", type=float, default=0.2, show_default=True, help="fixed: share of the list in the test.")
@click.option("--deadline", help="ISO time; then the leader wins whatever its probability.")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@pass_state
def ab_start(state: CliState, piece_id: str, metric: str, method: str, variants: tuple[str, ...], list_size: int,
             batch_size: int, test_share: float, deadline: str | None, operator: str | None) -> None:
    """Start a test over a newsletter or email piece's subject lines."""
    from masthead.app.ab import AbSettings, ab_report, start_test

    settings = AbSettings(metric=metric, method=method, list_size=list_size, batch_size=batch_size,
                          test_share=test_share, deadline=deadline)
    ws = state.workspace()
    test_id = start_test(ws, piece_id, settings=settings, variants=list(variants) or None,
                         operator=_operator(state, operator))
    report = ab_report(ws, test_id)
    echo(f"started A/B test {test_id} ({method}, {metric}) with {len(report['variants'])} variants")
    _print_next(report)


@ab_group.command("record")
@click.argument("test_id")
@click.option("--file", "file", required=True, type=click.Path(path_type=Path),
              help="CSV with columns variant,sent,opens,clicks (cumulative counts).")
@click.option("--as", "operator", help="Operator name recorded as human:<name>.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def ab_record(state: CliState, test_id: str, file: Path, operator: str | None, as_json: bool) -> None:
    """Record the mail service's cumulative results; decides the winner when the test is over."""
    from masthead.app.ab import parse_results_csv, record_results
    from masthead.app.commands import read_text_file

    results = parse_results_csv(read_text_file(file, "results", MAX_RESULTS_BYTES), f"results file {file}")
    report = record_results(state.workspace(), test_id, results, source=f"file:{file.name}",
                            operator=_operator(state, operator))
    if as_json:
        echo_json(report)
        return
    _print_report(report)


@ab_group.command("show")
@click.argument("test_id")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def ab_show(state: CliState, test_id: str, as_json: bool) -> None:
    """Each variant's posterior mean, 95% interval and probability of being best."""
    from masthead.app.ab import ab_report

    report = ab_report(state.workspace(), test_id)
    if as_json:
        echo_json(report)
        return
    _print_report(report)


@ab_group.command("list")
@click.option("--project", help="Only this project.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def ab_list(state: CliState, project: str | None, as_json: bool) -> None:
    """Every A/B test, newest first."""
    from masthead.app.ab import list_tests

    tests = list_tests(state.workspace(), project=project)
    if as_json:
        echo_json(tests)
        return
    if not tests:
        echo("no A/B tests yet; start one with `masthead ab start PIECE`")
    for t in tests:
        winner = f" winner {t['winner']}" if t["winner"] else ""
        echo(f"{t['id']}  {t['status']:<8} {t['method']:<8} {t['metric']:<6} piece {t['piece_id']}{winner}")


def _print_report(report: dict) -> None:
    metric = report["metric"]
    echo(f"A/B test {report['id']} on piece {report['piece_id']}: {report['method']}, {metric}, {report['status']}")
    echo(f"{'':2}{'variant':<8}{'sent':>8}{metric:>8}{'mean':>8}{'95% interval':>18}{'P(best)':>9}  text")
    for v in report["variants"]:
        low, high = v["interval_95"]
        mark = "* " if v["variant"] == report["winner"] else "  "
        echo(f"{mark}{v['variant']:<8}{v['sent']:>8}{v[metric]:>8}{v['posterior_mean']:>8.3f}"
                   f"{f'{low:.3f}-{high:.3f}':>18}{v['p_best']:>9.3f}  {v['text']}")
    if report["status"] == "decided":
        echo(f"winner {report['winner']}: {report['reason']}")
    else:
        _print_next(report)


def _print_next(report: dict) -> None:
    sends = ", ".join(f"{v['variant']} {v['next_batch']}" for v in report["variants"])
    echo(f"send next: {sends}; then `masthead ab record {report['id']} --file results.csv`")


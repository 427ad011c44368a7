"""A/B tests of a newsletter piece's subject lines through the app and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.support.harness import (
    KEY_ENV,
    add_release_notes,
    content_reply,
    make_workspace,
    pieces_by_channel,
)
from tests.support.openai_server import OpenAIServer

from masthead.app import ab
from masthead.cli.main import cli
from masthead.errors import InputError, StateError
from masthead.projections.replay import verify

OPERATOR = "human:ana"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        workspace = make_workspace(tmp_path / "ws", server.base_url)
        job = add_release_notes(workspace)
        workspace.runner(concurrency=2).run(until_idle=True)
        workspace.newsletter = pieces_by_channel(workspace, job)["newsletter"]  # type: ignore[attr-defined]
        workspace.server = server  # type: ignore[attr-defined]
        yield workspace
        workspace.close()


def _events(ws) -> int:
    return len(list(ws.store.read()))


def test_a_thompson_test_over_the_subject_lines_decides_and_remembers_what_won(ws):
    piece = ws.newsletter["id"]
    test_id = ab.start_test(ws, piece, settings=ab.AbSettings(batch_size=400), variants=None, operator=OPERATOR)
    report = ab.ab_report(ws, test_id)
    assert [v["text"] for v in report["variants"]] == ["Tallybook 3.2: bank feeds for 40 more banks", "What is new"]
    assert [v["next_batch"] for v in report["variants"]] == [200, 200]  # no data: an even split

    first = ab.parse_results_csv("variant,sent,opens,clicks\nA,200,52,9\nB,200,45,4\n", "r1")
    report = ab.record_results(ws, test_id, first, source="file:r1.csv", operator=OPERATOR)
    assert report["status"] == "running"
    a, b = report["variants"]
    assert a["p_best"] > b["p_best"] and a["next_batch"] > b["next_batch"]
    assert a["interval_95"][0] < a["posterior_mean"] < a["interval_95"][1]

    later = ab.parse_results_csv("variant,sent,opens,clicks\nA,600,185,20\nB,400,82,8\n", "r2")
    report = ab.record_results(ws, test_id, later, source="file:r2.csv", operator=OPERATOR)
    assert report["status"] == "decided" and report["winner"] == "A"
    assert "probability of being best" in report["reason"]

    feedback = ws.store.query("SELECT text, source FROM memory_items WHERE kind = 'feedback' AND source LIKE 'abtest:%'"
                              " ORDER BY source")
    assert [f["source"] for f in feedback] == [f"abtest:{test_id}:A", f"abtest:{test_id}:B"]
    assert "won an A/B test" in feedback[0]["text"] and "bank feeds" in feedback[0]["text"]
    assert "lost an A/B test" in feedback[1]["text"] and "What is new" in feedback[1]["text"]
    with pytest.raises(StateError, match="decided"):
        ab.record_results(ws, test_id, later, source="file:r2.csv", operator=OPERATOR)
    assert verify(ws.store).ok

    # The next release's subject lines are written with what won and lost in front of the model.
    add_release_notes(ws, body="# Tallybook 3.3\n- Bank feeds for 12 more banks.\n")
    ws.runner(concurrency=2).run(until_idle=True)
    prompts = [json.dumps(c.body) for c in ws.server.calls
               if c.body.get("response_format", {}).get("json_schema", {}).get("name") == "SubjectLinesOutput"]
    assert "(A/B test result with this audience) \\\"Tallybook 3.2: bank feeds for 40 more banks\\\" won" in prompts[-1]


def test_a_fixed_split_waits_for_every_share_then_takes_the_best_observed(ws):
    settings = ab.AbSettings(method="fixed", metric="clicks", list_size=1000, test_share=0.2)
    test_id = ab.start_test(ws, ws.newsletter["id"], settings=settings, variants=["One", "Two", "Three"],
                            operator=OPERATOR)
    assert [v["next_batch"] for v in ab.ab_report(ws, test_id)["variants"]] == [66, 66, 66]
    partial = ab.parse_results_csv("variant,sent,opens,clicks\nA,66,20,3\nB,30,10,2\n", "r")
    assert ab.record_results(ws, test_id, partial, source="r", operator=OPERATOR)["status"] == "running"
    done = ab.parse_results_csv("variant,sent,opens,clicks\nB,66,25,9\nC,66,18,4\n", "r")
    report = ab.record_results(ws, test_id, done, source="r", operator=OPERATOR)
    assert report["status"] == "decided" and report["winner"] == "B"


@pytest.mark.parametrize(("csv_text", "message"), [
    ("variant,sent\nA,1\n", "lacks the column"),
    ("variant,sent,opens,clicks\nA,ten,1,1\n", "line 2: sent 'ten' is not a whole number"),
    ("variant,sent,opens,clicks\nA,١٠,1,1\n", "is not a whole number"),
    ("variant,sent,opens,clicks\nA,10,11,1\n", "more opens or clicks than sends"),
    ("variant,sent,opens,clicks\n", "no result rows"),
])
def test_a_malformed_report_is_refused_whole(csv_text, message):
    with pytest.raises(InputError, match=message):
        ab.parse_results_csv(csv_text, "results file r.csv")


def test_reports_that_do_not_fit_the_test_change_nothing(ws):
    test_id = ab.start_test(ws, ws.newsletter["id"], settings=ab.AbSettings(), variants=None, operator=OPERATOR)
    ab.record_results(ws, test_id, ab.parse_results_csv("variant,sent,opens,clicks\nA,100,30,1\n", "r"),
                      source="r", operator=OPERATOR)
    before = _events(ws)
    for text, message in [("variant,sent,opens,clicks\nZ,1,0,0\n", "not in test"),
                          ("variant,sent,opens,clicks\nA,50,10,1\n", "went down"),
                          ("variant,sent,opens,clicks\nB,5,1,0\nB,6,1,0\n", "twice")]:
        with pytest.raises(InputError, match=message):
            ab.record_results(ws, test_id, ab.parse_results_csv(text, "r"), source="r", operator=OPERATOR)
    assert _events(ws) == before
    with pytest.raises(StateError, match="already has a running test"):
        ab.start_test(ws, ws.newsletter["id"], settings=ab.AbSettings(), variants=None, operator=OPERATOR)
    with pytest.raises(InputError, match="2 to 5 different variants"):
        ab.start_test(ws, ws.newsletter["id"], settings=ab.AbSettings(), variants=["same", "same"], operator=OPERATOR)


def test_the_cli_starts_records_and_shows_a_test(ws, tmp_path):
    runner = CliRunner()
    root = str(ws.root)
    started = runner.invoke(cli, ["-w", root, "ab", "start", ws.newsletter["id"], "--batch", "100"])
    assert started.exit_code == 0, started.output
    test_id = started.output.split()[3]
    assert "send next: A 50, B 50" in started.output
    results = tmp_path / "results.csv"
    results.write_text("variant,sent,opens,clicks\nA,50,20,2\nB,50,9,1\n", "utf-8")
    recorded = runner.invoke(cli, ["-w", root, "ab", "record", test_id, "--file", str(results)])
    assert recorded.exit_code == 0, recorded.output
    assert "95% interval" in recorded.output and "P(best)" in recorded.output
    shown = runner.invoke(cli, ["-w", root, "ab", "show", test_id, "--json"])
    assert '"p_best"' in shown.output
    listed = runner.invoke(cli, ["-w", root, "ab", "list"])
    assert test_id in listed.output
    bad = runner.invoke(cli, ["-w", root, "ab", "record", "ab_missing", "--file", str(results)])
    assert bad.exit_code != 0

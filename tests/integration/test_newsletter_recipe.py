"""The newsletter operator's workflow end to end on the loopback OpenAI-compatible server: an
analytics export becomes trend signals, the `newsletter` recipe writes hooks, subject lines and a
section per channel, an A/B test of the subject lines picks the subject, confidence and
sensitive topics route the pieces, and the winner is published; the `weekly-digest` gathers the
week's signals into one section per signal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV
from tests.support.newsletter import (
    PROJECT,
    checks_of,
    job_output,
    newsletter_reply,
    newsletter_workspace,
)
from tests.support.openai_server import OpenAIServer

from masthead.app import ab
from masthead.app.commands import add_signal, edit
from masthead.app.sources import poll_sources
from masthead.projections.replay import verify

OPERATOR = "human:ana"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=newsletter_reply) as running:
        yield running


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The same workflow on both stores: the digest's window, the confidence and the A/B
    queries read the log through each backend's SQL."""
    if request.param == "postgres":
        monkeypatch.setenv("MASTHEAD_DATABASE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


def _visitors_job(ws) -> str:
    rows = ws.store.query("SELECT j.id FROM jobs j JOIN signals s ON s.id = j.signal_id"
                          " WHERE s.title = 'Trend: visitors up on 2026-11-30' AND j.recipe = 'newsletter'")
    return str(rows[0]["id"])


def _pieces(ws, job_id: str) -> dict[str, dict]:
    return {row["channel"]: row for row in ws.store.query("SELECT * FROM pieces WHERE job_id = ?", (job_id,))}


def test_a_trend_becomes_a_tested_newsletter_section_that_publishes_with_the_winning_subject(tmp_path: Path, server,
                                                                                            backend: str):
    ws = newsletter_workspace(tmp_path / "ws", server.base_url)
    assert ws.store.backend == backend
    poll_sources(ws)
    assert {row["recipe"] for row in ws.store.query("SELECT recipe FROM jobs")} == {"newsletter"}
    ws.runner(concurrency=2).run(until_idle=True)
    job = _visitors_job(ws)

    hooks = job_output(ws, job, "hooks")["output"]["hooks"]
    assert [hook["angle"] for hook in hooks] == ["number", "news", "reader"]
    assert hooks[0]["text"] == "480 visitors in one day: 3.9x the usual Monday."  # the trend's own numbers
    pieces = _pieces(ws, job)
    assert set(pieces) == {"newsletter", "email"}  # the recipe writes newsletter sections, not posts
    newsletter = pieces["newsletter"]
    # The section: a hook as its opening, the finding, the baseline Mondays and the method, in words.
    assert newsletter["text"].startswith("480 visitors in one day: 3.9x the usual Monday.")
    assert "The previous Mondays for comparison: 120 on 2026-11-02, 122 on 2026-11-09" in newsletter["text"]
    assert "a score of" in newsletter["text"] and json.loads(newsletter["flags"]) == []

    confidence = checks_of(ws, newsletter["id"])[-1]["confidence"]
    assert set(confidence["parts"]) == {"checks", "coverage", "voice", "agreement"}
    assert all(0 <= v <= 1 for v in confidence["parts"].values()) and 0.3 <= confidence["value"] <= 1
    assert confidence["parts"]["checks"] == 1.0 and confidence["parts"]["coverage"] == 1.0

    # The ab step started a test over the subject lines and waits for its results.
    [test] = ws.store.query("SELECT * FROM ab_tests WHERE piece_id = ?", (newsletter["id"],))
    report = ab.ab_report(ws, test["id"])
    assert [v["text"] for v in report["variants"]] == ["480 visitors in one day", "3.9x the usual Monday"]
    [ab_task] = ws.store.query("SELECT status, wait_reason FROM tasks WHERE job_id = ? AND step = 'ab'"
                               " AND channel = 'newsletter'", (job,))
    assert ab_task["status"] == "waiting" and test["id"] in ab_task["wait_reason"]

    results = ab.parse_results_csv("variant,sent,opens,clicks\nA,1000,180,20\nB,1000,260,31\n", "r.csv")
    assert ab.record_results(ws, test["id"], results, source="file:r.csv", operator=OPERATOR)["winner"] == "B"
    ws.runner(concurrency=2).run(until_idle=True)
    newsletter = _pieces(ws, job)["newsletter"]
    # The winner is the subject of a new version, checked again, auto-approved and published.
    assert (newsletter["subject"], newsletter["version"], newsletter["status"]) == \
        ("3.9x the usual Monday", 2, "published")
    assert checks_of(ws, newsletter["id"])[-1]["version"] == 2
    outbox = list((tmp_path / "ws").rglob("*.md")) + list((tmp_path / "ws").rglob("*.txt"))
    assert any("3.9x the usual Monday" in path.read_text("utf-8") for path in outbox)
    assert verify(ws.store).ok
    ws.close()


def test_an_auto_piece_below_its_confidence_bound_waits_for_review_with_the_parts(tmp_path: Path, server):
    project = PROJECT.replace("auto_min_confidence: 0.3", "auto_min_confidence: 0.99")
    ws = newsletter_workspace(tmp_path / "ws", server.base_url, project)
    poll_sources(ws)
    ws.runner(concurrency=2).run(until_idle=True)
    job = _visitors_job(ws)
    newsletter = _pieces(ws, job)["newsletter"]
    [test] = ws.store.query("SELECT id FROM ab_tests WHERE piece_id = ?", (newsletter["id"],))
    ab.record_results(ws, test["id"], ab.parse_results_csv("variant,sent,opens,clicks\nA,900,300,9\nB,900,100,3\n",
                                                           "r.csv"), source="file:r.csv", operator=OPERATOR)
    ws.runner(concurrency=2).run(until_idle=True)
    [queued] = ws.store.query("SELECT * FROM review_queue WHERE piece_id = ?", (newsletter["id"],))
    assert re.search(r"confidence 0\.\d\d \(checks 1, coverage 1, voice [\d.]+, agreement [\d.]+\) is below "
                     r"auto_min_confidence 0\.99", queued["reason"]), queued["reason"]
    newsletter = _pieces(ws, job)["newsletter"]
    assert newsletter["status"] == "in_review"
    # A person's edit is not a model's guess: on the auto gate its checks alone decide.
    edit(ws, newsletter["id"], operator="ana", text=newsletter["text"] + "\n\nSee you next week.")
    ws.runner(concurrency=2).run(until_idle=True)
    assert _pieces(ws, job)["newsletter"]["status"] == "published"
    ws.close()


LAYOFFS = """\
# A hard week at Tallybook

We are letting go of twelve people on the support team this month. Tallybook stays free for up to 3 clients.
"""


def test_a_sensitive_topic_sends_an_auto_piece_to_review_by_meaning_and_by_term(tmp_path: Path, server):
    ws = newsletter_workspace(tmp_path / "ws", server.base_url)
    added = add_signal(ws, "tallybook", kind="feed_item", body=LAYOFFS, title="A hard week at Tallybook",
                       priority="normal", source="feed:blog:entry-1", trust="operator")
    by_term = add_signal(ws, "tallybook", kind="feed_item", body=LAYOFFS.replace("letting go of", "layoffs for"),
                         title="Layoffs at Tallybook", priority="normal", source="feed:blog:entry-2", trust="operator")
    ws.runner(concurrency=2).run(until_idle=True)
    for job, how in ((added.job_ids[0], r"similarity 0\.\d+ to it in 'We are letting go of twelve people"),
                     (by_term.job_ids[0], "the term 'layoffs' appears")):
        newsletter = _pieces(ws, job)["newsletter"]
        [test] = ws.store.query("SELECT id FROM ab_tests WHERE piece_id = ?", (newsletter["id"],))
        ab.record_results(ws, test["id"], ab.parse_results_csv(
            "variant,sent,opens,clicks\nA,900,300,9\nB,900,100,3\n", "r.csv"), source="file:r.csv", operator=OPERATOR)
        ws.runner(concurrency=2).run(until_idle=True)
        [queued] = ws.store.query("SELECT reason FROM review_queue WHERE piece_id = ?", (newsletter["id"],))
        assert "sensitive topic 'layoffs' (staff reductions, job cuts, people leaving the company)" in queued["reason"]
        assert re.search(how, queued["reason"]), queued["reason"]
        assert _pieces(ws, job)["newsletter"]["status"] == "in_review"  # an auto gate, and still a person decides
    ws.close()


def test_the_weekly_digest_gathers_the_weeks_signals_into_a_section_each(tmp_path: Path, server, backend: str):
    ws = newsletter_workspace(tmp_path / "ws", server.base_url)
    assert ws.store.backend == backend
    empty = add_signal(ws, "tallybook", kind="schedule", body='{"recipe": "weekly-digest"}', title="Tuesday digest",
                       priority="normal", source="schedule:weekly-digest:2026-12-01T09:00")
    assert empty.recipes == ["weekly-digest"]
    poll_sources(ws)
    add_signal(ws, "tallybook", kind="feed_item", title="Invoices in 12 languages",
               body="Invoices can now be written in 12 languages, Polish and Greek among them.",
               priority="normal", source="feed:blog:entry-9", trust="operator")
    digest = add_signal(ws, "tallybook", kind="schedule", body="{}", title="Tuesday digest",
                        priority="normal", source="schedule:weekly-digest:2026-12-08T09:00")
    assert digest.recipes == ["weekly-digest"]
    ws.runner(concurrency=2).run(until_idle=True)

    # The first schedule came before any signal: its digest ends at the first step, no model call.
    assert job_output(ws, empty.job_ids[0], "brief")["skipped"] == "no signals in the window"
    assert _pieces(ws, empty.job_ids[0]) == {}
    gathered = job_output(ws, digest.job_ids[0], "brief")["gathered"]
    titles = [ws.store.query("SELECT title FROM signals WHERE id = ?", (s,))[0]["title"] for s in gathered]
    assert titles == ["Trend: pageviews up on 2026-11-30", "Trend: visitors up on 2026-11-30",
                      "Trend: visits up on 2026-11-30", "Invoices in 12 languages"]
    text = _pieces(ws, digest.job_ids[0])["newsletter"]["text"]
    for title in titles:  # one section per signal, under its own title, in the order they came
        assert f"\n\n{title}\n- " in text
    assert text.index("Trend: visitors") < text.index("Invoices in 12 languages")
    assert "Invoices can now be written in 12 languages" in text and "480" in text
    assert verify(ws.store).ok
    ws.close()


def test_confidence_is_shown_by_piece_show_review_list_and_the_desk_queue(tmp_path: Path, server) -> None:
    from click.testing import CliRunner

    from masthead.app.desk import desk_queue
    from masthead.cli.main import cli

    project = PROJECT.replace("auto_min_confidence: 0.3", "auto_min_confidence: 0.99")
    ws = newsletter_workspace(tmp_path / "ws", server.base_url, project)
    poll_sources(ws)
    ws.runner(concurrency=2).run(until_idle=True)
    newsletter = _pieces(ws, _visitors_job(ws))["newsletter"]
    value = checks_of(ws, newsletter["id"])[-1]["confidence"]["value"]
    runner = CliRunner()
    shown = runner.invoke(cli, ["-w", str(tmp_path / "ws"), "piece", "show", newsletter["id"]])
    assert shown.exit_code == 0, shown.output
    assert f"confidence: {value:.2f} (checks 1, coverage 1, voice " in shown.output
    assert re.search(r"A/B test ab-\w+ \(thompson, opens\): running", shown.output)
    [test] = ws.store.query("SELECT id FROM ab_tests WHERE piece_id = ?", (newsletter["id"],))
    ab.record_results(ws, test["id"], ab.parse_results_csv("variant,sent,opens,clicks\nA,900,300,9\nB,900,100,3\n",
                                                           "r.csv"), source="file:r.csv", operator=OPERATOR)
    ws.runner(concurrency=2).run(until_idle=True)
    listed = runner.invoke(cli, ["-w", str(tmp_path / "ws"), "review", "list"])
    assert listed.exit_code == 0 and f"    confidence: {value:.2f} (checks 1" in listed.output
    [item] = [i for i in desk_queue(ws) if i["piece_id"] == newsletter["id"]]
    assert item["confidence"]["value"] == value
    ws.close()

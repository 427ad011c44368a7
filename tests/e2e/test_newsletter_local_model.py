"""The newsletter recipe on the real bundled local model, end to end: an analytics export with one
spike, its trend signal, hooks, subject lines, a newsletter section, the A/B test of the subject
lines decided by reported results, and the winner published; then replay --verify. The model is
small: what it writes may be dropped for composed text, but what ships must carry the trend."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from tests.support.newsletter import DATA, checks_of, job_output

from masthead.app import ab
from masthead.app.commands import apply_project
from masthead.app.sources import poll_sources
from masthead.app.workspace import init_workspace
from masthead.projections.replay import verify

PROJECT = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelance designers and developers.
voice: {description: Plain and friendly.}
channels:
  newsletter: {gate: auto, auto_min_confidence: 0.5}
sources:
  - {name: stats, kind: analytics, path: analytics/, format: csv, every: 1d}
"""


def visitors_only(target: Path) -> None:
    """The Plausible fixture's visitors column as a generic `date,metric,value` CSV: one series,
    one spike (480 on Monday 2026-11-30), so one trend and one job."""
    rows = csv.DictReader(io.StringIO((DATA / "plausible_visitors.csv").read_text("utf-8")))
    lines = ["date,metric,value"] + [f"{row['date']},visitors,{row['visitors']}" for row in rows]
    target.write_text("\n".join(lines) + "\n", "utf-8")


@pytest.mark.slow
def test_the_newsletter_recipe_runs_on_the_bundled_model(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ws, _ = init_workspace(root)  # the default masthead.toml: both tiers on the bundled local model
    (root / "project.yaml").write_text(PROJECT, "utf-8")
    apply_project(ws, root / "project.yaml")
    (root / "analytics").mkdir()
    visitors_only(root / "analytics" / "visitors.csv")
    [polled] = poll_sources(ws)
    [signal_id] = polled["signals"]
    [job] = ws.store.query("SELECT id, recipe FROM jobs WHERE signal_id = ?", (signal_id,))
    assert job["recipe"] == "newsletter"
    ws.runner(concurrency=1).run(until_idle=True)

    hooks = job_output(ws, job["id"], "hooks")["output"]["hooks"]
    assert 1 <= len(hooks) <= 3 and all(hook["angle"] and hook["text"] for hook in hooks)
    calls = ws.store.query("SELECT provider FROM model_calls")
    assert calls and {c["provider"] for c in calls} == {"local"}

    [piece] = ws.store.query("SELECT * FROM pieces WHERE job_id = ?", (job["id"],))
    # Whatever the model wrote, the section carries the trend's numbers, and says nothing it cannot ground.
    assert "480" in piece["text"] and "visitors" in piece["text"].casefold()
    assert not [flag for flag in json.loads(piece["flags"]) if flag.startswith(("grounding", "provenance"))]
    confidence = checks_of(ws, piece["id"])[-1]["confidence"]
    assert 0 <= confidence["value"] <= 1 and set(confidence["parts"]) == {"checks", "coverage", "voice", "agreement"}

    tests = ws.store.query("SELECT id FROM ab_tests WHERE piece_id = ?", (piece["id"],))
    if tests:  # two distinct subject lines at most 60 characters long: the recipe tests them
        variants = ab.ab_report(ws, tests[0]["id"])["variants"]
        report = "variant,sent,opens,clicks\n" + "\n".join(
            f"{v['variant']},1000,{400 if v['variant'] == 'B' else 150},10" for v in variants)
        decided = ab.record_results(ws, tests[0]["id"], ab.parse_results_csv(report, "r.csv"), source="file:r.csv",
                                    operator="human:ana")
        assert decided["winner"] == "B"
        ws.runner(concurrency=1).run(until_idle=True)
        [piece] = ws.store.query("SELECT * FROM pieces WHERE job_id = ?", (job["id"],))
        assert piece["subject"] == variants[1]["text"]
    else:
        [ab_step] = ws.store.query("SELECT status FROM tasks WHERE job_id = ? AND step = 'ab'", (job["id"],))
        assert ab_step["status"] == "done"
    # The auto gate published it, or sent it to review with the reason; never silently stuck.
    assert piece["status"] in ("published", "in_review")
    if piece["status"] == "in_review":
        [queued] = ws.store.query("SELECT reason FROM review_queue WHERE piece_id = ?", (piece["id"],))
        assert queued["reason"].startswith(("checks failed", "confidence"))
    else:
        published = list((root / "out" / "newsletter").glob("*.md"))
        assert len(published) == 1 and "480" in published[0].read_text("utf-8")
    assert verify(ws.store).ok
    ws.close()

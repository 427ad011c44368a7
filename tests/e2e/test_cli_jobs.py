"""Issue 17 (2) through the real `masthead` script: a parked job is never silent.

`signal add` says when a job is deferred and why, `run --until-idle` lists what it left parked
or held, a job waiting for a person holds no backpressure slot, and `masthead jobs` /
`masthead signals` show what came in, which jobs it started and what each one waits for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support.harness import (
    KEY_ENV,
    PROJECT_YAML,
    RELEASE_NOTES,
    content_reply,
    make_workspace,
)
from tests.support.openai_server import OpenAIServer

KEY = "sk-test"
HARD_X = """\
name: tallybook
description: Invoicing software.
audience: Freelancers.
voice: {description: Plain.}
max_active_jobs: 1
channels:
  x: {gate: hard}
"""
JOB_KEYS = {"id", "project", "recipe", "signal_id", "priority", "criticality", "status", "deferred_reason",
            "created_at", "finished_at", "task_counts", "waiting"}


def masthead_script() -> str:
    beside = Path(sys.executable).parent / "masthead"
    found = str(beside) if beside.exists() else shutil.which("masthead")
    assert found, "the `masthead` console script is not installed"
    return found


MASTHEAD = masthead_script()


def masthead(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD") and k != KEY_ENV}
    env.update({KEY_ENV: KEY, "PYTHONIOENCODING": "utf-8"})
    result = subprocess.run([MASTHEAD, "--workspace", str(root), *args], env=env, capture_output=True,
                            text=True, encoding="utf-8", timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    if ok:
        assert result.returncode == 0, f"masthead {' '.join(args)}: {result.stderr}"
    return result


def as_json(root: Path, *args: str) -> Any:
    return json.loads(masthead(root, *args, "--json").stdout)


def signal_add(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return masthead(root, "signal", "add", "tallybook", "--kind", "release_notes", "--text", RELEASE_NOTES,
                    "--title", "Tallybook 3.2", *extra)


def job_in(output: str) -> str:
    return next(word for word in output.split() if word.startswith("job-"))


@pytest.fixture
def server():
    with OpenAIServer(api_key=KEY, reply=content_reply) as srv:
        yield srv


def workspace(tmp_path: Path, base_url: str, project_yaml: str) -> Path:
    ws = make_workspace(tmp_path / "ws", base_url, project_yaml=project_yaml)
    ws.close()
    return ws.root


def test_a_job_waiting_for_review_does_not_stall_the_next_signal(tmp_path, server):
    root = workspace(tmp_path, server.base_url, HARD_X)
    first = job_in(signal_add(root).stdout)
    masthead(root, "run", "--until-idle")
    added = signal_add(root, "--priority", "high")
    second = job_in(added.stdout)
    assert added.stdout.splitlines()[-1].startswith(f"started job {second} (release-notes)"), added.stdout
    ran = masthead(root, "run", "--until-idle").stdout
    assert "parked:" not in ran and "held:" not in ran
    # The second job ran (it was not parked behind the first, which only waits for a review).
    pieces = {p["job_id"]: p["status"] for p in as_json(root, "pieces", "list")}
    assert pieces == {first: "in_review", second: "in_review"}

    jobs = as_json(root, "jobs", "list")
    assert [j["id"] for j in jobs] == [second, first]
    for job in jobs:
        assert job.keys() == JOB_KEYS
        assert job["status"] == "running" and job["deferred_reason"] is None
        assert [(w["task_id"], w["status"]) for w in job["waiting"]] == [(f"{job['id']}.gate.x", "waiting")]
        assert job["waiting"][0]["reason"].startswith("waiting for review")
    assert jobs[0]["priority"] == "high" and jobs[1]["priority"] == "normal"
    assert as_json(root, "jobs", "list", "--status", "done") == []

    shown = as_json(root, "jobs", "show", first)
    assert shown["recipe"] == "release-notes" and shown["signal"]["title"] == "Tallybook 3.2"
    tasks = {t["id"]: t for t in shown["tasks"]}
    assert tasks[f"{first}.brief"]["status"] == "done"
    assert tasks[f"{first}.gate.x"]["status"] == "waiting"
    assert tasks[f"{first}.gate.x"]["wait_reason"].startswith("waiting for review")
    assert [(p["channel"], p["status"]) for p in shown["pieces"]] == [("x", "in_review")]
    assert [e["type"] for e in shown["history"]] == ["JobStarted"]
    text = masthead(root, "jobs", "show", first).stdout
    assert f"job {first}  running  recipe release-notes  project tallybook  priority normal" in text
    assert f"waiting: {first}.gate.x: waiting for review" in text
    assert "x          in_review" in text

    signals = as_json(root, "signals", "list", "--project", "tallybook")
    assert [s["jobs"][0]["id"] for s in signals] == [second, first]
    assert {s["kind"] for s in signals} == {"release_notes"} and signals[0]["source"] == "cli:text"
    one = as_json(root, "signals", "show", signals[1]["id"])
    assert one["body"] == RELEASE_NOTES and [j["status"] for j in one["jobs"]] == ["running"]
    listed = masthead(root, "signals", "list").stdout
    assert f"jobs: {second} running" in listed and "Tallybook 3.2" in listed


def test_signal_add_and_run_say_when_a_job_is_parked_and_why(tmp_path, server):
    # A background signal's steps wait for an off-peak window that opens in 3 hours; it keeps
    # the project's one slot meanwhile (it will use a model), so the next job is parked.
    hour = time.gmtime().tm_hour
    closed = f"{(hour + 3) % 24:02d}:00-{(hour + 4) % 24:02d}:00"
    root = workspace(tmp_path, server.base_url,
                     PROJECT_YAML.replace("channels:", f'max_active_jobs: 1\noff_peak: ["{closed}"]\nchannels:'))
    background = job_in(signal_add(root, "--priority", "low").stdout)
    added = signal_add(root)
    parked = job_in(added.stdout)
    assert added.stdout.splitlines()[-1] == (
        f"job {parked} (release-notes) deferred: 1 of 1 active jobs for project tallybook (max_active_jobs 1);"
        " it starts when one finishes or waits for a person (see `masthead jobs list`)")
    third = as_json(root, "signal", "add", "tallybook", "--kind", "release_notes", "--text", "more notes")
    assert third["deferred"] == {third["job_ids"][0]: added.stdout.split(" deferred: ")[1].split(" (see ")[0]}

    ran = masthead(root, "run", "--until-idle").stdout
    assert f"parked: job {parked} (tallybook): 1 of 1 active jobs for project tallybook" in ran
    assert f"held: task {background}.brief off_peak: background work runs in the project's off-peak windows" in ran
    deferred = as_json(root, "jobs", "list", "--status", "deferred", "--project", "tallybook")
    assert [j["id"] for j in deferred] == [third["job_ids"][0], parked]
    assert all(j["deferred_reason"].startswith("1 of 1 active jobs") for j in deferred)
    text = masthead(root, "jobs", "list").stdout
    assert f"{parked}  deferred" in text and "    deferred: 1 of 1 active jobs" in text


@pytest.mark.parametrize(("args", "names", "code"), [
    (("jobs", "show", "job-nope"), ("job 'job-nope' does not exist", "masthead jobs list"), 3),
    (("signals", "show", "sig-nope"), ("signal 'sig-nope' does not exist", "masthead signals list"), 3),
    (("jobs", "list", "--project", "nope"), ("project 'nope' does not exist", "masthead project list"), 3),
    (("signals", "list", "--project", "nope"), ("project 'nope' does not exist", "masthead project list"), 3),
])
def test_unknown_ids_name_the_fix(tmp_path, server, args, names, code):
    root = workspace(tmp_path, server.base_url, HARD_X)
    result = masthead(root, *args, ok=False)
    assert result.returncode == code and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and "fix: " in line
    for name in names:
        assert name in line

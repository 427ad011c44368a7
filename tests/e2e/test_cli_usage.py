"""The happy path through the real `masthead` console script, against the loopback server.

Each test finds its workspace a different way: `MASTHEAD_HOME`, `--workspace`, and the
current folder (or a parent of it).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.harness import (
    GOOD_TEXT,
    KEY_ENV,
    PROJECT_YAML,
    RELEASE_NOTES,
    content_reply,
    write_config,
)
from tests.support.openai_server import OpenAIServer

KEY = "sk-test"
SEVEN_KEYS = {"seq", "stream", "version", "type", "data", "meta", "hash"}
META_KEYS = {"actor", "at", "causation_id", "correlation_id"}
PIECE_KEYS = {"id", "job_id", "project", "channel", "status", "version", "text", "flags"}

CUSTOM_RECIPE = """\
name: quick-post
description: One draft per social channel, checked and gated.
version: 2
trigger:
  signal_kinds: [announcement]
steps:
  - id: brief
    agent: brief
  - id: draft
    agent: draft
    needs: [brief]
    for_each: channel
    channels: [x, bluesky]
  - id: check
    action: check
    needs: [draft]
    for_each: channel
  - id: gate
    action: gate
    needs: [check]
    for_each: channel
"""

EDITED = "Tallybook 3.2 adds bank feeds for 40 more banks.\nThe dashboard loads 35% faster.\n"


def masthead_script() -> str:
    beside = Path(sys.executable).parent / "masthead"
    found = str(beside) if beside.exists() else shutil.which("masthead")
    assert found, "the `masthead` console script is not installed"
    return found


MASTHEAD = masthead_script()


class Cli:
    """Runs `masthead` in a subprocess with one way of finding the workspace."""

    def __init__(self, cwd: Path, *, home: Path | None = None, workspace: Path | None = None):
        self.cwd = cwd
        self.prefix = ["--workspace", str(workspace)] if workspace else []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD") and k != KEY_ENV}
        self.env.update({KEY_ENV: KEY, "PYTHONIOENCODING": "utf-8"})
        if home is not None:
            self.env["MASTHEAD_HOME"] = str(home)

    def __call__(self, *args: str | Path, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [MASTHEAD, *self.prefix, *map(str, args)], cwd=self.cwd, env=self.env,
            capture_output=True, text=True, encoding="utf-8", timeout=120,
        )
        assert "Traceback" not in result.stderr, result.stderr
        if ok:
            assert result.returncode == 0, f"masthead {' '.join(map(str, args))}: {result.stderr}"
        return result

    def json(self, *args: str | Path) -> Any:
        return json.loads(self(*args, "--json").stdout)


def events(root: Path) -> int:
    with sqlite3.connect(root / "masthead.db") as db:
        return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]


@pytest.fixture
def server():
    with OpenAIServer(api_key=KEY, reply=content_reply) as srv:
        yield srv


def set_up(cli: Cli, root: Path, base_url: str) -> None:
    """`masthead init`, point it at the loopback server, apply the tallybook project."""
    cli("init", root)
    write_config(root, base_url)
    (root / "project.yaml").write_text(PROJECT_YAML, "utf-8")
    cli("project", "apply", root / "project.yaml")


def signal_and_run(cli: Cli, root: Path) -> dict[str, Any]:
    notes = root / "notes.md"
    notes.write_text(RELEASE_NOTES, "utf-8")
    added = cli.json("signal", "add", "tallybook", "--kind", "release_notes", "--file", notes,
                     "--title", "Tallybook 3.2")
    ran = cli("run", "--until-idle")
    assert "0 failed" in ran.stdout
    return added


def pieces_of(cli: Cli, job_id: str, *args: str) -> dict[str, dict[str, Any]]:
    return {p["channel"]: p for p in cli.json("pieces", "list", *args) if p["job_id"] == job_id}


def test_init_project_and_recipes_with_masthead_home(tmp_path, server):
    root = tmp_path / "home-ws"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli = Cli(elsewhere, home=root)

    created = cli("init", root)
    assert created.stdout.startswith(f"created {root / 'masthead.toml'}")
    assert (root / "masthead.toml").is_file() and (root / "masthead.db").is_file()
    write_config(root, server.base_url)
    config = (root / "masthead.toml").read_bytes()
    again = cli("init", root)
    assert again.stdout.startswith(f"kept existing {root / 'masthead.toml'}")
    assert (root / "masthead.toml").read_bytes() == config

    assert "no projects yet" in cli("project", "list").stdout
    (elsewhere / "project.yaml").write_text(PROJECT_YAML, "utf-8")
    applied = cli("project", "apply", "project.yaml")  # relative to the cwd, not the workspace
    assert applied.stdout == (
        "applied project tallybook (revision 1); channels: x (auto), linkedin (soft), newsletter (hard)\n"
    )
    before = events(root)
    assert cli("project", "apply", "project.yaml").stdout.startswith("unchanged project tallybook (revision 1)")
    assert events(root) == before

    listed = cli.json("project", "list")
    assert [(p["name"], p["revision"], p["description"]) for p in listed] == [
        ("tallybook", 1, "Invoicing software for freelancers.")
    ]
    shown = yaml.safe_load(cli("project", "show", "tallybook").stdout)
    assert shown["name"] == "tallybook"
    assert {name: c["gate"] for name, c in shown["channels"].items()} == {
        "x": "auto", "linkedin": "soft", "newsletter": "hard"
    }
    assert shown["policies"]["banned_phrases"] == ["game changer"]

    recipes = cli("recipe", "list").stdout
    assert "release-notes" in recipes and "on release_notes" in recipes and "6 steps" in recipes
    recipe = cli("recipe", "show", "release-notes").stdout
    assert recipe.startswith("release-notes v1: ")
    assert "trigger: signal kinds release_notes" in recipe
    for step in ("brief", "subjects", "draft", "check", "gate", "publish"):
        assert f"  {step} " in recipe
    assert "refine with refine (final) x1" in recipe
    as_json = cli.json("recipe", "show", "release-notes")
    assert [s["id"] for s in as_json["steps"]] == ["brief", "subjects", "draft", "check", "gate", "publish"]
    digest = cli("recipe", "show", "weekly-digest").stdout
    assert "trigger: signal kinds schedule\ngathers: the project's signals of the past 7 day(s)" in digest
    assert "  ab         action ab_test per channel [newsletter, email] after check" in digest

    (elsewhere / "quick-post.yaml").write_text(CUSTOM_RECIPE, "utf-8")
    assert cli("recipe", "validate", "quick-post.yaml").stdout == "ok: quick-post v2, 4 steps\n"
    assert "quick-post" not in cli("recipe", "list").stdout  # validate does not install it
    assert sorted(p.name for p in elsewhere.iterdir()) == ["project.yaml", "quick-post.yaml"]


def test_signal_run_review_and_publish_with_workspace_option(tmp_path, server):
    root = tmp_path / "opt-ws"
    cli = Cli(tmp_path, workspace=root)
    set_up(cli, root, server.base_url)

    added = signal_and_run(cli, root)
    assert added["signal_id"].startswith("sig-")
    assert added["recipes"] == ["release-notes"] and len(added["job_ids"]) == 1
    job = added["job_ids"][0]

    listed = cli.json("pieces", "list")
    assert isinstance(listed, list) and len(listed) == 3
    for piece in listed:
        assert piece.keys() >= PIECE_KEYS
        assert piece["job_id"] == job and piece["project"] == "tallybook"
        assert piece["version"] == 1 and piece["flags"] == []
    by_channel = {p["channel"]: p for p in listed}
    assert {c: p["status"] for c, p in by_channel.items()} == {
        "x": "published", "linkedin": "published", "newsletter": "in_review"
    }
    assert by_channel["x"]["text"] == GOOD_TEXT["x"]
    newsletter = by_channel["newsletter"]["id"]

    published = cli("pieces", "list", "--status", "published").stdout
    assert by_channel["x"]["id"] in published and by_channel["linkedin"]["id"] in published
    assert newsletter not in published
    assert {p["id"] for p in cli.json("pieces", "list", "--status", "in_review")} == {newsletter}

    shown = cli("piece", "show", newsletter).stdout
    assert shown.startswith(f"piece {newsletter}  newsletter  in_review  v1  (project tallybook, job {job})")
    assert "subject: Tallybook 3.2: bank feeds for 40 more banks" in shown
    assert f"lineage: signal {added['signal_id']} (release_notes, file:notes.md" in shown
    assert "call openai:gpt-test (draft)" in shown
    detail = cli.json("piece", "show", newsletter)
    assert [v["version"] for v in detail["versions"]] == [1]
    lineage = detail["lineage"]
    assert lineage["signal"]["id"] == added["signal_id"]
    assert lineage["job"] == {"id": job, "recipe": "release-notes", "status": "running"}
    steps = {s["step"]: s for s in lineage["steps"]}
    assert {"brief", "subjects", "draft", "check", "gate"} <= steps.keys()  # publish: after approval
    # A hard-gated piece is drafted by the final tier straight away (progressive refinement).
    assert steps["draft"]["model_calls"][0]["model"] == "gpt-test-large"
    assert lineage["cost_usd"] > 0

    queue = cli("review", "list").stdout
    assert newsletter in queue and "why: " in queue
    queued = cli.json("review", "list")
    assert [q["piece_id"] for q in queued["pieces"]] == [newsletter] and queued["steps"] == []

    approved = cli("review", "approve", newsletter, "--version", "1")
    assert approved.stdout.startswith(f"approved {newsletter} v1;")
    assert not (root / "out" / "newsletter").exists()
    cli("run", "--until-idle")
    files = list((root / "out" / "newsletter").glob("*.md"))
    assert [f.name for f in files] == [f"{newsletter}-v1.md"]
    assert f"idempotency_key: {newsletter}:v1:newsletter" in files[0].read_text("utf-8")
    assert pieces_of(cli, job)["newsletter"]["status"] == "published"
    assert "the review queue is empty" in cli("review", "list").stdout
    decisions = cli.json("piece", "show", newsletter)["lineage"]["decisions"]
    assert [(d["decision"], d["actor"]) for d in decisions if d["decision"] == "approved"] == [
        ("approved", "human:ana")
    ]


def test_edit_reject_log_and_replay_found_from_the_cwd(tmp_path, server):
    root = tmp_path / "cwd-ws"
    root.mkdir()
    (root / "drafts").mkdir()
    cli = Cli(root / "drafts")  # a sub-folder: the workspace is found in a parent
    set_up(cli, root, server.base_url)
    first = signal_and_run(cli, root)["job_ids"][0]
    second = signal_and_run(cli, root)["job_ids"][0]
    edited = pieces_of(cli, first)["newsletter"]["id"]
    rejected = pieces_of(cli, second)["newsletter"]["id"]

    (root / "drafts" / "edit.md").write_text(EDITED, "utf-8")
    saved = cli("review", "edit", edited, "--file", "edit.md", "--as", "bo")
    assert saved.stdout.startswith(f"saved {edited} v2;")
    assert "the hard gate waits for you" in saved.stdout  # the newsletter is hard-gated
    shown = cli("piece", "show", edited).stdout
    assert "v2 human_edit by human:bo" in shown
    drafted = cli.json("piece", "show", edited)["versions"][0]["text"]
    assert f"-{drafted.splitlines()[0]}" in shown
    assert "+The dashboard loads 35% faster." in shown
    detail = cli.json("piece", "show", edited)
    assert [(v["version"], v["kind"]) for v in detail["versions"]] == [(1, "draft"), (2, "human_edit")]
    assert detail["text"] == EDITED.rstrip("\n")
    assert "+Tallybook 3.2 adds bank feeds for 40 more banks." in detail["versions"][1]["diff"]

    assert cli("review", "reject", rejected, "--reason", "off-brand tone").stdout == f"rejected {rejected}\n"
    cli("run", "--until-idle")
    statuses = {p["id"]: p["status"] for p in cli.json("pieces", "list")}
    assert statuses[rejected] == "rejected" and statuses[edited] == "in_review"
    assert not (root / "out" / "newsletter").exists()
    reason = [d["reason"] for d in cli.json("piece", "show", rejected)["lineage"]["decisions"]
              if d["decision"] == "rejected"]
    assert reason == ["off-brand tone"]

    lines = cli("log", "--json").stdout.splitlines()
    log = [json.loads(line) for line in lines]
    assert len(log) == events(root) > 20
    for event in log:
        assert set(event) == SEVEN_KEYS, event
        assert set(event["meta"]) == META_KEYS, event
        assert isinstance(event["data"], dict) and len(event["hash"]) == 64
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert {e["meta"]["actor"] for e in log} >= {"system", "human:bo", "human:ana"}

    stream = f"piece-{edited}"
    own = [json.loads(line) for line in cli("log", "--stream", stream, "--json").stdout.splitlines()]
    assert own == [e for e in log if e["stream"] == stream]
    assert [e["version"] for e in own] == list(range(1, len(own) + 1))
    assert "PieceRevised" in {e["type"] for e in own}
    plain = cli("log", "--stream", stream).stdout.splitlines()
    assert len(plain) == len(own) and all(stream in line for line in plain)

    half = log[len(log) // 2]["seq"]
    since = [json.loads(line) for line in cli("log", "--since", str(half), "--json").stdout.splitlines()]
    assert since == log[half:]

    verified = cli("replay", "--verify")
    assert verified.stdout.startswith(f"ok: {len(log):,} events, hash chain intact")
    assert events(root) == len(log)  # neither log nor replay wrote anything


def test_run_until_idle_exits_non_zero_when_a_task_failed(tmp_path, server):
    root = tmp_path / "ws"
    cli = Cli(tmp_path, workspace=root)
    set_up(cli, root, server.base_url)
    (root / "out").write_text("a file where the publisher expects a folder", "utf-8")
    notes = root / "notes.md"
    notes.write_text(RELEASE_NOTES, "utf-8")
    cli("signal", "add", "tallybook", "--kind", "release_notes", "--file", notes)
    ran = cli("run", "--until-idle", ok=False)
    assert ran.returncode == 1
    [line] = ran.stderr.splitlines()
    assert line.startswith("error: ") and "task(s) failed: " in line and ".publish." in line
    assert "(fix: read why with `masthead log --stream task-" in line
    assert " failed, " in ran.stdout  # the summary still says what happened

"""Issue 17 (5) through the real `masthead` script: a provider is built when a step first needs it.

`masthead run` starts without a provider's key or model file: work that needs no model goes on
(an approved piece publishes), a step that needs the provider waits with the reason (it is not
failed, and no attempt is counted), and it resumes on the first `masthead run` after the
setting is fixed. The missing setting is also one warning line up front.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.harness import (
    KEY_ENV,
    RELEASE_NOTES,
    content_reply,
    make_workspace,
    write_config,
)
from tests.support.openai_server import OpenAIServer

KEY = "sk-test"


def masthead_script() -> str:
    beside = Path(sys.executable).parent / "masthead"
    found = str(beside) if beside.exists() else shutil.which("masthead")
    assert found, "the `masthead` console script is not installed"
    return found


MASTHEAD = masthead_script()


def masthead(root: Path, *args: str, key: str | None = KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD") and k != KEY_ENV}
    env["PYTHONIOENCODING"] = "utf-8"
    if key is not None:
        env[KEY_ENV] = key
    result = subprocess.run([MASTHEAD, "--workspace", str(root), *args], env=env, capture_output=True,
                            text=True, encoding="utf-8", timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, f"masthead {' '.join(args)}: {result.stderr}"
    return result


def rows(root: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    db = sqlite3.connect(root / "masthead.db")
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def statuses(root: Path, job: str) -> dict[str, str]:
    return {r["channel"]: r["status"] for r in rows(root, "SELECT channel, status FROM pieces WHERE job_id = ?", (job,))}


def add_signal(root: Path) -> str:
    added = masthead(root, "signal", "add", "tallybook", "--kind", "release_notes", "--text", RELEASE_NOTES)
    return next(word for word in added.stdout.split() if word.startswith("job-"))


@pytest.fixture
def server():
    with OpenAIServer(api_key=KEY, reply=content_reply) as srv:
        yield srv


@pytest.fixture
def root(tmp_path: Path, server: OpenAIServer) -> Path:
    ws = make_workspace(tmp_path / "ws", server.base_url)
    ws.close()
    return ws.root


def test_run_without_the_key_publishes_an_approved_piece(root, server):
    job = add_signal(root)
    masthead(root, "run", "--until-idle")
    assert statuses(root, job) == {"x": "published", "linkedin": "published", "newsletter": "in_review"}
    newsletter = rows(root, "SELECT id FROM pieces WHERE job_id = ? AND channel = 'newsletter'", (job,))[0]["id"]
    masthead(root, "review", "approve", newsletter)
    calls = len(server.calls)

    ran = masthead(root, "run", "--until-idle", key=None)
    assert ran.stderr.splitlines() == [
        f"warning: [models.draft] provider openai: environment variable {KEY_ENV} is not set, so the openai"
        f" provider has no key (fix: export {KEY_ENV}=... (or change [providers.openai] api_key_env in"
        " masthead.toml), then run again); steps that need it will wait"]
    assert "0 failed" in ran.stdout
    assert statuses(root, job)["newsletter"] == "published"
    assert rows(root, "SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] == "done"
    assert len(server.calls) == calls


def test_a_step_that_needs_the_missing_key_waits_and_resumes_once_it_is_set(root, server):
    job = add_signal(root)
    ran = masthead(root, "run", "--until-idle", key=None)
    assert "0 failed" in ran.stdout
    assert (f"held: task {job}.brief waiting_config: the draft tier cannot call a model: environment variable"
            f" {KEY_ENV} is not set") in ran.stdout
    brief = rows(root, "SELECT status, attempts, wait_reason FROM tasks WHERE id = ?", (f"{job}.brief",))[0]
    assert (brief["status"], brief["attempts"]) == ("waiting_config", 0)
    assert "resumes on the next `masthead run`" in brief["wait_reason"]
    assert rows(root, "SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] == "running"
    assert server.calls == []

    ran = masthead(root, "run", "--until-idle")
    assert ran.stderr == "" and "0 failed" in ran.stdout and "held:" not in ran.stdout
    assert statuses(root, job) == {"x": "published", "linkedin": "published", "newsletter": "in_review"}


def test_a_missing_gguf_file_is_the_same_kind_of_wait(root, server):
    job = add_signal(root)
    config = root / "masthead.toml"
    text = config.read_text().replace('provider = "openai"', 'provider = "local"')
    config.write_text(text + '\n[providers.local]\nmodel_path = "/nope/model.gguf"\n')
    ran = masthead(root, "run", "--until-idle")
    assert "warning: [models.draft] provider local: providers.local.model_path: the local model file" in ran.stderr
    held = next(line for line in ran.stdout.splitlines() if line.startswith("held:"))
    assert held.startswith(f"held: task {job}.brief waiting_config: ")
    assert "/nope/model.gguf does not exist" in held and ".gguf" in held
    assert rows(root, "SELECT attempts FROM tasks WHERE id = ?", (f"{job}.brief",))[0]["attempts"] == 0

    write_config(root, server.base_url)  # back to the loopback endpoint
    ran = masthead(root, "run", "--until-idle")
    assert "0 failed" in ran.stdout
    assert statuses(root, job) == {"x": "published", "linkedin": "published", "newsletter": "in_review"}

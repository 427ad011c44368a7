"""kill -9 at any moment, then `masthead run` again: every job done, nothing paid or published twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply, make_workspace
from tests.support.openai_server import OpenAIServer

from masthead.projections.replay import verify

ALL_AUTO = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {description: Plain.}
channels:
  x: {gate: auto}
  linkedin: {gate: auto}
  newsletter: {gate: auto}
"""

JOBS = 4
CONCURRENCY = 3
MAX_CALLS_PER_STEP = 3  # at most: a memory summary, the agent's own call, a refinement


def slow_reply(body):
    time.sleep(0.08)  # a model that takes a moment, so a kill lands mid-step
    return content_reply(body)


def masthead(ws_root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "masthead.cli.main", "-w", str(ws_root), *args]


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_sigkill_mid_job_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    env = {**os.environ, KEY_ENV: "sk-test"}
    with OpenAIServer(api_key="sk-test", reply=slow_reply) as server:
        ws = make_workspace(tmp_path / "ws", server.base_url, project_yaml=ALL_AUTO)
        jobs = [add_release_notes(ws) for _ in range(JOBS)]
        db = ws.store.path
        kills = 0
        for threshold in (3, 9, 15):  # kill three times, each later in the work
            proc = subprocess.Popen(masthead(ws.root, "run", "--until-idle", "--concurrency", str(CONCURRENCY)),
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.time() + 60
            while time.time() < deadline and proc.poll() is None:
                if count(db, "SELECT COUNT(*) FROM model_calls") >= threshold:
                    break
                time.sleep(0.02)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        assert kills >= 2, "the work finished before the kills; make the model slower"
        finished = subprocess.run(masthead(ws.root, "run", "--until-idle", "--concurrency", str(CONCURRENCY)),
                                  env=env, capture_output=True, text=True, timeout=120)
        assert finished.returncode == 0, finished.stderr

        statuses = {r["id"]: r["status"] for r in ws.store.query("SELECT id, status FROM jobs")}
        assert statuses == {job: "done" for job in jobs}

        # Each recorded step call exists once; the server saw at most one extra step's calls per
        # worker per kill: a step's calls commit with its outcome (one write per step), so the
        # answers of the steps in flight when the process died were never recorded.
        recorded = [e.data["call_key"] for e in ws.store.read() if e.type == "ModelCallRecorded"]
        assert len(recorded) == len(set(recorded))
        chat_calls = [c for c in server.calls if c.path.endswith("/chat/completions")]
        assert len(recorded) <= len(chat_calls) <= len(recorded) + kills * CONCURRENCY * MAX_CALLS_PER_STEP

        # Every piece published exactly once: one delivery event and one file per publication.
        delivered = Counter(e.data["key"] for e in ws.store.read() if e.type == "PublicationDelivered")
        assert len(delivered) == JOBS * 3 and set(delivered.values()) == {1}
        files = sorted(ws.out_dir.rglob("*.md"))
        assert len(files) == JOBS * 3
        assert not list(ws.out_dir.rglob(".publishing-*"))
        assert verify(ws.store).ok
        ws.close()

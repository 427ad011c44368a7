"""Chaos on Postgres: four `masthead worker` processes share 200 jobs; every few seconds one is
killed with SIGKILL and a new one starts, ten times. At the end every job is done, each recorded
model call exists once, every publication was delivered once (one event, one file), and
`masthead replay --verify` passes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV, RELEASE_NOTES, content_reply, write_config
from tests.support.memory import loopback_embedder_toml
from tests.support.openai_server import OpenAIServer

from masthead.app.commands import add_signal, apply_project
from masthead.app.workspace import init_workspace

JOBS = 200
WORKERS = 4
CONCURRENCY = 4
KILLS = 10
MODEL_SECONDS = 0.05

# Every gate automatic, two channels: brief, then draft, check, gate and publish per channel.
ALL_AUTO = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {description: Plain.}
channels:
  x: {gate: auto}
  linkedin: {gate: auto}
"""


def slow_reply(body: dict) -> str:
    time.sleep(MODEL_SECONDS)  # a model that takes a moment, so kills land mid-step
    return content_reply(body)


def masthead(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "masthead.cli.main", "-w", str(root), *args]


def start_worker(root: Path, env: dict[str, str], n: int) -> subprocess.Popen:
    return subprocess.Popen(masthead(root, "worker", "--quiet", "--concurrency", str(CONCURRENCY), "--name", f"w{n}"),
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_workers_killed_at_random_finish_every_job_exactly_once(tmp_path: Path, pg_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv("MASTHEAD_DATABASE_URL", pg_url)
    env = {**os.environ, KEY_ENV: "sk-test", "MASTHEAD_DATABASE_URL": pg_url}
    rng = random.Random(6)
    with OpenAIServer(api_key="sk-test", reply=slow_reply) as server:
        root = tmp_path / "ws"
        root.mkdir()
        write_config(root, server.base_url, lease_seconds=5.0, poll_interval_seconds=0.1)
        with (root / "masthead.toml").open("a") as config:
            config.write("\n" + loopback_embedder_toml(server.base_url, score_floor=0.0, voice_threshold=-1.0))
        ws, _ = init_workspace(root)
        assert ws.store.backend == "postgres"
        (root / "project.yaml").write_text(ALL_AUTO, "utf-8")
        apply_project(ws, root / "project.yaml")
        for n in range(JOBS):
            add_signal(ws, "tallybook", kind="release_notes", body=f"{RELEASE_NOTES}- Fix number {n}.\n",
                       title=f"Tallybook 3.2.{n}", priority="normal", source="chaos")

        started = time.monotonic()
        workers = [start_worker(root, env, n) for n in range(WORKERS)]
        kills = 0
        try:
            while kills < KILLS:
                time.sleep(rng.uniform(1.0, 2.5))
                victim = workers.pop(rng.randrange(len(workers)))
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                kills += 1
                workers.append(start_worker(root, env, WORKERS + kills))
            done_by_kill = ws.store.query("SELECT COUNT(*) AS n FROM jobs WHERE status = 'done'")[0]["n"]
            assert done_by_kill < JOBS, "every job finished before the last kill; make the work longer"
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                if ws.store.query("SELECT COUNT(*) AS n FROM jobs WHERE status <> 'done'")[0]["n"] == 0:
                    break
                time.sleep(0.5)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(30)
        elapsed = time.monotonic() - started

        statuses = Counter(r["status"] for r in ws.store.query("SELECT status FROM jobs"))
        assert statuses == {"done": JOBS}, f"after {elapsed:.0f} s: {statuses}"
        events = list(ws.store.read())

        # Each recorded model call exists once, and every step that succeeded used exactly the
        # calls it recorded: nothing was recorded (paid) twice.
        recorded = Counter(e.data["call_key"] for e in events if e.type == "ModelCallRecorded")
        assert recorded and set(recorded.values()) == {1}
        used = Counter(key for e in events if e.type == "TaskSucceeded" for key in e.data["output"].get("model_calls", []))
        assert used and set(used.values()) == {1} and set(used) <= set(recorded)
        # A worker killed after its step wrote a memory summary (the summary is kept, and the retry
        # uses it) but before the step's outcome leaves that summary's calls listed by no step:
        # only ever on a task that was claimed again after a kill, and no more than were in flight.
        claims = Counter(e.data["id"] for e in events if e.type == "TaskClaimed")
        orphaned = [e.data for e in events if e.type == "ModelCallRecorded" and e.data["call_key"] not in used]
        assert all(claims[d["task_id"]] > 1 for d in orphaned), orphaned
        assert len(orphaned) <= kills * CONCURRENCY * 3
        chats = [c for c in server.calls if c.path.endswith("/chat/completions")]
        # Only the answers of the steps in flight at a kill are paid again: a step's calls (a memory
        # summary, its agent's, at most 3) commit with its outcome, one step per worker thread.
        assert len(recorded) <= len(chats) <= len(recorded) + kills * CONCURRENCY * 3

        # Every publication delivered once: one event and one file per key.
        delivered = Counter(e.data["key"] for e in events if e.type == "PublicationDelivered")
        assert len(delivered) == JOBS * 2 and set(delivered.values()) == {1}
        files = sorted(ws.out_dir.rglob("*.md"))
        assert len(files) == JOBS * 2
        assert not list(ws.out_dir.rglob(".publishing-*"))

        # No task is left with a lease, and the killed workers' leases were taken over.
        assert ws.store.query("SELECT COUNT(*) AS n FROM tasks WHERE lease_owner IS NOT NULL")[0]["n"] == 0
        reclaimed = Counter(e.data["id"] for e in events if e.type == "TaskClaimed")
        assert max(reclaimed.values()) >= 2

        verified = subprocess.run(masthead(root, "replay", "--verify"), env=env, capture_output=True, text=True,
                                  timeout=120)
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.startswith("ok: ")
        listed = subprocess.run(masthead(root, "workers", "--json"), env=env, capture_output=True, text=True,
                                timeout=60)
        assert json.loads(listed.stdout) == []  # stopped workers leave the registry
        print(f"chaos: {JOBS} jobs, {kills} kills, {len(recorded)} model calls, {len(chats)} requests, "
              f"{elapsed:.0f} s")
        ws.close()

"""Scale-out through the CLI: `masthead migrate` on both backends (from an empty and from an old
schema), a workspace on a Postgres URL, `masthead worker` and `masthead workers`, snapshots and
`masthead replay --rebuild`, and memory vectors stored in Postgres."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tests.support.harness import (
    KEY_ENV,
    add_release_notes,
    content_reply,
    make_workspace,
    write_config,
)
from tests.support.memory import loopback_embedder_toml
from tests.support.openai_server import OpenAIServer
from tests.support.postgres import empty_database

from masthead.app.workspace import init_workspace
from masthead.events.migrate import migrations_for
from masthead.events.open import open_store
from masthead.events.postgres_store import PostgresEventStore
from masthead.events.sqlite_store import SqliteEventStore, _split_sql


def masthead(root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "masthead.cli.main", "-w", str(root), *args],
                          env=env or dict(os.environ), capture_output=True, text=True, timeout=timeout)


def config_only(root: Path, database: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "masthead.toml").write_text(f'[workspace]\ndatabase = "{database}"\n', "utf-8")
    return root


# -- migrations --------------------------------------------------------------------------------
def test_migrate_applies_every_migration_to_an_empty_postgres_database(tmp_path: Path):
    names = [m.name for m in migrations_for("postgres")]
    with empty_database() as url:
        root = config_only(tmp_path / "ws", url)
        check = masthead(root, "migrate", "--check")
        assert check.returncode == 1
        assert [line.split()[1] for line in check.stdout.splitlines() if line.startswith("pending ")] == names
        applied = masthead(root, "migrate")
        assert applied.returncode == 0, applied.stderr
        assert [line.split()[1] for line in applied.stdout.splitlines() if line.startswith("applied ")] == names
        assert applied.stdout.strip().endswith(f"{len(names)} migration(s) applied")
        again = masthead(root, "migrate")
        assert again.stdout.strip().endswith("up to date") and "applied " not in again.stdout
        assert masthead(root, "migrate", "--check").returncode == 0


def test_an_old_postgres_schema_is_upgraded_in_place(tmp_path: Path):
    with empty_database() as url:
        old = PostgresEventStore(url, migrate=False)
        with old.transaction():
            pass  # a connection that works, no schema yet
        first_two = migrations_for("postgres")[:2]
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            for migration in first_two:
                conn.execute(migration.sql.encode())
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (migration.number, migration.name))
            conn.execute("""INSERT INTO events VALUES (1, 's', 1, 'Noted', '{}', '{"actor":"system","at":"x"}', 'h')""")
        old.close()
        root = config_only(tmp_path / "ws", url)
        upgraded = masthead(root, "migrate")
        assert upgraded.returncode == 0, upgraded.stderr
        assert [line.split()[1] for line in upgraded.stdout.splitlines() if line.startswith("applied ")] == \
            [m.name for m in migrations_for("postgres")[2:]]
        store = open_store(url)
        assert store.query("SELECT COUNT(*) AS n FROM events") == [{"n": 1}]
        assert store.pending_migrations() == []
        store.close()


def test_task_outputs_move_to_the_log_on_an_old_postgres_schema():
    """Migration 0010 on Postgres: tasks rows that hold their output get their TaskSucceeded
    event's seq and the halt flag instead (the SQLite twin is tested in test_event_store)."""
    import psycopg

    with empty_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            for migration in [m for m in migrations_for("postgres") if m.number <= 9]:
                conn.execute(migration.sql.encode())
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (migration.number, migration.name))
            outputs = {"j.a": '{"agent":"brief","output":{"text":"hi"}}', "j.b": '{"halt":true,"passed":false}'}
            for seq, (task, output) in enumerate(outputs.items(), start=1):
                conn.execute("INSERT INTO events VALUES (%s, %s, 2, 'TaskSucceeded', %s, '{}', 'h')",
                             (seq, f"task-{task}", json.dumps({"id": task, "output": json.loads(output)})))
                conn.execute("INSERT INTO tasks (id, job_id, step, kind, status, priority, run_after, attempts,"
                             " max_attempts, idempotency_key, output, version, created_seq, updated_at)"
                             " VALUES (%s, 'j', 's', 'agent', 'done', 5, 0, 1, 1, %s, %s, 2, %s, 'x')",
                             (task, task, output, seq))
        store = PostgresEventStore(url)
        rows = {r["id"]: r for r in store.query("SELECT * FROM tasks")}
        assert "output" not in rows["j.a"]
        assert [(rows[t]["output_seq"], rows[t]["halted"]) for t in ("j.a", "j.b")] == [(1, 0), (2, 1)]
        store.close()


def test_migrate_on_sqlite_upgrades_an_old_file(tmp_path: Path):
    import sqlite3

    root = config_only(tmp_path / "ws", "masthead.db")
    conn = sqlite3.connect(root / "masthead.db")
    conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    first = migrations_for("sqlite")[0]
    for statement in _split_sql(first.sql):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (1, ?)", (first.name,))
    conn.commit()
    conn.close()
    upgraded = masthead(root, "migrate")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.count("applied ") == len(migrations_for("sqlite")) - 1
    store = SqliteEventStore(root / "masthead.db", migrate=False)
    assert store.pending_migrations() == []
    store.close()


def test_migrate_without_a_database_says_how_to_make_one(tmp_path: Path):
    root = config_only(tmp_path / "ws", "masthead.db")
    result = masthead(root, "migrate")
    assert result.returncode == 2 and "run `masthead init`" in result.stderr


def test_an_unreachable_postgres_is_one_clear_error(tmp_path: Path):
    root = config_only(tmp_path / "ws", "postgresql://nobody:secret@127.0.0.1:1/masthead")
    result = masthead(root, "log")
    assert result.returncode == 2
    assert "cannot connect to Postgres at postgresql://nobody:***@127.0.0.1:1/masthead" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


# -- a workspace on Postgres, workers as processes --------------------------------------------
@pytest.fixture
def server():
    with OpenAIServer(api_key="sk-test", reply=content_reply) as srv:
        yield srv


def test_init_on_a_postgres_url_then_workers_run_the_jobs(tmp_path: Path, pg_url: str, server: OpenAIServer,
                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv("MASTHEAD_DATABASE_URL", pg_url)
    env = {**os.environ}
    ws = make_workspace(tmp_path / "ws", server.base_url, lease_seconds=6.0)
    with (ws.root / "masthead.toml").open("a") as config:
        config.write("\n" + loopback_embedder_toml(server.base_url, score_floor=0.0, voice_threshold=-1.0))
    assert ws.store.backend == "postgres"
    jobs = [add_release_notes(ws) for _ in range(3)]
    worker = subprocess.Popen([sys.executable, "-m", "masthead.cli.main", "-w", str(ws.root), "worker",
                               "--name", "box-a", "--concurrency", "2"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 90
        listed: list = []
        while time.time() < deadline:
            listed = json.loads(masthead(ws.root, "workers", "--json", env=env).stdout or "[]")
            if listed:
                break
            time.sleep(0.2)
        assert [w["name"] for w in listed] == ["box-a"] and listed[0]["concurrency"] == 2
        while time.time() < deadline:
            left = ws.store.query("SELECT COUNT(*) AS n FROM tasks WHERE status IN ('queued', 'running')")[0]["n"]
            if left == 0:
                break
            time.sleep(0.3)
        text = masthead(ws.root, "workers", env=env).stdout
        assert text.startswith("box-a  pid ") and "holds 0" in text
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "worker box-a: 2 at a time on postgresql://" in out and "stopped after" in out
    assert masthead(ws.root, "workers", env=env).stdout.strip() == "no live workers"
    statuses = {r["id"]: r["status"] for r in ws.store.query("SELECT id, status FROM jobs")}
    assert set(statuses) == set(jobs)
    published = ws.store.query("SELECT COUNT(*) AS n FROM publications WHERE status = 'delivered'")[0]["n"]
    assert published == 2 * len(jobs)  # x and linkedin; the newsletter waits for a human (hard gate)
    verified = masthead(ws.root, "replay", "--verify", env=env)
    assert verified.returncode == 0 and verified.stdout.startswith("ok: "), verified.stderr
    ws.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_snapshot_then_rebuild_through_the_cli(tmp_path: Path, server: OpenAIServer, backend: str, request,
                                               monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    if backend == "postgres":
        monkeypatch.setenv("MASTHEAD_DATABASE_URL", request.getfixturevalue("pg_url"))
    env = {**os.environ}
    ws = make_workspace(tmp_path / "ws", server.base_url)
    add_release_notes(ws)
    ws.runner(concurrency=2).run(until_idle=True)
    taken = masthead(ws.root, "snapshot", env=env)
    assert taken.returncode == 0 and taken.stdout.startswith("snapshot at seq "), taken.stderr
    seq = int(taken.stdout.split()[3].rstrip(":"))
    add_release_notes(ws)  # a tail after the snapshot
    ws.runner(concurrency=2).run(until_idle=True)
    listed = json.loads(masthead(ws.root, "snapshot", "--list", "--json", env=env).stdout)
    assert [s["seq"] for s in listed] == [seq]
    rebuilt = masthead(ws.root, "replay", "--rebuild", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.startswith(f"rebuilt the read models from snapshot at seq {seq} (")
    from_zero = masthead(ws.root, "replay", "--rebuild", "--from-zero", env=env)
    assert from_zero.stdout.startswith("rebuilt the read models from zero and ")
    assert masthead(ws.root, "replay", "--verify", env=env).returncode == 0
    both = masthead(ws.root, "replay", "--verify", "--rebuild", env=env)
    assert both.returncode == 2 and "exactly one of --verify and --rebuild" in both.stderr
    ws.close()


def test_a_worker_takes_snapshots_as_the_log_grows(tmp_path: Path, server: OpenAIServer,
                                                   monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    ws = make_workspace(tmp_path / "ws", server.base_url)
    with (ws.root / "masthead.toml").open("a") as config:
        config.write("\n[snapshots]\nevery_events = 20\nkeep = 3\n")
    ws.close()
    from masthead.app.workspace import open_workspace

    ws = open_workspace(str(ws.root))
    add_release_notes(ws)
    ws.runner(concurrency=1).run(until_idle=True)
    deadline = time.time() + 10
    while time.time() < deadline and not ws.store.query("SELECT seq FROM snapshots"):
        time.sleep(0.1)  # snapshots are taken in the background
    seqs = [r["seq"] for r in ws.store.query("SELECT seq FROM snapshots ORDER BY seq")]
    assert seqs and len(seqs) <= 3 and all(s >= 20 for s in seqs)
    ws.close()


# -- vectors ----------------------------------------------------------------------------------------
def test_memory_vectors_live_in_postgres_and_feed_the_index(tmp_path: Path, pg_url: str, server: OpenAIServer,
                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv("MASTHEAD_DATABASE_URL", pg_url)
    root = tmp_path / "ws"
    root.mkdir()
    write_config(root, server.base_url)
    with (root / "masthead.toml").open("a") as config:
        config.write("\n" + loopback_embedder_toml(server.base_url, score_floor=0.0))
    ws, _ = init_workspace(root)
    added = ws.memory.add("Tallybook exports invoices as PDF.", kind="fact", tier="global", project=None,
                          source="human:ana", actor="human:ana")
    rows = ws.store.query("SELECT item_id, dim, vector, masthead_float4_array(vector) AS numbers FROM memory_vectors")
    assert [r["item_id"] for r in rows] == [added.item_id]
    stored = np.frombuffer(rows[0]["vector"], dtype="<f4")
    assert rows[0]["dim"] == len(stored) == len(rows[0]["numbers"])
    assert np.allclose(np.array(rows[0]["numbers"], dtype=np.float32), stored)
    # A second process (a fresh index) builds its index from the vectors in Postgres.
    other = open_store(pg_url)
    from masthead.memory.vectors import VectorCache

    assert dict(VectorCache(other).load(ws.memory.model_id)).keys() == {added.item_id}
    other.close()
    ranking = ws.memory.rank("PDF invoices", project=None)
    assert [c.item.id for c in ranking.ranked] == [added.item_id]
    ws.close()

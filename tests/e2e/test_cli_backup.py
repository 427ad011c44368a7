"""`masthead backup` and `masthead restore` through the CLI: a consistent backup while another
process writes, restores onto SQLite and Postgres verified, a backup of Postgres, and refusals
(a newer schema, a damaged file, a non-empty workspace, bad folders) that write nothing."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from tests.e2e.test_cli_history import assert_refused, cli_env, event_count, init, masthead
from tests.support.postgres import fresh_database

from masthead.app.workspace import open_workspace
from masthead.events.migrate import migrations_for
from masthead.events.model import Meta, NewEvent, utc_now
from masthead.events.open import open_store
from masthead.projections.replay import verify_chain


def fill(root: Path, count: int, body_size: int = 200) -> None:
    ws = open_workspace(str(root))
    try:
        for start in range(0, count, 1_000):
            ws.store.append([NewEvent(f"note-{n}", "NoteTaken", {"n": n, "body": "y" * body_size}, 0)
                             for n in range(start, start + 1_000)], Meta("system", utc_now()))
    finally:
        ws.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    init(root)
    fill(root, 3_000)
    return root


def test_backup_while_another_process_writes_is_consistent_and_restores(tmp_path: Path):
    root = tmp_path / "busy"
    init(root)
    fill(root, 20_000, body_size=1_500)
    stop = threading.Event()
    writer = open_store(root / "masthead.db")  # a store of its own: another process, as far as SQLite knows
    written = [0]

    def write() -> None:
        while not stop.is_set():
            writer.append([NewEvent(f"busy-{written[0]}", "NoteTaken", {"n": written[0]}, 0)],
                          Meta("system", utc_now()))
            written[0] += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        result = masthead("-w", str(root), "backup", str(tmp_path / "backup"))
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert result.returncode == 0, result.stderr
    assert written[0] > 0
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["kind"] == "sqlite" and manifest["last_seq"] >= 20_000
    assert not (tmp_path / "backup" / "masthead.db-wal").exists()
    init(tmp_path / "restored")
    restored = masthead("-w", str(tmp_path / "restored"), "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    assert "ok: " in restored.stdout
    store = open_store(tmp_path / "restored" / "masthead.db")
    try:
        assert store.head() == (manifest["last_seq"], manifest["head_hash"])
        assert verify_chain(store) == (manifest["last_seq"], None)
    finally:
        store.close()


def test_a_sqlite_backup_restores_into_postgres(workspace: Path, tmp_path: Path, pg_url: str):
    assert masthead("-w", str(workspace), "backup", str(tmp_path / "b")).returncode == 0
    env = cli_env(MASTHEAD_DATABASE_URL=pg_url)
    init(tmp_path / "pg", env)
    restored = masthead("-w", str(tmp_path / "pg"), "restore", str(tmp_path / "b"), env=env)
    assert restored.returncode == 0, restored.stderr
    source, target = open_store(workspace / "masthead.db"), open_store(pg_url)
    try:
        assert list(target.read()) == list(source.read())
    finally:
        source.close()
        target.close()


def test_a_postgres_backup_is_an_export_and_restores_into_sqlite(workspace: Path, tmp_path: Path, pg_url: str):
    assert masthead("-w", str(workspace), "export", "--out", str(tmp_path / "h.mhx")).returncode == 0
    env = cli_env(MASTHEAD_DATABASE_URL=pg_url)
    init(tmp_path / "pg", env)
    assert masthead("-w", str(tmp_path / "pg"), "import", str(tmp_path / "h.mhx"), env=env).returncode == 0
    backed = masthead("-w", str(tmp_path / "pg"), "backup", str(tmp_path / "pgb"), env=env)
    assert backed.returncode == 0, backed.stderr
    assert json.loads((tmp_path / "pgb" / "manifest.json").read_text())["kind"] == "export"
    assert "postgresql" not in (tmp_path / "pgb" / "manifest.json").read_text()
    init(tmp_path / "back")
    assert masthead("-w", str(tmp_path / "back"), "restore", str(tmp_path / "pgb")).returncode == 0
    assert event_count(tmp_path / "back" / "masthead.db") == 3_000


def reseal(folder: Path) -> None:
    """Make the manifest's SHA-256 match a changed file, so only the deeper checks can tell."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"] = hashlib.sha256((folder / manifest["file"]).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_backup_from_a_newer_schema_is_refused(workspace: Path, tmp_path: Path):
    assert masthead("-w", str(workspace), "backup", str(tmp_path / "b")).returncode == 0
    newest = max(m.number for m in migrations_for("sqlite"))
    conn = sqlite3.connect(tmp_path / "b" / "masthead.db")
    conn.execute("INSERT INTO schema_migrations (number, name) VALUES (?, 'from_the_future.sql')", (newest + 1,))
    conn.commit()
    conn.close()
    reseal(tmp_path / "b")
    init(tmp_path / "target")
    assert_refused(masthead("-w", str(tmp_path / "target"), "restore", str(tmp_path / "b")),
                   f"migration {newest + 1}, newer than this Masthead's ({newest})", "upgrade Masthead")
    assert event_count(tmp_path / "target" / "masthead.db") == 0


def test_damaged_backups_are_refused_and_nothing_written(workspace: Path, tmp_path: Path):
    assert masthead("-w", str(workspace), "backup", str(tmp_path / "b")).returncode == 0
    init(tmp_path / "target")
    target = str(tmp_path / "target")
    # A changed event, with the file's SHA-256 made to match: the chain tells.
    conn = sqlite3.connect(tmp_path / "b" / "masthead.db")
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("UPDATE events SET data = replace(data, '\"n\":7}', '\"n\":8}') WHERE seq = 8")
    conn.commit()
    conn.close()
    assert_refused(masthead("-w", target, "restore", str(tmp_path / "b")), "SHA-256")
    reseal(tmp_path / "b")
    assert_refused(masthead("-w", target, "restore", str(tmp_path / "b")), "hash chain broken at seq 8")
    assert event_count(tmp_path / "target" / "masthead.db") == 0


def test_restore_and_backup_refuse_bad_folders(workspace: Path, tmp_path: Path):
    assert masthead("-w", str(workspace), "backup", str(tmp_path / "b")).returncode == 0
    assert_refused(masthead("-w", str(workspace), "backup", str(tmp_path / "b")), "not an empty folder")
    assert_refused(masthead("-w", str(workspace), "backup", str(tmp_path / "no" / "b")), "no folder")
    assert_refused(masthead("-w", str(workspace), "restore", str(tmp_path / "b")), "not empty")
    init(tmp_path / "target")
    assert_refused(masthead("-w", str(tmp_path / "target"), "restore", str(tmp_path / "none")), "no backup in")
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "manifest.json").write_text('{"format": "something-else"}')
    assert_refused(masthead("-w", str(tmp_path / "target"), "restore", str(tmp_path / "odd")), "not a backup manifest")
    assert event_count(tmp_path / "target" / "masthead.db") == 0
    assert not list(tmp_path.glob("*.partial-*"))


def test_a_backup_keeps_the_keys_and_credentials_the_log_needs_on_either_backend(tmp_path: Path, pg_url: str):
    # What lives outside the log (personal-data keys, token hashes) must survive a backup and a
    # restore onto either backend: without it every sealed address reads "[forgotten]" and nobody
    # can log in. A Postgres backup is an export, which does not carry them, so it keeps them beside it.
    from masthead.app.people import user_of_token
    from masthead.app.personal import open_sealed

    def check(store_url: str | Path) -> None:
        store = open_store(store_url)
        try:
            [user] = store.query("SELECT email FROM users WHERE name = 'ana'")
            assert open_sealed(store, user["email"]) == "ana@client.example"
            found = user_of_token(store, token)
            assert found is not None and found.name == "ana"
        finally:
            store.close()

    env = cli_env(MASTHEAD_DATABASE_URL=pg_url)
    init(tmp_path / "pg", env)
    assert masthead("-w", str(tmp_path / "pg"), "user", "add", "ana", "--role", "editor",
                    "--email", "ana@client.example", env=env).returncode == 0
    issued = masthead("-w", str(tmp_path / "pg"), "token", "--user", "ana", env=env)
    assert issued.returncode == 0, issued.stderr
    token = next(word for word in issued.stdout.split() if word.startswith("mhu_"))
    assert masthead("-w", str(tmp_path / "pg"), "backup", str(tmp_path / "b"), env=env).returncode == 0
    kept = tmp_path / "b" / "outside_log.json"
    assert kept.stat().st_mode & 0o077 == 0  # the owner's alone: it holds keys
    assert "ana@client.example" not in kept.read_text() and token not in kept.read_text()

    init(tmp_path / "lite")
    restored = masthead("-w", str(tmp_path / "lite"), "restore", str(tmp_path / "b"))
    assert restored.returncode == 0, restored.stderr
    check(tmp_path / "lite" / "masthead.db")

    # And a SQLite backup restored into Postgres brings them from its file.
    assert masthead("-w", str(tmp_path / "lite"), "backup", str(tmp_path / "b2")).returncode == 0
    with fresh_database() as other:
        other_env = cli_env(MASTHEAD_DATABASE_URL=other)
        init(tmp_path / "pg2", other_env)
        again = masthead("-w", str(tmp_path / "pg2"), "restore", str(tmp_path / "b2"), env=other_env)
        assert again.returncode == 0, again.stderr
        check(other)


def test_a_tampered_kept_file_is_refused_before_anything_is_written(tmp_path: Path, pg_url: str):
    env = cli_env(MASTHEAD_DATABASE_URL=pg_url)
    init(tmp_path / "pg", env)
    assert masthead("-w", str(tmp_path / "pg"), "user", "add", "ana", "--role", "editor", env=env).returncode == 0
    assert masthead("-w", str(tmp_path / "pg"), "backup", str(tmp_path / "b"), env=env).returncode == 0
    kept = tmp_path / "b" / "outside_log.json"
    kept.write_text(kept.read_text() + " ")
    init(tmp_path / "lite")
    assert_refused(masthead("-w", str(tmp_path / "lite"), "restore", str(tmp_path / "b")), "outside_log.json")
    assert event_count(tmp_path / "lite" / "masthead.db") == 0

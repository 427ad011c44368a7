"""`masthead export` and `masthead import` through the CLI in a subprocess: round trips between
workspaces (SQLite -> SQLite, SQLite -> Postgres) with the same log and the same read models,
tampered files refused with nothing written, a kill -9 in the middle of an import, bad input."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply, make_workspace
from tests.support.openai_server import OpenAIServer

from masthead.app.workspace import open_workspace
from masthead.events.model import GENESIS_HASH, Meta, NewEvent, utc_now
from masthead.events.open import open_store
from masthead.projections.replay import compare_tables, verify

ROOT = Path(__file__).resolve().parents[2]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD") and k != KEY_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def masthead(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "masthead.cli.main", *args], env=env or cli_env(),
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: ") and "fix:" in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def event_count(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace that ran two signals through the whole pipeline (jobs, tasks, model calls,
    pieces, checks, reviews, publications): most read models have rows."""
    root = tmp_path_factory.mktemp("history") / "source"
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, "sk-test")
        ws = make_workspace(root, server.base_url)
        try:
            add_release_notes(ws)
            add_release_notes(ws, body="## 3.3\n- Exports to CSV now keep the column order\n- 40% faster sync")
            ws.runner(concurrency=2).run(until_idle=True)
        finally:
            ws.close()
    return root


def init(root: Path, env: dict[str, str] | None = None) -> None:
    assert masthead("init", str(root), env=env).returncode == 0


def test_sqlite_to_sqlite_round_trip_has_the_same_log_and_read_models(source: Path, tmp_path: Path):
    out = tmp_path / "history.mhx"
    exported = masthead("-w", str(source), "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert not list(tmp_path.glob("*.partial"))
    init(tmp_path / "copy")
    imported = masthead("-w", str(tmp_path / "copy"), "import", str(out))
    assert imported.returncode == 0, imported.stderr
    assert "ok: " in imported.stdout
    a, b = open_store(source / "masthead.db"), open_store(tmp_path / "copy" / "masthead.db")
    try:
        assert list(b.read()) == list(a.read())
        tables, rows, problem = compare_tables(a, b)
        assert problem is None and rows > 20, (tables, rows, problem)
        # The secondary indexes dropped for the load are all back, as they were defined.
        indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        assert b.query(indexes) == a.query(indexes) and len(a.query(indexes)) > 10
    finally:
        a.close()
        b.close()


def test_sqlite_to_postgres_round_trip_then_append_since(source: Path, tmp_path: Path, pg_url: str):
    full = tmp_path / "history.mhx"
    assert masthead("-w", str(source), "export", "--out", str(full)).returncode == 0
    pg_env = cli_env(MASTHEAD_DATABASE_URL=pg_url)
    init(tmp_path / "pg", pg_env)
    imported = masthead("-w", str(tmp_path / "pg"), "import", str(full), env=pg_env)
    assert imported.returncode == 0, imported.stderr
    a, b = open_store(source / "masthead.db"), open_store(pg_url)
    try:
        assert list(b.read()) == list(a.read())
        assert verify(b).ok
        for table in ("pieces", "tasks", "jobs", "signals", "model_calls"):
            assert b.query(f"SELECT COUNT(*) AS n FROM {table}") == a.query(f"SELECT COUNT(*) AS n FROM {table}")
        # The source goes on; an export of what came after moves over with --append.
        head = a.head()[0]
        a.append([NewEvent("note-1", "NoteTaken", {"text": "after the move"}, 0)], Meta("system", utc_now()))
        later = tmp_path / "later.mhx"
        assert masthead("-w", str(source), "export", "--since", str(head), "--out", str(later)).returncode == 0
        assert_refused(masthead("-w", str(tmp_path / "pg"), "import", str(later), env=pg_env), "not empty")
        appended = masthead("-w", str(tmp_path / "pg"), "import", "--append", str(later), env=pg_env)
        assert appended.returncode == 0, appended.stderr
        assert list(b.read()) == list(a.read())
    finally:
        a.close()
        b.close()


def rewrite(path: Path, change_lines, *, fix_digest: bool) -> None:
    """Change the payload's lines; with fix_digest, also make the manifest's SHA-256 and counts
    match, so only the hash chain can tell."""
    with tarfile.open(path) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())
        lines = gzip.decompress(archive.extractfile("events.jsonl.gz").read()).decode().splitlines(True)
    lines = change_lines(lines)
    payload = gzip.compress("".join(lines).encode())
    if fix_digest:
        manifest["payload_sha256"] = hashlib.sha256(payload).hexdigest()
        manifest["event_count"] = len(lines)
    with tarfile.open(path, "w") as archive:
        for name, body in (("manifest.json", json.dumps(manifest).encode()), ("events.jsonl.gz", payload)):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))


def edit_event(lines: list[str]) -> list[str]:
    event = json.loads(lines[3])
    event["meta"]["actor"] = "human:mallory"
    lines[3] = json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    return lines


@pytest.mark.parametrize(("change", "fix_digest", "words"), [
    (edit_event, True, "hash chain broken at seq 4"),
    (edit_event, False, "hash chain broken at seq 4"),  # the chain is checked as the lines go by
    (lambda lines: lines[:2] + lines[3:], True, "event 3 has seq 4, expected 3"),
    (lambda lines: lines[:-1], True, "the manifest says"),
    (lambda lines: [*lines[:-1], "not json\n"], True, "is not an event"),
], ids=["edited-event", "edited-event-stale-digest", "deleted-event", "truncated", "garbage-line"])
def test_a_changed_file_is_refused_and_nothing_is_written(source: Path, tmp_path: Path, change, fix_digest, words):
    out = tmp_path / "history.mhx"
    assert masthead("-w", str(source), "export", "--out", str(out)).returncode == 0
    rewrite(out, change, fix_digest=fix_digest)
    init(tmp_path / "copy")
    assert_refused(masthead("-w", str(tmp_path / "copy"), "import", str(out)), words)
    assert event_count(tmp_path / "copy" / "masthead.db") == 0


def test_a_changed_payload_with_the_old_digest_is_refused(source: Path, tmp_path: Path):
    out = tmp_path / "history.mhx"
    assert masthead("-w", str(source), "export", "--out", str(out)).returncode == 0
    rewrite(out, lambda lines: lines, fix_digest=False)  # same events, recompressed: other bytes
    init(tmp_path / "copy")
    assert_refused(masthead("-w", str(tmp_path / "copy"), "import", str(out)), "SHA-256")
    assert event_count(tmp_path / "copy" / "masthead.db") == 0


def test_bad_input_is_refused_without_a_traceback(source: Path, tmp_path: Path):
    init(tmp_path / "copy")
    copy = str(tmp_path / "copy")
    (tmp_path / "notes.txt").write_text("hello", "utf-8")
    assert_refused(masthead("-w", copy, "import", str(tmp_path / "missing.mhx")), "no export file")
    assert_refused(masthead("-w", copy, "import", str(tmp_path / "notes.txt")), "not a Masthead export")
    assert_refused(masthead("-w", str(source), "export", "--since", "-1", "--out", str(tmp_path / "x")), "--since")
    assert_refused(masthead("-w", str(source), "export", "--since", "999999", "--out", str(tmp_path / "x")),
                   "past the end")
    assert_refused(masthead("-w", str(source), "export", "--out", str(tmp_path)), "is a folder")
    assert_refused(masthead("-w", str(source), "export", "--out", str(tmp_path / "no" / "x")), "no folder")
    assert event_count(tmp_path / "copy" / "masthead.db") == 0
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(os.environ.get("MASTHEAD_TEST_BACKEND") == "postgres",
                    reason="watches the SQLite file's write-ahead log of a workspace the CLI makes")
def test_kill_9_during_an_export_or_an_import_leaves_nothing_half_done(tmp_path: Path):
    init(tmp_path / "big")
    notes(tmp_path / "big", 40_000, body="x" * 1500)
    out = tmp_path / "big.mhx"
    # A kill -9 during an export leaves no file under the name asked for (only its `.partial`s).
    exporting = subprocess.Popen([sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path / "big"),
                                  "export", "--out", str(out)], env=cli_env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
    partial = out.with_name(out.name + ".events.partial")
    while not partial.exists():
        assert exporting.poll() is None, exporting.communicate()
        time.sleep(0.002)
    os.kill(exporting.pid, signal.SIGKILL)
    exporting.wait()
    assert not out.exists()
    assert masthead("-w", str(tmp_path / "big"), "export", "--out", str(out)).returncode == 0
    init(tmp_path / "target")
    db = tmp_path / "target" / "masthead.db"
    wal = db.with_name("masthead.db-wal")
    start_size = wal.stat().st_size if wal.exists() else 0
    importing = subprocess.Popen([sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path / "target"),
                                  "import", str(out)], env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    # The insert phase has begun once uncommitted pages spill into the write-ahead log.
    while (wal.stat().st_size if wal.exists() else 0) < start_size + 8_000_000:
        assert importing.poll() is None, importing.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(importing.pid, signal.SIGKILL)
    importing.wait()
    assert event_count(db) == 0
    ws = open_workspace(str(tmp_path / "target"))
    try:
        assert ws.store.head()[0] == 0
        assert ws.store.query("SELECT COUNT(*) AS n FROM tasks")[0]["n"] == 0
    finally:
        ws.close()


def notes(root: Path, count: int, body: str = "") -> None:
    """`count` NoteTaken events in the SQLite file of the workspace at `root` (the one the CLI
    uses there), 2,000 an append."""
    store = open_store(root / "masthead.db")
    try:
        for start in range(0, count, 2_000):
            with store.transaction() as tx:
                tx.append([NewEvent(f"note-{n}", "NoteTaken", {"n": n, "body": body}, 0)
                           for n in range(start, min(count, start + 2_000))], Meta("system", utc_now()))
    finally:
        store.close()


def edit_line(number: int):
    def change(lines: list[str]) -> list[str]:
        event = json.loads(lines[number])
        event["data"]["n"] = -1
        lines[number] = json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
        return lines

    return change


@pytest.fixture(scope="module")
def notes_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of 12,000 events: more than two of the import's insert batches."""
    root = tmp_path_factory.mktemp("notes") / "source"
    init(root)
    notes(root, 12_000)
    out = root.parent / "notes.mhx"
    assert masthead("-w", str(root), "export", "--out", str(out)).returncode == 0
    return out


@pytest.mark.parametrize("helper", [False, True], ids=["in-process", "helper-process"])
def test_a_tampered_event_in_the_middle_rolls_the_one_pass_import_back(notes_file: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch, helper: bool):
    """The chain is checked as the events go in: two batches are inserted and projected before
    event 11,001 turns out changed, and the transaction leaves the workspace empty."""
    from masthead.app import history_check
    from masthead.app.history import import_history, read_manifest
    from masthead.errors import IntegrityError
    from masthead.events.bulk import BATCH

    if helper:
        monkeypatch.setattr(history_check, "HELPER_FROM", 0)
    out = tmp_path / "tampered.mhx"
    out.write_bytes(notes_file.read_bytes())
    rewrite(out, edit_line(11_000), fix_digest=True)
    assert read_manifest(out).event_count == 12_000
    init(tmp_path / "copy")
    ws = open_workspace(str(tmp_path / "copy"))
    inserted: list[int] = []
    real = ws.store.import_hashed
    monkeypatch.setattr(ws.store, "import_hashed", lambda events, **kw: real(events, **{**kw, "progress": inserted.append}))
    try:
        with pytest.raises(IntegrityError, match="hash chain broken at seq 11001"):
            import_history(ws.store, out)
        assert inserted == [BATCH, 2 * BATCH]  # written, then rolled back
        assert ws.store.head() == (0, GENESIS_HASH)
        assert ws.store.query("SELECT COUNT(*) AS n FROM events")[0]["n"] == 0
    finally:
        ws.close()


def test_a_tampered_event_in_the_middle_is_refused_on_postgres_with_nothing_written(notes_file: Path, tmp_path: Path,
                                                                                   pg_url: str):
    out = tmp_path / "tampered.mhx"
    out.write_bytes(notes_file.read_bytes())
    rewrite(out, edit_line(6_500), fix_digest=True)
    pg_env = cli_env(MASTHEAD_DATABASE_URL=pg_url)
    init(tmp_path / "pg", pg_env)
    assert_refused(masthead("-w", str(tmp_path / "pg"), "import", str(out), env=pg_env), "hash chain broken at seq 6501")
    store = open_store(pg_url)
    try:
        assert store.head() == (0, GENESIS_HASH)
    finally:
        store.close()


@pytest.mark.parametrize("change,words", [
    (lambda lines: lines[:-1], "the manifest says"),
    (lambda lines: [*lines[:7_000], "not json\n", *lines[7_001:]], "line 7001 of events.jsonl.gz is not an event"),
], ids=["truncated", "garbage-line"])
def test_the_helper_process_reports_what_the_one_process_reader_does(notes_file: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch, change, words):
    from masthead.app import history_check
    from masthead.app.history import import_history
    from masthead.errors import IntegrityError

    monkeypatch.setattr(history_check, "HELPER_FROM", 0)
    out = tmp_path / "changed.mhx"
    out.write_bytes(notes_file.read_bytes())
    rewrite(out, change, fix_digest=True)
    init(tmp_path / "copy")
    ws = open_workspace(str(tmp_path / "copy"))
    try:
        with pytest.raises(IntegrityError, match=words):
            import_history(ws.store, out)
        assert ws.store.head() == (0, GENESIS_HASH)
    finally:
        ws.close()


def test_a_pipeline_imported_through_the_helper_process_has_the_same_read_models(source: Path, tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    """Every kind of event a run writes, through the helper process's reader: the same log and
    the same read models as the source, and replay --verify passes."""
    from masthead.app import history_check
    from masthead.app.history import import_history

    monkeypatch.setattr(history_check, "HELPER_FROM", 0)
    out = tmp_path / "history.mhx"
    assert masthead("-w", str(source), "export", "--out", str(out)).returncode == 0
    init(tmp_path / "copy")
    a, b = open_store(source / "masthead.db"), open_workspace(str(tmp_path / "copy"))
    try:
        report = import_history(b.store, out)
        assert report.verify.ok and report.imported == a.head()[0]
        assert list(b.store.read()) == list(a.read())
        tables, rows, problem = compare_tables(a, b.store)
        assert problem is None and rows > 20, (tables, rows, problem)
    finally:
        a.close()
        b.close()


def test_an_import_through_the_helper_process_equals_the_source(notes_file: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch):
    from masthead.app import history_check
    from masthead.app.history import import_history

    monkeypatch.setattr(history_check, "HELPER_FROM", 0)
    init(tmp_path / "copy")
    ws = open_workspace(str(tmp_path / "copy"))
    try:
        report = import_history(ws.store, notes_file)
        assert report.imported == 12_000 and report.verify.ok
        source = open_store(notes_file.parent / "source" / "masthead.db")
        try:
            assert list(ws.store.read()) == list(source.read())
        finally:
            source.close()
    finally:
        ws.close()


def helper_processes(file: Path) -> list[int]:
    """The pids of helper processes checking `file` (app/history_check.py)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"helper_main" in part for part in command) and str(file).encode() in command:
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(os.environ.get("MASTHEAD_TEST_BACKEND") == "postgres",
                    reason="watches the SQLite file's write-ahead log of a workspace the CLI makes")
def test_kill_9_during_an_import_with_its_helper_process_leaves_nothing_and_no_helper(tmp_path: Path):
    from masthead.app.history_check import HELPER_FROM

    init(tmp_path / "big")
    notes(tmp_path / "big", HELPER_FROM + 10_000, body="y" * 200)
    out = tmp_path / "big.mhx"
    assert masthead("-w", str(tmp_path / "big"), "export", "--out", str(out)).returncode == 0
    init(tmp_path / "target")
    db = tmp_path / "target" / "masthead.db"
    wal = db.with_name("masthead.db-wal")
    start_size = wal.stat().st_size if wal.exists() else 0
    importing = subprocess.Popen([sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path / "target"),
                                  "import", str(out)], env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while (wal.stat().st_size if wal.exists() else 0) < start_size + 4_000_000:
        assert importing.poll() is None, importing.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert helper_processes(out), "the import of a large file runs a helper process"
    os.kill(importing.pid, signal.SIGKILL)
    importing.wait()
    deadline = time.monotonic() + 30
    while helper_processes(out):  # its next send meets a closed pipe
        assert time.monotonic() < deadline, "the helper process outlived the import"
        time.sleep(0.1)
    assert event_count(db) == 0

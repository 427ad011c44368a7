"""The SQLite event store: order, optimistic concurrency, the hash chain, append-only."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masthead.errors import ConcurrencyConflict
from masthead.events.model import (
    ANY_VERSION,
    GENESIS_HASH,
    Meta,
    NewEvent,
    canonical_json,
    parse_json,
    utc_now,
)
from masthead.events.sqlite_store import SqliteEventStore
from masthead.projections.read_models import ReadModelProjector
from masthead.projections.replay import verify, verify_chain


def meta(actor: str = "system") -> Meta:
    return Meta(actor=actor, at=utc_now(), causation_id="c-1", correlation_id="k-1")


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteEventStore(tmp_path / "log.db", ReadModelProjector())
    yield s
    s.close()


def test_empty_store_has_genesis_head(store):
    assert store.head() == (0, GENESIS_HASH)
    assert list(store.read()) == []


def test_appends_get_gap_free_seq_and_stream_versions(store):
    store.append([NewEvent("a", "Noted", {"n": 1}, 0), NewEvent("b", "Noted", {"n": 2}, 0)], meta())
    store.append([NewEvent("a", "Noted", {"n": 3}, 1)], meta())
    events = list(store.read())
    assert [e.seq for e in events] == [1, 2, 3]
    assert [(e.stream, e.version) for e in events] == [("a", 1), ("b", 1), ("a", 2)]
    assert [e.data["n"] for e in store.read(stream="a")] == [1, 3]
    assert [e.seq for e in store.read(since=1, limit=1)] == [2]


def test_meta_is_kept(store):
    store.append([NewEvent("a", "Noted", {}, 0)], meta("human:ana"))
    event = next(store.read())
    assert event.meta.actor == "human:ana"
    assert event.meta.causation_id == "c-1" and event.meta.correlation_id == "k-1"
    assert event.meta.at.endswith("Z")


def test_wrong_expected_version_is_a_conflict_and_writes_nothing(store):
    store.append([NewEvent("a", "Noted", {}, 0)], meta())
    with pytest.raises(ConcurrencyConflict, match="stream a is at version 1, expected 0"):
        store.append([NewEvent("b", "Noted", {}, 0), NewEvent("a", "Noted", {}, 0)], meta())
    # The whole batch rolled back, including the event for stream b.
    assert [e.stream for e in store.read()] == ["a"]


def test_an_expected_version_ahead_of_the_stream_is_a_conflict(store):
    """A caller that believes a stream is further on than it is must not leave a gap in it."""
    store.append([NewEvent("a", "Noted", {}, 0)], meta())
    with pytest.raises(ConcurrencyConflict, match="stream a is at version 1, expected 3"):
        store.append([NewEvent("a", "Noted", {}, 3)], meta())
    with pytest.raises(ConcurrencyConflict, match="stream b is at version 0, expected 1"):
        store.append([NewEvent("b", "Noted", {}, 1)], meta())
    assert [(e.stream, e.version) for e in store.read()] == [("a", 1)]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_canonical_json_is_the_standard_librarys_form(value):
    """The hash chain depends on these exact bytes: the fast encoder must match the reference."""
    reference = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == reference
    assert parse_json(reference) == value


def test_canonical_json_falls_back_for_what_orjson_refuses():
    assert canonical_json({2: "a", 1: 2**70}) == '{"1":1180591620717411303424,"2":"a"}'
    assert canonical_json([1e-05, 2.5e-300]) == "[1e-05,2.5e-300]"


def test_any_version_appends_at_the_next_version(store):
    store.append([NewEvent("a", "Noted", {}, ANY_VERSION)], meta())
    store.append([NewEvent("a", "Noted", {}, ANY_VERSION)], meta())
    assert [e.version for e in store.read()] == [1, 2]


def test_any_version_appends_in_one_transaction_follow_each_other(store):
    # The transaction remembers the versions it appended (no query for the second): the same
    # versions as separate appends, and an explicit expected version still checked against them.
    store.append([NewEvent("a", "Noted", {}, ANY_VERSION)], meta())
    with store.transaction() as tx:
        tx.append([NewEvent("a", "Noted", {"n": 2}, ANY_VERSION)], meta())
        tx.append([NewEvent("a", "Noted", {"n": 3}, ANY_VERSION), NewEvent("b", "Noted", {}, ANY_VERSION)], meta())
        assert tx.stream_version("a") == 3
        with pytest.raises(ConcurrencyConflict):
            tx.append([NewEvent("a", "Noted", {}, 2)], meta())
        tx.append([NewEvent("a", "Noted", {"n": 4}, 3)], meta())
    assert [(e.stream, e.version) for e in store.read()] == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("a", 4)]
    assert store.stream_version("a") == 4
    assert verify_chain(store)[1] is None


def test_utc_now_is_iso_8601_with_microseconds_and_z():
    from datetime import UTC, datetime

    before = datetime.now(UTC)
    stamp = utc_now()
    after = datetime.now(UTC)
    assert len(stamp) == len("2026-01-02T03:04:05.000006Z") and stamp.endswith("Z")
    assert before <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= after


def test_two_stores_on_one_file_conflict_cleanly(tmp_path):
    one = SqliteEventStore(tmp_path / "shared.db")
    two = SqliteEventStore(tmp_path / "shared.db")
    one.append([NewEvent("s", "Noted", {}, 0)], meta())
    with pytest.raises(ConcurrencyConflict):
        two.append([NewEvent("s", "Noted", {}, 0)], meta())
    one.close()
    two.close()


def test_log_refuses_update_and_delete(store):
    store.append([NewEvent("a", "Noted", {}, 0)], meta())
    conn = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE events SET data = '{}' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.close()


def _tamper(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute(sql)
    conn.commit()
    conn.close()


def test_hash_chain_detects_an_edited_event(store):
    for n in range(5):
        store.append([NewEvent("a", "Noted", {"n": n}, n)], meta())
    assert verify_chain(store) == (5, None)
    _tamper(store.path, """UPDATE events SET data = '{"n":99}' WHERE seq = 3""")
    count, problem = verify_chain(store)
    assert count == 2
    assert problem is not None and "seq 3" in problem


def test_hash_chain_detects_a_deleted_event(store):
    for n in range(4):
        store.append([NewEvent("a", "Noted", {"n": n}, n)], meta())
    _tamper(store.path, "DELETE FROM events WHERE seq = 2")
    _count, problem = verify_chain(store)
    assert problem == "event seq 2 is missing (next is 3)"


def test_replay_verify_reports_a_drifted_projection(store):
    from masthead.events.types import ProjectApplied

    store.append([ProjectApplied(name="p", spec={"description": "d"}, revision=1).to_new("project-p", 0)], meta())
    assert verify(store).ok
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE projects SET description = 'edited behind the log'")
    conn.commit()
    conn.close()
    report = verify(store)
    assert not report.ok
    assert "table projects" in (report.problem or "")


def test_migrations_are_recorded_and_run_once(tmp_path):
    first = SqliteEventStore(tmp_path / "m.db")
    assert first.migrate() == []  # already applied by the constructor
    rows = first.query("SELECT number, name FROM schema_migrations ORDER BY number")
    from masthead.events.migrate import migrations_for

    assert [r["number"] for r in rows] == [m.number for m in migrations_for("sqlite")]
    assert rows[0]["number"] == 1 and len(rows) >= 2
    first.close()


def test_an_old_database_is_upgraded_in_place(tmp_path):
    """A database made by migration 0001 alone gains the later ones when opened."""
    import sqlite3 as raw

    from masthead.events.migrate import migrations_for
    from masthead.events.sqlite_store import _split_sql

    path = tmp_path / "old.db"
    conn = raw.connect(path)
    conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    first = migrations_for("sqlite")[0]
    for statement in _split_sql(first.sql):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (1, ?)", (first.name,))
    conn.execute("""INSERT INTO events VALUES (1, 's', 1, 'Noted', '{}', '{"actor":"system","at":"x"}', 'h')""")
    conn.commit()
    conn.close()
    store = SqliteEventStore(path, ReadModelProjector())
    numbers = [r["number"] for r in store.query("SELECT number FROM schema_migrations ORDER BY number")]
    assert numbers == [m.number for m in migrations_for("sqlite")]
    assert store.query("SELECT COUNT(*) AS n FROM events")[0]["n"] == 1
    store.close()


def test_recorded_outputs_move_to_the_log_when_a_database_is_upgraded(tmp_path):
    """Migration 0009: a database whose model_calls rows still hold the output gets each row's
    event seq instead, and the recorded output is still found by its call key."""
    import sqlite3 as raw

    from masthead.events.migrate import migrations_for
    from masthead.events.model import Meta, canonical_json
    from masthead.events.sqlite_store import _split_sql
    from masthead.events.types import ModelCallRecorded

    path = tmp_path / "old.db"
    conn = raw.connect(path)
    conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    for migration in [m for m in migrations_for("sqlite") if m.number <= 8]:
        for statement in _split_sql(migration.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (migration.number, migration.name))
    call = ModelCallRecorded(call_key="k1", task_id="t1", job_id="j1", request_hash="r", provider="local",
                             model="m", tier="draft", params={}, output='{"text": "hi"}', tokens_in=1,
                             tokens_out=2, latency_ms=3.0, cost_usd=0.0)
    meta = canonical_json(Meta(actor="system", at="2026-11-26T00:00:00Z").as_dict())
    conn.execute("INSERT INTO events VALUES (1, 'calls-t1', 1, 'ModelCallRecorded', ?, ?, 'h')",
                 (canonical_json(call.model_dump(mode="json")), meta))
    conn.execute("INSERT INTO model_calls (call_key, task_id, job_id, request_hash, provider, model, tier, params,"
                 " output, tokens_in, tokens_out, latency_ms, cost_usd, at) VALUES"
                 " ('k1', 't1', 'j1', 'r', 'local', 'm', 'draft', '{}', '{\"text\": \"hi\"}', 1, 2, 3.0, 0.0, 'x')")
    conn.commit()
    conn.close()
    store = SqliteEventStore(path, ReadModelProjector())
    [row] = store.query("SELECT * FROM model_calls")
    assert row["seq"] == 1 and "output" not in row
    found = store.query("SELECT e.data FROM model_calls m JOIN events e ON e.seq = m.seq WHERE m.call_key = 'k1'")
    assert found and '"output":"{\\"text\\": \\"hi\\"}"' in found[0]["data"]
    store.close()


def test_task_outputs_move_to_the_log_when_a_database_is_upgraded(tmp_path):
    """Migration 0010: tasks rows that hold their output get the TaskSucceeded event's seq and
    the halt flag instead; the output is read from the event."""
    import sqlite3 as raw

    from masthead.events.migrate import migrations_for
    from masthead.events.model import Meta, canonical_json
    from masthead.events.sqlite_store import _split_sql

    path = tmp_path / "old.db"
    conn = raw.connect(path)
    conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    for migration in [m for m in migrations_for("sqlite") if m.number <= 9]:
        for statement in _split_sql(migration.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (migration.number, migration.name))
    meta = canonical_json(Meta(actor="system", at="2026-11-26T00:00:00Z").as_dict())
    outputs = {"j.a": {"agent": "brief", "output": {"text": "hi"}}, "j.b": {"passed": False, "halt": True}}
    for seq, (task, output) in enumerate(outputs.items(), start=1):
        conn.execute("INSERT INTO events VALUES (?, ?, 2, 'TaskSucceeded', ?, ?, 'h')",
                     (seq, f"task-{task}", canonical_json({"id": task, "output": output}), meta))
        conn.execute("INSERT INTO tasks (id, job_id, step, kind, status, priority, run_after, attempts, max_attempts,"
                     " idempotency_key, output, version, created_seq, updated_at) VALUES"
                     " (?, 'j', 's', 'agent', 'done', 5, 0, 1, 1, ?, ?, 2, ?, 'x')",
                     (task, task, canonical_json(output), seq))
    conn.execute("INSERT INTO tasks (id, job_id, step, kind, status, priority, run_after, attempts, max_attempts,"
                 " idempotency_key, version, created_seq, updated_at) VALUES"
                 " ('j.c', 'j', 's', 'agent', 'queued', 5, 0, 0, 1, 'j.c', 1, 3, 'x')")
    conn.commit()
    conn.close()
    store = SqliteEventStore(path, ReadModelProjector())
    rows = {r["id"]: r for r in store.query("SELECT * FROM tasks")}
    assert "output" not in rows["j.a"]
    assert [(rows[t]["output_seq"], rows[t]["halted"]) for t in ("j.a", "j.b", "j.c")] == [(1, 0), (2, 1), (None, 0)]
    found = store.query("SELECT e.data FROM tasks t JOIN events e ON e.seq = t.output_seq WHERE t.id = 'j.a'")
    assert json.loads(found[0]["data"])["output"] == outputs["j.a"]
    store.close()


def test_several_stores_opening_a_new_file_at_once_all_open(tmp_path):
    """Turning a new file to WAL needs it alone for a moment and SQLite does not wait for that
    (its busy handler is not asked): workers started at once on a new workspace, or eight
    threads each with its own store, used to fail with "database is locked"."""
    import threading

    failures: list[BaseException] = []
    for attempt in range(40):
        path = tmp_path / f"new-{attempt}.db"
        start = threading.Barrier(8)

        def open_one(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                SqliteEventStore(path).close()
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert failures == []

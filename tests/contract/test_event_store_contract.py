"""The EventStore contract: order, optimistic concurrency, the hash chain, append-only,
transactions, migrations, replay and snapshots, the same on SQLite and Postgres."""

from __future__ import annotations

import threading

import pytest

from masthead.errors import ConcurrencyConflict
from masthead.events.migrate import migrations_for
from masthead.events.model import ANY_VERSION, GENESIS_HASH, Meta, NewEvent, utc_now
from masthead.events.types import ProjectApplied, SignalReceived
from masthead.projections.replay import verify, verify_chain
from masthead.projections.snapshots import list_snapshots, rebuild_in_place, take_snapshot


def meta(actor: str = "system") -> Meta:
    return Meta(actor=actor, at=utc_now(), causation_id="c-1", correlation_id="k-1")


def project_event(name: str, revision: int) -> NewEvent:
    spec = {"description": f"{name} revision {revision}", "max_active_jobs": 3}
    return ProjectApplied(name=name, spec=spec, revision=revision).to_new(f"project-{name}", revision - 1)


def signal_event(n: int) -> NewEvent:
    signal = SignalReceived(id=f"sig-{n}", project="p", kind="note", title=f"note {n}", priority="normal",
                            body=f"body {n} with 100% of the % signs", source="test", sha256="0" * 64)
    return signal.to_new(f"signal-sig-{n}", 0)


# -- order and concurrency -----------------------------------------------------------------
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
    assert store.head() == (3, events[-1].hash)


def test_stream_version_is_the_streams_last_version_in_and_out_of_a_transaction(store):
    assert store.stream_version("a") == 0
    store.append([NewEvent("a", "Noted", {"n": 1}, 0), NewEvent("b", "Noted", {"n": 2}, 0)], meta())
    store.append([NewEvent("a", "Noted", {"n": 3}, 1)], meta())
    assert (store.stream_version("a"), store.stream_version("b"), store.stream_version("c")) == (2, 1, 0)
    with store.transaction() as tx:
        tx.append([NewEvent("b", "Noted", {"n": 4}, 1)], meta())
        assert tx.stream_version("b") == 2  # its own append, before the commit
    assert store.stream_version("b") == 2


def test_trusted_events_store_what_validated_ones_do(store):
    from masthead.events.types import TaskClaimed, TaskEnqueued

    fields = dict(id="t-1", job_id="j-1", step="draft", channel=None, kind="agent", priority=5, run_after=1.5,
                  max_attempts=3, idempotency_key="t-1")
    trusted, validated = TaskEnqueued.trusted("task-t-1", 0, **fields), TaskEnqueued(**fields).to_new("task-t-1", 0)
    assert trusted == validated  # defaults (criticality, note) filled in the same
    store.append([trusted], meta())
    assert next(store.read()).data == validated.data
    with pytest.raises(TypeError, match="unknown \\['wroker'\\]"):
        TaskClaimed.trusted("task-t-1", 1, id="t-1", wroker="w", lease_until=1.0, attempt=1)
    with pytest.raises(TypeError, match="missing \\['attempt'\\]"):
        TaskClaimed.trusted("task-t-1", 1, id="t-1", worker="w", lease_until=1.0)


def test_one_append_may_hold_several_events_of_one_stream(store):
    stored = store.append([NewEvent("a", "Noted", {"n": 1}, 0), NewEvent("a", "Noted", {"n": 2}, 1)], meta())
    assert [(e.seq, e.version) for e in stored] == [(1, 1), (2, 2)]


def test_data_and_meta_come_back_as_written(store):
    data = {"text": "café — 100% ✓", "n": 1.5, "big": 10**15, "none": None, "list": [1, "two"], "nested": {"a": True}}
    store.append([NewEvent("a", "Noted", data, 0)], meta("human:ana"))
    event = next(store.read())
    assert event.data == data
    assert event.meta.actor == "human:ana"
    assert event.meta.causation_id == "c-1" and event.meta.correlation_id == "k-1"
    assert event.meta.at.endswith("Z")


def test_wrong_expected_version_is_a_conflict_and_writes_nothing(store):
    store.append([NewEvent("a", "Noted", {}, 0)], meta())
    with pytest.raises(ConcurrencyConflict, match="stream a is at version 1, expected 0"):
        store.append([NewEvent("b", "Noted", {}, 0), NewEvent("a", "Noted", {}, 0)], meta())
    assert [e.stream for e in store.read()] == ["a"]  # the event for stream b rolled back too


def test_any_version_appends_at_the_next_version(store):
    store.append([NewEvent("a", "Noted", {}, ANY_VERSION)], meta())
    store.append([NewEvent("a", "Noted", {}, ANY_VERSION)], meta())
    assert [e.version for e in store.read()] == [1, 2]


def test_an_expected_version_the_stream_never_reached_is_a_conflict(store):
    store.append([NewEvent("a", "Noted", {}, 0)], meta())
    with pytest.raises(ConcurrencyConflict, match="stream a is at version 1, expected 3"):
        store.append([NewEvent("a", "Noted", {}, 3)], meta())
    assert [e.version for e in store.read(stream="a")] == [1]


def test_appends_in_one_transaction_build_on_each_other(store):
    """Later appends of a transaction see the versions and the head its earlier ones left."""
    store.append([NewEvent("a", "Noted", {}, 0)], meta())
    with store.transaction() as tx:
        tx.append([NewEvent("a", "Noted", {"n": 1}, 1)], meta())
        tx.append([NewEvent("a", "Noted", {"n": 2}, ANY_VERSION), NewEvent("b", "Noted", {}, ANY_VERSION)], meta())
        tx.append([NewEvent("b", "Noted", {}, 1), NewEvent("c", "Noted", {}, 0)], meta())
        tx.append([NewEvent("c", "Noted", {}, ANY_VERSION)], meta())
        assert tx.stream_version("a") == 3 and tx.stream_version("c") == 2
    assert [(e.seq, e.stream, e.version) for e in store.read()] == [
        (1, "a", 1), (2, "a", 2), (3, "a", 3), (4, "b", 1), (5, "b", 2), (6, "c", 1), (7, "c", 2)]
    assert verify_chain(store) == (7, None)


def test_a_conflict_caught_inside_a_transaction_leaves_its_later_appends_whole(store):
    with store.transaction() as tx:
        tx.append([NewEvent("a", "Noted", {}, 0)], meta())
        with pytest.raises(ConcurrencyConflict, match="stream a is at version 1, expected 0"):
            tx.append([NewEvent("a", "Noted", {}, 0)], meta())  # known to this transaction: refused at once
        tx.append([NewEvent("b", "Noted", {}, ANY_VERSION), NewEvent("a", "Noted", {}, 1)], meta())
    assert [(e.seq, e.stream, e.version) for e in store.read()] == [(1, "a", 1), (2, "b", 1), (3, "a", 2)]
    assert verify_chain(store) == (3, None)


def test_a_wrong_version_late_in_a_transaction_undoes_all_of_it(store):
    store.append([NewEvent("a", "Noted", {}, 0)], meta())
    with pytest.raises(ConcurrencyConflict, match="stream a is at version 1, expected 0"), store.transaction() as tx:
        tx.append([project_event("p", 1)], meta())
        tx.append([NewEvent("a", "Noted", {}, 0)], meta())
        tx.query("SELECT name FROM projects")  # a read after the append: no step runs on a refused write
    assert [e.stream for e in store.read()] == ["a"]
    assert store.query("SELECT name FROM projects") == []


def test_two_stores_on_one_database_conflict_cleanly(backend):
    one, two = backend.open(), backend.open()
    one.append([NewEvent("s", "Noted", {}, 0)], meta())
    with pytest.raises(ConcurrencyConflict):
        two.append([NewEvent("s", "Noted", {}, 0)], meta())
    assert [e.seq for e in two.read()] == [1]


def test_an_error_inside_a_transaction_rolls_back_events_and_read_models(store):
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.append([project_event("p", 1)], meta())
        assert tx.query("SELECT name FROM projects") == [{"name": "p"}]  # visible inside
        raise RuntimeError("changed my mind")
    assert store.head()[0] == 0
    assert store.query("SELECT name FROM projects") == []


def test_read_models_change_in_the_append_transaction(store):
    store.append([project_event("p", 1)], meta())
    store.append([project_event("p", 2)], meta())
    rows = store.query("SELECT name, revision, description FROM projects WHERE name = ?", ("p",))
    assert rows == [{"name": "p", "revision": 2, "description": "p revision 2"}]
    named = store.query("SELECT revision FROM projects WHERE name = :name AND revision > :low", {"name": "p", "low": 1})
    assert named == [{"revision": 2}]


def test_listeners_see_each_commit_after_it_lands(store):
    seen: list[list[int]] = []
    store.listeners.append(lambda events: seen.append([e.seq for e in events]))
    store.append([NewEvent("a", "Noted", {}, 0), NewEvent("b", "Noted", {}, 0)], meta())
    with pytest.raises(ConcurrencyConflict):
        store.append([NewEvent("a", "Noted", {}, 0)], meta())
    assert seen == [[1, 2]]


def test_concurrent_writers_keep_one_gap_free_chain(backend):
    """Eight writers, each with its own connection, appending at once: nothing lost, one chain."""
    writers, each = 8, 15
    errors: list[BaseException] = []

    def write(index: int) -> None:
        store = backend.open(projector=False)
        try:
            for n in range(each):
                store.append([NewEvent(f"w{index}", "Noted", {"n": n}, n)], meta())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    store = backend.open()
    assert verify_chain(store) == (writers * each, None)
    for index in range(writers):
        assert [e.data["n"] for e in store.read(stream=f"w{index}")] == list(range(each))


# -- append-only and the hash chain --------------------------------------------------------
def test_log_refuses_update_and_delete(backend, store):
    store.append([NewEvent("a", "Noted", {}, 0)], meta())
    with pytest.raises(backend.append_only_error, match="append-only"):
        backend.raw("UPDATE events SET data = '{}' WHERE seq = 1")
    with pytest.raises(backend.append_only_error, match="append-only"):
        backend.raw("DELETE FROM events")
    assert store.head()[0] == 1


def test_hash_chain_detects_an_edited_event(backend, store):
    for n in range(5):
        store.append([NewEvent("a", "Noted", {"n": n}, n)], meta())
    assert verify_chain(store) == (5, None)
    backend.tamper("""UPDATE events SET data = '{"n":99}' WHERE seq = 3""")
    count, problem = verify_chain(store)
    assert count == 2
    assert problem is not None and "seq 3" in problem


def test_hash_chain_detects_a_deleted_event(backend, store):
    for n in range(4):
        store.append([NewEvent("a", "Noted", {"n": n}, n)], meta())
    backend.tamper("DELETE FROM events WHERE seq = 2")
    assert verify_chain(store)[1] == "event seq 2 is missing (next is 3)"


# -- migrations ----------------------------------------------------------------------------
def test_migrations_are_recorded_and_run_once(backend, store):
    assert store.migrate() == []
    assert store.pending_migrations() == []
    rows = store.query("SELECT number FROM schema_migrations ORDER BY number")
    assert [r["number"] for r in rows] == [m.number for m in migrations_for(backend.name)]


def test_both_backends_have_the_same_numbered_migrations():
    sqlite = [m.number for m in migrations_for("sqlite")]
    postgres = [m.number for m in migrations_for("postgres")]
    assert sqlite == postgres == list(range(1, len(sqlite) + 1))
    assert [m.name for m in migrations_for("sqlite")] == [m.name for m in migrations_for("postgres")]


def test_both_backends_have_the_same_tables_and_columns(tmp_path):
    from tests.support.postgres import fresh_database

    from masthead.events.open import open_store

    sqlite = open_store(tmp_path / "columns.db")
    with fresh_database() as url:
        postgres = open_store(url)
        try:
            # commit_barrier is Postgres's own (see postgres_store.py)
            assert sqlite.projection_tables() == [t for t in postgres.projection_tables() if t != "commit_barrier"]
            for table in sqlite.projection_tables():
                lite = [r["name"] for r in sqlite.query(f"SELECT name FROM pragma_table_info('{table}')")]
                pg = [r["column_name"] for r in postgres.query(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                    " AND table_name = ? ORDER BY ordinal_position", (table,))]
                assert lite == [c for c in pg if c != "embedding"], table  # embedding: pgvector only
        finally:
            postgres.close()
            sqlite.close()


# -- replay and snapshots ------------------------------------------------------------------
def _some_history(store, start: int, count: int) -> None:
    for n in range(start, start + count):
        store.append([signal_event(n)], meta())
        store.append([project_event(f"p{n % 3}", n // 3 + 1)], meta())


def test_replay_verify_passes_then_reports_a_drifted_projection(backend, store):
    _some_history(store, 0, 6)
    report = verify(store)
    assert report.ok, report.problem
    assert report.events == 12 and report.rows >= 9
    backend.raw("UPDATE projects SET description = 'edited behind the log' WHERE name = 'p1'")
    report = verify(store)
    assert not report.ok
    assert "table projects" in (report.problem or "")


def test_snapshot_plus_tail_equals_a_full_replay(store):
    _some_history(store, 0, 9)
    taken = take_snapshot(store)
    assert taken is not None and taken.seq == 18 and taken.rows == 12
    _some_history(store, 9, 5)  # the tail
    rebuilt = rebuild_in_place(store)
    assert (rebuilt.from_snapshot, rebuilt.restored_rows, rebuilt.replayed, rebuilt.head) == (18, 12, 10, 28)
    report = verify(store)  # verify rebuilds from zero and compares with what the snapshot gave
    assert report.ok, report.problem
    from_zero = rebuild_in_place(store, use_snapshot=False)
    assert (from_zero.from_snapshot, from_zero.replayed) == (None, 28)
    assert verify(store).ok


def test_rebuild_repairs_read_models_changed_by_hand(backend, store):
    _some_history(store, 0, 4)
    take_snapshot(store)
    backend.raw("DELETE FROM signals WHERE id = 'sig-1'")
    backend.raw("UPDATE projects SET revision = 99")
    assert not verify(store).ok
    rebuild_in_place(store)
    assert verify(store).ok


def test_a_snapshot_restores_over_any_drift_of_the_read_models(backend, store):
    _some_history(store, 0, 9)
    take_snapshot(store)
    _some_history(store, 9, 3)  # the tail
    backend.raw("UPDATE signals SET title = NULL WHERE id = 'sig-2'")  # a value gone
    backend.raw("UPDATE signals SET body = 'edited' WHERE id = 'sig-10'")  # a row the tail wrote
    backend.raw("DELETE FROM signals WHERE id = 'sig-3'")  # a row gone
    backend.raw("UPDATE projects SET revision = revision + 100")  # every row of a table
    backend.raw("INSERT INTO projects (name, description, spec, revision, updated_at)"
                " VALUES ('never', 'not in the log', '{}', 1, '2020-01-01T00:00:00Z')")  # a row that never was
    assert not verify(store).ok
    rebuilt = rebuild_in_place(store)
    assert (rebuilt.from_snapshot, rebuilt.replayed, rebuilt.head) == (18, 6, 24)
    report = verify(store)
    assert report.ok, report.problem


def test_a_snapshot_restores_into_emptied_read_models(backend, store):
    _some_history(store, 0, 6)
    take_snapshot(store)
    _some_history(store, 6, 2)
    for table in ("signals", "projects"):
        backend.raw(f"DELETE FROM {table}")
    rebuilt = rebuild_in_place(store)
    assert (rebuilt.from_snapshot, rebuilt.restored_rows, rebuilt.replayed) == (12, 9, 4)
    assert rebuilt.copied_rows == 9  # every row of the snapshot was missing
    report = verify(store)
    assert report.ok, report.problem


def test_a_snapshot_of_another_log_is_never_restored(backend, store):
    _some_history(store, 0, 3)
    take_snapshot(store)
    backend.raw("UPDATE snapshots SET hash = 'not this log'")
    rebuilt = rebuild_in_place(store)
    assert rebuilt.from_snapshot is None and rebuilt.replayed == 6
    assert verify(store).ok


def test_only_the_newest_snapshots_are_kept(store):
    for round_ in range(4):
        _some_history(store, round_ * 2, 2)
        take_snapshot(store, keep=2)
    assert [row["seq"] for row in list_snapshots(store)] == [16, 12]


def test_a_consistent_read_does_not_see_later_commits(backend, store):
    store.append([project_event("p", 1)], meta())
    other = backend.open()
    with store.consistent_read() as tx:
        assert tx.query("SELECT COUNT(*) AS n FROM events") == [{"n": 1}]
        other.append([project_event("q", 1)], meta())  # a writer is not blocked by the reader
        assert tx.query("SELECT COUNT(*) AS n FROM events") == [{"n": 1}]
    assert store.query("SELECT COUNT(*) AS n FROM events") == [{"n": 2}]

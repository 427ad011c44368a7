"""Snapshots on SQLite are SQLite files beside the database, restored by SQLite itself: a file
is only ever used when it is complete, unaltered, of this log, and of this schema; a rebuild
from one equals a rebuild from zero; and `[snapshots] keep` prunes the files with the rows."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from masthead.events.model import Meta, utc_now
from masthead.events.sqlite_store import SqliteEventStore
from masthead.events.types import ProjectApplied, SignalReceived
from masthead.projections import snapshots
from masthead.projections.read_models import ReadModelProjector
from masthead.projections.replay import verify
from masthead.projections.snapshots import (
    list_snapshots,
    rebuild_in_place,
    snapshot_folder,
    take_snapshot,
)


def meta() -> Meta:
    return Meta(actor="system", at=utc_now())


def history(store: SqliteEventStore, start: int, count: int, *, project: str = "p") -> None:
    for n in range(start, start + count):
        store.append([SignalReceived(id=f"sig-{n}", project=project, kind="note", title=f"note {n}", priority="normal",
                                     body=f"body {n}", source="test", sha256="0" * 64).to_new(f"signal-sig-{n}", 0)],
                     meta())
        spec = {"description": f"{project}{n % 3} revision {n // 3 + 1}"}
        store.append([ProjectApplied(name=f"{project}{n % 3}", spec=spec, revision=n // 3 + 1)
                      .to_new(f"project-{project}{n % 3}", n // 3)], meta())


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteEventStore(tmp_path / "masthead.db", ReadModelProjector())
    yield s
    s.close()


def raw(store: SqliteEventStore, sql: str, params: tuple = ()) -> None:
    """Change the database behind Masthead's back, on a connection of its own."""
    conn = sqlite3.connect(store.path)
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def files(store: SqliteEventStore) -> list[Path]:
    return sorted(snapshot_folder(store).iterdir())


def file_of(store: SqliteEventStore, seq: int) -> Path:
    row = store.query("SELECT file FROM snapshots WHERE seq = ?", (seq,))[0]
    return snapshot_folder(store) / row["file"]


def sign_again(store: SqliteEventStore, seq: int) -> None:
    """Record the file's current size and digest, as if it had been written like that: the test
    then reaches the checks behind the digest."""
    path = file_of(store, seq)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    raw(store, "UPDATE snapshots SET bytes = ?, digest = ? WHERE seq = ?", (path.stat().st_size, digest, seq))


def rows(store: SqliteEventStore) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(store.path)
    try:
        return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall())
                for table in ("signals", "projects")}
    finally:
        conn.close()


def test_a_snapshot_is_a_file_beside_the_database_with_its_size_and_digest(store):
    history(store, 0, 4)
    taken = take_snapshot(store)
    assert taken is not None and (taken.seq, taken.rows) == (8, 7)
    [path] = files(store)
    assert path.parent == store.path.parent / "masthead.db-snapshots"
    row = store.query("SELECT seq, hash, format, file, bytes, digest, LENGTH(payload) AS n FROM snapshots")[0]
    assert (row["seq"], row["hash"], row["file"]) == (8, store.head()[1], path.name)
    assert row["bytes"] == path.stat().st_size == taken.bytes
    assert row["digest"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row["n"] == 0  # the rows are in the file, not in the table
    assert list_snapshots(store)[0]["bytes"] == path.stat().st_size
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)  # an ordinary SQLite file
    try:
        assert conn.execute("SELECT COUNT(*) FROM signals").fetchone() == (4,)
    finally:
        conn.close()


def test_a_rebuild_from_a_file_equals_a_rebuild_from_zero(store):
    history(store, 0, 9)
    take_snapshot(store)
    history(store, 9, 4)
    expected = rows(store)
    rebuilt = rebuild_in_place(store)
    assert (rebuilt.from_snapshot, rebuilt.restored_rows, rebuilt.replayed, rebuilt.head) == (18, 12, 8, 26)
    assert rows(store) == expected
    assert verify(store).ok
    rebuild_in_place(store, use_snapshot=False)
    assert rows(store) == expected
    take_snapshot(store)
    again = rebuild_in_place(store)  # nothing drifted: the rows are compared, none is written
    assert (again.from_snapshot, again.restored_rows, again.removed_rows, again.copied_rows) == (26, 16, 0, 0)


def test_rows_that_only_look_equal_are_restored_too(store):
    history(store, 0, 6)
    take_snapshot(store)
    expected = rows(store)
    # The same values under another rowid, text turned into a blob of the same bytes, and a
    # change of case: a comparison that ignored any of them would keep the drifted row.
    raw(store, "REPLACE INTO projects SELECT * FROM projects WHERE name = 'p1'")
    raw(store, "UPDATE signals SET body = CAST(body AS BLOB) WHERE id = 'sig-2'")
    raw(store, "UPDATE signals SET title = upper(title) WHERE id = 'sig-4'")
    assert rows(store) != expected
    rebuilt = rebuild_in_place(store)
    assert (rebuilt.from_snapshot, rebuilt.replayed) == (12, 0)
    assert rows(store) == expected
    assert store.query("SELECT typeof(body) AS t FROM signals WHERE id = 'sig-2'") == [{"t": "text"}]
    assert verify(store).ok


def test_a_torn_or_altered_file_is_never_restored(store):
    history(store, 0, 3)
    older = take_snapshot(store)
    history(store, 3, 3)
    newer = take_snapshot(store)
    assert older is not None and newer is not None
    path = file_of(store, newer.seq)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # torn
    assert rebuild_in_place(store).from_snapshot == older.seq
    assert verify(store).ok
    altered = bytearray(whole)
    altered[len(whole) - 100] ^= 0xFF  # one byte, same size
    path.write_bytes(bytes(altered))
    assert rebuild_in_place(store).from_snapshot == older.seq
    file_of(store, older.seq).unlink()  # missing
    path.write_bytes(whole)  # whole again: usable
    assert rebuild_in_place(store).from_snapshot == newer.seq
    path.unlink()
    assert rebuild_in_place(store).from_snapshot is None
    assert verify(store).ok


def test_an_unfinished_file_is_never_used_and_is_cleaned_up_later(store):
    history(store, 0, 3)
    taken = take_snapshot(store)
    assert taken is not None
    folder = snapshot_folder(store)
    # What a writer killed halfway leaves behind: a temporary name the catalog never names.
    stale = folder / ".tmp-killed.sqlite"
    stale.write_bytes(file_of(store, taken.seq).read_bytes()[:4096])
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    busy = folder / ".tmp-writing.sqlite"  # another process may still be writing this one
    busy.write_bytes(b"")
    assert rebuild_in_place(store).from_snapshot == taken.seq
    history(store, 3, 1)
    take_snapshot(store)
    assert not stale.exists() and busy.exists()


def test_a_file_of_another_log_is_refused_even_with_a_matching_digest(tmp_path: Path, store):
    history(store, 0, 3)
    take_snapshot(store)
    (tmp_path / "other").mkdir()
    other = SqliteEventStore(tmp_path / "other" / "masthead.db", ReadModelProjector())
    try:
        history(other, 0, 3, project="q")  # the same seq numbers, other events
        take_snapshot(other)
        file_of(store, 6).write_bytes(file_of(other, 6).read_bytes())
    finally:
        other.close()
    sign_again(store, 6)
    rebuilt = rebuild_in_place(store)
    assert rebuilt.from_snapshot is None and rebuilt.replayed == 6
    assert verify(store).ok


@pytest.mark.parametrize("change", [
    "UPDATE masthead_snapshot SET masthead = '0.0.1'",  # taken by another version
    "UPDATE masthead_snapshot SET schema = schema - 1",  # at another schema level
    "UPDATE masthead_snapshot SET seq = 4",  # not the seq the catalog names
    "ALTER TABLE projects ADD COLUMN extra TEXT",  # tables unlike this database's
    "DROP INDEX signals_project",  # indexes unlike this database's
    "DELETE FROM signals WHERE id = 'sig-1'",  # fewer rows than it recorded
])
def test_a_file_unlike_this_database_is_refused(store, change: str):
    history(store, 0, 3)
    take_snapshot(store)
    conn = sqlite3.connect(file_of(store, 6))
    try:
        conn.execute(change)
        conn.commit()
    finally:
        conn.close()
    sign_again(store, 6)
    rebuilt = rebuild_in_place(store)
    assert rebuilt.from_snapshot is None and rebuilt.replayed == 6
    assert verify(store).ok


def test_only_the_newest_files_are_kept(store):
    for round_ in range(4):
        history(store, round_ * 2, 2)
        take_snapshot(store, keep=2)
    kept = store.query("SELECT seq, file FROM snapshots ORDER BY seq DESC")
    assert [row["seq"] for row in kept] == [16, 12]
    assert [path.name for path in files(store)] == sorted(row["file"] for row in kept)


def test_a_failed_rebuild_changes_nothing(store, monkeypatch: pytest.MonkeyPatch):
    history(store, 0, 3)
    take_snapshot(store)
    history(store, 3, 2)
    raw(store, "UPDATE projects SET revision = 99")
    before = rows(store)

    def broken(tx, events):
        raise RuntimeError("the projector broke")

    monkeypatch.setattr(snapshots, "project", broken)
    with pytest.raises(RuntimeError, match="the projector broke"):
        rebuild_in_place(store)
    assert rows(store) == before  # the restore was rolled back with the failed tail
    monkeypatch.undo()
    assert rebuild_in_place(store).from_snapshot == 6
    assert verify(store).ok


def test_a_rebuild_from_zero_builds_the_secondary_indexes_again(store: SqliteEventStore):
    """The rebuild drops the read models' non-unique indexes for the replay and builds them at
    its end: the same indexes, the same definitions, and queries that name one still run."""
    history(store, 0, 6)
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    before = store.query(indexes)
    report = rebuild_in_place(store, use_snapshot=False)
    assert report.replayed == 12 and report.from_snapshot is None
    assert store.query(indexes) == before and any(row["name"] == "tasks_waiting" for row in before)
    store.query(store.ready_task_sql, {"now": time.time(), "ageing": 60.0})  # INDEXED BY tasks_waiting
    assert verify(store).ok

"""Projection snapshots: every read-model row as of one seq, so a rebuild reads only the tail.

The read models live beside the log and are updated in the append's transaction, so a crash
never leaves them behind; what needs a rebuild is a replica, a restored backup, or read models
that were changed by hand (`masthead replay --rebuild`). A snapshot lets that rebuild restore
the rows as of seq S and replay only the events after S, instead of the whole log.

A snapshot is taken in one consistent read (it does not block writers) and is recorded in the
`snapshots` table with the hash of event S: it is only ever restored into the log it was taken
from. It also names the Masthead version and schema level it was taken with; after an upgrade
(whose projectors may differ) older snapshots are not used and the rebuild starts from zero.
`masthead replay --verify` never uses snapshots. Where the rows go depends on the backend:

- SQLite (format 2): a SQLite file in `<database>-snapshots/` holding the read-model tables
  and indexes exactly as the database defines them, so SQLite itself moves rows between the
  two, in C. It is written under a temporary name, synced and renamed before its row (with
  its size and SHA-256) is recorded; a file that is missing, torn, altered, of another log or
  unlike this database's tables is never restored. A rebuild attaches it and, in one write
  transaction, deletes the rows that differ from it and copies in the ones it lacks: rows
  that are already equal stay, so a rebuild writes little when little drifted (a table that
  mostly differs is emptied and copied whole).
- Postgres (format 1): zlib-compressed JSON in the row's `payload`, inserted again row by row
  (a file beside one server's database is out of reach of workers on other machines).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from masthead import __version__
from masthead.errors import IntegrityError
from masthead.events import sqlite_queries
from masthead.events.bulk import hashed_event, indexes_built_after
from masthead.events.model import Meta, StoredEvent, utc_now
from masthead.events.sqlite_store import SqliteEventStore, SqliteTransaction
from masthead.events.store import EventStore, Transaction
from masthead.projections.replay import BATCH, project, read_model_tables

log = logging.getLogger("masthead.snapshots")

FORMAT_ROWS = 1  # the rows as zlib-compressed JSON in `snapshots.payload` (Postgres)
FORMAT_FILE = 2  # the rows in a SQLite file beside the database (SQLite)
# A temporary file older than this was left by a writer that died; younger ones may be in use.
STALE_TEMPORARY_SECONDS = 3600
# Rows of a table compared first, to choose between replacing only the rows that differ and
# replacing them all (see _restore_table).
SAMPLE = 256
_FILE_NAME = re.compile(r"^(\d{12})-[0-9a-f]{8}\.sqlite$")
_TEMPORARY = re.compile(r"^\.tmp-.*\.sqlite$")
# Inside a snapshot file, beside the copied tables: what it is a snapshot of.
_FILE_META = (
    "CREATE TABLE masthead_snapshot (seq INTEGER NOT NULL, hash TEXT NOT NULL, masthead TEXT NOT NULL,"
    " schema INTEGER NOT NULL, taken_at TEXT NOT NULL)",
    "CREATE TABLE masthead_snapshot_tables (name TEXT PRIMARY KEY, rows INTEGER NOT NULL)",
)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class SnapshotInfo:
    seq: int
    tables: int
    rows: int
    bytes: int


@dataclass(frozen=True)
class RebuildReport:
    from_snapshot: int | None  # the snapshot's seq, or None when rebuilt from zero
    restored_rows: int  # the rows the snapshot holds, now in the read models
    replayed: int
    head: int
    # What the restore wrote: the rows of the read models that differed from the snapshot (or
    # were not in it) and were deleted, and the snapshot's rows that were then copied in.
    removed_rows: int = 0
    copied_rows: int = 0


def snapshot_folder(store: SqliteEventStore) -> Path:
    """Where a SQLite database's snapshot files are: `masthead.db-snapshots/` beside it."""
    return store.path.with_name(store.path.name + "-snapshots")


def _schema_level(tx: Transaction) -> int:
    return int(tx.query("SELECT MAX(number) AS n FROM schema_migrations")[0]["n"] or 0)


# -- taking -----------------------------------------------------------------------------------
def take_snapshot(store: EventStore, *, keep: int = 2) -> SnapshotInfo | None:
    """Snapshot the read models now; keep the newest `keep` snapshots. None for an empty log."""
    tables = read_model_tables(store)
    if isinstance(store, SqliteEventStore):
        taken = _take_file(store, tables)
    else:
        taken = _take_payload(store, tables)
    if taken is None:
        return None
    store.execute_unlogged(
        "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)", (keep,)
    )
    if isinstance(store, SqliteEventStore):
        _prune_files(store)
    return taken


def _take_payload(store: EventStore, tables: list[str]) -> SnapshotInfo | None:
    with store.consistent_read() as tx:
        head = tx.query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        if not head:
            return None
        content: dict[str, Any] = {"format": FORMAT_ROWS, "masthead": __version__, "schema": _schema_level(tx),
                                   "seq": head[0]["seq"], "tables": {}}
        rows = 0
        for table in tables:
            records = tx.query(f"SELECT * FROM {table}")
            columns = list(records[0]) if records else []
            content["tables"][table] = [columns, [[r[c] for c in columns] for r in records]]
            rows += len(records)
    payload = zlib.compress(json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 6)
    seq, digest = head[0]["seq"], head[0]["hash"]
    store.execute_unlogged(
        "INSERT INTO snapshots (seq, hash, format, tables, rows, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (seq) DO NOTHING",
        (seq, digest, FORMAT_ROWS, len(tables), rows, payload, utc_now()),
    )
    return SnapshotInfo(seq=seq, tables=len(tables), rows=rows, bytes=len(payload))


def _take_file(store: SqliteEventStore, tables: list[str]) -> SnapshotInfo | None:
    if store.head()[0] == 0:
        return None
    folder = snapshot_folder(store)
    folder.mkdir(exist_ok=True)
    temporary = folder / f".tmp-{uuid.uuid4().hex}.sqlite"
    try:
        _create_file(store, temporary, tables)
        seq, event_hash, counts = _copy_into_file(store, temporary, tables)
        _fsync(temporary)
        size, digest = temporary.stat().st_size, _sha256(temporary)
        final = folder / f"{seq:012d}-{uuid.uuid4().hex[:8]}.sqlite"
        os.replace(temporary, final)  # complete and on disk before it has its final name
        _fsync(folder)  # and the name itself on disk before the catalog names it
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    rows = sum(counts.values())
    store.execute_unlogged(
        "INSERT INTO snapshots (seq, hash, format, tables, rows, payload, created_at, file, bytes, digest)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
        (seq, event_hash, FORMAT_FILE, len(tables), rows, b"", utc_now(), final.name, size, digest),
    )
    if store.query("SELECT file FROM snapshots WHERE seq = ?", (seq,)) != [{"file": final.name}]:
        final.unlink(missing_ok=True)  # another process recorded this seq first; its file stands
    return SnapshotInfo(seq=seq, tables=len(tables), rows=rows, bytes=size)


def _create_file(store: SqliteEventStore, path: Path, tables: list[str]) -> None:
    """An empty snapshot file whose tables and indexes are the database's own, statement for
    statement: then SQLite copies rows between the two as stored records (its transfer
    optimisation), and a restore can check that nothing about them differs."""
    marks = ", ".join("?" for _ in tables)
    schema = store.query(f"SELECT sql FROM sqlite_master WHERE type IN ('table', 'index') AND tbl_name IN ({marks})"
                         " AND sql IS NOT NULL ORDER BY type DESC, name", tables)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")  # a new file under a temporary name: nothing to roll back to
        conn.execute("BEGIN")
        for statement in [row["sql"] for row in schema] + list(_FILE_META):
            conn.execute(statement)
        conn.execute("COMMIT")
    finally:
        conn.close()


def _copy_into_file(store: SqliteEventStore, path: Path, tables: list[str]) -> tuple[int, str, dict[str, int]]:
    conn = store.connect()  # its own: ATTACH is refused inside a transaction
    try:
        conn.execute("ATTACH ? AS snap", (str(path),))
        conn.execute("PRAGMA snap.journal_mode=OFF")
        conn.execute("PRAGMA snap.synchronous=OFF")  # synced once, whole, before it is renamed
        # A deferred transaction that writes only to the attached file: on the database it is a
        # read, and in WAL mode its first read fixes the moment every later one sees, without
        # holding up any writer.
        conn.execute("BEGIN")
        try:
            head = conn.execute("SELECT seq, hash FROM main.events ORDER BY seq DESC LIMIT 1").fetchone()
            seq, event_hash = int(head["seq"]), str(head["hash"])
            if _schema(conn, "snap", tables) != _schema(conn, "main", tables):
                raise IntegrityError("the read-model tables changed while a snapshot was being taken (a migration ran)",
                                     fix="take the snapshot again: masthead snapshot")
            counts = {t: conn.execute(f"INSERT INTO snap.{t} SELECT * FROM main.{t}").rowcount for t in tables}
            level = _schema_level(SqliteTransaction(conn, None))
            conn.execute("INSERT INTO snap.masthead_snapshot (seq, hash, masthead, schema, taken_at)"
                         " VALUES (?, ?, ?, ?, ?)", (seq, event_hash, __version__, level, utc_now()))
            conn.executemany("INSERT INTO snap.masthead_snapshot_tables (name, rows) VALUES (?, ?)",
                             list(counts.items()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("DETACH snap")
    finally:
        conn.close()
    return seq, event_hash, counts


def _prune_files(store: SqliteEventStore) -> None:
    """Remove the files no kept snapshot names. A file newer than the oldest kept snapshot may
    belong to another process that has renamed it but not recorded it yet: it stays until it
    is older than every kept one. Temporary files go once they are clearly abandoned."""
    kept = store.query("SELECT seq, file FROM snapshots WHERE file IS NOT NULL")
    named = {row["file"] for row in kept}
    oldest = min((row["seq"] for row in kept), default=None)
    for path in snapshot_folder(store).iterdir():
        try:
            if _TEMPORARY.match(path.name):
                if time.time() - path.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                    path.unlink()
                continue
            match = _FILE_NAME.match(path.name)
            if match and path.name not in named and (oldest is None or int(match.group(1)) < oldest):
                path.unlink()
        except FileNotFoundError:  # another process pruned it first
            continue


def list_snapshots(store: EventStore) -> list[dict[str, Any]]:
    return store.query("SELECT seq, hash, format, tables, rows, COALESCE(bytes, LENGTH(payload)) AS bytes, file,"
                       " created_at FROM snapshots ORDER BY seq DESC")


# -- rebuilding -------------------------------------------------------------------------------
def rebuild_in_place(store: EventStore, *, use_snapshot: bool = True, progress: Progress | None = None) -> RebuildReport:
    """Empty the read models and rebuild them: from the newest usable snapshot and the events
    after it, or from zero. One write transaction: other writers wait, and a failure changes nothing."""
    tables = read_model_tables(store)
    if use_snapshot and isinstance(store, SqliteEventStore):
        done = _rebuild_from_file(store, tables, progress)
        if done is not None:
            return done
    # SQLite's readers keep the last commit's indexes (WAL); Postgres's would wait on DROP INDEX.
    deferred = sqlite_queries.SECONDARY_INDEXES if isinstance(store, SqliteEventStore) else None
    with store.transaction() as tx, indexes_built_after(tx, deferred):
        content = _usable_payload(tx) if use_snapshot else None
        removed = sum(tx.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"] for table in tables)
        for table in tables:
            tx.execute(f"DELETE FROM {table}")
        since = 0
        restored = 0
        if content is not None:
            restored = _restore_payload(tx, content, tables)
            since = content["seq"]
        replayed = _replay_after(tx, since, progress)
        head = tx.query("SELECT MAX(seq) AS s FROM events")[0]["s"] or 0
    return RebuildReport(from_snapshot=since if content is not None else None, restored_rows=restored,
                         replayed=replayed, head=int(head), removed_rows=removed, copied_rows=restored)


def _usable_payload(tx: Transaction) -> dict[str, Any] | None:
    """The newest payload snapshot of this log, taken by this version at this schema level."""
    level = _schema_level(tx)
    for row in tx.query("SELECT seq, hash, format, payload FROM snapshots WHERE format = ? ORDER BY seq DESC",
                        (FORMAT_ROWS,)):
        event = tx.query("SELECT hash FROM events WHERE seq = ?", (row["seq"],))
        if not event or event[0]["hash"] != row["hash"]:
            continue  # not from this log (or a restored older log): never restore it
        content: dict[str, Any] = json.loads(zlib.decompress(bytes(row["payload"])))
        if content["masthead"] == __version__ and content["schema"] == level:
            return content
    return None


def _restore_payload(tx: Transaction, content: dict[str, Any], tables: list[str]) -> int:
    if sorted(content["tables"]) != tables:
        raise IntegrityError(f"snapshot at seq {content['seq']} holds tables {sorted(content['tables'])},"
                             f" this database has {tables}", fix="rebuild from zero: masthead replay --rebuild --from-zero")
    restored = 0
    for table, (columns, rows) in content["tables"].items():
        if rows:
            marks = ", ".join("?" for _ in columns)
            tx.execute_many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            restored += len(rows)
    return restored


def _rebuild_from_file(store: SqliteEventStore, tables: list[str], progress: Progress | None) -> RebuildReport | None:
    """Restore the newest usable snapshot file and replay the events after it; None when no file
    is usable (each one passed over is logged with the reason)."""
    folder = snapshot_folder(store)
    conn = store.connect()  # its own: ATTACH is refused inside a transaction
    # This process's other writers queue on the store's lock meanwhile, instead of polling
    # SQLite's busy handler for as long as the restore takes.
    with store.write_lock:
        return _restore_newest(conn, folder, tables, progress)


def _restore_newest(conn: sqlite3.Connection, folder: Path, tables: list[str],
                    progress: Progress | None) -> RebuildReport | None:
    try:
        candidates = conn.execute("SELECT seq, hash, file, bytes, digest FROM snapshots"
                                  " WHERE format = ? AND file IS NOT NULL ORDER BY seq DESC", (FORMAT_FILE,)).fetchall()
        for row in candidates:
            path = folder / row["file"]
            outcome = _file_problem(path, row) or _restore_file(conn, path, row, tables, progress)
            if isinstance(outcome, RebuildReport):
                return outcome
            log.warning("snapshot at seq %d not used: %s", row["seq"], outcome)
    finally:
        conn.close()
    return None


def _file_problem(path: Path, row: dict[str, Any]) -> str | None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return f"its file {path} is missing"
    if size != row["bytes"]:
        return f"its file {path} has {size} bytes where {row['bytes']} were written (torn or replaced)"
    if _sha256(path) != row["digest"]:
        return f"its file {path} changed after it was written (its SHA-256 differs)"
    return None


def _restore_file(conn: sqlite3.Connection, path: Path, row: dict[str, Any], tables: list[str],
                  progress: Progress | None) -> RebuildReport | str:
    # ATTACH is refused inside a transaction; on an error the caller closes the connection,
    # which detaches it too.
    conn.execute("ATTACH ? AS snap", (f"{path.resolve().as_uri()}?mode=ro",))
    conn.execute("BEGIN IMMEDIATE")  # the write lock every writer takes, held to COMMIT
    try:
        counts, problem = _file_content(conn, row, tables)
        if problem is not None:
            conn.execute("ROLLBACK")
            conn.execute("DETACH snap")
            return problem
        written = [_restore_table(conn, table, counts[table]) for table in tables]
        replayed = _replay_after(SqliteTransaction(conn, None), row["seq"], progress)
        head = conn.execute("SELECT MAX(seq) AS s FROM events").fetchone()["s"] or 0
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("DETACH snap")
    return RebuildReport(from_snapshot=row["seq"], restored_rows=sum(counts.values()), replayed=replayed,
                         head=int(head), removed_rows=sum(w[0] for w in written),
                         copied_rows=sum(w[1] for w in written))


def _file_content(conn: sqlite3.Connection, row: dict[str, Any], tables: list[str]) -> tuple[dict[str, int], str | None]:
    """The attached file's row count per table, or why it must not be restored here."""
    event = conn.execute("SELECT hash FROM main.events WHERE seq = ?", (row["seq"],)).fetchone()
    if event is None or event["hash"] != row["hash"]:
        return {}, "it was taken of another log"
    try:
        meta = conn.execute("SELECT seq, hash, masthead, schema FROM snap.masthead_snapshot").fetchall()
        recorded = {r["name"]: r["rows"] for r in conn.execute("SELECT name, rows FROM snap.masthead_snapshot_tables")}
        if len(meta) != 1 or (meta[0]["seq"], meta[0]["hash"]) != (row["seq"], row["hash"]):
            return {}, "its file holds a snapshot of another log or seq"
        level = _schema_level(SqliteTransaction(conn, None))
        if (meta[0]["masthead"], meta[0]["schema"]) != (__version__, level):
            return {}, (f"it was taken by Masthead {meta[0]['masthead']} at schema level {meta[0]['schema']};"
                        f" this is {__version__} at level {level}")
        if sorted(recorded) != tables or _schema(conn, "snap", tables) != _schema(conn, "main", tables):
            return {}, "its tables or indexes differ from this database's"
        counts = {t: conn.execute(f"SELECT COUNT(*) AS n FROM snap.{t}").fetchone()["n"] for t in tables}
    except sqlite3.DatabaseError as exc:  # not a snapshot file, or damaged in a way its digest missed
        return {}, f"its file cannot be read ({exc})"
    if counts != recorded:
        return {}, "its tables hold other row counts than were written"
    return counts, None


def _restore_table(conn: sqlite3.Connection, table: str, wanted: int) -> tuple[int, int]:
    """Make `main.table` equal the attached snapshot's table; return (rows removed, rows copied).

    A row is kept only when the snapshot holds the same row (same rowid, every column identical
    under binary comparison: a NULL, a type or a byte that differs counts); the others are
    deleted, and the snapshot's rows that are then missing are copied in. When a sample says
    most rows differ, deleting them one by one would cost more than starting afresh: the table
    is emptied at once instead. Into an empty table the copy is a plain `INSERT ... SELECT *`,
    which SQLite does record by record, indexes included, without decoding a row.
    """
    columns = [f'"{c["name"]}"' for c in conn.execute(f"PRAGMA main.table_info({table})")]
    had = conn.execute(f"SELECT COUNT(*) AS n FROM main.{table}").fetchone()["n"]
    removed = 0
    if had and _mostly_differs(conn, table, columns, had):
        conn.execute(f"DELETE FROM main.{table}")  # no WHERE: SQLite drops the pages, row by row visits none
        removed = had
    elif had:
        removed = conn.execute(f"DELETE FROM main.{table} WHERE NOT EXISTS (SELECT 1 FROM snap.{table} AS s"
                               f" WHERE s.rowid = main.{table}.rowid AND {_same(columns, f'main.{table}')})").rowcount
    kept = had - removed
    if kept == 0:
        return removed, conn.execute(f"INSERT INTO main.{table} SELECT * FROM snap.{table}").rowcount
    if kept == wanted:  # every kept row is a distinct row of the snapshot: none is missing
        return removed, 0
    listed = ", ".join(columns)
    return removed, conn.execute(
        f"INSERT INTO main.{table} (rowid, {listed}) SELECT rowid, {listed} FROM snap.{table} AS s"
        f" WHERE NOT EXISTS (SELECT 1 FROM main.{table} AS m WHERE m.rowid = s.rowid)").rowcount


def _mostly_differs(conn: sqlite3.Connection, table: str, columns: list[str], had: int) -> bool:
    """Whether more than half of a sample of the table's rows differ from the snapshot's. It only
    chooses how the rows are replaced, never which: a poor sample costs time, not correctness."""
    differ = conn.execute(
        f"SELECT COUNT(*) AS n FROM main.{table} AS m WHERE m.rowid IN (SELECT rowid FROM main.{table} LIMIT ?)"
        f" AND NOT EXISTS (SELECT 1 FROM snap.{table} AS s WHERE s.rowid = m.rowid AND {_same(columns, 'm')})",
        (SAMPLE,)).fetchone()["n"]
    return bool(2 * differ > min(had, SAMPLE))


def _same(columns: list[str], row: str) -> str:
    """SQL: the snapshot's row `s` equals `row` in every column, byte for byte."""
    return " AND ".join(f"s.{c} IS {row}.{c} COLLATE BINARY" for c in columns)


def _replay_after(tx: Transaction, since: int, progress: Progress | None) -> int:
    replayed = 0
    for batch in _batches_after(tx, since):
        before = replayed
        replayed += project(tx, batch)
        if progress is not None and replayed // 10_000 > before // 10_000:
            progress(replayed)
    return replayed


def _batches_after(tx: Transaction, since: int) -> Iterator[list[StoredEvent]]:
    metas: dict[str, Meta] = {}  # the events of one append share their meta: parsed once
    while rows := tx.query("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (since, BATCH)):
        yield [hashed_event(r["seq"], r["stream"], r["version"], r["type"], r["data"], r["meta"], r["hash"], metas)
               for r in rows]
        since = rows[-1]["seq"]


# -- SQLite helpers ---------------------------------------------------------------------------
def _schema(conn: sqlite3.Connection, database: str, tables: list[str]) -> list[tuple[str, str, str, str | None]]:
    marks = ", ".join("?" for _ in tables)
    rows = conn.execute(f"SELECT type, name, tbl_name, sql FROM {database}.sqlite_master WHERE type IN ('table', 'index')"
                        f" AND tbl_name IN ({marks}) ORDER BY type, name", tables)
    return [(r["type"], r["name"], r["tbl_name"], r["sql"]) for r in rows]


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SnapshotSchedule:
    """Takes a snapshot in the background once `every` events have been appended since the
    newest one. Registered as a store listener by long-running processes; several processes
    may race for the same snapshot, which costs a little work and is otherwise harmless."""

    def __init__(self, store: EventStore, *, every: int, keep: int):
        self.store = store
        self.every = every
        self.keep = keep
        self._busy = threading.Lock()  # held by the one snapshot this process may be taking
        self._last: int | None = None  # seq of the newest snapshot known here

    def __call__(self, events: list[StoredEvent]) -> None:
        if self.every <= 0 or not events:
            return
        head = events[-1].seq
        if self._last is None:
            self._last = int(self.store.query("SELECT COALESCE(MAX(seq), 0) AS s FROM snapshots")[0]["s"])
        if head - self._last < self.every or not self._busy.acquire(blocking=False):
            return
        self._last = head  # claimed by this process; others will see the row when it lands
        threading.Thread(target=self._take, name="masthead-snapshot", daemon=True).start()

    def _take(self) -> None:
        try:
            taken = take_snapshot(self.store, keep=self.keep)
            if taken is not None:
                log.info("snapshot at seq %d: %d rows, %d bytes", taken.seq, taken.rows, taken.bytes)
        except Exception:  # noqa: BLE001 - a failed snapshot only means a longer rebuild later
            log.exception("taking a projection snapshot failed")
        finally:
            self._busy.release()

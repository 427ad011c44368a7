"""Projection snapshots: every read-model row as of one seq, so a rebuild reads only the tail.

The read models live beside the log and are updated in the append's transaction, so a crash
never leaves them behind; what needs a rebuild is a replica, a restored backup, or read models
that were changed by hand (`masthead replay --rebuild`). A snapshot lets that rebuild restore
the rows as of seq S and replay only the events after S, instead of the whole log.

A snapshot is taken in one consistent read (it does not block writers) and stored in the
`snapshots` table, zlib-compressed JSON, with the hash of event S: it is only ever restored
into the log it was taken from. It also names the Masthead version and schema level it was
taken with; after an upgrade (whose projectors may differ) older snapshots are not used and the
rebuild starts from zero. `masthead replay --verify` never uses snapshots.
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from masthead import __version__
from masthead.errors import IntegrityError
from masthead.events.model import StoredEvent, event_from_row, utc_now
from masthead.events.store import EventStore, Transaction
from masthead.projections.replay import BATCH, project, read_model_tables

log = logging.getLogger("masthead.snapshots")

FORMAT = 1
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
    restored_rows: int
    replayed: int
    head: int


def _schema_level(tx: Transaction) -> int:
    return int(tx.query("SELECT MAX(number) AS n FROM schema_migrations")[0]["n"] or 0)


def take_snapshot(store: EventStore, *, keep: int = 2) -> SnapshotInfo | None:
    """Snapshot the read models now; keep the newest `keep` snapshots. None for an empty log."""
    tables = read_model_tables(store)
    with store.consistent_read() as tx:
        head = tx.query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        if not head:
            return None
        content: dict[str, Any] = {"format": FORMAT, "masthead": __version__, "schema": _schema_level(tx),
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
        (seq, digest, FORMAT, len(tables), rows, payload, utc_now()),
    )
    store.execute_unlogged(
        "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)", (keep,)
    )
    return SnapshotInfo(seq=seq, tables=len(tables), rows=rows, bytes=len(payload))


def list_snapshots(store: EventStore) -> list[dict[str, Any]]:
    return store.query("SELECT seq, hash, format, tables, rows, LENGTH(payload) AS bytes, created_at"
                       " FROM snapshots ORDER BY seq DESC")


def _usable_snapshot(tx: Transaction) -> dict[str, Any] | None:
    """The newest snapshot of this log, taken by this version at this schema level."""
    level = _schema_level(tx)
    for row in tx.query("SELECT seq, hash, format, payload FROM snapshots ORDER BY seq DESC"):
        event = tx.query("SELECT hash FROM events WHERE seq = ?", (row["seq"],))
        if not event or event[0]["hash"] != row["hash"] or row["format"] != FORMAT:
            continue  # not from this log (or a restored older log): never restore it
        content: dict[str, Any] = json.loads(zlib.decompress(bytes(row["payload"])))
        if content["masthead"] == __version__ and content["schema"] == level:
            return content
    return None


def _restore(tx: Transaction, content: dict[str, Any], tables: list[str]) -> int:
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


def _events_after(tx: Transaction, since: int) -> Iterator[StoredEvent]:
    while True:
        rows = tx.query("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (since, BATCH))
        if not rows:
            return
        yield from (event_from_row(row) for row in rows)
        since = rows[-1]["seq"]


def rebuild_in_place(store: EventStore, *, use_snapshot: bool = True, progress: Progress | None = None) -> RebuildReport:
    """Empty the read models and rebuild them: from the newest usable snapshot and the events
    after it, or from zero. One write transaction: other writers wait, and a failure changes nothing."""
    tables = read_model_tables(store)
    with store.transaction() as tx:
        content = _usable_snapshot(tx) if use_snapshot else None
        for table in tables:
            tx.execute(f"DELETE FROM {table}")
        since = 0
        restored = 0
        if content is not None:
            restored = _restore(tx, content, tables)
            since = content["seq"]
        replayed = 0
        for event in _events_after(tx, since):
            replayed += project(tx, [event])
            if progress is not None and replayed % 10_000 == 0:
                progress(replayed)
        head = tx.query("SELECT MAX(seq) AS s FROM events")[0]["s"] or 0
    return RebuildReport(from_snapshot=since if content is not None else None, restored_rows=restored,
                         replayed=replayed, head=int(head))


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

"""Rebuild every projection from the log and compare it with the live database.

`verify` walks the hash chain, replays all events into a scratch SQLite file with the same
migrations, and compares each projection table row by row. The first difference is reported
by table and key, so an operator can see exactly what drifted.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from masthead.events.model import GENESIS_HASH, canonical_json, chain_hash
from masthead.events.sqlite_store import SqliteEventStore
from masthead.events.store import EventStore
from masthead.projections.read_models import ReadModelProjector

Progress = Callable[[int], None]

# Caches derived from outside the log (embeddings depend on the configured embedder); they are
# rebuilt by recomputing, never by replay, so verify does not compare them.
CACHE_TABLES = frozenset({"memory_vectors"})


@dataclass(frozen=True)
class VerifyReport:
    events: int
    tables: int
    rows: int
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(store: EventStore, progress: Progress | None = None) -> tuple[int, str | None]:
    """Recompute every hash; return (events checked, first problem or None)."""
    prev = GENESIS_HASH
    count = 0
    for expected_seq, event in enumerate(store.read(), start=1):
        if event.seq != expected_seq:
            return count, f"event seq {expected_seq} is missing (next is {event.seq})"
        digest = chain_hash(
            prev, event.seq, event.stream, event.version, event.type,
            canonical_json(event.data), canonical_json(event.meta.as_dict()),
        )
        if digest != event.hash:
            return count, f"hash chain broken at seq {event.seq} ({event.type} on {event.stream})"
        prev = event.hash
        count += 1
        if progress is not None and count % 10_000 == 0:
            progress(count)
    return count, None


def rebuild_into(source: EventStore, target: SqliteEventStore, progress: Progress | None = None) -> int:
    """Apply every event of `source` to `target`'s projections (target's log is rewritten too)."""
    projector = ReadModelProjector()
    count = 0
    batch: list[Any] = []

    def flush() -> None:
        with target.transaction() as tx:
            for event in batch:
                tx.execute(
                    "INSERT INTO events (seq, stream, version, type, data, meta, hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (event.seq, event.stream, event.version, event.type,
                     canonical_json(event.data), canonical_json(event.meta.as_dict()), event.hash),
                )
                projector.apply(tx, event)
        batch.clear()

    for event in source.read():
        batch.append(event)
        count += 1
        if len(batch) >= 5_000:
            flush()
            if progress is not None:
                progress(count)
    if batch:
        flush()
    return count


def compare_tables(live: SqliteEventStore, rebuilt: SqliteEventStore) -> tuple[int, int, str | None]:
    tables = [t for t in live.projection_tables() if t not in CACHE_TABLES]
    rebuilt_tables = [t for t in rebuilt.projection_tables() if t not in CACHE_TABLES]
    if tables != rebuilt_tables:
        return 0, 0, f"projection tables differ: live {tables}, rebuilt {rebuilt_tables}"
    rows = 0
    for table in tables:
        live_rows = _sorted_rows(live, table)
        new_rows = _sorted_rows(rebuilt, table)
        rows += len(live_rows)
        for index, (a, b) in enumerate(zip(live_rows, new_rows, strict=False)):
            if a != b:
                return len(tables), rows, f"table {table}, row {index + 1}: live {a} != rebuilt {b}"
        if len(live_rows) != len(new_rows):
            return len(tables), rows, (
                f"table {table}: live has {len(live_rows)} rows, rebuilt has {len(new_rows)}"
            )
    return len(tables), rows, None


def _sorted_rows(store: SqliteEventStore, table: str) -> list[str]:
    return sorted(canonical_json(row) for row in store.query(f"SELECT * FROM {table}"))


def verify(store: SqliteEventStore, progress: Progress | None = None) -> VerifyReport:
    count, problem = verify_chain(store, progress)
    if problem is not None:
        return VerifyReport(count, 0, 0, problem)
    with tempfile.TemporaryDirectory(prefix="masthead-replay-") as scratch:
        rebuilt = SqliteEventStore(Path(scratch) / "replay.db", synchronous="OFF")
        try:
            rebuild_into(store, rebuilt, progress)
            tables, rows, problem = compare_tables(store, rebuilt)
        finally:
            rebuilt.close()
    return VerifyReport(count, tables, rows, problem)

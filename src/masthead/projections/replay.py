"""Rebuild every projection from the log and compare it with the live database.

`verify` walks the hash chain, replays all events into a scratch store of the same kind (a
temporary SQLite file, or a temporary Postgres schema) with the same migrations, and compares
each projection table row by row. The first difference is reported by table and key, so an
operator can see exactly what drifted. It always starts from zero, never from a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from masthead.events.model import GENESIS_HASH, StoredEvent, canonical_json, chain_hash
from masthead.events.store import EventStore, Transaction
from masthead.projections.read_models import ReadModelProjector

Progress = Callable[[int], None]

# Tables that are not built from the log, so replay neither rebuilds nor compares them:
# caches (embeddings depend on the configured embedder and are recomputed), the worker
# registry, the snapshots themselves, Postgres's commit barrier, and the replay guards of
# webhooks and logged-out sessions (expiring rows about requests, not about the log), and the
# hashes of users' credentials (secrets stay out of the log; a restored log reissues them), and
# the keys of personal data (deleting one forgets a person: crypto-shredding).
CACHE_TABLES = frozenset({"memory_vectors", "workers", "snapshots", "commit_barrier",
                          "webhook_signatures", "revoked_sessions", "user_credentials", "subject_keys"})
BATCH = 5_000


@dataclass(frozen=True)
class VerifyReport:
    events: int
    tables: int
    rows: int
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def read_model_tables(store: EventStore) -> list[str]:
    return [t for t in store.projection_tables() if t not in CACHE_TABLES]


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


def project(tx: Transaction, events: Iterable[StoredEvent]) -> int:
    """Apply events to the read models on `tx` (the events are already in its log)."""
    projector = ReadModelProjector()
    count = 0
    for event in events:
        projector.apply(tx, event)
        count += 1
    return count


def rebuild_into(source: EventStore, target: EventStore, progress: Progress | None = None) -> int:
    """Copy every event of `source` into `target`'s log and apply it to `target`'s projections."""
    count = 0
    batch: list[StoredEvent] = []

    def flush() -> None:
        with target.transaction() as tx:
            tx.execute_many(
                "INSERT INTO events (seq, stream, version, type, data, meta, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.seq, e.stream, e.version, e.type, canonical_json(e.data),
                  canonical_json(e.meta.as_dict()), e.hash) for e in batch],
            )
            project(tx, batch)
        batch.clear()

    for event in source.read():
        batch.append(event)
        count += 1
        if len(batch) >= BATCH:
            flush()
            if progress is not None:
                progress(count)
    if batch:
        flush()
    return count


def compare_tables(live: EventStore, rebuilt: EventStore) -> tuple[int, int, str | None]:
    tables = read_model_tables(live)
    rebuilt_tables = read_model_tables(rebuilt)
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


def _sorted_rows(store: EventStore, table: str) -> list[str]:
    return sorted(canonical_json(row) for row in store.query(f"SELECT * FROM {table}"))


def verify(store: EventStore, progress: Progress | None = None) -> VerifyReport:
    count, problem = verify_chain(store, progress)
    if problem is not None:
        return VerifyReport(count, 0, 0, problem)
    with store.scratch() as rebuilt:
        rebuild_into(store, rebuilt, progress)
        tables, rows, problem = compare_tables(store, rebuilt)
    return VerifyReport(count, tables, rows, problem)

"""Rebuild every projection from the log and compare it with the live database.

`verify` walks the hash chain (each hash recomputed from the texts as stored) while it copies
every event into a scratch store of the same kind (a temporary SQLite file, or a temporary
Postgres schema) with the same migrations and projects it there, then compares each projection
table row by row. The first difference is reported by table and key, so an
operator can see exactly what drifted. It always starts from zero, never from a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from masthead.events import sqlite_queries
from masthead.events.bulk import HashedEvent, hashed_event, insert_hashed
from masthead.events.model import GENESIS_HASH, Meta, StoredEvent, canonical_json, chain_hash
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
_ROWS = "SELECT seq, stream, version, type, data, meta, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?"
# A scratch store is private: its read models' secondary indexes are built once, after the load.
# Not on Postgres: psycopg forgets its prepared statements after DDL, and in pipeline mode the
# statements queued meanwhile then name ones the server no longer has.
_SECONDARY_INDEXES = {"sqlite": sqlite_queries.SECONDARY_INDEXES}


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


class ChainCheck:
    """The hash chain, checked row by row of the `events` table: each hash recomputed with the
    store's `chain_hash` from the texts as stored (the bytes the hash covers)."""

    def __init__(self) -> None:
        self.prev = GENESIS_HASH
        self.count = 0
        self.problem: str | None = None

    def passes(self, row: dict[str, Any]) -> bool:
        seq = row["seq"]
        if seq != self.count + 1:
            self.problem = f"event seq {self.count + 1} is missing (next is {seq})"
            return False
        digest = chain_hash(self.prev, seq, row["stream"], row["version"], row["type"], row["data"], row["meta"])
        if digest != row["hash"]:
            self.problem = f"hash chain broken at seq {seq} ({row['type']} on {row['stream']})"
            return False
        self.prev = digest
        self.count = seq
        return True


def _pages(store: EventStore) -> Iterator[list[dict[str, Any]]]:
    cursor = 0
    while rows := store.query(_ROWS, (cursor, BATCH)):
        yield rows
        cursor = rows[-1]["seq"]


def verify_chain(store: EventStore, progress: Progress | None = None) -> tuple[int, str | None]:
    """Recompute every hash; return (events checked, first problem or None)."""
    chain = ChainCheck()
    for rows in _pages(store):
        for row in rows:
            if not chain.passes(row):
                return chain.count, chain.problem
        if progress is not None:
            progress(chain.count)
    return chain.count, None


def project(tx: Transaction, events: Iterable[StoredEvent]) -> int:
    """Apply events to the read models on `tx` (the events are already in its log)."""
    projector = ReadModelProjector()
    count = 0
    for event in events:
        projector.apply(tx, event)
        count += 1
    return count


def rebuild_into(source: EventStore, target: EventStore, progress: Progress | None = None,
                 chain: ChainCheck | None = None) -> int:
    """Copy every event of `source` (as stored) into the empty `target`'s log and apply it to
    `target`'s projections, in one transaction. With `chain`, each event is checked first, and
    the copy stops before the first that fails (`chain.problem` says why)."""
    with target.transaction() as tx:
        return insert_hashed(tx, _checked_events(source, chain), after=(0, GENESIS_HASH),
                             projector=ReadModelProjector(), progress=progress,
                             secondary_indexes=_SECONDARY_INDEXES.get(target.backend))


def _checked_events(source: EventStore, chain: ChainCheck | None) -> Iterator[HashedEvent]:
    metas: dict[str, Meta] = {}
    for rows in _pages(source):
        for row in rows:
            if chain is not None and not chain.passes(row):
                return
            yield hashed_event(row["seq"], row["stream"], row["version"], row["type"], row["data"], row["meta"],
                               row["hash"], metas)


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
    """The chain checked and every read model rebuilt into a scratch store in one read of the
    log, then the read models compared table by table."""
    chain = ChainCheck()
    with store.scratch() as rebuilt:
        rebuild_into(store, rebuilt, progress, chain)
        if chain.problem is not None:
            return VerifyReport(chain.count, 0, 0, chain.problem)
        tables, rows, problem = compare_tables(store, rebuilt)
    return VerifyReport(chain.count, tables, rows, problem)

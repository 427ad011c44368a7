"""The EventStore port. Adapters (SQLite, Postgres) implement it beside this file.

Projections are applied inside the append's transaction through a `Projector` hook, so the
read models never lag the log and never disagree with it after a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from masthead.events.model import Meta, NewEvent, StoredEvent

Params = Sequence[Any] | dict[str, Any]
Listener = Callable[[list[StoredEvent]], None]


class Projector(Protocol):
    """Updates read models for one event, on the transaction's connection."""

    def apply(self, tx: Transaction, event: StoredEvent) -> None: ...


class Transaction(Protocol):
    """One serialised unit of work: read models and append, all or nothing.

    SQL is written once for both backends, with `?` or `:name` placeholders; the Postgres
    adapter translates them.
    """

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Run a read query on the projection tables."""
        ...

    def query_skip_locked(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """A `SELECT` whose rows are locked until commit and skipped by other transactions
        doing the same (Postgres: `FOR UPDATE SKIP LOCKED`). On SQLite the write lock already
        keeps every other writer out, so it is a plain query."""
        ...

    def execute(self, sql: str, params: Params = ()) -> None:
        """Write to a projection table (projectors only)."""
        ...

    def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        """The same write for many rows at once (restoring a snapshot, rebuilding)."""
        ...

    def append(self, events: Sequence[NewEvent], meta: Meta) -> list[StoredEvent]:
        """Append events in order; raises ConcurrencyConflict on a version clash."""
        ...

    def check_unchanged(self, name: str, params: Sequence[Any]) -> None:
        """Make sure a read this transaction made before it held the append lock is still true
        once it does: the adapter's named check `name` (events/<backend>_queries.py, UNCHANGED)
        with `params` (what to look at and the fingerprint that was read) runs right after the
        lock is taken, in the same round trip, and the transaction fails with StaleRead at its
        first append (nothing of it lands) if another commit changed what was read. A no-op
        where reads cannot go stale: SQLite, whose write lock is held from BEGIN, and a Postgres
        transaction that holds the lock already."""
        ...

    def stream_version(self, stream: str) -> int:
        """The stream's version as this transaction sees it (0 for a stream with no events)."""
        ...


class EventStore(Protocol):
    backend: str  # "sqlite" | "postgres"
    # True when a write transaction holds the write lock from its BEGIN (SQLite): what it reads
    # never goes stale and costs no other writer anything. False when the append lock is taken
    # later and held across network round trips (Postgres): hot paths then read before their
    # first append and guard those reads with `Transaction.check_unchanged`.
    locks_at_begin: bool
    # The named query that picks the most urgent ready task (events/<backend>_queries.py),
    # with `:now` and `:ageing` parameters; a claim runs it with `query_skip_locked`.
    ready_task_sql: str
    # Called after each commit that appended events, in the committing process.
    listeners: list[Listener]

    @property
    def location(self) -> str:
        """Where the store is, for people: a file path, or a URL without its password."""
        ...

    def transaction(self) -> AbstractContextManager[Transaction]:
        """Begin a write transaction that serialises with every other writer."""
        ...

    def claim_transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction that may lock rows with `query_skip_locked` before it takes
        the append lock (which its first `append` takes); only for claiming queued work."""
        ...

    def append(self, events: Sequence[NewEvent], meta: Meta) -> list[StoredEvent]:
        """Append in a transaction of its own."""
        ...

    def import_hashed(self, events: Iterable[StoredEvent], *, after: tuple[int, str],
                      progress: Callable[[int], None] | None = None) -> int:
        """Insert already-hashed events (an import the caller verified) with their seq, version
        and hash, projected, in one transaction; StateError unless the head is `after`."""
        ...

    def read(
        self, *, since: int = 0, stream: str | None = None, limit: int | None = None
    ) -> Iterator[StoredEvent]:
        """Events with seq > since, in global order, optionally of one stream."""
        ...

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """A read-only query on the projections, outside any write transaction."""
        ...

    def consistent_read(self) -> AbstractContextManager[Transaction]:
        """A read-only transaction: every query in it sees the database as of one moment,
        without blocking writers (for snapshots). Do not append or execute in it."""
        ...

    def execute_unlogged(self, sql: str, params: Params = ()) -> None:
        """Write to a table that is not derived from the log (the worker registry, snapshots),
        in a short transaction of its own that does not wait for the append lock on Postgres."""
        ...

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 for a stream with no events), outside any write
        transaction: what an append must name as its expected version."""
        ...

    def head(self) -> tuple[int, str]:
        """The last seq and its hash ((0, GENESIS_HASH) for an empty log)."""
        ...

    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen; return their names."""
        ...

    def pending_migrations(self) -> list[str]:
        """The names of the migrations `migrate` would apply."""
        ...

    def projection_tables(self) -> list[str]:
        """Every table except the log and the migration record, sorted by name."""
        ...

    def scratch(self) -> AbstractContextManager[EventStore]:
        """An empty store of the same kind with the same schema, removed on exit."""
        ...

    def listen(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call `wake` when another process commits work for the queue (a hint only: callers
        also poll). Returns a function that stops listening."""
        ...

    def close(self) -> None: ...

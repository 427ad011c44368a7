"""The EventStore port. Adapters (SQLite now, Postgres later) implement it beside this file.

Projections are applied inside the append's transaction through a `Projector` hook, so the
read models never lag the log and never disagree with it after a crash.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from masthead.events.model import Meta, NewEvent, StoredEvent


class Projector(Protocol):
    """Updates read models for one event, on the transaction's connection."""

    def apply(self, tx: Transaction, event: StoredEvent) -> None: ...


class Transaction(Protocol):
    """One serialised unit of work: read models and append, all or nothing."""

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Run a read query on the projection tables."""
        ...

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> None:
        """Write to a projection table (projectors only)."""
        ...

    def append(self, events: Sequence[NewEvent], meta: Meta) -> list[StoredEvent]:
        """Append events in order; raises ConcurrencyConflict on a version clash."""
        ...


class EventStore(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]:
        """Begin a write transaction that serialises with every other writer."""
        ...

    def append(self, events: Sequence[NewEvent], meta: Meta) -> list[StoredEvent]:
        """Append in a transaction of its own."""
        ...

    def read(
        self, *, since: int = 0, stream: str | None = None, limit: int | None = None
    ) -> Iterator[StoredEvent]:
        """Events with seq > since, in global order, optionally of one stream."""
        ...

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """A read-only query on the projections, outside any write transaction."""
        ...

    def head(self) -> tuple[int, str]:
        """The last seq and its hash ((0, GENESIS_HASH) for an empty log)."""
        ...

    def close(self) -> None: ...

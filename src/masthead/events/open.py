"""Open the store a workspace names: a `postgresql://` URL, or an SQLite file path.

The adapters never import each other; this is the one place that knows both. psycopg is
imported only when a Postgres URL is opened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from masthead.events.model import StoredEvent
from masthead.events.store import EventStore, Projector

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def open_store(
    location: str | Path,
    projector: Projector | None = None,
    *,
    synchronous: str = "FULL",
    create: bool = True,
    migrate: bool = True,
    notify_when: Callable[[Sequence[StoredEvent]], bool] | None = None,
) -> EventStore:
    """`create=False` refuses a missing SQLite file (a Postgres database must exist anyway).
    `notify_when`: which commits wake LISTENing workers (Postgres)."""
    if is_postgres_url(location):
        from masthead.events.postgres_store import PostgresEventStore

        return PostgresEventStore(str(location), projector, synchronous=synchronous, migrate=migrate,
                                  notify_when=notify_when)
    from masthead.events.sqlite_store import SqliteEventStore

    return SqliteEventStore(location, projector, synchronous=synchronous, create=create, migrate=migrate)

"""One contract, every adapter: each test here runs on SQLite and on the real Postgres.

`backend` names a database of the kind under test (a new file, or a database cloned from the
migrated template); `backend.open()` gives a store on it, as many as a test wants (separate
stores are separate connections, as in separate processes); `backend.raw(sql)` reaches the
database without Masthead, for tampering.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.support.postgres import fresh_database

from masthead.events.open import open_store
from masthead.events.store import EventStore
from masthead.projections.read_models import ReadModelProjector
from masthead.runtime.worker import wakes_workers


class Backend:
    def __init__(self, name: str, location: str | Path):
        self.name = name
        self.location = location
        self._stores: list[EventStore] = []

    def open(self, *, projector: bool = True) -> EventStore:
        store = open_store(self.location, ReadModelProjector() if projector else None, notify_when=wakes_workers)
        self._stores.append(store)
        return store

    def raw(self, sql: str) -> None:
        """Run `sql` on a connection of its own, outside Masthead."""
        if self.name == "sqlite":
            conn = sqlite3.connect(self.location)
            try:
                conn.execute(sql)
                conn.commit()
            finally:
                conn.close()
        else:
            with psycopg.connect(str(self.location), autocommit=True) as conn:
                conn.execute(sql.encode())

    def tamper(self, sql: str) -> None:
        """Change the log behind the append-only guard (as someone with file or superuser access)."""
        if self.name == "sqlite":
            self.raw("DROP TRIGGER IF EXISTS events_no_update")
            self.raw("DROP TRIGGER IF EXISTS events_no_delete")
            self.raw(sql)
        else:
            self.raw(f"ALTER TABLE events DISABLE TRIGGER USER; {sql}; ALTER TABLE events ENABLE TRIGGER USER")

    @property
    def append_only_error(self) -> type[Exception]:
        return sqlite3.DatabaseError if self.name == "sqlite" else psycopg.Error

    def close(self) -> None:
        for store in self._stores:
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        chosen = Backend("sqlite", tmp_path / "contract.db")
        yield chosen
        chosen.close()
        return
    with fresh_database() as url:
        chosen = Backend("postgres", url)
        yield chosen
        chosen.close()


@pytest.fixture
def postgres_backend() -> Iterator[Backend]:
    """For what only Postgres has (LISTEN/NOTIFY)."""
    with fresh_database() as url:
        chosen = Backend("postgres", url)
        yield chosen
        chosen.close()


@pytest.fixture
def store(backend: Backend) -> Any:
    return backend.open()

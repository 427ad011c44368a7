"""What the Postgres adapter does while it holds the append lock (every other writer on the
server waits meanwhile): how many round trips an append makes, and the log's own check of the
versions it no longer reads (migration 0020)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from tests.support.postgres import fresh_database

from masthead.events.model import ANY_VERSION, Meta, NewEvent, utc_now
from masthead.events.postgres_store import PostgresEventStore
from masthead.projections.read_models import ReadModelProjector
from masthead.projections.replay import verify_chain


def meta() -> Meta:
    return Meta(actor="system", at=utc_now())


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database() as found:
        yield found


@pytest.fixture
def store(url: str) -> Iterator[PostgresEventStore]:
    opened = PostgresEventStore(url, ReadModelProjector(), synchronous="NORMAL")
    yield opened
    opened.close()


class RoundTrips:
    """Counts the results the client waits for (a read forces the pipeline to the server and
    back; queued writes do not)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.count = 0
        plain = psycopg.Cursor.fetchall

        def counted(cursor: psycopg.Cursor[Any]) -> list[Any]:
            self.count += 1
            return plain(cursor)

        monkeypatch.setattr(psycopg.Cursor, "fetchall", counted)


def test_appends_after_the_first_wait_for_nothing_they_already_know(store, monkeypatch):
    store.append([NewEvent("task-1", "Noted", {}, 0)], meta())
    trips = RoundTrips(monkeypatch)
    with store.transaction() as tx:
        tx.append([NewEvent("calls-1", "Noted", {}, ANY_VERSION)], meta())  # the head, and calls-1's version
        assert trips.count == 1
        tx.append([NewEvent("task-1", "Noted", {}, 1)], meta())  # a named version: the log checks it
        tx.append([NewEvent("task-2", "Noted", {}, 0)], meta())
        tx.append([NewEvent("calls-1", "Noted", {}, ANY_VERSION)], meta())  # appended above: known
        assert trips.count == 1
        tx.append([NewEvent("job-1", "Noted", {}, ANY_VERSION)], meta())  # a stream not seen: its version only
        assert trips.count == 2
    assert [(e.stream, e.version) for e in store.read()][1:] == [
        ("calls-1", 1), ("task-1", 2), ("task-2", 1), ("calls-1", 2), ("job-1", 1)]
    assert verify_chain(store) == (6, None)


def test_the_log_refuses_an_event_that_skips_a_version(store, url):
    store.append([NewEvent("s", "Noted", {}, 0)], meta())
    row = "(%s, 's', %s, 'Noted', '{}', '{}', 'x')"
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="stream s is at version 1, expected 2"):
            conn.execute(f"INSERT INTO events (seq, stream, version, type, data, meta, hash) VALUES {row}", (2, 3))
        with pytest.raises(psycopg.Error, match="stream s is at version 1, expected 0"):  # taken twice
            conn.execute(f"INSERT INTO events (seq, stream, version, type, data, meta, hash) VALUES {row}", (2, 1))
    assert [e.version for e in store.read()] == [1]

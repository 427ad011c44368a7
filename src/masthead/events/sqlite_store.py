"""SQLite adapter of the EventStore: one file, WAL mode, one writer at a time.

Every write runs in `BEGIN IMMEDIATE`, which takes SQLite's write lock up front; that
serialises appends, so `seq` is gap-free and the hash chain has exactly one head.
Connections are lent per use (events/connections.py): never to two threads at once.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from masthead.errors import ConcurrencyConflict, ConfigError
from masthead.events import sqlite_queries as queries
from masthead.events.bulk import insert_hashed
from masthead.events.connections import ConnectionPool
from masthead.events.migrate import migrations_for
from masthead.events.model import (
    ANY_VERSION,
    GENESIS_HASH,
    Meta,
    NewEvent,
    StoredEvent,
    canonical_json,
    chain_hash,
    event_from_row,
    must_reach_disk,
    parse_json,
)
from masthead.events.paging import read_pages
from masthead.events.store import Listener, Params, Projector

# The column names of the last description seen, with that description: the rows of one
# statement share it, so their names are read once. Replaced whole (one reference assignment),
# so threads never see a description with another's names; holding the description keeps its
# identity from being reused.
_LAST_COLUMNS: tuple[Any, tuple[str, ...]] = (None, ())


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    global _LAST_COLUMNS
    description = cursor.description
    known = _LAST_COLUMNS
    if known[0] is not description:
        known = _LAST_COLUMNS = (description, tuple(col[0] for col in description))
    return dict(zip(known[1], row, strict=True))


class SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection, projector: Projector | None):
        self._conn = conn
        # One cursor for every write: `Connection.execute` makes a new one per statement, about
        # a microsecond each (a projector runs one or two statements per event).
        self._writes = conn.cursor()
        self._projector = projector
        self.appended: list[StoredEvent] = []
        # The version each stream was left at by this transaction's own appends. BEGIN IMMEDIATE
        # keeps every other writer out until we commit, so a stream appended here is at exactly
        # that version: a second append to it (a step's second model call, at ANY_VERSION) needs
        # no query. A stale entry could only make an insert collide, never land twice.
        self._versions: dict[str, int] = {}

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        return self._conn.execute(sql, params).fetchall()

    def query_skip_locked(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        # BEGIN IMMEDIATE already keeps every other writer out: nothing to skip.
        return self.query(sql, params)

    def check_unchanged(self, name: str, params: Sequence[Any]) -> None:
        # BEGIN IMMEDIATE took the write lock before any read: nothing read here can go stale.
        if name not in queries.UNCHANGED:
            raise KeyError(f"no check named {name!r}")

    def execute(self, sql: str, params: Params = ()) -> None:
        self._writes.execute(sql, params)

    def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self._conn.executemany(sql, rows)

    def append(self, events: Sequence[NewEvent], meta: Meta) -> list[StoredEvent]:
        if self.appended:  # the head is our own last event: no need to ask the database again
            seq, prev_hash = self.appended[-1].seq, self.appended[-1].hash
        else:
            head = self._conn.execute(queries.HEAD).fetchone()
            seq, prev_hash = (head["seq"], head["hash"]) if head else (0, GENESIS_HASH)
        meta_json = canonical_json(meta.as_dict())
        stored: list[StoredEvent] = []
        for event in events:
            seq += 1
            data_json = canonical_json(event.data)
            expected = event.expected_version
            version = (self.stream_version(event.stream) if expected == ANY_VERSION else expected) + 1
            digest = chain_hash(prev_hash, seq, event.stream, version, event.type, data_json, meta_json)
            row = (seq, event.stream, version, event.type, data_json, meta_json, digest)
            try:
                if expected > 0:
                    # Lands only if the stream is exactly at `expected`: the row before must exist
                    # (else the stream is behind) and this version must not (the unique index).
                    inserted = self._conn.execute(_INSERT_AFTER, (*row, event.stream, expected)).rowcount
                else:
                    inserted = self._conn.execute(_INSERT, row).rowcount
            except sqlite3.IntegrityError:  # the version exists: the stream moved past `expected`
                inserted = 0
            if not inserted:
                current = self.stream_version(event.stream)
                raise ConcurrencyConflict(
                    f"stream {event.stream} is at version {current}, expected {expected}"
                    if expected != ANY_VERSION else f"stream {event.stream} version {version} already exists",
                    fix="reload the latest state and try again",
                )
            record = StoredEvent(seq=seq, stream=event.stream, version=version, type=event.type,
                                 data=parse_json(data_json), meta=meta, hash=digest)
            if self._projector is not None:
                self._projector.apply(self, record)
            stored.append(record)
            self._versions[event.stream] = version
            prev_hash = digest
        self.appended.extend(stored)
        return stored

    def stream_version(self, stream: str) -> int:
        known = self._versions.get(stream)
        if known is not None:
            return known
        return int(self._conn.execute(queries.STREAM_VERSION, (stream,)).fetchone()["v"])


_INSERT = "INSERT INTO events (seq, stream, version, type, data, meta, hash) VALUES (?, ?, ?, ?, ?, ?, ?)"
_INSERT_AFTER = (
    "INSERT INTO events (seq, stream, version, type, data, meta, hash) SELECT ?, ?, ?, ?, ?, ?, ?"
    " WHERE EXISTS (SELECT 1 FROM events WHERE stream = ? AND version = ?)"
)


# How long a connection waits for another one's lock before "database is locked".
_BUSY_TIMEOUT = 60.0


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (a no-op once it is). Turning a new file to WAL needs it alone for
    a moment, and SQLite does not wait for that (its busy handler is not asked): several stores
    opening a new file at once (workers started together on a new workspace) would fail with
    "database is locked". They wait their turn here instead, as long as for any other lock."""
    deadline = time.monotonic() + _BUSY_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class SqliteEventStore:
    """The log and its projections in one SQLite file."""

    backend = "sqlite"
    ready_task_sql = queries.READY_TASK
    locks_at_begin = True  # BEGIN IMMEDIATE

    def __init__(
        self,
        path: str | Path,
        projector: Projector | None = None,
        *,
        synchronous: str = "NORMAL",
        create: bool = True,
        migrate: bool = True,
    ):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise ConfigError(
                f"no database at {self.path}",
                fix="run `masthead init` in the workspace folder first",
            )
        self.projector = projector
        self._synchronous = synchronous
        # Opened for every flush (about one a step): the name as a string, worked out once.
        self._wal_path = str(self.path.with_name(self.path.name + "-wal"))
        # Lent per use (see connections.py); SQLite connections may move between threads as long
        # as two never use one at once, which the pool guarantees.
        self._pool: ConnectionPool[sqlite3.Connection] = ConnectionPool(
            self.connect, reusable=lambda conn: not conn.in_transaction, close=lambda conn: conn.close(), keep=16)
        # Callbacks run after a commit with the events it appended (wake-ups, live streams).
        self.listeners: list[Listener] = []
        # Held by every writer of this process (see transaction()); code that writes through
        # a connection of its own (a snapshot restore) takes it too.
        self.write_lock = threading.RLock()
        # Group flushing: commits that must reach disk take a ticket; one fsync covers every
        # ticket handed out before it started, so concurrent writers share it.
        self._ticket_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._tickets = 0
        self._flushed = 0
        self._checkpointer = _Checkpointer(self._pool)
        if migrate:
            self.migrate()

    @property
    def location(self) -> str:
        return str(self.path)

    # -- connections -------------------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        """A connection to the file, set up like every connection of the store. The pool lends
        these; code that needs one outside any transaction (ATTACH refuses to run inside one)
        opens its own here and closes it."""
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=_BUSY_TIMEOUT, check_same_thread=False)
        conn.row_factory = _dict_row
        _use_wal(conn)
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        # Checkpoints run on a thread of their own (see _Checkpointer), not inside whichever
        # commit happens to cross SQLite's threshold, where they would stall that writer.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    def close(self) -> None:
        self._checkpointer.stop()
        self._pool.close_all()

    # -- schema ------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen; return their names."""
        with self._pool.borrow() as conn:
            return self._migrate(conn)

    def _migrate(self, conn: sqlite3.Connection) -> list[str]:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (number INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        applied = {r["number"] for r in conn.execute("SELECT number FROM schema_migrations")}
        ran = []
        for migration in migrations_for("sqlite"):
            if migration.number in applied:
                continue
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have applied it since we looked: look again under the lock.
            if conn.execute("SELECT 1 FROM schema_migrations WHERE number = ?", (migration.number,)).fetchone():
                conn.execute("ROLLBACK")
                continue
            try:
                # executescript would commit on its own; run statements inside our transaction.
                for statement in _split_sql(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (number, name) VALUES (?, ?)",
                    (migration.number, migration.name),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            ran.append(migration.name)
        return ran

    def pending_migrations(self) -> list[str]:
        applied = set()
        if self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"):
            applied = {r["number"] for r in self.query("SELECT number FROM schema_migrations")}
        return [m.name for m in migrations_for("sqlite") if m.number not in applied]

    # -- writes ------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[SqliteTransaction]:
        # Writers of this process queue on a Python lock: SQLite's busy handler would make them
        # poll with growing sleeps instead. Other processes still meet SQLite's own lock.
        with self.write_lock, self._pool.borrow() as conn:
            conn.execute("BEGIN IMMEDIATE")
            tx = SqliteTransaction(conn, self.projector)
            try:
                yield tx
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        self._checkpointer.committed()
        if tx.appended:
            if self._synchronous == "NORMAL" and any(must_reach_disk(e) for e in tx.appended):
                self._flush_after_commit()
            for listener in list(self.listeners):
                listener(tx.appended)

    def _flush_after_commit(self) -> None:
        with self._ticket_lock:
            self._tickets += 1
            ticket = self._tickets
        with self._flush_lock:
            if self._flushed >= ticket:  # a flush that started after our commit covered it
                return
            with self._ticket_lock:
                covered = self._tickets  # every holder of these tickets has committed already
            self._flush_wal()
            self._flushed = covered

    def _flush_wal(self) -> None:
        """fsync the write-ahead log: everything committed so far is now on disk.

        In WAL mode with synchronous=NORMAL, SQLite does not sync at commit (a process crash
        loses nothing; a power cut may lose the last commits). Commits that take something in
        from, or send something out to, the world are flushed here before they return; the
        bookkeeping commits between them ride along with the next flush.
        """
        try:
            fd = os.open(self._wal_path, os.O_RDONLY)
        except FileNotFoundError:  # already checkpointed into the main file, which SQLite synced
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # SQLite has one writer at a time anyway: a claim is an ordinary write transaction.
    claim_transaction = transaction

    def append(self, events: Sequence[NewEvent], meta: Meta) -> list[StoredEvent]:
        with self.transaction() as tx:
            return tx.append(events, meta)

    def import_hashed(self, events: Iterable[StoredEvent], *, after: tuple[int, str],
                      progress: Callable[[int], None] | None = None) -> int:
        """Insert exported events as they are (seq, version and hash kept) and project them, in ONE
        transaction: a crash or an error leaves the log as it was. The caller verified the chain;
        this refuses (StateError) unless the head is `after` once the write lock is held."""
        with self.transaction() as tx:
            # Readers keep seeing the indexes (WAL: they read the last commit) while this
            # transaction loads without them.
            count = insert_hashed(tx, events, after=after, projector=self.projector, progress=progress,
                                  secondary_indexes=queries.SECONDARY_INDEXES)
        if self._synchronous == "NORMAL":  # an import is history from elsewhere: on disk before we return
            self._flush_wal()
        return count

    def execute_unlogged(self, sql: str, params: Params = ()) -> None:
        with self.write_lock, self._pool.borrow() as conn:
            conn.execute("BEGIN IMMEDIATE")  # SQLite's single write lock, held for one statement
            try:
                conn.execute(sql, params)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- reads -------------------------------------------------------------------------
    def read(
        self, *, since: int = 0, stream: str | None = None, limit: int | None = None
    ) -> Iterator[StoredEvent]:
        return read_pages(self.query, event_from_row, since=since, stream=stream, limit=limit)

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        with self._pool.borrow() as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def consistent_read(self) -> Iterator[SqliteTransaction]:
        with self._pool.borrow() as conn:
            # A deferred BEGIN is a read transaction: in WAL mode it sees one moment and never
            # blocks the writer.
            conn.execute("BEGIN")
            try:
                yield SqliteTransaction(conn, None)
            finally:
                conn.execute("ROLLBACK")

    def stream_version(self, stream: str) -> int:
        return int(self.query(queries.STREAM_VERSION, (stream,))[0]["v"])

    def head(self) -> tuple[int, str]:
        row = self.query(queries.HEAD)
        return (row[0]["seq"], row[0]["hash"]) if row else (0, GENESIS_HASH)

    def projection_tables(self) -> list[str]:
        rows = self.query(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT IN"
            " ('events', 'schema_migrations') AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [r["name"] for r in rows]

    @contextmanager
    def scratch(self) -> Iterator[SqliteEventStore]:
        """An empty database in a temporary folder; speed over durability, deleted on exit."""
        with tempfile.TemporaryDirectory(prefix="masthead-replay-") as folder:
            store = SqliteEventStore(Path(folder) / "replay.db", synchronous="OFF")
            try:
                yield store
            finally:
                store.close()

    def listen(self, wake: Callable[[], None]) -> Callable[[], None]:
        # No channel between processes: this process's appends reach `listeners`, and
        # workers poll for the rest.
        return lambda: None


class _Checkpointer:
    """Folds the write-ahead log into the main file on a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold: that
    writer (a webhook's 202, a worker's step) waits while a thousand pages are copied and
    synced. Here the commits only count; every `EVERY` commits a daemon thread runs a PASSIVE
    checkpoint, which copies what no reader still needs and never blocks writers (the sqlite3
    module releases the GIL meanwhile, so it runs on another core). A last one runs at close.
    """

    EVERY = 128

    def __init__(self, pool: ConnectionPool[sqlite3.Connection]):
        self._pool = pool
        self._commits = 0
        self._due = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def committed(self) -> None:
        self._commits += 1  # a lost increment under a race only delays one checkpoint a little
        if self._commits % self.EVERY == 0:
            with self._lock:
                if self._thread is None and not self._stopped:
                    self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                    self._thread.start()
            self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            if self._stopped:
                return
            self._checkpoint()

    def _checkpoint(self) -> None:
        try:
            with self._pool.borrow() as conn:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:  # e.g. the database is being closed; the next one catches up
            pass

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._due.set()
        if thread is not None:
            thread.join(10)
        if self._commits:
            self._checkpoint()


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN ... END;) whole."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in script.splitlines():
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("--")):
            continue
        buffer.append(line)
        candidate = "\n".join(buffer)
        if sqlite3.complete_statement(candidate):
            statements.append(candidate)
            buffer = []
    if buffer and "\n".join(buffer).strip():
        statements.append("\n".join(buffer))
    return statements

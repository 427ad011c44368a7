"""Postgres adapter of the EventStore: the same log, read models and queue as SQLite, shared by
worker processes on any number of machines.

Serialising appends. `seq` is gap-free and the hash chain has one head, so one transaction
appends at a time. A write transaction's first statement takes a transaction-scoped advisory
lock (the "append lock"); it is held until COMMIT or ROLLBACK, so a crashed client can never
leave it behind. That is exactly SQLite's `BEGIN IMMEDIATE`, on which the application relies
when it reads and then appends (budget reservations, approvals, scheduling).

Claims take the lock later (`claim_transaction`): the ready task is chosen and row-locked with
`FOR UPDATE SKIP LOCKED` first, so concurrent claimers pass each other instead of queueing on
the append lock, and only the `TaskClaimed` append takes it. A worker's step-finishing
transaction is such a lazily-locked one too: it reads the job's rows and row-locks the next
ready task first, then appends. A read made before the lock can be stale by the time the lock
is held, so `check_unchanged` queues a check right after the lock statement (no extra round
trip): a server-side function (migration 0021) compares a fingerprint of what was read with
what is committed now and raises MH412, turned into StaleRead, when they differ; the caller
reads and decides again. The head of the log is still read under the lock (it is what the
lock protects).

Durability without holding the lock through an fsync. A commit that waits for the disk would
keep the append lock for the whole flush (about 6 ms here), capping every worker together at
~170 appends/s. So appends commit with `synchronous_commit = off` (the lock goes as soon as
the commit is in the WAL buffers), and then, outside the lock, a durable transaction writes
one row of `commit_barrier`: its synchronous commit returns only when the WAL up to and
including our append is flushed, and concurrent barriers share one flush. `append()` returns
after the barrier, so a caller acts on durable data, as with a synchronous commit. Others may
see an append a few milliseconds before it is durable; if the server crashed in that window
the log would lose its newest events but stay a consistent prefix (WAL replays in order).

Round trips. Whatever runs while the append lock is held makes every other writer wait, so a
write transaction runs in pipeline mode: BEGIN, the lock, inserts, projector updates and COMMIT
go out without waiting for their results, and only reading rows waits (the head of the log,
a projector's or the application's queries).

`[workspace] synchronous` chooses which commits wait for the barrier, as on SQLite: "FULL",
every one; "NORMAL" (the default), those that record the outside world (`must_reach_disk`:
signals, model calls, publications, human decisions); bookkeeping in between (claims, task
outcomes) becomes durable with the next barrier. A client crash loses nothing either way; a
server crash may lose the last bookkeeping commits, which the workers then redo.
"""

from __future__ import annotations

import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import Loader
from psycopg.rows import dict_row

from masthead.errors import ConcurrencyConflict, ConfigError, StaleRead
from masthead.events import postgres_queries as queries
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
from masthead.events.postgres_params import to_params, to_psycopg
from masthead.events.store import Listener, Params, Projector

# Errors that mean "another transaction got in the way; try again", never "the data is wrong".
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure, pg_errors.LockNotAvailable)
# Raised by the log's trigger (migration 0020) when an event does not follow its stream's last
# version: the version the append expected was not the stream's.
_VERSION_SKIPPED = "MH409"
# Raised by a check queued after the append lock (migration 0021): a read made before the lock
# was taken is no longer true.
_READ_WENT_STALE = "MH412"
# Migrations take their own advisory lock: many workers may start at once on a new version.
_MIGRATION_LOCK = 0x6D61_7374  # "mast"
_BARRIER_SQL = (
    "INSERT INTO commit_barrier (backend_pid, commits) VALUES (pg_backend_pid(), 1)"
    " ON CONFLICT (backend_pid) DO UPDATE SET commits = commit_barrier.commits + 1"
)


class _NumberLoader(Loader):
    """`numeric` results (SUM of a BIGINT, literals) as int or float, like SQLite returns them,
    never Decimal: the application compares and formats them as plain numbers."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode("ascii")
        if text.lstrip("-").isdigit():
            return int(text)
        return float(text)


def _reusable(conn: psycopg.Connection[Any]) -> bool:
    return not conn.closed and not conn.broken and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresTransaction:
    def __init__(self, store: PostgresEventStore, conn: psycopg.Connection[Any], *, locked: bool):
        self._store = store
        self._conn = conn
        self._locked = locked
        self.appended: list[StoredEvent] = []
        self.wrote = False
        # What this transaction's appends have learnt while holding the append lock: the log's
        # head and the versions of the streams it read or appended to. Nobody else appends
        # until COMMIT, so they stay true; appends after the first need no round trip for them.
        self._head: tuple[int, str] | None = None
        self._versions: dict[str, int] = {}
        # Checks of reads made before the lock, queued right after it (check_unchanged).
        self._checks: list[tuple[str, Sequence[Any]]] = []

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        return self._conn.execute(to_psycopg(sql), to_params(params)).fetchall()

    def query_skip_locked(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        # The rows stay locked until this transaction ends; other claimers skip them rather than
        # wait, so each claimer gets a different task without queueing behind the others.
        return self.query(sql + " FOR UPDATE SKIP LOCKED", params)

    def execute(self, sql: str, params: Params = ()) -> None:
        self.wrote = True
        self._conn.execute(to_psycopg(sql), to_params(params))

    def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self.wrote = True
        with self._conn.cursor() as cursor:
            cursor.executemany(to_psycopg(sql), [to_params(row) for row in rows])

    def check_unchanged(self, name: str, params: Sequence[Any]) -> None:
        sql = queries.UNCHANGED[name]  # a KeyError for a name no adapter knows, locked or not
        if not self._locked:
            # Queued after the lock statement, before the first insert: its error (MH412)
            # arrives with the first append's read of the head, and nothing lands.
            self._checks.append((sql, tuple(params)))

    def take_append_lock(self) -> None:
        if not self._locked:
            self._conn.execute(self._store.lock_sql())
            self._locked = True
            for sql, params in self._checks:
                self._conn.execute(sql, params)
            self._checks.clear()

    def append(self, events: Sequence[NewEvent], meta: Meta) -> list[StoredEvent]:
        self.take_append_lock()
        self.wrote = True
        self._look_up(events)
        assert self._head is not None  # _look_up read it
        seq, prev_hash = self._head
        versions = self._versions
        meta_json = canonical_json(meta.as_dict())
        stored: list[StoredEvent] = []
        for event in events:
            expected = event.expected_version
            current = versions.get(event.stream, expected)  # a named version not read: trusted
            if expected != ANY_VERSION and current != expected:
                raise ConcurrencyConflict(
                    f"stream {event.stream} is at version {current}, expected {expected}",
                    fix="reload the latest state and try again",
                )
            seq += 1
            version = current + 1
            versions[event.stream] = version
            data_json = canonical_json(event.data)
            digest = chain_hash(prev_hash, seq, event.stream, version, event.type, data_json, meta_json)
            # Queued (pipeline mode). A trusted expected version that was wrong is refused by the
            # log's trigger (migration 0020), reported at the next read or at COMMIT as a
            # ConcurrencyConflict, and nothing of this transaction lands.
            self._conn.execute(
                "INSERT INTO events (seq, stream, version, type, data, meta, hash) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (seq, event.stream, version, event.type, data_json, meta_json, digest),
            )
            self._head = (seq, digest)  # what is queued is the head from here on
            record = StoredEvent(seq=seq, stream=event.stream, version=version, type=event.type,
                                 data=parse_json(data_json), meta=meta, hash=digest)
            if self._store.projector is not None:
                self._store.projector.apply(self, record)
            stored.append(record)
            prev_hash = digest
        self.appended.extend(stored)
        return stored

    def _look_up(self, events: Sequence[NewEvent]) -> None:
        """Read what this append needs and the transaction does not know yet, in at most one
        round trip: the head of the log (once per transaction: the append lock is held from
        here to COMMIT, so no other append moves it) and the versions of the streams appended
        at ANY_VERSION that this transaction has not seen. A named expected version is not
        read at all: the log checks it as the row goes in (migration 0020). Each round trip
        here is made while holding the append lock, so every writer on the server waits
        through it: before this, each append made one."""
        unknown: set[str] = set()
        seen = set(self._versions)
        for event in events:
            if event.stream not in seen and event.expected_version == ANY_VERSION:
                unknown.add(event.stream)
            seen.add(event.stream)
        if self._head is not None and not unknown:
            return
        if self._head is None:
            rows = self._conn.execute(queries.HEAD_AND_VERSIONS, (sorted(unknown),)).fetchall()
            self._head = (rows[0]["seq"], rows[0]["hash"]) if rows[0]["seq"] is not None else (0, GENESIS_HASH)
        else:
            rows = self._conn.execute(queries.STREAM_VERSIONS, (sorted(unknown),)).fetchall()
        found = {row["stream"]: int(row["v"]) for row in rows if row["stream"] is not None}
        for stream in unknown:
            self._versions[stream] = found.get(stream, 0)

    def stream_version(self, stream: str) -> int:
        return int(self.query(queries.STREAM_VERSION, (stream,))[0]["v"])


class PostgresEventStore:
    """The log and its projections in one Postgres schema."""

    backend = "postgres"
    ready_task_sql = queries.READY_TASK
    locks_at_begin = False  # the append lock comes with the first append (or `transaction()`)

    def __init__(
        self,
        url: str,
        projector: Projector | None = None,
        *,
        schema: str | None = None,
        synchronous: str = "FULL",
        migrate: bool = True,
        notify_when: Callable[[Sequence[StoredEvent]], bool] | None = None,
        flush_under_lock: bool = False,
    ):
        self.url = url
        self.projector = projector
        self.schema = schema
        self._durable = synchronous == "FULL"
        # The plain strategy (commit synchronously while holding the lock); kept so
        # benchmarks/workers.py can measure what the barrier buys.
        self._flush_under_lock = flush_under_lock
        # Which commits wake LISTENing workers (runtime/worker.wakes_workers); None: none do.
        self.notify_when = notify_when
        namespace = schema or "public"
        # Each schema has its own log, so its own append lock and wake-up channel.
        self._lock_key = zlib.crc32(f"masthead-append:{namespace}".encode())
        self.channel = f"masthead_wake_{zlib.crc32(namespace.encode()):08x}"
        # Lent per use (see connections.py), so a process holds about as many server
        # connections as it has threads inside the database at once.
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._connect, reusable=_reusable, close=lambda conn: conn.close(), keep=8)
        self.listeners: list[Listener] = []
        self.query("SELECT 1")  # fail now, with a clear message, if the server cannot be reached
        if migrate:
            self.migrate()

    @property
    def location(self) -> str:
        shown = redact_url(self.url)
        return f"{shown} (schema {self.schema})" if self.schema else shown

    # -- connections -------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise ConfigError(
                f"cannot connect to Postgres at {redact_url(self.url)}: {str(exc).strip().splitlines()[0]}",
                fix="check the URL in [workspace] database or MASTHEAD_DATABASE_URL, and that the server runs"
                    " and the database exists (createdb NAME)",
            ) from None
        conn.adapters.register_loader("numeric", _NumberLoader)
        if self.schema:
            # Our tables live in (and are created in) the schema; extension types such as
            # pgvector's stay reachable in public.
            conn.execute("SELECT set_config('search_path', %s, false)", (f'"{self.schema}", public',))
        return conn

    def close(self) -> None:
        self._pool.close_all()

    # -- schema ------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the migrations this database has not seen; return their names."""
        with self._pool.borrow() as conn:
            return self._migrate(conn)

    def _migrate(self, conn: psycopg.Connection[Any]) -> list[str]:
        ran = []
        for migration in migrations_for("postgres"):
            with conn.transaction():
                # One migrator at a time; the others wait, then find the migration recorded.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                             " (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
                done = conn.execute("SELECT 1 FROM schema_migrations WHERE number = %s",
                                    (migration.number,)).fetchone()
                if done:
                    continue
                conn.execute(migration.sql.encode("utf-8"))  # several statements, no parameters
                conn.execute("INSERT INTO schema_migrations (number, name) VALUES (%s, %s)",
                             (migration.number, migration.name))
            ran.append(migration.name)
        return ran

    def pending_migrations(self) -> list[str]:
        applied = set()
        if self.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS e")[0]["e"]:
            applied = {r["number"] for r in self.query("SELECT number FROM schema_migrations")}
        return [m.name for m in migrations_for("postgres") if m.number not in applied]

    # -- writes ------------------------------------------------------------------------
    def lock_sql(self) -> str:
        # The append lock: held to the end of the transaction; see the module docstring. The same
        # statement stops the commit from waiting for the disk (the barrier after it waits
        # instead), except when the plain strategy is measured. Constants only, so it can share
        # a round trip with BEGIN.
        sync = "on" if self._flush_under_lock else "off"
        return f"SELECT pg_advisory_xact_lock({self._lock_key}), set_config('synchronous_commit', '{sync}', true)"

    @contextmanager
    def transaction(self) -> Iterator[PostgresTransaction]:
        with self._write(locked=True) as tx:
            yield tx

    @contextmanager
    def claim_transaction(self) -> Iterator[PostgresTransaction]:
        with self._write(locked=False) as tx:
            yield tx

    @contextmanager
    def _write(self, *, locked: bool) -> Iterator[PostgresTransaction]:
        with self._pool.borrow() as conn:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                raise RuntimeError("a write transaction is already open on this thread; nest no transactions")
            try:
                # Pipeline mode: statements whose results nobody reads (BEGIN, the lock, the
                # inserts, the projectors' updates, COMMIT) go out without waiting; reading a
                # query's rows sends them all. Fewer round trips while the append lock is held
                # means less waiting for it everywhere else.
                with conn.pipeline():
                    conn.execute("BEGIN")
                    if locked:
                        conn.execute(self.lock_sql())
                    tx = PostgresTransaction(self, conn, locked=locked)
                    yield tx
                    for statement in self._ending(tx):
                        conn.execute(statement)
            except BaseException as exc:
                if not conn.broken and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                if isinstance(exc, _RETRYABLE):
                    raise ConcurrencyConflict(f"another transaction got in the way ({type(exc).__name__})",
                                              fix="try again") from exc
                if isinstance(exc, psycopg.Error) and exc.sqlstate == _READ_WENT_STALE:
                    # A read made before the lock changed before we got it (0021): decide again.
                    raise StaleRead(exc.diag.message_primary or "a read went stale",
                                    fix="read again and try again") from exc
                if isinstance(exc, psycopg.Error) and exc.sqlstate == _VERSION_SKIPPED:
                    # A trusted expected version the stream is not at (the log's trigger, 0020).
                    raise ConcurrencyConflict(exc.diag.message_primary or "a stream moved",
                                              fix="reload the latest state and try again") from exc
                if isinstance(exc, pg_errors.UniqueViolation) and exc.diag.table_name == "events":
                    # Queued inserts report late: this is a racing append that skipped the lock.
                    raise ConcurrencyConflict("another append took the same stream version",
                                              fix="reload the latest state and try again") from exc
                raise
        if tx.appended:
            for listener in list(self.listeners):
                listener(tx.appended)

    def _ending(self, tx: PostgresTransaction) -> list[str]:
        """COMMIT, with a wake-up before it and a durability barrier after it when they are due."""
        statements = []
        if self.notify_when is not None and tx.appended and self.notify_when(tx.appended):
            # Delivered at commit, to every LISTENing worker: a wake-up hint, never data.
            statements.append(f"SELECT pg_notify('{self.channel}', '')")
        statements.append("COMMIT")
        if tx.wrote and not self._flush_under_lock and (
                self._durable or any(must_reach_disk(e) for e in tx.appended)):
            # After COMMIT, in a transaction of its own that commits synchronously: the pipeline's
            # last sync returns once the WAL up to here, this append included, is on disk.
            statements.append(_BARRIER_SQL)
        return statements

    def append(self, events: Sequence[NewEvent], meta: Meta) -> list[StoredEvent]:
        with self.transaction() as tx:
            return tx.append(events, meta)

    def import_hashed(self, events: Iterable[StoredEvent], *, after: tuple[int, str],
                      progress: Callable[[int], None] | None = None) -> int:
        """Insert exported events as they are (seq, version and hash kept) and project them, in ONE
        transaction under the append lock: a crash or an error leaves the log as it was. The caller
        verified the chain; this refuses (StateError) unless the head is `after` under the lock."""
        with self.transaction() as tx:
            # An import is history from elsewhere: this one commit waits for the disk (one flush,
            # held under the lock once, not per event).
            tx.execute("SELECT set_config('synchronous_commit', 'on', true)")
            return insert_hashed(tx, events, after=after, projector=self.projector, progress=progress)

    def execute_unlogged(self, sql: str, params: Params = ()) -> None:
        with self._pool.borrow() as conn, conn.transaction():
            # Bookkeeping (worker beats, snapshots): no append lock, no wait for the disk.
            conn.execute("SELECT set_config('synchronous_commit', 'off', true)")
            conn.execute(to_psycopg(sql), to_params(params))

    # -- reads -------------------------------------------------------------------------
    def read(
        self, *, since: int = 0, stream: str | None = None, limit: int | None = None
    ) -> Iterator[StoredEvent]:
        return read_pages(self.query, event_from_row, since=since, stream=stream, limit=limit)

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        with self._pool.borrow() as conn:
            return conn.execute(to_psycopg(sql), to_params(params)).fetchall()

    @contextmanager
    def consistent_read(self) -> Iterator[PostgresTransaction]:
        with self._pool.borrow() as conn, conn.transaction():
            # One snapshot for every statement, and no locks that would hold up writers.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PostgresTransaction(self, conn, locked=True)

    def _run(self, sql: str) -> None:
        with self._pool.borrow() as conn:
            conn.execute(sql)

    def stream_version(self, stream: str) -> int:
        return int(self.query(queries.STREAM_VERSION, (stream,))[0]["v"])

    def head(self) -> tuple[int, str]:
        row = self.query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        return (row[0]["seq"], row[0]["hash"]) if row else (0, GENESIS_HASH)

    def projection_tables(self) -> list[str]:
        rows = self.query(
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE' AND table_name NOT IN ('events', 'schema_migrations')"
            " ORDER BY table_name"
        )
        return [r["name"] for r in rows]

    @contextmanager
    def scratch(self) -> Iterator[PostgresEventStore]:
        """An empty schema in the same database, dropped on exit."""
        name = f"masthead_scratch_{uuid.uuid4().hex[:12]}"
        self._run(f'CREATE SCHEMA "{name}"')
        store = PostgresEventStore(self.url, schema=name, synchronous="NORMAL")
        try:
            yield store
        finally:
            store.close()
            self._run(f'DROP SCHEMA "{name}" CASCADE')

    # -- wake-ups ----------------------------------------------------------------------
    def listen(self, wake: Callable[[], None]) -> Callable[[], None]:
        stop = threading.Event()
        thread = threading.Thread(target=self._listen_loop, args=(wake, stop), name="masthead-listen", daemon=True)
        thread.start()

        def stop_listening() -> None:
            stop.set()
            thread.join(5)

        return stop_listening

    def _listen_loop(self, wake: Callable[[], None], stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    wake()  # anything committed while we were not listening is found by this look
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            wake()
            except psycopg.OperationalError:
                # The server went away; workers keep polling meanwhile. Try again shortly.
                stop.wait(1.0)

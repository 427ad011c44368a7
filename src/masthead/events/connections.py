"""Database connections lent per use, for both adapters.

A thread borrows a connection for one query, one read batch or one transaction and gives it
back. Threads come and go (a web server's thread pool, a worker replaced after a step timed out,
heartbeats), so a connection per thread would mean, kept for reuse by nobody, an ever-growing
number of open files (SQLite) or server processes (Postgres). Lent per use, a process holds
about as many connections as it has threads inside the database at once.

Borrowing is re-entrant: a thread that already holds a connection (it is inside a
transaction) gets the same one again, so its reads see its own uncommitted writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

C = TypeVar("C")


class ConnectionPool(Generic[C]):
    def __init__(self, connect: Callable[[], C], *, reusable: Callable[[C], bool],
                 close: Callable[[C], None], keep: int):
        self._connect = connect
        self._reusable = reusable  # False for a broken connection or one left inside a transaction
        self._close = close
        self._keep = keep
        self._idle: list[C] = []
        self._open: list[C] = []
        self._lock = threading.Lock()  # guards _idle and _open, never held while talking to the database
        self._held = threading.local()

    def borrow(self) -> _Loan[C]:
        """`with pool.borrow() as conn:` the thread's connection, lent until the block ends."""
        return _Loan(self)

    def _take(self) -> C:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        conn = self._connect()
        with self._lock:
            self._open.append(conn)
        return conn

    def _give_back(self, conn: C) -> None:
        keep = self._reusable(conn)
        with self._lock:
            if keep and len(self._idle) < self._keep:
                self._idle.append(conn)
                return
            if conn in self._open:
                self._open.remove(conn)
        self._close(conn)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def close_all(self) -> None:
        with self._lock:
            everything, self._open, self._idle = self._open, [], []
        for conn in everything:
            self._close(conn)


class _Loan(Generic[C]):
    """One `borrow()`: a plain context manager, since a step borrows a dozen times and a
    generator-based one (contextlib) costs about twice as much to enter and leave."""

    __slots__ = ("_pool", "_conn")

    def __init__(self, pool: ConnectionPool[C]):
        self._pool = pool
        self._conn: C | None = None  # set only when this loan took the connection from the pool

    def __enter__(self) -> C:
        pool = self._pool
        held: C | None = getattr(pool._held, "conn", None)
        if held is not None:  # re-entrant: the thread's own connection, given back by its first loan
            return held
        conn = self._conn = pool._take()
        pool._held.conn = conn
        return conn

    def __exit__(self, *exc: object) -> None:
        conn = self._conn
        if conn is not None:
            self._conn = None
            self._pool._held.conn = None
            self._pool._give_back(conn)

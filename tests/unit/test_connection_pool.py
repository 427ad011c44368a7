"""The connection pool's loans: one connection per thread at a time, re-entrant, always given back."""

from __future__ import annotations

import threading

import pytest

from masthead.events.connections import ConnectionPool


class Conn:
    def __init__(self, n: int):
        self.n = n
        self.closed = False


def make_pool(keep: int = 4) -> tuple[ConnectionPool[Conn], list[Conn]]:
    made: list[Conn] = []

    def connect() -> Conn:
        made.append(Conn(len(made)))
        return made[-1]

    def close(conn: Conn) -> None:
        conn.closed = True

    return ConnectionPool(connect, reusable=lambda conn: not conn.closed, close=close, keep=keep), made


def test_a_nested_borrow_gets_the_same_connection_and_only_the_outer_gives_it_back():
    pool, made = make_pool()
    with pool.borrow() as outer:
        with pool.borrow() as inner:
            assert inner is outer
        with pool.borrow() as again:  # still held by the outer loan after the inner one ended
            assert again is outer
        assert pool.open_connections == 1
    with pool.borrow() as later:
        assert later is outer  # given back once, lent again
    assert len(made) == 1


def test_a_connection_comes_back_when_the_block_raises():
    pool, made = make_pool()
    with pytest.raises(RuntimeError), pool.borrow():
        raise RuntimeError("boom")
    with pool.borrow() as conn:
        assert conn is made[0]
    assert len(made) == 1


def test_two_threads_never_share_a_connection():
    pool, made = make_pool()
    inside = threading.Barrier(2)
    seen: list[Conn] = []

    def use() -> None:
        with pool.borrow() as conn:
            seen.append(conn)
            inside.wait(5)  # both hold a connection at once

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(seen) == 2 and seen[0] is not seen[1]
    assert pool.open_connections == 2


def test_a_connection_that_cannot_be_reused_is_closed_not_kept():
    pool, made = make_pool()
    with pool.borrow() as conn:
        conn.closed = True  # e.g. broken, or left inside a transaction
    with pool.borrow() as fresh:
        assert fresh is not conn
    assert len(made) == 2 and pool.open_connections == 1

"""SQL written once with SQLite's placeholders, translated for psycopg."""

from __future__ import annotations

import pytest

from masthead.events.postgres_params import to_params, to_psycopg
from masthead.events.postgres_store import redact_url


@pytest.mark.parametrize(("sqlite", "psycopg"), [
    ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
    ("UPDATE t SET x = :x WHERE id = :id", "UPDATE t SET x = %(x)s WHERE id = %(id)s"),
    ("SELECT :now - enqueued_at, :now", "SELECT %(now)s - enqueued_at, %(now)s"),
    ("SELECT id FROM s WHERE source LIKE 'webhook:%' AND id = ?", "SELECT id FROM s WHERE source LIKE 'webhook:%%' AND id = %s"),
    ("SELECT 'it''s ? :not' AS q, ?", "SELECT 'it''s ? :not' AS q, %s"),
    ('SELECT "odd?name" FROM t', 'SELECT "odd?name" FROM t'),
    ("SELECT data::jsonb FROM events -- a ? here\nWHERE seq = ?", "SELECT data::jsonb FROM events -- a ? here\nWHERE seq = %s"),
    ("SELECT 100 % 7", "SELECT 100 %% 7"),
])
def test_placeholders_become_psycopg_ones(sqlite: str, psycopg: str) -> None:
    assert to_psycopg(sqlite) == psycopg


def test_bools_become_integers_like_sqlite_stores_them() -> None:
    assert to_params([True, False, 1, "x"]) == (1, 0, 1, "x")
    assert to_params({"passed": True, "n": 2.5}) == {"passed": 1, "n": 2.5}


def test_a_url_is_shown_without_its_password() -> None:
    assert redact_url("postgresql://ana:s3cret@db.example:5432/masthead") == "postgresql://ana:***@db.example:5432/masthead"
    assert redact_url("postgresql://db.example/masthead") == "postgresql://db.example/masthead"

"""A fresh Postgres database per test, cloned from a migrated template (procrastinate's way).

The server is `MASTHEAD_TEST_POSTGRES` (default: the local one at 127.0.0.1:5432, user
postgres). When it cannot be reached, Postgres tests are skipped on a developer machine and
fail under `CI=true`: CI must never pass by skipping the backend it is meant to test.

The template's name carries a hash of the migration files, so a changed migration gets a new
template; every clone is dropped at the end of its test.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from masthead.events.migrate import migrations_for

SERVER_URL = os.environ.get("MASTHEAD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def url_for(database: str) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _admin() -> psycopg.Connection:
    return psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=3)


def unreachable_reason() -> str | None:
    try:
        with _admin():
            return None
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]


def require_postgres() -> None:
    """Skip (or, under CI=true, fail) the calling test when the server is unreachable."""
    reason = unreachable_reason()
    if reason is None:
        return
    message = f"Postgres at {SERVER_URL} is unreachable ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI must run the Postgres tests (.ci/run starts the server)")
    pytest.skip(message)


def _template_name() -> str:
    digest = hashlib.sha256()
    for migration in migrations_for("postgres"):
        digest.update(migration.name.encode() + migration.sql.encode())
    return f"masthead_template_{digest.hexdigest()[:12]}"


def _ensure_template(admin: psycopg.Connection) -> str:
    name = _template_name()
    # Several test runs may start at once (other engineers' suites): one builds, the rest wait.
    admin.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
    try:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            building = f"{name}_building_{uuid.uuid4().hex[:6]}"
            admin.execute(f'CREATE DATABASE "{building}"')
            from masthead.events.postgres_store import PostgresEventStore

            PostgresEventStore(url_for(building)).close()  # runs every migration
            admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    finally:
        admin.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
    return name


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, migrated, empty database, dropped afterwards."""
    require_postgres()
    name = f"masthead_test_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        template = _ensure_template(admin)
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield url_for(name)
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def empty_database() -> Iterator[str]:
    """The URL of a new database with no schema at all (for migration tests), dropped afterwards."""
    require_postgres()
    name = f"masthead_empty_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url_for(name)
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from tests.support.openai_server import OpenAIServer
from tests.support.postgres import fresh_database


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh loopback OpenAI-compatible server per test; it requires the key "sk-test"."""
    with OpenAIServer(api_key="sk-test") as server:
        yield server


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated Postgres database for this test (skipped, or failed under CI=true, when
    the server is unreachable)."""
    with fresh_database() as url:
        yield url


@pytest.fixture(autouse=True)
def _workspaces_on_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`MASTHEAD_TEST_BACKEND=postgres pytest tests/integration` opens every workspace a test makes
    on a fresh Postgres database (through MASTHEAD_DATABASE_URL), to run app code written for
    both backends on Postgres. Tests that read the SQLite file directly do not apply."""
    if os.environ.get("MASTHEAD_TEST_BACKEND") != "postgres":
        yield
        return
    with fresh_database() as url:
        monkeypatch.setenv("MASTHEAD_DATABASE_URL", url)
        yield

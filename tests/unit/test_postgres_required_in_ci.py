"""Postgres tests skip on a machine without the server, but under CI=true they fail: a CI run
must never pass by skipping the backend it is meant to test."""

from __future__ import annotations

import pytest
from tests.support import postgres


def test_an_unreachable_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "SERVER_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the Postgres tests"):
        postgres.require_postgres()


def test_an_unreachable_server_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "SERVER_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="unreachable"):
        postgres.require_postgres()

"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.openai_server import OpenAIServer


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh loopback OpenAI-compatible server per test; it requires the key "sk-test"."""
    with OpenAIServer(api_key="sk-test") as server:
        yield server

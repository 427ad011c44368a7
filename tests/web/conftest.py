"""Fixtures for the web tests: a workspace wired to the loopback model server, its app, and an
ASGI client (httpx.ASGITransport) that talks to the app in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.harness import (
    KEY_ENV,
    add_release_notes,
    content_reply,
    make_workspace,
    pieces_by_channel,
)
from tests.support.openai_server import OpenAIServer
from tests.support.web import csrf_from

from masthead.app.auth import read_token
from masthead.app.workspace import Workspace
from masthead.web import create_app

HOOK_SECRET = "whsec-test-0123456789abcdef"
HOOK_ENV = "MASTHEAD_TEST_HOOK_SECRET"
WEBHOOK_TOML = f"""
[webhooks.github]
secret_env = "{HOOK_ENV}"
project = "tallybook"
kind = "release_notes"
priority = "high"
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server


@pytest.fixture
def ws(tmp_path: Path, llm: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(HOOK_ENV, HOOK_SECRET)
    workspace = make_workspace(tmp_path / "ws", llm.base_url)
    with (workspace.root / "masthead.toml").open("a", encoding="utf-8") as config:
        config.write(WEBHOOK_TOML)
    workspace.close()
    from masthead.app.workspace import open_workspace

    reopened = open_workspace(str(workspace.root))
    yield reopened
    reopened.close()


@pytest.fixture
def token(ws: Workspace) -> str:
    value = read_token(ws.root)
    assert value
    return value


@pytest.fixture
def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(ws: Workspace) -> Any:
    return create_app(ws, with_workers=False)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


def run_until_idle(ws: Workspace) -> None:
    ws.runner(concurrency=2).run(until_idle=True)


@pytest.fixture
def reviewed(ws: Workspace) -> dict[str, dict[str, Any]]:
    """One release-notes job run to its gates: x and linkedin published, newsletter in review."""
    job = add_release_notes(ws)
    run_until_idle(ws)
    pieces = pieces_by_channel(ws, job)
    assert pieces["newsletter"]["status"] == "in_review"
    return pieces


async def log_in(client: httpx.AsyncClient, token: str, operator: str = "ana") -> str:
    """Log in through the form; returns the page's CSRF token (the cookie stays in the client)."""
    answer = await client.post("/login", data={"token": token, "operator": operator, "next": "/"})
    assert answer.status_code == 303, answer.text
    page = await client.get("/")
    assert page.status_code == 200
    return csrf_from(page.text)

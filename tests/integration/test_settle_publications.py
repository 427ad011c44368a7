"""Settling a publication that may have been published (needs_human), both ways, by the CLI."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.support.harness import KEY_ENV, add_release_notes, content_reply
from tests.support.loopback import Fault
from tests.support.mastodon_server import MastodonServer
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import MASTODON_TOKEN_ENV, mastodon_table, publishing_workspace

from masthead.app.workspace import Workspace
from masthead.cli.main import cli, error_lines
from masthead.errors import MastheadError
from masthead.projections.replay import verify
from masthead.runtime.worker import Worker

TOKEN = "mastodon-token-123456"
STATUSES = "/api/v1/statuses"


@pytest.fixture
def mastodon(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(MASTODON_TOKEN_ENV, TOKEN)
    with MastodonServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def openai_url(mastodon):
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


def run_all(ws: Workspace, later: float = 0.0) -> None:
    services = ws.services()
    services.clock = lambda: time.time() + later
    worker = Worker(ws.store, services, "test:1:0", lease_seconds=30, backoff_base=0, backoff_max=0)
    while (task := worker.claim()) is not None:
        worker.run(task)


def needs_human(tmp_path: Path, openai_url: str, mastodon: MastodonServer) -> tuple[Workspace, str]:
    """A post whose answer was lost, and which Mastodon no longer finds by its key: a person's."""
    ws = publishing_workspace(tmp_path / "ws", openai_url, mastodon_table(mastodon.base_url), ["mastodon"])
    mastodon.fault("POST", STATUSES, Fault.accept_then_reset())
    mastodon.fault("GET", "/api/v1/accounts/1/statuses", Fault.status_reply(200, []))
    add_release_notes(ws)
    run_all(ws, later=2 * 3600)  # the retry comes after Mastodon forgot the Idempotency-Key
    [publication] = ws.store.query("SELECT * FROM publications")
    assert publication["status"] == "needs_human"
    return ws, publication["idempotency_key"]


def invoke(ws: Workspace, *args: str) -> tuple[int, str]:
    """The CLI as `masthead` runs it: an error is printed with its fix, never a traceback."""
    result = CliRunner().invoke(cli, ["-w", str(ws.root), *args])
    if isinstance(result.exception, MastheadError):
        return result.exception.exit_code, "\n".join(error_lines(result.exception))
    return result.exit_code, result.output


def test_settled_as_published_is_recorded_with_its_link_and_never_sent_again(tmp_path, openai_url, mastodon):
    ws, key = needs_human(tmp_path, openai_url, mastodon)
    code, out = invoke(ws, "publications", "list", "--status", "needs_human")
    assert code == 0 and key in out and f"masthead publications settle {key} --published URL" in out
    code, out = invoke(ws, "publications", "settle", key, "--published", "not a link")
    assert code != 0 and "--published" in out and "Traceback" not in out
    code, out = invoke(ws, "publications", "settle", key)
    assert code != 0 and "--not-published" in out
    url = f"{mastodon.base_url}/@ana/{mastodon.statuses[0]['id']}"
    code, out = invoke(ws, "publications", "settle", key, "--published", url, "--note", "seen it", "--as", "bo")
    assert code == 0 and "will not be sent again" in out, out
    run_all(ws)
    [publication] = ws.store.query("SELECT * FROM publications")
    assert (publication["status"], publication["url"]) == ("delivered", url)
    assert "settled by human:bo: seen it" in publication["reason"]
    assert ws.store.query("SELECT status FROM tasks WHERE kind = 'publish'")[0]["status"] == "done"
    assert ws.store.query("SELECT status FROM pieces")[0]["status"] == "published"
    assert mastodon.count("POST", STATUSES) == 1  # never sent again
    [settled] = [e for e in ws.store.read() if e.type == "PublicationSettled"]
    assert (settled.meta.actor, settled.data["outcome"]) == ("human:bo", "published")
    code, out = invoke(ws, "publications", "settle", key, "--not-published")
    assert code != 0 and "only a needs_human publication" in out
    assert verify(ws.store).ok
    ws.close()


def test_settled_as_not_published_is_sent_by_the_next_attempt(tmp_path, openai_url, mastodon):
    ws, key = needs_human(tmp_path, openai_url, mastodon)
    mastodon.clear_faults()
    code, out = invoke(ws, "publications", "settle", key, "--not-published", "--note", "not on the profile")
    assert code == 0 and "sends it again" in out, out
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "failed"
    run_all(ws)
    [publication] = ws.store.query("SELECT * FROM publications")
    # The next attempt sent it (with the same Idempotency-Key, so Mastodon still made one status).
    assert publication["status"] == "delivered" and mastodon.count("POST", STATUSES) == 2
    code, out = invoke(ws, "publications", "list", "--json")
    assert code == 0 and '"status": "delivered"' in out
    assert verify(ws.store).ok
    ws.close()

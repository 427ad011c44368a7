"""`masthead jobs retry`: a job whose publication the service refused goes on from where it
stopped once the operator has fixed the cause, without paying for its model calls again and
without posting twice; a job with nothing failed, an unknown job and a person without the role
are refused and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply
from tests.support.loopback import Fault
from tests.support.mastodon_server import MastodonServer
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import MASTODON_TOKEN_ENV, mastodon_table, publishing_workspace

from masthead.app.permissions import Principal
from masthead.app.retry import retry_job
from masthead.errors import InputError, NotFoundError, PermissionDenied, StateError
from masthead.projections.replay import verify

TOKEN = "mastodon-token-123456"
STATUSES = "/api/v1/statuses"
OWNER = Principal("olga", "owner")


@pytest.fixture
def mastodon():
    with MastodonServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mastodon: MastodonServer):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(MASTODON_TOKEN_ENV, TOKEN)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as llm:
        workspace = publishing_workspace(tmp_path / "ws", llm.base_url, mastodon_table(mastodon.base_url), ["mastodon"])
        yield workspace
        workspace.close()


def _status(ws, table: str, job_id: str) -> dict[str, str]:
    column = "id" if table == "jobs" else "job_id"
    return {r["id"]: r["status"] for r in ws.store.query(f"SELECT id, status FROM {table} WHERE {column} = ?", (job_id,))}


def test_a_refused_publication_is_sent_again_after_a_retry_and_nothing_is_paid_twice(ws, mastodon):
    # Mastodon refuses the post (422: the instance's rules), once: the publish step fails for good.
    mastodon.fault("POST", STATUSES, Fault.status_reply(422, {"error": "Validation failed: Text is blocked"}))
    job_id = add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert _status(ws, "jobs", job_id)[job_id] == "failed"
    failed = [task for task, status in _status(ws, "tasks", job_id).items() if status == "failed"]
    assert failed == [f"{job_id}.publish.x"] and not mastodon.statuses
    calls = ws.store.query("SELECT COUNT(*) AS n FROM model_calls")[0]["n"]

    retried = retry_job(ws, job_id, operator=OWNER, reason="asked the instance's admin to allow it")
    assert retried.failed == failed
    ws.runner().run(until_idle=True)

    assert _status(ws, "jobs", job_id)[job_id] == "done"
    assert set(_status(ws, "tasks", job_id).values()) == {"done"}
    assert len(mastodon.statuses) == 1 and mastodon.count("POST", STATUSES) == 2
    assert ws.store.query("SELECT COUNT(*) AS n FROM model_calls")[0]["n"] == calls  # nothing paid twice
    reopened = [e for e in ws.store.read() if e.type in ("TaskReopened", "JobReopened")]
    assert {e.meta.actor for e in reopened} == {"human:olga"}
    assert all("asked the instance's admin" in e.data["reason"] for e in reopened)
    assert verify(ws.store).ok


def test_refusals_change_nothing(ws, mastodon):
    job_id = add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert _status(ws, "jobs", job_id)[job_id] == "done"
    head = ws.store.head()
    with pytest.raises(StateError, match="has no failed step"):
        retry_job(ws, job_id, operator=OWNER, reason="just in case")
    with pytest.raises(NotFoundError, match="does not exist"):
        retry_job(ws, "job-nope", operator=OWNER, reason="x")
    with pytest.raises(InputError) as empty:
        retry_job(ws, job_id, operator=OWNER, reason="  ")
    assert empty.value.field == "reason"
    for who in (Principal("rita", "reviewer"), Principal("eve", "editor", projects=("other",)),
                Principal("lin", "editor", channels=("linkedin",))):
        mastodon.fault("POST", STATUSES, Fault.status_reply(422, {"error": "Validation failed"}))
        failing = add_release_notes(ws, body="# 3.3\n- Dark mode for every report.")
        ws.runner().run(until_idle=True)
        head = ws.store.head()
        with pytest.raises(PermissionDenied):
            retry_job(ws, failing, operator=who, reason="let me")
        assert ws.store.head() == head

"""Start-up reconcile: every running job's rows are read in one look, and only a job whose rows
say a step was missed (its successors never enqueued, its end never recorded) gets a write
transaction; on Postgres each one takes the append lock, so a worker starting among hundreds of
running jobs no longer queues every other writer once per job."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply, make_workspace
from tests.support.openai_server import OpenAIServer

from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.types import TaskClaimed, TaskSucceeded
from masthead.projections.replay import verify
from masthead.runtime.runner import reconcile


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as srv:
        yield srv


def count_write_transactions(store: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    opened: list[int] = []
    plain = store.transaction

    @contextlib.contextmanager
    def counted():  # type: ignore[no-untyped-def]
        opened.append(1)
        with plain() as tx:
            yield tx

    monkeypatch.setattr(store, "transaction", counted)
    return opened


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_reconcile_writes_only_for_a_job_that_missed_its_next_step(tmp_path: Path, server: OpenAIServer, backend: str,
                                                                   request: pytest.FixtureRequest,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "postgres":
        monkeypatch.setenv("MASTHEAD_DATABASE_URL", request.getfixturevalue("pg_url"))
    ws = make_workspace(tmp_path / "ws", server.base_url)
    jobs = [add_release_notes(ws) for _ in range(3)]
    opened = count_write_transactions(ws.store, monkeypatch)
    head = ws.store.head()
    reconcile(ws.store)
    assert opened == [] and ws.store.head() == head  # every running job is up to date: nothing to write

    # One job's first step succeeded without its successors (a log written before one-write steps,
    # or a bug): reconcile enqueues them, in one write transaction for that job alone.
    [first] = ws.store.query("SELECT * FROM tasks WHERE job_id = ? AND status = 'queued'", (jobs[0],))
    meta = Meta(actor="system", at=utc_now(), causation_id=first["id"], correlation_id=jobs[0])
    stream = stream_of("task", first["id"])
    ws.store.append([TaskClaimed(id=first["id"], worker="gone", lease_until=0, attempt=1).to_new(stream, first["version"]),
                     TaskSucceeded(id=first["id"], output={"agent": "brief", "output": {"headline": "3.2"}})
                     .to_new(stream, first["version"] + 1)], meta)
    opened.clear()
    before = {r["id"] for r in ws.store.query("SELECT id FROM tasks WHERE job_id = ?", (jobs[0],))}
    reconcile(ws.store)
    after = {r["id"] for r in ws.store.query("SELECT id FROM tasks WHERE job_id = ?", (jobs[0],))}
    assert len(opened) == 1 and after > before
    assert {r["id"] for r in ws.store.query("SELECT id FROM tasks WHERE job_id <> ?", (jobs[0],))} == {
        r["id"] for r in ws.store.query("SELECT id FROM tasks WHERE job_id IN (?, ?)", (jobs[1], jobs[2]))}
    opened.clear()
    reconcile(ws.store)
    assert opened == []  # done once: nothing more to write
    assert verify(ws.store).ok
    ws.close()

"""Reads made before the append lock (Postgres): a step's finishing transaction reads the job's
rows and the next ready task first, then takes the lock with its first append. A read another
commit changed in between is caught under the lock, without a round trip, and the transaction
is made again; the interleavings are forced with a barrier, never left to luck."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.support.harness import KEY_ENV, make_workspace
from tests.support.openai_server import OpenAIServer
from tests.support.postgres import fresh_database

from masthead.agents.base import (
    AgentInput,
    AgentOutput,
    AgentResult,
    Effect,
    ModelClient,
    SignalContext,
)
from masthead.agents.registry import register
from masthead.app.commands import add_signal
from masthead.app.workspace import Workspace
from masthead.errors import ConcurrencyConflict, StaleRead
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.types import TaskRetryScheduled
from masthead.projections.replay import verify
from masthead.runtime.jobs import read_job_state
from masthead.runtime.worker import Worker


class JoinInput(AgentInput):
    signal: SignalContext


class JoinOutput(AgentOutput):
    text: str


@register
class JoinTestAgent:
    """Any step of the join recipe: one model call."""

    name: ClassVar[str] = "test_join_step"
    prompt_version: ClassVar[str] = "test_join_step/1"
    effect: ClassVar[Effect] = "none"
    input_model = JoinInput
    output_model = JoinOutput

    def run(self, inp: JoinInput, model: ModelClient) -> AgentResult:
        from masthead.providers.base import Message

        return AgentResult(output=model.generate([Message(role="user", content=inp.signal.body)], JoinOutput))


# Two steps that need nothing but the first (which records the signal's items once, so the two
# do not race to record them), joined by a third that needs both.
JOIN_RECIPE = ("name: join\ntrigger: {signal_kinds: [join]}\nsteps:\n"
               "  - {id: start, agent: test_join_step}\n"
               "  - {id: left, agent: test_join_step, needs: [start]}\n"
               "  - {id: right, agent: test_join_step, needs: [start]}\n"
               "  - {id: both, agent: test_join_step, needs: [left, right]}\n")


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with fresh_database() as url, OpenAIServer(api_key="sk-test") as server:
        server.default_reply = lambda body: json.dumps({"text": "done"})
        monkeypatch.setenv("MASTHEAD_DATABASE_URL", url)
        root = tmp_path / "ws"
        (root / "recipes").mkdir(parents=True)
        (root / "recipes" / "join.yaml").write_text(JOIN_RECIPE, "utf-8")
        opened = make_workspace(root, server.base_url)
        assert opened.store.backend == "postgres"
        yield opened
        opened.close()


def start_join(ws: Workspace) -> str:
    """A join job whose first step is done: its two siblings are queued."""
    job = add_signal(ws, "tallybook", kind="join", body="Tallybook 3.2 is out.", title=None,
                     priority="normal", source="test").job_ids[0]
    first = worker(ws, "first")
    task = first.claim()
    assert task is not None and task["id"] == f"{job}.start"
    assert first.run(task).status == "done"
    return job


def worker(ws: Workspace, name: str) -> Worker:
    rt = ws.config.runtime
    return Worker(ws.store, ws.services(), name, lease_seconds=30.0, backoff_base=rt.backoff_base_seconds,
                  backoff_max=rt.backoff_max_seconds)


def task_events(ws: Workspace, task_id: str) -> list[str]:
    return [e.type for e in ws.store.read(stream=stream_of("task", task_id))]


# -- the store's check -------------------------------------------------------------------------
def test_a_job_read_before_the_lock_that_a_commit_changed_is_refused_at_the_first_append(ws):
    job = start_join(ws)
    left = worker(ws, "left").claim()
    assert left is not None
    with pytest.raises(StaleRead), ws.store.claim_transaction() as tx:
        state = read_job_state(tx, job)
        tx.check_unchanged("job", state.unchanged_params(leaving_out=left["id"]))
        right = worker(ws, "right").claim()  # commits in between: a sibling's version moves
        assert right is not None
        tx.append([TaskRetryScheduled(id=left["id"], error="x", run_after=0.0)
                   .to_new(stream_of("task", left["id"]), left["version"])], Meta(actor="system", at=utc_now()))
    assert task_events(ws, left["id"]) == ["TaskEnqueued", "TaskClaimed"]  # nothing of it landed
    assert issubclass(StaleRead, ConcurrencyConflict)


def test_an_unchanged_read_and_a_change_to_the_finishing_task_itself_pass_the_check(ws):
    job = start_join(ws)
    with ws.store.claim_transaction() as tx:
        state = read_job_state(tx, job)
        first = sorted(t.id for t in state.tasks)[0]
        tx.check_unchanged("job", state.unchanged_params(leaving_out=first))
        claimed = worker(ws, "other").claim()  # the left-out task or its sibling, whichever is first
        assert claimed is not None
        if claimed["id"] != first:
            pytest.skip("the claim took the sibling; the ordering of ready tasks changed")
        tx.append([TaskRetryScheduled(id=first, error="x", run_after=0.0)
                   .to_new(stream_of("task", first), claimed["version"])], Meta(actor="system", at=utc_now()))
    assert task_events(ws, first)[-1] == "TaskRetryScheduled"


# -- the worker's finishing transaction --------------------------------------------------------
class Barrier:
    """Holds each worker's first try between its reads and its first append until both have read."""

    def __init__(self) -> None:
        self.both_read = threading.Barrier(2, timeout=30)
        self.tries: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    def hook(self, name: str) -> Any:
        def reached(attempt: int) -> None:
            with self.lock:
                self.tries.append((name, attempt))
            if attempt == 0:
                self.both_read.wait()
        return reached


@pytest.mark.parametrize("claim_next", [False, True])
def test_two_siblings_finishing_at_once_enqueue_their_join_exactly_once(ws, claim_next):
    job = start_join(ws)
    workers = [worker(ws, "w1"), worker(ws, "w2")]
    claimed = [w.claim() for w in workers]
    assert sorted(t["id"] for t in claimed if t) == [f"{job}.left", f"{job}.right"]
    barrier = Barrier()
    reports = []
    for w in workers:
        w.before_first_append = barrier.hook(w.name)

    def run(w: Worker, task: dict[str, Any]) -> None:
        reports.append(w.run(task, claim_next=claim_next))

    threads = [threading.Thread(target=run, args=(w, t)) for w, t in zip(workers, claimed, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for w in workers:
        w.before_first_append = None
    assert sorted(r.status for r in reports) == ["done", "done"], reports
    join = f"{job}.both"
    assert task_events(ws, join)[:1] == ["TaskEnqueued"], "the join was never enqueued"
    assert task_events(ws, join).count("TaskEnqueued") == 1
    # Both read before either appended; the one that took the lock second saw its read go stale
    # and tried again, and that second try saw the sibling done.
    assert sorted(barrier.tries) == [("w1", 0), ("w1", 1), ("w2", 0)] or \
        sorted(barrier.tries) == [("w1", 0), ("w2", 0), ("w2", 1)], barrier.tries
    nexts = [w.take_next() for w in workers]
    if claim_next:
        # The retried transaction enqueued the join and claimed it at once (it is the only ready task).
        assert [t["id"] for t in nexts if t] == [join]
        assert task_events(ws, join) == ["TaskEnqueued", "TaskClaimed"]
        (holder,) = [w for w, t in zip(workers, nexts, strict=True) if t]
        (task,) = [t for t in nexts if t]
        assert task["status"] == "running" and task["lease_owner"] == holder.name
        assert holder.run(task).status == "done"
    else:
        assert nexts == [None, None]
        assert worker(ws, "w3").claim()["id"] == join
        assert worker(ws, "w3").run(ws.store.query("SELECT * FROM tasks WHERE id = ?", (join,))[0]).status == "done"
    assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] == "done"
    assert verify(ws.store).ok


def test_a_lease_lost_while_the_step_ran_is_reported_lost_not_tried_again(ws):
    job = start_join(ws)
    w = worker(ws, "slow")
    task = w.claim()
    assert task is not None
    tries: list[int] = []
    w.before_first_append = tries.append
    # Someone else took the task over while the step ran (its lease ran out, another worker
    # claimed it): the outcome's append names a version the task is no longer at.
    ws.store.append([TaskRetryScheduled(id=task["id"], error="lease ran out", run_after=0.0)
                     .to_new(stream_of("task", task["id"]), task["version"])],
                    Meta(actor="system", at=utc_now(), correlation_id=job))
    report = w.run(task, claim_next=True)
    assert report.status == "lost"
    assert tries == [0]
    assert "TaskSucceeded" not in task_events(ws, task["id"])

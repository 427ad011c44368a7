"""One write per step: a step's model-call records commit with its outcome, or with its failure.

Every commit's appended events reach the store's listeners as one batch, so a batch is one
write transaction; these tests read the batches of real runs against the loopback model server.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply, make_workspace
from tests.support.openai_server import OpenAIServer

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
from masthead.app.listings import task_detail
from masthead.events.model import StoredEvent
from masthead.projections.replay import verify
from masthead.providers.base import Message

OUTCOMES = {"TaskSucceeded", "TaskWaiting", "TaskRetryScheduled", "TaskFailed", "TaskNeedsHuman", "TaskDeferred"}


def batches_of(ws: Any) -> list[list[StoredEvent]]:
    batches: list[list[StoredEvent]] = []
    ws.store.listeners.append(batches.append)
    return batches


def batch_of_call(batches: list[list[StoredEvent]], call_key: str) -> list[StoredEvent]:
    return next(b for b in batches for e in b if e.type == "ModelCallRecorded" and e.data["call_key"] == call_key)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as srv:
        yield srv


def test_every_model_call_commits_with_its_steps_outcome(tmp_path: Path, server: OpenAIServer):
    ws = make_workspace(tmp_path / "ws", server.base_url)
    batches = batches_of(ws)
    add_release_notes(ws)
    ws.runner(concurrency=2).run(until_idle=True)
    calls = [e for b in batches for e in b if e.type == "ModelCallRecorded"]
    assert calls, "the pipeline made no model call"
    for call in calls:
        batch = batch_of_call(batches, call.data["call_key"])
        outcomes = [e for e in batch if e.type in OUTCOMES and e.data["id"] == call.data["task_id"]]
        assert outcomes, f"the record of {call.data['call_key']} committed apart from its step's outcome"
        assert batch.index(call) < batch.index(outcomes[0])  # the call is in the log before what used it
    assert verify(ws.store).ok
    ws.close()


class FlakyInput(AgentInput):
    signal: SignalContext


class FlakyOutput(AgentOutput):
    text: str


@register
class FlakyAfterAnswerAgent:
    """Asks the model, then fails once (a bug, a lost connection) before returning."""

    name: ClassVar[str] = "test_flaky_after_answer"
    prompt_version: ClassVar[str] = "test_flaky_after_answer/1"
    effect: ClassVar[Effect] = "none"
    input_model = FlakyInput
    output_model = FlakyOutput
    failures: ClassVar[list[int]] = [1]  # how many runs still fail
    lock = threading.Lock()

    def run(self, inp: FlakyInput, model: ModelClient) -> AgentResult:
        output = model.generate([Message(role="user", content=f"Summarise: {inp.signal.body}")], FlakyOutput)
        with self.lock:
            if self.failures[0] > 0:
                self.failures[0] -= 1
                raise RuntimeError("the step broke after its model answered")
        return AgentResult(output=output)


FLAKY_RECIPE = "name: flaky\ntrigger: {signal_kinds: [flaky]}\nsteps:\n  - {id: summary, agent: test_flaky_after_answer}\n"


def test_a_step_that_fails_after_the_answer_commits_it_and_its_retry_does_not_pay_again(
        tmp_path: Path, server: OpenAIServer):
    server.default_reply = lambda body: json.dumps({"text": "a summary"})
    root = tmp_path / "ws"
    (root / "recipes").mkdir(parents=True)
    (root / "recipes" / "flaky.yaml").write_text(FLAKY_RECIPE, "utf-8")
    ws = make_workspace(root, server.base_url)
    batches = batches_of(ws)
    add_signal(ws, "tallybook", kind="flaky", body="Tallybook 3.2 is out.", title=None, priority="normal",
               source="test")
    ws.runner(concurrency=1).run(until_idle=True)

    assert ws.store.query("SELECT status FROM jobs")[0]["status"] == "done"
    chat_calls = [c for c in server.calls if c.path.endswith("/chat/completions")]
    assert len(chat_calls) == 1, "the retry paid for the answer again"
    (call,) = [e for b in batches for e in b if e.type == "ModelCallRecorded"]
    failed_batch = batch_of_call(batches, call.data["call_key"])
    assert [e.type for e in failed_batch if e.type in OUTCOMES] == ["TaskRetryScheduled"]
    succeeded = next(e for b in batches for e in b if e.type == "TaskSucceeded")
    assert "a summary" in json.dumps(succeeded.data["output"])
    assert verify(ws.store).ok
    ws.close()


def test_an_error_after_the_steps_commit_records_no_call_twice(tmp_path: Path, server: OpenAIServer):
    """A listener that raises after the outcome's commit sends the worker down its failure path
    with the step's calls already committed: they are not appended again."""
    ws = make_workspace(tmp_path / "ws", server.base_url)
    raised: list[int] = []

    def fail_once_after_a_success(events: list[StoredEvent]) -> None:
        if not raised and any(e.type == "TaskSucceeded" for e in events) \
                and any(e.type == "ModelCallRecorded" for e in events):
            raised.append(events[0].seq)
            raise RuntimeError("a listener broke after the commit")

    ws.store.listeners.append(fail_once_after_a_success)
    job = add_release_notes(ws)
    ws.runner(concurrency=1).run(until_idle=True)
    assert raised, "no step committed a call with its outcome"
    keys = [e.data["call_key"] for e in ws.store.read() if e.type == "ModelCallRecorded"]
    assert len(keys) == len(set(keys))
    assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] in ("done", "waiting", "running")
    assert verify(ws.store).ok
    ws.close()


class EchoInput(AgentInput):
    signal: SignalContext
    first: dict[str, Any] | None = None


def _echo_agent(name: str, prefix: str) -> None:
    class EchoAgent:
        """Returns what the model wrote, asked with what the step before it returned."""

        effect: ClassVar[Effect] = "none"
        input_model = EchoInput
        output_model = FlakyOutput

        def run(self, inp: EchoInput, model: ModelClient) -> AgentResult:
            before = inp.first["text"] if inp.first else inp.signal.body
            return AgentResult(output=model.generate([Message(role="user", content=f"{prefix}: {before}")], FlakyOutput))

    EchoAgent.name = name  # type: ignore[attr-defined]
    EchoAgent.prompt_version = f"{name}/1"  # type: ignore[attr-defined]
    register(EchoAgent)


_echo_agent("test_echo_first", "first")
_echo_agent("test_echo_second", "second")
ECHO_RECIPE = ("name: echo\ntrigger: {signal_kinds: [echo]}\nsteps:\n  - {id: first, agent: test_echo_first}\n"
               "  - {id: second, agent: test_echo_second, needs: [first]}\n")


def test_a_steps_output_that_is_its_models_answer_is_stored_once_and_read_back_whole(
        tmp_path: Path, server: OpenAIServer):
    answer = "a summary that only the model call's record holds " * 4
    server.default_reply = lambda body: json.dumps({"text": answer})
    root = tmp_path / "ws"
    (root / "recipes").mkdir(parents=True)
    (root / "recipes" / "echo.yaml").write_text(ECHO_RECIPE, "utf-8")
    ws = make_workspace(root, server.base_url)
    job = add_signal(ws, "tallybook", kind="echo", body="Tallybook 3.2 is out.", title=None, priority="normal",
                     source="test").job_ids[0]
    ws.runner(concurrency=1).run(until_idle=True)

    succeeded = [e for e in ws.store.read() if e.type == "TaskSucceeded"]
    assert len(succeeded) == 2
    for event in succeeded:
        assert answer not in json.dumps(event.data), "the answer is stored twice"
        assert event.data["output"]["output_call"] == event.data["output"]["model_calls"][-1]
    # The second step was given the first step's output, read back from the call's record.
    prompts = [json.dumps(c.body["messages"]) for c in server.calls if c.path.endswith("/chat/completions")]
    assert any(f"second: {answer}" in prompt for prompt in prompts)
    detail = task_detail(ws, f"{job}.first")
    assert detail["output"]["output"] == {"text": answer}
    assert "output_call" not in detail["output"]
    assert verify(ws.store).ok
    ws.close()

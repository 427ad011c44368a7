"""GET /api/v1/stream against a real `masthead serve`: events in seq order, resumption with
Last-Event-ID without gaps or duplicates, appends by another process, and draft tokens live."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.harness import (
    KEY_ENV,
    RELEASE_NOTES,
    add_release_notes,
    content_reply,
    make_workspace,
)
from tests.support.openai_server import OpenAIServer, Reply
from tests.support.web import ServeProcess

from masthead.app.auth import read_token
from masthead.app.workspace import Workspace, open_workspace


@dataclass
class Message:
    event: str
    id: int | None
    data: dict[str, Any]


class Reader:
    """Parses one SSE response incrementally; each `until` call goes on where the last stopped."""

    def __init__(self, answer: httpx.Response):
        assert answer.status_code == 200, answer.read()
        self._lines = answer.iter_lines()

    def messages(self) -> Iterator[Message]:
        event, ident, data = "message", None, []
        for line in self._lines:
            if line == "":
                if data:
                    yield Message(event, ident, json.loads("\n".join(data)))
                event, ident, data = "message", None, []
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(": ")
                if name == "event":
                    event = value
                elif name == "id":
                    ident = int(value)
                elif name == "data":
                    data.append(value)

    def until(self, done: Any, limit_seconds: float = 30.0) -> list[Message]:
        seen: list[Message] = []
        deadline = time.monotonic() + limit_seconds
        for message in self.messages():
            seen.append(message)
            if done(seen):
                return seen
            assert time.monotonic() < deadline, f"gave up waiting; saw {[(m.event, m.id) for m in seen]}"
        return seen


def log_ids(seen: list[Message]) -> list[int]:
    return [m.id for m in seen if m.event == "log" and m.id is not None]


@pytest.fixture
def trickling_llm() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server


@pytest.fixture
def workspace(tmp_path: Path, trickling_llm: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    ws = make_workspace(tmp_path / "ws", trickling_llm.base_url)
    yield ws
    ws.close()


def test_resumption_has_no_gap_and_no_duplicate(workspace: Workspace) -> None:
    token = read_token(workspace.root)
    headers = {"Authorization": f"Bearer {token}"}
    with ServeProcess(workspace.root, workers=False, env={KEY_ENV: "sk-test"}) as serve, \
            httpx.Client(base_url=serve.url, headers=headers, timeout=20.0) as http:
        add_release_notes(workspace)  # appended by this (other) process: found by polling
        head = workspace.store.head()[0]
        with http.stream("GET", "/api/v1/stream?since=0") as answer:
            first = Reader(answer).until(lambda seen: len(log_ids(seen)) >= 3)
        assert first[0].event == "ready" and first[0].id == 0
        cut = log_ids(first)[-1]
        assert log_ids(first) == [1, 2, 3]
        add_release_notes(workspace)  # while disconnected
        http.post("/api/v1/signals", json={"project": "tallybook", "kind": "release_notes", "body": RELEASE_NOTES})
        head = workspace.store.head()[0]
        with http.stream("GET", "/api/v1/stream", headers={"Last-Event-ID": str(cut)}) as answer:
            reader = Reader(answer)
            again = reader.until(lambda seen: bool(log_ids(seen)) and log_ids(seen)[-1] >= head)
            assert again[0].id == cut
            assert log_ids(again) == list(range(cut + 1, head + 1))
            # Still connected: an append by another process arrives by polling, once.
            add_release_notes(workspace)
            newer = workspace.store.head()[0]
            live = reader.until(lambda seen: bool(log_ids(seen)) and log_ids(seen)[-1] >= newer)
            assert log_ids(live) == list(range(head + 1, newer + 1))
        events = {m.id: m.data for m in again + live if m.event == "log"}
        assert events[head + 1]["seq"] == head + 1 and set(events[head + 1]) >= {"stream", "type", "data", "meta", "hash"}


def test_a_stream_without_a_cursor_starts_at_the_head(workspace: Workspace) -> None:
    token = read_token(workspace.root)
    add_release_notes(workspace)
    head = workspace.store.head()[0]
    with ServeProcess(workspace.root, workers=False, env={KEY_ENV: "sk-test"}) as serve, \
            httpx.Client(base_url=serve.url, headers={"Authorization": f"Bearer {token}"}, timeout=20.0) as http, \
            http.stream("GET", "/api/v1/stream") as answer:
        reader = Reader(answer)
        ready = reader.until(lambda seen: True)
        assert ready[0].event == "ready" and ready[0].id == head
        http.post("/api/v1/signals", json={"project": "tallybook", "kind": "release_notes", "body": "# 4.0\n- New."})
        after = reader.until(lambda seen: len(log_ids(seen)) >= 2)
        assert log_ids(after)[0] == head + 1


def test_tokens_stream_while_the_model_writes(workspace: Workspace, trickling_llm: OpenAIServer) -> None:
    trickling_llm.script(*[Reply(chunk_delay=0.02)] * 30)
    token = read_token(workspace.root)
    with ServeProcess(workspace.root, env={KEY_ENV: "sk-test"}) as serve, \
            httpx.Client(base_url=serve.url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as http, \
            http.stream("GET", "/api/v1/stream") as answer:
        reader = Reader(answer)
        reader.until(lambda seen: True)  # ready
        http.post("/api/v1/signals", json={"project": "tallybook", "kind": "release_notes", "body": RELEASE_NOTES})

        def drafted_x(seen: list[Message]) -> bool:
            return any(m.event == "log" and m.data["type"] == "PieceDrafted" and m.data["data"]["channel"] == "x"
                       for m in seen)

        seen = reader.until(drafted_x, limit_seconds=60)
    draft = next(m for m in seen if m.event == "log" and m.data["type"] == "PieceDrafted" and m.data["data"]["channel"] == "x")
    task_id = draft.data["data"]["task_id"]
    tokens = [m for m in seen if m.event == "token" and m.data["task_id"] == task_id]
    assert len(tokens) > 3, "the draft arrived in pieces, as the model wrote it"
    assert all(m.id is None for m in tokens)  # tokens are not in the log, so they carry no seq
    assert tokens[0].data["piece_id"] == draft.data["data"]["id"] and tokens[0].data["channel"] == "x"
    assert seen.index(tokens[-1]) < seen.index(draft)  # the text streamed before the draft was stored
    call = next(m for m in seen if m.event == "log" and m.data["type"] == "ModelCallRecorded"
                and m.data["data"]["task_id"] == task_id)
    assert "".join(m.data["text"] for m in tokens) == call.data["data"]["output"]


def test_ctrl_c_stops_serve_with_an_open_stream(workspace: Workspace) -> None:
    token = read_token(workspace.root)
    serve = ServeProcess(workspace.root, env={KEY_ENV: "sk-test"}).wait_ready()
    try:
        with httpx.Client(base_url=serve.url, headers={"Authorization": f"Bearer {token}"}, timeout=20.0) as http, \
                http.stream("GET", "/api/v1/stream") as answer:
            Reader(answer).until(lambda seen: True)
            started = time.monotonic()
            assert serve.stop() == 0
            assert time.monotonic() - started < 10
    finally:
        serve.stop()
    assert "stopped; queued work resumes" in serve.output()
    reopened = open_workspace(str(workspace.root))
    reopened.close()

"""Property: after any sequence of commands, replay rebuilds the same read models, the chain
holds, and nothing was published without an approval of that exact version."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.harness import KEY_ENV, content_reply, make_workspace
from tests.support.openai_server import OpenAIServer

from masthead.app import commands
from masthead.errors import MastheadError
from masthead.projections.replay import verify
from masthead.runtime.worker import Worker

GATES = ["auto", "soft", "hard"]


def project_yaml(gates: tuple[str, str]) -> str:
    return f"""\
name: tallybook
description: Invoicing software.
audience: Freelancers.
voice: {{description: Plain.}}
channels:
  x: {{gate: {gates[0]}, soft_delay_minutes: 0}}
  newsletter: {{gate: {gates[1]}, soft_delay_minutes: 0}}
"""


command = st.one_of(
    st.tuples(st.just("project"), st.tuples(st.sampled_from(GATES), st.sampled_from(GATES))),
    st.tuples(st.just("signal"), st.sampled_from(["high", "normal", "low"])),
    st.tuples(st.just("work"), st.integers(1, 8)),
    st.tuples(st.just("approve"), st.integers(0, 5)),
    st.tuples(st.just("reject"), st.integers(0, 5)),
    st.tuples(st.just("edit"), st.integers(0, 5)),
)


@pytest.fixture(scope="module")
def server():
    with OpenAIServer(api_key="sk-test", reply=content_reply) as srv:
        yield srv


def _piece(ws, index: int):
    rows = ws.store.query("SELECT id FROM pieces ORDER BY id")
    return rows[index % len(rows)]["id"] if rows else None


def apply(ws, worker: Worker, name: str, arg) -> None:
    try:
        if name == "project":
            path = ws.root / "project.yaml"
            path.write_text(project_yaml(arg), "utf-8")
            commands.apply_project(ws, path)
        elif name == "signal":
            commands.add_signal(ws, "tallybook", kind="release_notes", body="Tallybook 3.2: 40 more banks.",
                                title=None, priority=arg, source="test")
        elif name == "work":
            for _ in range(arg):
                task = worker.claim()
                if task is None:
                    break
                worker.run(task)
        elif (piece := _piece(ws, arg)) is not None:
            if name == "approve":
                commands.approve(ws, piece, operator="ana")
            elif name == "reject":
                commands.reject(ws, piece, operator="ana", reason="no")
            else:
                commands.edit(ws, piece, operator="ana", text="Tallybook 3.2 adds 40 more banks.")
    except MastheadError:
        pass  # refused commands (approving a published piece...) must change nothing


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(command, min_size=1, max_size=25))
def test_any_command_sequence_replays_to_the_same_read_models(server, monkeypatch, sequence):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with tempfile.TemporaryDirectory() as folder:
        ws = make_workspace(Path(folder) / "ws", server.base_url, project_yaml=project_yaml(("auto", "hard")))
        worker = Worker(ws.store, ws.services(), "prop:1:0", lease_seconds=30, backoff_base=0, backoff_max=0)
        try:
            for name, arg in sequence:
                apply(ws, worker, name, arg)
            report = verify(ws.store)
            assert report.ok, report.problem
            published = ws.store.query(
                "SELECT p.piece_id, p.version, p.channel FROM publications p WHERE p.status = 'delivered'")
            for row in published:
                approvals = ws.store.query(
                    "SELECT actor, reason FROM decisions WHERE piece_id = ? AND version = ? AND decision = 'approved'",
                    (row["piece_id"], row["version"]))
                assert approvals, f"{row} published without an approval of that version"
                for approval in approvals:
                    # A system approval only ever comes from an auto or soft gate.
                    assert approval["actor"] == "human:ana" or approval["reason"].startswith(("auto gate", "soft gate"))
        finally:
            ws.close()

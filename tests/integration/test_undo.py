"""Undo of one's own last action (app/undo.py): each undoable action undone by the reversible
actions that exist, each refusal with its reason and nothing written, the last action read from
the log (so a reopened workspace still knows it), and `replay --verify` equal after all of it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tests.support.harness import (
    KEY_ENV,
    PROJECT_YAML,
    add_release_notes,
    content_reply,
    make_workspace,
    pieces_by_channel,
)
from tests.support.openai_server import OpenAIServer

from masthead.app import commands
from masthead.app.people import add_user
from masthead.app.permissions import PermissionDenied, Principal
from masthead.app.queries import piece_detail
from masthead.app.stats import approval_latencies
from masthead.app.undo import UNDO_WINDOW_SECONDS, last_action, undo, undo_offer
from masthead.app.workspace import open_workspace
from masthead.cli.main import main
from masthead.errors import ConcurrencyConflict, StateError
from masthead.projections.replay import verify
from masthead.runtime.steps import human_approval

OWNER = Principal("ana", "owner")
TWO_PEOPLE = PROJECT_YAML.replace("newsletter: {gate: hard}", "newsletter: {gate: hard, approvals: 2}")
NEW_TEXT = "Tallybook 3.2 brings bank feeds for 40 more banks and a 35% faster dashboard."


@pytest.fixture
def llm():
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server


def _workspace(tmp_path: Path, llm: OpenAIServer, monkeypatch: pytest.MonkeyPatch, project_yaml: str) -> Any:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    workspace = make_workspace(tmp_path / "ws", llm.base_url, project_yaml=project_yaml)
    for name, role in (("ed", "editor"), ("rita", "reviewer"), ("bo", "reviewer"), ("vic", "viewer")):
        add_user(workspace, OWNER, name, role)
    return workspace


@pytest.fixture
def ws(tmp_path: Path, llm: OpenAIServer, monkeypatch: pytest.MonkeyPatch):
    workspace = _workspace(tmp_path, llm, monkeypatch, PROJECT_YAML)
    yield workspace
    workspace.close()


@pytest.fixture
def ws2(tmp_path: Path, llm: OpenAIServer, monkeypatch: pytest.MonkeyPatch):
    workspace = _workspace(tmp_path, llm, monkeypatch, TWO_PEOPLE)
    yield workspace
    workspace.close()


def run(ws: Any) -> None:
    ws.runner(concurrency=2).run(until_idle=True)


def as_user(ws: Any, name: str) -> Principal:
    return Principal(name, ws.store.query("SELECT role FROM users WHERE name = ?", (name,))[0]["role"])


def in_review(ws: Any) -> str:
    job = add_release_notes(ws)
    run(ws)
    piece = pieces_by_channel(ws, job)["newsletter"]
    assert piece["status"] == "in_review"
    return str(piece["id"])


def piece_row(ws: Any, piece: str) -> dict[str, Any]:
    return ws.store.query("SELECT * FROM pieces WHERE id = ?", (piece,))[0]


def head(ws: Any) -> int:
    return int(ws.store.query("SELECT MAX(seq) AS s FROM events")[0]["s"])


def refused(ws: Any, error: type[Exception], match: str, who: Principal, **kwargs: Any) -> None:
    """The undo is refused with this reason and writes nothing."""
    before = head(ws)
    with pytest.raises(error, match=match):
        undo(ws, who, **kwargs)
    assert head(ws) == before


def test_undo_of_an_approval_puts_the_piece_back_in_review_and_it_does_not_publish(ws) -> None:
    piece = in_review(ws)
    rita = as_user(ws, "rita")
    latencies = len(approval_latencies(ws))  # the other channels' pieces, approved by their gates
    commands.approve(ws, piece, operator=rita, version=1)
    offer = undo_offer(ws, rita)
    assert offer is not None and offer.action == "approve" and offer.piece_id == piece
    assert offer.what.startswith("approval of newsletter piece '") and offer.what.endswith("v1")
    done = undo(ws, rita)
    assert (done.action, done.seq, done.piece_id) == ("approve", offer.seq, piece)
    # Back in the review queue at once, as its gate had asked (no worker needs to run first).
    assert piece_row(ws, piece)["status"] == "in_review" and piece_row(ws, piece)["approved_version"] is None
    assert [r["piece_id"] for r in ws.store.query("SELECT piece_id FROM review_queue WHERE piece_id = ?", (piece,))]
    run(ws)
    assert piece_row(ws, piece)["status"] == "in_review"  # the gate finds the request standing
    assert not ws.store.query("SELECT * FROM publications WHERE piece_id = ?", (piece,))
    decisions = [d["decision"] for d in piece_detail(ws, piece)["lineage"]["decisions"]]
    assert decisions[-3:] == ["approval_withdrawn", "undone", "review_requested"]
    assert undo_offer(ws, rita) is None  # an undo is not undone in turn
    assert human_approval(ws.store, piece, 1) is None  # documents and hard gates no longer see it
    assert len(approval_latencies(ws)) == latencies  # nor the dashboard's approval latency
    # A fresh approval publishes as usual.
    commands.approve(ws, piece, operator=as_user(ws, "bo"), version=1)
    run(ws)
    assert piece_row(ws, piece)["status"] == "published"
    assert len(approval_latencies(ws)) == latencies + 1
    assert verify(ws.store).problem is None


def test_undo_of_an_approval_that_published_is_refused_and_points_to_retract(ws) -> None:
    piece = in_review(ws)
    rita = as_user(ws, "rita")
    commands.approve(ws, piece, operator=rita, version=1)
    run(ws)
    assert piece_row(ws, piece)["status"] == "published"
    refused(ws, StateError, r"went out already .*masthead piece retract", rita)


def test_undo_of_a_timed_approval_gives_the_time_back_and_stops_the_waiting_publication(ws) -> None:
    piece = in_review(ws)
    rita = as_user(ws, "rita")
    commands.approve(ws, piece, operator=rita, version=1, at="2031-01-07 09:30")
    run(ws)  # the publish step waits for its time
    publish = ws.store.query("SELECT status, run_after FROM tasks WHERE id LIKE ? AND kind = 'publish'", ("%newsletter%",))
    assert [t["status"] for t in publish] == ["queued"] and publish[0]["run_after"] > time.time() + 86400
    undo(ws, rita)
    row = piece_row(ws, piece)
    assert row["scheduled_at"] is None and row["status"] == "in_review"
    publish = ws.store.query("SELECT status FROM tasks WHERE id LIKE ? AND kind = 'publish'", ("%newsletter%",))
    assert [t["status"] for t in publish] == ["reopened"]  # it waits for the gate again, not for the time
    run(ws)
    assert piece_row(ws, piece)["status"] == "in_review"
    assert not ws.store.query("SELECT * FROM publications WHERE piece_id = ?", (piece,))
    assert verify(ws.store).problem is None


def test_undo_of_one_approval_of_several_takes_only_that_one_back(ws2) -> None:
    ws = ws2
    piece = in_review(ws)
    rita, bo = as_user(ws, "rita"), as_user(ws, "bo")
    commands.approve(ws, piece, operator=bo, version=1)
    commands.approve(ws, piece, operator=rita, version=1)
    refused(ws, StateError, "acted on piece .* after it", bo)  # rita approved after bo
    undo(ws, rita)
    assert piece_detail(ws, piece)["people"]["given"] == [{"name": "bo", "role": "reviewer"}]
    run(ws)
    assert piece_row(ws, piece)["status"] == "in_review"
    assert commands.approve(ws, piece, operator=as_user(ws, "ed"), version=1)["missing"] == []
    run(ws)
    assert piece_row(ws, piece)["status"] == "published"
    assert verify(ws.store).problem is None


def test_undo_of_a_rejection_reopens_and_of_a_reopening_rejects(ws) -> None:
    piece = in_review(ws)
    rita = as_user(ws, "rita")
    commands.reject(ws, piece, operator=rita, reason="off-brand")
    run(ws)
    assert undo(ws, rita).action == "reject"
    assert piece_row(ws, piece)["status"] == "in_review"  # back in the queue at once
    run(ws)
    assert piece_row(ws, piece)["status"] == "in_review"
    commands.reject(ws, piece, operator=rita, reason="off-brand after all")
    commands.reopen(ws, piece, operator=as_user(ws, "bo"), reason="the client agreed")
    assert undo(ws, as_user(ws, "bo")).action == "reopen"
    assert piece_row(ws, piece)["status"] == "rejected"
    assert verify(ws.store).problem is None


def test_undo_of_an_edit_makes_a_version_equal_to_the_one_before(ws) -> None:
    piece = in_review(ws)
    ed = as_user(ws, "ed")
    original = piece_row(ws, piece)["text"]
    assert commands.edit(ws, piece, operator=ed, text=NEW_TEXT) == 2
    done = undo(ws, ed)
    assert done.action == "edit"
    row = piece_row(ws, piece)
    assert (row["version"], row["text"]) == (3, original)
    assert piece_detail(ws, piece)["versions"][-1]["kind"] == "revert"
    assert verify(ws.store).problem is None


def test_refusals_name_their_reason_and_write_nothing(ws) -> None:
    piece = in_review(ws)
    rita, bo, ed = as_user(ws, "rita"), as_user(ws, "bo"), as_user(ws, "ed")
    refused(ws, StateError, "did nothing in the last 2 minutes", rita)
    refused(ws, PermissionDenied, "vic is a viewer and may not undo", as_user(ws, "vic"))
    commands.edit(ws, piece, operator=ed, text=NEW_TEXT)
    seq = undo_offer(ws, ed).seq  # type: ignore[union-attr]
    # Someone else's action: 403.
    refused(ws, PermissionDenied, "is an action of human:ed, not of rita", rita, seq=seq)
    # After the window.
    refused(ws, StateError, "can be undone for 2 minutes only", ed, now=time.time() + UNDO_WINDOW_SECONDS + 1)
    # After a later action on the same piece by anyone.
    commands.approve(ws, piece, operator=bo, version=2)
    refused(ws, StateError, r"human:bo acted on piece .* after it", ed)
    # A second undo of the same action.
    undo(ws, bo)
    refused(ws, StateError, "undone already", bo, seq=last_seq_of(ws, "bo", "ApprovalRecorded"))
    # Not one's last action: bo rejects another piece afterwards.
    other = in_review(ws)
    commands.approve(ws, other, operator=bo, version=1)
    approval = last_seq_of(ws, "bo", "ApprovalRecorded")
    commands.refine(ws, piece, operator=ed, note="shorter")
    refused(ws, StateError, r"is not an action that can be undone", ed)  # a refinement
    commands.reject(ws, piece, operator=bo, reason="not now")
    refused(ws, StateError, "bo did something after it", bo, seq=approval)
    assert verify(ws.store).problem is None


def last_seq_of(ws: Any, name: str, event_type: str) -> int:
    rows = ws.store.query("SELECT seq, meta FROM events WHERE type = ? ORDER BY seq DESC", (event_type,))
    return next(int(r["seq"]) for r in rows if f'"actor":"human:{name}"' in r["meta"])


def test_the_last_action_is_read_from_the_log_after_a_restart(ws, monkeypatch: pytest.MonkeyPatch) -> None:
    import masthead.app.undo as undo_module

    monkeypatch.setattr(undo_module, "SCAN_ROWS", 3)  # the look back crosses many pages of the log
    piece = in_review(ws)
    commands.reject(ws, piece, operator=as_user(ws, "rita"), reason="off-brand")
    add_release_notes(ws)
    run(ws)  # other work after it: dozens of events by the system
    assert last_action(ws, as_user(ws, "rita"), now=time.time() + 3 * UNDO_WINDOW_SECONDS) is None
    root = ws.root
    again = open_workspace(str(root))
    try:
        action = last_action(again, as_user(again, "rita"))
        assert action is not None and action.action == "reject" and action.piece_id == piece
        assert undo(again, as_user(again, "rita")).status == "in_review"
    finally:
        again.close()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_undo_cli_shows_and_undoes_the_last_action(ws, capsys) -> None:
    piece = in_review(ws)
    root = str(ws.root)
    code, out = cli(capsys, "-w", root, "undo", "--as", "rita", "--show")
    assert code == 0 and "rita has no last action that can still be undone" in out
    code, out = cli(capsys, "-w", root, "review", "reject", piece, "--reason", "off-brand", "--as", "rita")
    assert code == 0
    code, out = cli(capsys, "-w", root, "undo", "--as", "rita", "--show")
    assert code == 0 and out.startswith("seq ") and "your rejection of newsletter piece" in out and "UTC" in out
    code, out = cli(capsys, "-w", root, "undo", "--as", "bo")
    assert code != 0 and "bo did nothing in the last 2 minutes" in out
    code, out = cli(capsys, "-w", root, "undo", "--as", "rita")
    assert code == 0 and "undid your rejection of newsletter piece" in out and "the piece is in review now" in out
    code, out = cli(capsys, "-w", root, "undo", "--as", "vic")
    assert code == 9 and out.count("\n") == 1 and "vic is a viewer and may not undo" in out


def test_two_undos_that_both_passed_the_checks_write_once(ws2, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log itself keeps an action undone once: its record is appended on stream `undo-<seq>`
    at version 0, so a second undo racing past the checks conflicts and writes nothing."""
    import masthead.app.undo as undo_module

    ws = ws2
    piece = in_review(ws)
    rita = as_user(ws, "rita")
    commands.approve(ws, piece, operator=rita, version=1)  # one of two: the piece stays in review
    seq = undo(ws, rita).seq
    monkeypatch.setattr(undo_module, "_refuse", lambda *args: None)  # as if it had read the log before the first
    refused(ws, ConcurrencyConflict, f"stream undo-{seq} is at version 1", rita, seq=seq)
    assert len(ws.store.query("SELECT seq FROM events WHERE type = 'ApprovalWithdrawn'")) == 1

"""Approvals that need several people, escalation of waiting reviews (with a clock passed in),
revert, the users' CLI, and `replay --verify` equal after all of it."""

from __future__ import annotations

import io
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
from masthead.app.escalation import escalate_due
from masthead.app.people import add_user
from masthead.app.permissions import Principal
from masthead.app.queries import piece_detail
from masthead.cli.main import main
from masthead.errors import StateError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.types import ReviewApproved
from masthead.projections.replay import verify
from masthead.projects import ChannelSettings
from masthead.runtime.approvals import missing_approvals

OWNER = Principal("ana", "owner")
TWO_PEOPLE = PROJECT_YAML.replace("newsletter: {gate: hard}", "newsletter: {gate: hard, approvals: 2}") + """\
escalation:
  - {after: 30m, notify: editor}
  - {after: 4h, notify: owner, via: file}
"""


@pytest.fixture
def llm():
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server


@pytest.fixture
def ws(tmp_path: Path, llm: OpenAIServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    workspace = make_workspace(tmp_path / "ws", llm.base_url, project_yaml=TWO_PEOPLE)
    for name, role in (("ed", "editor"), ("rita", "reviewer"), ("bo", "reviewer")):
        add_user(workspace, OWNER, name, role)
    add_user(workspace, OWNER, "ana", "owner")
    yield workspace
    workspace.close()


def run(ws: Any) -> None:
    ws.runner(concurrency=2).run(until_idle=True)


def newsletter(ws: Any, job: str) -> dict[str, Any]:
    return pieces_by_channel(ws, job)["newsletter"]


def as_user(ws: Any, name: str) -> Principal:
    row = ws.store.query("SELECT role FROM users WHERE name = ?", (name,))[0]
    return Principal(name, row["role"])


def test_one_approval_is_not_enough_and_an_older_version_does_not_count(ws, capsys) -> None:
    job = add_release_notes(ws)
    run(ws)
    piece = newsletter(ws, job)
    assert piece["status"] == "in_review"
    first = commands.approve(ws, piece["id"], operator=as_user(ws, "rita"), version=1)
    assert first["missing"] == ["1 more approval"]
    with pytest.raises(StateError, match="rita approved .* v1 already"):
        commands.approve(ws, piece["id"], operator=as_user(ws, "rita"))
    run(ws)
    assert newsletter(ws, job)["status"] == "in_review"  # not published on one approval
    detail = piece_detail(ws, piece["id"])
    assert detail["people"]["given"] == [{"name": "rita", "role": "reviewer"}]
    assert detail["people"]["missing"] == ["1 more approval"]
    code, shown = cli(capsys, "-w", str(ws.root), "review", "show", piece["id"])
    assert code == 0 and "approvals of this version: 1 of 2 in: rita (reviewer)" in shown
    assert "still needed: 1 more approval" in shown
    # An edit makes v2: rita's approval of v1 does not count for it.
    version = commands.edit(ws, piece["id"], operator=as_user(ws, "ed"),
                            text="Tallybook 3.2 brings bank feeds for 40 more banks and a 35% faster dashboard.")
    assert version == 2
    assert commands.approve(ws, piece["id"], operator=as_user(ws, "bo"), version=2)["missing"] == ["1 more approval"]
    run(ws)
    assert newsletter(ws, job)["status"] == "in_review"
    done = commands.approve(ws, piece["id"], operator=as_user(ws, "rita"), version=2)
    assert done["missing"] == []
    run(ws)
    assert newsletter(ws, job)["status"] == "published"
    decisions = [(d["decision"], d["actor"]) for d in piece_detail(ws, piece["id"])["lineage"]["decisions"]
                 if d["decision"].startswith("approved")]
    assert decisions == [("approved_partly", "human:rita"), ("approved_partly", "human:bo"), ("approved", "human:rita")]
    assert verify(ws.store).problem is None


def test_the_publish_step_refuses_an_approval_that_skipped_the_people(ws) -> None:
    job = add_release_notes(ws)
    run(ws)
    piece = newsletter(ws, job)
    commands.approve(ws, piece["id"], operator=as_user(ws, "rita"))
    # Something other than the approve command marks it approved (a bug, a hand-made event).
    stream = stream_of("piece", piece["id"])
    ws.store.append([ReviewApproved(piece_id=piece["id"], version=1, reason="forged").to_new(stream)],
                    Meta(actor="human:rita", at=utc_now()))
    run(ws)
    assert newsletter(ws, job)["status"] == "approved"
    assert not ws.store.query("SELECT * FROM publications WHERE piece_id = ?", (piece["id"],))


def test_named_approvers_need_distinct_people_of_those_roles_or_names() -> None:
    settings = ChannelSettings(approvers=["owner", "clara"])
    assert missing_approvals(settings, []) == ["owner", "clara"]
    assert missing_approvals(settings, [("ana", "owner")]) == ["clara"]
    assert len(missing_approvals(settings, [("clara", "owner")])) == 1  # one person counts once, for either
    assert missing_approvals(settings, [("clara", "reviewer"), ("ana", "owner")]) == []
    assert missing_approvals(ChannelSettings(approvals=3, approvers=["editor"]), [("ed", "owner")]) == ["2 more approvals"]
    assert missing_approvals(ChannelSettings(approvals=2, approvers=["editor"]), [("rita", "reviewer")]) == ["editor"]


def test_a_waiting_review_escalates_once_per_step(ws) -> None:
    job = add_release_notes(ws)
    run(ws)
    piece = newsletter(ws, job)
    since = time.time()
    assert escalate_due(ws, now=since + 10 * 60) == []
    first = escalate_due(ws, clock=lambda: since + 31 * 60)
    assert [(e["notify"], e["delivered"]) for e in first] == [("editor", False)]
    assert escalate_due(ws, now=since + 60 * 60) == []  # once
    second = escalate_due(ws, now=since + 5 * 3600)
    assert [(e["notify"], e["via"], e["delivered"]) for e in second] == [("owner", "file", True)]
    notice = Path(second[0]["detail"])
    assert notice.exists() and piece["id"] in notice.read_text("utf-8")
    assert escalate_due(ws, now=since + 9 * 3600) == []
    people = piece_detail(ws, piece["id"])["people"]
    assert people["escalated_to"] == "owner"
    assert [(e["notify"], e["status"]) for e in people["escalations"]] == [("editor", "recorded"), ("owner", "sent")]
    assert verify(ws.store).problem is None


def test_revert_makes_a_new_version_equal_to_an_old_one(ws) -> None:
    job = add_release_notes(ws)
    run(ws)
    piece = newsletter(ws, job)
    original = piece["text"]
    commands.edit(ws, piece["id"], operator=as_user(ws, "ed"), text="Tallybook 3.2: bank feeds for 40 more banks.")
    version = commands.revert(ws, piece["id"], operator=as_user(ws, "ed"), to_version=1)
    assert version == 3
    detail = piece_detail(ws, piece["id"])
    assert detail["text"] == original and detail["versions"][-1]["kind"] == "revert"
    assert detail["lineage"]["decisions"][-1]["decision"] in ("reverted", "review_requested")
    with pytest.raises(Exception, match="may not revert"):
        commands.revert(ws, piece["id"], operator=as_user(ws, "rita"), to_version=2)
    assert verify(ws.store).problem is None


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_users_cli(ws, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    root = str(ws.root)
    code, out = cli(capsys, "-w", root, "user", "add", "vic", "--role", "viewer", "--projects", "tallybook")
    assert code == 0 and "added vic (viewer)" in out
    code, out = cli(capsys, "-w", root, "user", "add", "vic", "--role", "viewer")
    assert code != 0 and "exists already" in out
    code, out = cli(capsys, "-w", root, "user", "add", "x", "--role", "viewer", "--projects", "nope")
    assert code != 0 and "nope" in out and "Traceback" not in out
    code, out = cli(capsys, "-w", root, "token", "--user", "vic")
    assert code == 0 and "mhu_" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, out = cli(capsys, "-w", root, "user", "password", "vic", "--password-stdin")
    assert code == 2 and "at least 10" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough passphrase\n"))
    code, out = cli(capsys, "-w", root, "user", "password", "vic", "--password-stdin")
    assert code == 0 and ws.store.query("SELECT password_hash FROM user_credentials WHERE name = 'vic'")[0][
        "password_hash"].startswith("$argon2id$")
    monkeypatch.setenv("MASTHEAD_USER", "vic")
    code, out = cli(capsys, "-w", root, "user", "add", "zed", "--role", "owner")
    assert code == 9 and out.strip() == ("error: vic is a viewer and may not manage users and their tokens"
                                         " (fix: ask for the role owner (`masthead user set-role` by an owner))")
    code, out = cli(capsys, "-w", root, "token", "--user", "vic")  # one's own token: any role
    assert code == 0 and "mhu_" in out
    code, out = cli(capsys, "-w", root, "token")  # the operator token: the owner's
    assert code == 9
    monkeypatch.delenv("MASTHEAD_USER")
    code, out = cli(capsys, "-w", root, "--as", "nobody", "review", "list")
    assert code != 0 and "'nobody' is not a user" in out
    code, out = cli(capsys, "-w", root, "user", "set-role", "vic", "--role", "editor")
    assert code == 0 and "vic is now editor" in out
    code, out = cli(capsys, "-w", root, "user", "list", "--json")
    assert '"name": "vic"' in out and '"role": "editor"' in out and "mhu_" not in out
    code, out = cli(capsys, "-w", root, "user", "remove", "vic")
    assert code == 0
    code, out = cli(capsys, "-w", root, "user", "set-role", "ana", "--role", "viewer")
    assert code != 0 and "last owner" in out
    assert verify(ws.store).problem is None


def test_a_workspace_without_users_works_as_before(tmp_path: Path, llm: OpenAIServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    ws = make_workspace(tmp_path / "old", llm.base_url)
    try:
        job = add_release_notes(ws)
        run(ws)
        piece = newsletter(ws, job)
        commands.approve(ws, piece["id"], operator="bea")  # any name, as the owner, while there are no users
        run(ws)
        assert newsletter(ws, job)["status"] == "published"
    finally:
        ws.close()


def test_a_rejected_piece_reopened_goes_back_to_review_and_publishes_after_fresh_approvals(ws) -> None:
    job = add_release_notes(ws)
    run(ws)
    piece = newsletter(ws, job)["id"]
    commands.approve(ws, piece, operator=as_user(ws, "rita"))
    with pytest.raises(StateError, match="only a rejected piece"):
        commands.reopen(ws, piece, operator=as_user(ws, "rita"), reason="too early")
    commands.reject(ws, piece, operator=as_user(ws, "ana"), reason="wait for the launch")
    run(ws)
    assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] == "done"
    commands.reopen(ws, piece, operator=as_user(ws, "bo"), reason="launched")
    run(ws)
    assert newsletter(ws, job)["status"] == "in_review"
    assert piece_detail(ws, piece)["people"]["given"] == []  # approvals before the rejection do not count
    assert commands.approve(ws, piece, operator=as_user(ws, "rita"))["missing"] == ["1 more approval"]
    commands.approve(ws, piece, operator=as_user(ws, "bo"))
    run(ws)
    assert newsletter(ws, job)["status"] == "published"
    assert ws.store.query("SELECT status FROM jobs WHERE id = ?", (job,))[0]["status"] == "done"
    decisions = [d["decision"] for d in piece_detail(ws, piece)["lineage"]["decisions"]]
    assert "rejected" in decisions and "reopened" in decisions
    assert verify(ws.store).problem is None


def test_forget_person_shreds_the_sealed_address_and_the_log_still_verifies(ws, capsys) -> None:
    root = str(ws.root)
    code, out = cli(capsys, "-w", root, "user", "add", "clara", "--role", "reviewer", "--email", "Clara@Client.example")
    assert code == 0
    code, out = cli(capsys, "-w", root, "user", "list")
    assert "<clara@client.example>" in out
    log = " ".join(row["data"] for row in ws.store.query("SELECT data FROM events"))
    assert "client.example" not in log.lower()  # only the sealed form is in the log
    code, out = cli(capsys, "-w", root, "user", "add", "x", "--role", "viewer", "--email", "not-an-address")
    assert code == 2 and "not an email address" in out
    code, out = cli(capsys, "-w", root, "--as", "rita", "forget-person", "clara@client.example")
    assert code == 9
    code, out = cli(capsys, "-w", root, "forget-person", "CLARA@client.example")
    assert code == 0 and "forgot subj_" in out
    code, out = cli(capsys, "-w", root, "user", "list", "--json")
    assert '"email": "[forgotten]"' in out
    code, out = cli(capsys, "-w", root, "forget-person", "clara@client.example")
    assert code == 3  # nothing is kept for it any more
    assert ws.store.query("SELECT * FROM subject_keys") == []
    assert verify(ws.store).problem is None

"""A person's version goes through the same gate as a model's: a soft-gated piece that failed its
checks, then was edited so it passes, publishes once its deadline passes; a hard-gated one asks for
approval of the new version with the right reason."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.support.harness import (
    KEY_ENV,
    PROJECT_YAML,
    add_release_notes,
    channel_of,
    content_reply,
    make_workspace,
    pieces_by_channel,
)
from tests.support.openai_server import OpenAIServer

from masthead.app import commands
from masthead.app.next_step import next_step
from masthead.projections.replay import verify

SOFT_DELAY_SECONDS = 1.2
GOOD_LINKEDIN = "Tallybook 3.2 adds bank feeds for 40 more banks. Posted by the Tallybook team."


def _ungrounded_linkedin(body: dict) -> str:
    name = body["response_format"]["json_schema"]["name"]
    if name in ("DraftOutput", "RefineOutput") and channel_of(body) in ("linkedin", "x"):
        return json.dumps({"text": "Tallybook 3.2 supports 9000 banks. Posted by the Tallybook team."})
    return content_reply(body)


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    project = PROJECT_YAML.replace("soft_delay_minutes: 0", f"soft_delay_minutes: {SOFT_DELAY_SECONDS / 60}")
    with OpenAIServer(api_key="sk-test", reply=_ungrounded_linkedin) as server:
        workspace = make_workspace(tmp_path / "ws", server.base_url, project_yaml=project)
        yield workspace
        workspace.close()


def _run(ws) -> None:
    ws.runner(concurrency=2).run(until_idle=True)


def _queue_entry(ws, piece_id: str) -> dict:
    return ws.store.query("SELECT * FROM review_queue WHERE piece_id = ?", (piece_id,))[0]


def test_an_edited_soft_gated_piece_publishes_after_one_deadline(ws):
    job = add_release_notes(ws)
    _run(ws)
    linkedin = pieces_by_channel(ws, job)["linkedin"]
    assert linkedin["status"] == "in_review" and "9000" in linkedin["flags"]

    commands.edit(ws, linkedin["id"], operator="ana", text=GOOD_LINKEDIN)
    _run(ws)
    entry = _queue_entry(ws, linkedin["id"])
    assert entry["deadline"] is not None, "the soft gate must record its deadline"
    assert entry["reason"].startswith("soft gate"), entry["reason"]
    first_deadline = entry["deadline"]

    _run(ws)  # running again before the deadline must not move it
    assert _queue_entry(ws, linkedin["id"])["deadline"] == first_deadline

    time.sleep(SOFT_DELAY_SECONDS + 0.3)
    _run(ws)
    assert pieces_by_channel(ws, job)["linkedin"]["status"] == "published"
    assert verify(ws.store).ok


def test_an_edited_hard_gated_piece_asks_for_approval_of_the_new_version(ws):
    job = add_release_notes(ws)
    _run(ws)
    newsletter = pieces_by_channel(ws, job)["newsletter"]
    # Make it fail first: a person's version with an invented number.
    commands.edit(ws, newsletter["id"], operator="ana", text="Tallybook 3.2 supports 9000 banks.")
    _run(ws)
    assert _queue_entry(ws, newsletter["id"])["reason"].startswith("checks failed")
    commands.edit(ws, newsletter["id"], operator="ana", text="Tallybook 3.2 adds bank feeds for 40 more banks.")
    _run(ws)
    entry = _queue_entry(ws, newsletter["id"])
    assert entry["version"] == 3
    assert entry["reason"].startswith("hard gate"), entry["reason"]


def test_a_person_is_told_what_their_edit_will_do_and_every_check_runs_on_it(ws):
    job = add_release_notes(ws)
    _run(ws)
    pieces = pieces_by_channel(ws, job)
    x, newsletter = pieces["x"], pieces["newsletter"]
    assert x["status"] == "in_review"

    commands.edit(ws, x["id"], operator="ana", text="Tallybook 3.2 is out: bank feeds for 40 more banks.")
    said = next_step(ws, x["id"])
    assert "auto gate publishes it" in said and "approve" not in said
    checks = {c["name"] for c in ws.store.query("SELECT name FROM checks WHERE piece_id = ? AND version = 3",
                                                 (x["id"],))}
    assert "voice" in checks, checks

    commands.edit(ws, newsletter["id"], operator="ana", text="Tallybook 3.2 supports 9000 banks.")
    assert "fails grounding" in next_step(ws, newsletter["id"])
    commands.edit(ws, newsletter["id"], operator="ana", text="Tallybook 3.2 adds bank feeds for 40 more banks.")
    assert f"review approve {newsletter['id']} --version 3" in next_step(ws, newsletter["id"])
    _run(ws)
    assert pieces_by_channel(ws, job)["x"]["status"] == "published"

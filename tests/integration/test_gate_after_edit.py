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
    content_reply,
    make_workspace,
    pieces_by_channel,
)
from tests.support.openai_server import OpenAIServer

from masthead.app import commands
from masthead.app.next_step import next_step
from masthead.projections.replay import verify

SOFT_DELAY_SECONDS = 1.2
# Every candidate fails: the composed ones quote the banned phrase, the model's invents a number.
SIGNAL = "# Tallybook 3.2\n- A game changer: bank feeds for 40 more banks.\n- The dashboard loads 35% faster.\n"
GOOD = ("Tallybook 3.2 adds bank feeds for 40 more banks, and the dashboard loads 35% faster."
        " Less time on bookkeeping, more on the work.")
GOOD_LINKEDIN = f"{GOOD} Posted by the Tallybook team."


def _ungrounded_linkedin(body: dict) -> str:
    name = body["response_format"]["json_schema"]["name"]
    if name in ("DraftOutput", "RefineOutput"):
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
    job = add_release_notes(ws, body=SIGNAL)
    _run(ws)
    linkedin = pieces_by_channel(ws, job)["linkedin"]
    assert linkedin["status"] == "in_review" and json.loads(linkedin["flags"])

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
    job = add_release_notes(ws, body=SIGNAL)
    _run(ws)
    newsletter = pieces_by_channel(ws, job)["newsletter"]
    assert _queue_entry(ws, newsletter["id"])["reason"].startswith("checks failed")
    commands.edit(ws, newsletter["id"], operator="ana", text=GOOD)
    _run(ws)
    entry = _queue_entry(ws, newsletter["id"])
    assert entry["version"] == newsletter["version"] + 1
    assert entry["reason"].startswith("hard gate"), entry["reason"]


def test_a_person_is_told_what_their_edit_will_do_and_every_check_runs_on_it(ws):
    job = add_release_notes(ws, body=SIGNAL)
    _run(ws)
    pieces = pieces_by_channel(ws, job)
    x, newsletter = pieces["x"], pieces["newsletter"]
    assert x["status"] == "in_review"

    version = commands.edit(ws, x["id"], operator="ana", text=GOOD)
    said = next_step(ws, x["id"])
    assert "auto gate publishes it" in said and "approve" not in said, said
    checks = {c["name"] for c in ws.store.query("SELECT name FROM checks WHERE piece_id = ? AND version = ?",
                                                 (x["id"], version))}
    assert {"voice", "substance", "provenance"} <= checks, checks

    commands.edit(ws, newsletter["id"], operator="ana", text="Tallybook 3.2 supports 9000 banks, and the dashboard loads 35% faster.")
    assert "fails grounding" in next_step(ws, newsletter["id"])
    version = commands.edit(ws, newsletter["id"], operator="ana", text=GOOD)
    assert f"review approve {newsletter['id']} --version {version}" in next_step(ws, newsletter["id"])
    _run(ws)
    assert pieces_by_channel(ws, job)["x"]["status"] == "published"

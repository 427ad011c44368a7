"""Model and signal text that would steer a terminal (an OSC title change, a screen clear, C1
controls, a bidi override) is printed escaped by every command that shows it, while --json
keeps the exact text. Through the real CLI, with a loopback model that writes such text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.support.harness import (
    KEY_ENV,
    PROJECT_YAML,
    RELEASE_NOTES,
    channel_of,
    content_reply,
    write_config,
)
from tests.support.openai_server import OpenAIServer

KEY = "sk-test"
TITLE_AND_CLEAR = "\x1b]0;pwned\x07\x1b[2J"
ATTACK = f"{TITLE_AND_CLEAR} \u202egpj.exe \x9b31m"
SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J \\u202egpj.exe \\u009b31m"
RAW = ("\x1b", "\x07", "\u202e", "\x9b")
MODEL_TEXT = f"{ATTACK} Tallybook 3.2 brings bank feeds for 40 more banks."  # first: lists cut long text
EDITED = f"First line {ATTACK}\n\tan indented second line\n"


def attacking_reply(body: dict[str, Any]) -> str:
    """A model that copies the attacker's text into the newsletter draft (hard gate: it waits in review)."""
    name = (body.get("response_format") or {}).get("json_schema", {}).get("name", "")
    if name in ("DraftOutput", "RefineOutput") and channel_of(body) == "newsletter":
        return json.dumps({"text": MODEL_TEXT})
    return content_reply(body)


def masthead(root: Path, *args: str | Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD") and k != KEY_ENV}
    env.update({KEY_ENV: KEY, "PYTHONIOENCODING": "utf-8"})
    done = subprocess.run([sys.executable, "-m", "masthead.cli.main", "-w", str(root), *map(str, args)],
                          env=env, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout


def assert_escaped(output: str) -> None:
    assert not [ch for ch in RAW if ch in output], output
    assert SHOWN in output, output


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("escapes") / "ws"
    with OpenAIServer(api_key=KEY, reply=attacking_reply) as server:
        subprocess.run([sys.executable, "-m", "masthead.cli.main", "init", str(root)], check=True,
                       capture_output=True, timeout=120)
        write_config(root, server.base_url)
        (root / "project.yaml").write_text(PROJECT_YAML, "utf-8")
        masthead(root, "project", "apply", root / "project.yaml")
        (root / "notes.md").write_text(f"{ATTACK}\n{RELEASE_NOTES}", "utf-8")  # first: `log` cuts its lines
        added = json.loads(masthead(root, "signal", "add", "tallybook", "--kind", "release_notes",
                                    "--file", root / "notes.md", "--json"))
        masthead(root, "run", "--until-idle")
        pieces = json.loads(masthead(root, "pieces", "list", "--json"))
        newsletter = next(p for p in pieces if p["job_id"] == added["job_ids"][0] and p["channel"] == "newsletter")
        if newsletter["text"] != MODEL_TEXT:
            # A composed candidate (it quotes the signal's items) may beat the model's draft; the
            # attack then reaches the piece the other way text does: a person pastes it in.
            (root / "pasted.md").write_text(MODEL_TEXT, "utf-8")
            masthead(root, "review", "edit", newsletter["id"], "--file", root / "pasted.md")
        yield root, newsletter["id"]


def test_the_attack_reached_the_piece_and_json_keeps_it_exact(workspace):
    root, piece = workspace
    pieces = {p["id"]: p for p in json.loads(masthead(root, "pieces", "list", "--json"))}
    assert pieces[piece]["text"] == MODEL_TEXT
    assert json.loads(masthead(root, "piece", "show", piece, "--json"))["text"] == MODEL_TEXT
    queued = json.loads(masthead(root, "review", "list", "--json"))["pieces"]
    assert [q["text"] for q in queued if q["piece_id"] == piece] == [MODEL_TEXT]


def test_pieces_list(workspace):
    root, _ = workspace
    assert_escaped(masthead(root, "pieces", "list"))


def test_review_list(workspace):
    root, _ = workspace
    assert_escaped(masthead(root, "review", "list"))


@pytest.mark.parametrize("show", [("piece", "show"), ("review", "show")], ids=["piece-show", "review-show"])
def test_show_escapes_but_keeps_the_body_lines(workspace, show):
    root, piece = workspace
    output = masthead(root, *show, piece)
    assert_escaped(output)
    assert f"\n{MODEL_TEXT.replace(ATTACK, SHOWN)}\n" in output


def test_log_escapes_and_log_json_keeps_the_signal_exact(workspace):
    root, _ = workspace
    plain = masthead(root, "log")
    assert not [ch for ch in RAW if ch in plain], plain
    # The event data is JSON, which already wrote ESC and BEL as \u001b and \u0007; echo did the rest.
    assert '{"body": "\\u001b]0;pwned\\u0007\\u001b[2J \\u202egpj.exe \\u009b31m' in plain
    as_json = [json.loads(line) for line in masthead(root, "log", "--json").splitlines()]
    assert next(e for e in as_json if e["type"] == "SignalReceived")["data"]["body"].startswith(ATTACK)


def test_an_edited_body_keeps_newlines_and_tabs(workspace):
    """Runs last: it adds a version to the piece the tests above read."""
    root, piece = workspace
    (root / "edit.md").write_text(EDITED, "utf-8")
    masthead(root, "review", "edit", piece, "--file", root / "edit.md")
    output = masthead(root, "piece", "show", piece)
    assert_escaped(output)
    assert f"\nFirst line {SHOWN}\n\tan indented second line\n" in output
    assert json.loads(masthead(root, "piece", "show", piece, "--json"))["text"] == EDITED.rstrip("\n")
    as_json = [json.loads(line) for line in masthead(root, "log", "--json").splitlines()]
    assert EDITED.rstrip("\n") in [e["data"].get("text") for e in as_json if e["type"] == "PieceRevised"]

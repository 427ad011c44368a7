"""`masthead piece retract`: posts deleted where the service allows, refused by name where not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.bluesky_server import BlueskyServer
from tests.support.harness import KEY_ENV, add_release_notes, content_reply, make_workspace
from tests.support.mastodon_server import MastodonServer
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import (
    BLUESKY_PASSWORD_ENV,
    MASTODON_TOKEN_ENV,
    bluesky_table,
    mastodon_table,
    publishing_workspace,
)

from masthead.app.retraction import retract_piece
from masthead.errors import NotFoundError, StateError
from masthead.projections.replay import verify

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {KEY_ENV: "sk-test", MASTODON_TOKEN_ENV: "mastodon-token-123456", BLUESKY_PASSWORD_ENV: "app-pass-1234"}


def test_retract_deletes_the_mastodon_status_and_the_bluesky_record_and_keeps_the_file(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as openai, MastodonServer() as mastodon, \
            BlueskyServer() as pds:
        tables = mastodon_table(mastodon.base_url) + "\n" + bluesky_table(pds.base_url, pds.handle)
        ws = publishing_workspace(tmp_path / "ws", openai.base_url, tables, ["mastodon", "bluesky", "file"])
        add_release_notes(ws)
        ws.runner().run(until_idle=True)
        assert len(mastodon.statuses) == 1 and len(pds.records) == 1
        [piece] = ws.store.query("SELECT id FROM pieces")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        done = subprocess.run([sys.executable, "-m", "masthead.cli.main", "-w", str(ws.root), "piece", "retract",
                               piece["id"], "--reason", "wrong figure", "--json"], env=env, capture_output=True, text=True)
        assert done.returncode == 1, done.stderr  # the file publisher cannot take its file back
        rows = {r["publisher"]: r for r in json.loads(done.stdout)}
        assert rows["mastodon"]["retracted"] and rows["bluesky"]["retracted"]
        assert not rows["file"]["retracted"] and "cannot take a post back" in rows["file"]["detail"]
        assert not mastodon.statuses and not pds.records
        statuses = {r["publisher"]: (r["status"], r["reason"]) for r in ws.store.query("SELECT * FROM publications")}
        assert statuses == {"mastodon": ("retracted", "wrong figure"), "bluesky": ("retracted", "wrong figure"),
                            "file": ("delivered", None)}
        retracted = [e for e in ws.store.read() if e.type == "PublicationRetracted"]
        assert {e.meta.actor for e in retracted} == {"human:ana"}
        # Again: only the file is left, and it is refused again; nothing is deleted twice.
        again = retract_piece(ws, piece["id"], operator="ana")
        assert [(r["publisher"], r["retracted"]) for r in again] == [("file", False)]
        assert sum(1 for r in mastodon.requests if r.method == "DELETE") == 1
        assert pds.count("POST", "/xrpc/com.atproto.repo.deleteRecord") == 1
        assert verify(ws.store).ok
        ws.close()


def test_only_published_pieces_can_be_retracted(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as openai:
        ws = make_workspace(tmp_path / "ws", openai.base_url)  # its newsletter has a hard gate
        add_release_notes(ws)
        ws.runner().run(until_idle=True)
        [waiting] = ws.store.query("SELECT id FROM pieces WHERE channel = 'newsletter'")
        with pytest.raises(StateError, match="has no delivered publication to retract"):
            retract_piece(ws, waiting["id"], operator="ana")
        with pytest.raises(NotFoundError, match="does not exist"):
            retract_piece(ws, "pc-missing", operator="ana")
        assert not [e for e in ws.store.read() if e.type == "PublicationRetracted"]
        ws.close()

"""A release too long for one post becomes a thread and goes out as a reply chain: Mastodon
(`in_reply_to_id`) and Bluesky (`reply.root` / `reply.parent`), one publication per part, a
failure at part 2 resumed there without sending part 1 again, and `thread: never` one post."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.bluesky_server import BlueskyServer
from tests.support.harness import KEY_ENV, add_release_notes, content_reply, write_config
from tests.support.loopback import Fault
from tests.support.mastodon_server import MastodonServer
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import (
    BLUESKY_PASSWORD_ENV,
    MASTODON_TOKEN_ENV,
    bluesky_table,
    mastodon_table,
)

from masthead.app.commands import apply_project
from masthead.app.queries import piece_detail
from masthead.app.workspace import Workspace, init_workspace
from masthead.channels.limits import body_length
from masthead.channels.threads import parts_of, whole_text
from masthead.projections.replay import verify

TOKEN = "mastodon-token-123456"
PASSWORD = "app-pass-1234"
STATUSES = "/api/v1/statuses"
CREATE = "/xrpc/com.atproto.repo.createRecord"
# Eight items: more than one X post holds, so the composer's thread covers more than any single post.
LONG_RELEASE = """\
# Tallybook 3.2
- Bank feeds now cover 40 more banks across Europe, including ING, Rabobank and ABN AMRO, with daily sync.
- The dashboard loads 35% faster thanks to a rewritten query planner and cached totals.
- Invoices can be written in Japanese (請求書), with consumption tax worked out for you.
- Recurring invoices can now be paused and resumed without losing their schedule or numbering.
- PDF invoices include a QR code for instant bank transfer payments in SEPA countries.
- Fixed currency rounding on invoices with more than 20 line items in JPY and KRW.
- Expense categories can be exported to CSV with their tax codes for your accountant.
- Dark mode for the whole app, following your system setting.
"""


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(MASTODON_TOKEN_ENV, TOKEN)
    monkeypatch.setenv(BLUESKY_PASSWORD_ENV, PASSWORD)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


def workspace(root: Path, openai_url: str, table: str, publish_to: str, thread: str | None = None) -> Workspace:
    root.mkdir(parents=True)
    write_config(root, openai_url)
    with (root / "masthead.toml").open("a", encoding="utf-8") as config:
        config.write("\n" + table)
    ws, _ = init_workspace(root)
    setting = f", thread: {thread}" if thread else ""
    (root / "project.yaml").write_text(
        "name: tallybook\ndescription: Invoicing software for freelancers.\naudience: Freelancers.\n"
        f"voice: {{description: Plain.}}\nchannels:\n  x: {{gate: auto, publish_to: [{publish_to}]{setting}}}\n",
        "utf-8")
    apply_project(ws, root / "project.yaml")
    return ws


def publications(ws: Workspace) -> list[dict]:
    return ws.store.query("SELECT * FROM publications ORDER BY idempotency_key")


def test_a_thread_goes_to_mastodon_as_a_reply_chain_one_publication_per_part(tmp_path, openai_url):
    with MastodonServer(token=TOKEN) as mastodon:
        ws = workspace(tmp_path / "ws", openai_url, mastodon_table(mastodon.base_url), "mastodon")
        add_release_notes(ws, LONG_RELEASE)
        ws.runner().run(until_idle=True)
        [piece] = ws.store.query("SELECT * FROM pieces")
        parts = parts_of(piece["text"])
        assert len(parts) >= 2 and piece["status"] == "published"
        statuses = mastodon.statuses
        assert len(statuses) == len(parts)
        assert statuses[0]["in_reply_to_id"] is None
        for previous, status in zip(statuses, statuses[1:], strict=False):
            assert status["in_reply_to_id"] == previous["id"]
        posts = [r.body["status"] for r in mastodon.requests if r.path == STATUSES]
        assert all(post.endswith(f"\n{i}/{len(parts)}") and body_length("x", post) <= 280
                   for i, post in enumerate(posts, start=1))
        rows = publications(ws)
        assert [row["idempotency_key"].rsplit("/", 1)[1] for row in rows] == [f"part-{i}" for i in range(1, len(parts) + 1)]
        assert {row["status"] for row in rows} == {"delivered"}
        # The selection says why: the thread covers more of the salient items than one post.
        detail = piece_detail(ws, piece["id"])
        assert detail["parts"] == [p for p in detail["parts"] if p.endswith(f"/{len(parts)}")]
        assert len(detail["lineage"]["publications"]) == len(parts)
        assert verify(ws.store).ok
        ws.close()


def test_a_thread_goes_to_bluesky_with_root_and_parent_references(tmp_path, openai_url):
    with BlueskyServer(password=PASSWORD) as pds:
        ws = workspace(tmp_path / "ws", openai_url, bluesky_table(pds.base_url, pds.handle), "bluesky")
        add_release_notes(ws, LONG_RELEASE)
        ws.runner().run(until_idle=True)
        creates = [r.body for r in pds.requests if r.path == CREATE]
        assert len(creates) >= 2 and len(pds.records) == len(creates)
        root_uri = f"at://{creates[0]['repo']}/app.bsky.feed.post/{creates[0]['rkey']}"
        assert "reply" not in creates[0]["record"]
        for previous, create in zip(creates, creates[1:], strict=False):
            reply = create["record"]["reply"]
            assert reply["root"]["uri"] == root_uri and reply["root"]["cid"] == pds.cids[creates[0]["rkey"]]
            assert reply["parent"]["uri"].endswith("/" + previous["rkey"])
            assert reply["parent"]["cid"] == pds.cids[previous["rkey"]]
        assert {row["status"] for row in publications(ws)} == {"delivered"}
        assert verify(ws.store).ok
        ws.close()


@pytest.mark.parametrize("fault", [Fault.status_reply(500, {"error": "Internal server error"}),
                                   Fault.accept_then_hang(2.0)], ids=["500", "timeout-after-accepting"])
def test_a_failure_at_part_two_resumes_there_and_sends_each_part_once(tmp_path, openai_url, fault):
    with MastodonServer(token=TOKEN) as mastodon:
        ws = workspace(tmp_path / "ws", openai_url, mastodon_table(mastodon.base_url, timeout=0.5), "mastodon")
        mastodon.fault("POST", STATUSES, Fault.none(), fault)  # part 1 goes through; part 2 fails
        add_release_notes(ws, LONG_RELEASE)
        ws.runner().run(until_idle=True)
        [piece] = ws.store.query("SELECT * FROM pieces")
        count = len(parts_of(piece["text"]))
        assert len(mastodon.statuses) == count
        texts = [s["content"] for s in mastodon.statuses]
        assert len(set(texts)) == count  # no part twice
        keys = [r.header("Idempotency-Key") for r in mastodon.requests if r.path == STATUSES]
        # Part 1 once; part 2 twice after a 500 (the refused try and the retry), once after a
        # lost answer (the retry looked first and found it); every later part once.
        resent = 1 if fault.kind == "status" else 0
        assert len(keys) == count + resent and len(set(keys)) == count
        assert keys[0].endswith("/part-1") and keys.count(keys[0]) == 1
        assert keys[1].endswith("/part-2") and keys.count(keys[1]) == 1 + resent
        assert {row["status"] for row in publications(ws)} == {"delivered"}
        for previous, status in zip(mastodon.statuses, mastodon.statuses[1:], strict=False):
            assert status["in_reply_to_id"] == previous["id"]
        assert verify(ws.store).ok
        ws.close()


@pytest.mark.parametrize("fault", [Fault.status_reply(500, {"error": "InternalServerError"}),
                                   Fault.accept_then_hang(2.0)], ids=["500", "timeout-after-accepting"])
def test_bluesky_resumes_a_thread_at_part_two_with_one_record_per_part(tmp_path, openai_url, fault):
    with BlueskyServer(password=PASSWORD) as pds:
        ws = workspace(tmp_path / "ws", openai_url, bluesky_table(pds.base_url, pds.handle, timeout=0.5), "bluesky")
        pds.fault("POST", CREATE, Fault.none(), fault)
        add_release_notes(ws, LONG_RELEASE)
        ws.runner().run(until_idle=True)
        [piece] = ws.store.query("SELECT * FROM pieces")
        count = len(parts_of(piece["text"]))
        creates = [r.body for r in pds.requests if r.path == CREATE]
        resent = 1 if fault.kind == "status" else 0
        assert len(pds.records) == count and len(creates) == count + resent
        rkeys = [c["rkey"] for c in creates]
        assert rkeys.count(rkeys[0]) == 1 and rkeys.count(rkeys[1]) == 1 + resent
        # Every later part still names the first record as its root.
        assert {c["record"]["reply"]["root"]["uri"].rsplit("/", 1)[1] for c in creates[1:]} == {rkeys[0]}
        assert {row["status"] for row in publications(ws)} == {"delivered"}
        assert verify(ws.store).ok
        ws.close()


def test_thread_never_makes_one_post_and_a_publisher_that_cannot_thread_gets_one_text(tmp_path, openai_url):
    with MastodonServer(token=TOKEN) as mastodon:
        ws = workspace(tmp_path / "never", openai_url, mastodon_table(mastodon.base_url), "mastodon", thread="never")
        add_release_notes(ws, LONG_RELEASE)
        ws.runner().run(until_idle=True)
        [piece] = ws.store.query("SELECT * FROM pieces")
        assert len(parts_of(piece["text"])) == 1 and len(mastodon.statuses) == 1
        ws.close()
    with MastodonServer(token=TOKEN) as mastodon:
        ws = workspace(tmp_path / "file", openai_url, mastodon_table(mastodon.base_url), "file")
        add_release_notes(ws, LONG_RELEASE)
        ws.runner().run(until_idle=True)
        [piece] = ws.store.query("SELECT * FROM pieces")
        [row] = publications(ws)
        written = Path(row["location"]).read_text("utf-8")
        assert len(parts_of(piece["text"])) >= 2
        # The file publisher cannot thread: it gets the parts as one text, without numbers.
        assert written.split("---\n\n", 1)[1] == whole_text(piece["text"]) + "\n"
        ws.close()


def test_a_person_reads_and_edits_a_thread_post_by_post_and_it_goes_out_as_edited(tmp_path, openai_url):
    from click.testing import CliRunner

    from masthead.cli.main import cli

    with MastodonServer(token=TOKEN) as mastodon:
        ws = workspace(tmp_path / "ws", openai_url, mastodon_table(mastodon.base_url), "mastodon")
        (ws.root / "project.yaml").write_text((ws.root / "project.yaml").read_text("utf-8").replace(
            "gate: auto", "gate: hard"), "utf-8")
        apply_project(ws, ws.root / "project.yaml")
        add_release_notes(ws, LONG_RELEASE)
        ws.runner().run(until_idle=True)
        [piece] = ws.store.query("SELECT * FROM pieces")
        count = len(parts_of(piece["text"]))
        runner, root = CliRunner(), str(ws.root)
        listed = runner.invoke(cli, ["-w", root, "review", "list"])
        assert listed.exit_code == 0 and f"[thread of {count} posts]" in listed.output
        shown = runner.invoke(cli, ["-w", root, "review", "show", piece["id"]])
        assert f"--- post {count} of {count} ---" in shown.output
        assert f"thread of {count} parts:" in shown.output  # the length check, part by part

        # The person keeps the first two posts (their old numbers and all) and adds a third.
        first, second = piece["text"].split("\n---\n")[:2]
        edit = tmp_path / "thread.txt"
        edit.write_text(f"{first}\n---\n{second}\n---\nThat is all for 3.2: bank feeds for 40 more banks.\n", "utf-8")
        saved = runner.invoke(cli, ["-w", root, "review", "edit", piece["id"], "--file", str(edit)])
        assert saved.exit_code == 0, saved.output
        shown = runner.invoke(cli, ["-w", root, "piece", "show", piece["id"]])
        assert "--- post 3 of 3 ---" in shown.output and "That is all for 3.2: bank feeds for 40 more banks.\n3/3" in shown.output
        approved = runner.invoke(cli, ["-w", root, "review", "approve", piece["id"]])
        assert approved.exit_code == 0, approved.output
        ws.runner().run(until_idle=True)
        posted = [r.body["status"] for r in mastodon.requests if r.path == STATUSES]
        assert len(posted) == 3 and [p.rsplit("\n", 1)[1] for p in posted] == ["1/3", "2/3", "3/3"]
        assert posted[2] == "That is all for 3.2: bank feeds for 40 more banks.\n3/3"
        assert [s["in_reply_to_id"] for s in mastodon.statuses[1:]] == [s["id"] for s in mastodon.statuses[:2]]
        assert verify(ws.store).ok
        ws.close()

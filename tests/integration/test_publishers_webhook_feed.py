"""The signed webhook and the Atom/JSON feed publishers."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import feedparser
import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply
from tests.support.loopback import Answer, Fault, LoopbackService, Request
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import HOOK_SECRET_ENV, publishing_workspace, webhook_table

from masthead.app.webhooks import WebhookRefused, verify_delivery
from masthead.channels.publisher import Delivery
from masthead.channels.publishers.feed import FeedPublisher
from masthead.config import FeedPublisherSection
from masthead.projections.replay import verify

SECRET = "hook-secret-abcdef"


class Receiver(LoopbackService):
    """A receiver as docs/publishing.md asks for: checks the signature, de-duplicates by key. It checks
    with the very function Masthead's own /hooks/<source> uses, so one Masthead can feed another."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, dict] = {}
        self.route("POST", "/hook", self._take)

    def _take(self, request: Request, match: re.Match[str]) -> Answer:
        body = json.dumps(request.body, ensure_ascii=False, sort_keys=True).encode()  # the bytes as sent
        try:
            checked = verify_delivery(SECRET.encode(), {k.lower(): v for k, v in request.headers.items()}, body,
                                      time.time())
        except WebhookRefused as refused:
            return Answer(401, {"error": refused.code})
        if checked.legacy:
            return Answer(401, {"error": "the deprecated sha256= scheme does not sign the delivery id"})
        key = request.header("X-Masthead-Delivery") or ""
        self.items.setdefault(key, request.body)
        return Answer(200, {"id": f"item-{len(self.items)}", "url": f"https://blog.example/{len(self.items)}"})


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(HOOK_SECRET_ENV, SECRET)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


def workspace(tmp_path: Path, openai_url: str, receiver: Receiver, timeout: float = 5.0):
    return publishing_workspace(tmp_path / "ws", openai_url, webhook_table(receiver.base_url + "/hook", timeout=timeout),
                                ["hook"])


def test_a_publication_is_posted_signed_and_its_receipt_recorded(tmp_path, openai_url, receiver):
    ws = workspace(tmp_path, openai_url, receiver)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [(key, item)] = receiver.items.items()
    [publication] = ws.store.query("SELECT * FROM publications")
    assert key == publication["idempotency_key"] == item["key"]
    assert (publication["status"], publication["remote_id"], publication["url"]) == ("delivered", "item-1", "https://blog.example/1")
    assert item["channel"] == "x" and item["text"]
    ws.close()


@pytest.mark.parametrize("fault", [Fault.accept_then_hang(2.0), Fault.accept_then_reset()], ids=["timeout", "reset"])
def test_an_unknown_outcome_goes_to_a_person_and_is_never_sent_again(tmp_path, openai_url, receiver, fault):
    ws = workspace(tmp_path, openai_url, receiver, timeout=0.5)
    receiver.fault("POST", "/hook", fault)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    ws.runner().run(until_idle=True)  # a restart does not resend either
    assert receiver.count("POST", "/hook") == 1 and len(receiver.items) == 1
    [publication] = ws.store.query("SELECT * FROM publications")
    assert publication["status"] == "needs_human" and "may have been delivered" in publication["reason"]
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    assert task["status"] == "waiting" and "needs a person" in task["wait_reason"]
    assert verify(ws.store).ok
    ws.close()


def test_a_refusal_from_the_receiver_is_sent_again_because_nothing_was_taken(tmp_path, openai_url, receiver):
    ws = workspace(tmp_path, openai_url, receiver)
    receiver.fault("POST", "/hook", Fault.status_reply(500, {"error": "database locked"}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert receiver.count("POST", "/hook") == 2 and len(receiver.items) == 1
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    ws.close()


def test_a_wrong_secret_waits_naming_the_variable(tmp_path, openai_url, receiver, monkeypatch):
    monkeypatch.setenv(HOOK_SECRET_ENV, "not-the-secret-42")
    ws = workspace(tmp_path, openai_url, receiver)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    assert HOOK_SECRET_ENV in task["wait_reason"] and not receiver.items
    assert "not-the-secret-42" not in "".join(repr(e.data) for e in ws.store.read())
    ws.close()


def assert_json_feed_1_1(document: dict) -> None:
    """The rules of https://www.jsonfeed.org/version/1.1/ that a feed can break (feedparser
    6.0, the newest release, reads Atom and RSS but not JSON Feed)."""
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str) and document["title"]
    assert document["home_page_url"].startswith("https://") and document["feed_url"].startswith("https://")
    ids = [item["id"] for item in document["items"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, str) for i in ids)
    for item in document["items"]:
        assert set(item) <= {"id", "url", "external_url", "title", "content_html", "content_text", "summary", "image",
                             "banner_image", "date_published", "date_modified", "authors", "tags", "language",
                             "attachments"}
        assert "content_text" in item or "content_html" in item
        datetime.fromisoformat(item["date_published"])  # RFC 3339 with an offset
        assert item["date_published"][-6] in "+-" or item["date_published"].endswith("Z")


def _delivery(n: int, text: str) -> Delivery:
    return Delivery(key=f"pc-{n}:v1:newsletter:feed", piece_id=f"pc-{n}", version=1, channel="newsletter",
                    project="p", text=text, subject=f"Issue {n}", at=f"2026-12-0{n}T09:00:00+00:00")


def test_feeds_parse_and_a_repeated_delivery_adds_nothing(tmp_path):
    settings = FeedPublisherSection(title="Tallybook news", site_url="https://tallybook.example/", max_items=2)
    feed = FeedPublisher("news", settings, tmp_path)
    receipt = feed.publish(_delivery(1, "Bank feeds for 40 more banks."))
    assert feed.publish(_delivery(1, "Bank feeds for 40 more banks.")) == receipt
    feed.publish(_delivery(2, "A 35% faster dashboard — 速い 🎉."))
    atom = feedparser.parse((tmp_path / "feeds" / "news.atom").read_bytes())
    assert not atom.bozo, atom.bozo_exception
    assert [e.title for e in atom.entries] == ["Issue 2", "Issue 1"]
    assert atom.entries[0].id == "urn:masthead:pc-2:v1:newsletter:feed"
    assert "速い 🎉" in atom.entries[0].content[0].value
    document = json.loads((tmp_path / "feeds" / "news.json").read_text("utf-8"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["id"] for i in document["items"]] == ["pc-2:v1:newsletter:feed", "pc-1:v1:newsletter:feed"]
    assert_json_feed_1_1(document)
    feed.publish(_delivery(3, "Third."))  # max_items = 2: the oldest leaves
    assert [i["id"] for i in json.loads((tmp_path / "feeds" / "news.json").read_text())["items"]] == [
        "pc-3:v1:newsletter:feed", "pc-2:v1:newsletter:feed"]
    feed.retract(feed.reconcile(_delivery(3, "Third.")))
    assert len(feedparser.parse((tmp_path / "feeds" / "news.atom").read_bytes()).entries) == 1

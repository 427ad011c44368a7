"""The Ghost and WordPress publishers against loopback fakes of their APIs: authentication as
the services check it, a slug derived from the publication key that a retry looks up before
sending again, failures (429, 5xx, lost answers, revoked credentials) and retraction."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from tests.support.ghost_server import ADMIN, GhostServer
from tests.support.harness import KEY_ENV, add_release_notes, content_reply
from tests.support.loopback import Fault, LoopbackService
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import (
    GHOST_KEY_ENV,
    WORDPRESS_PASSWORD_ENV,
    ghost_table,
    publishing_workspace,
    wordpress_table,
)
from tests.support.wordpress_server import POSTS, WordPressServer

from masthead.app.publishers import check_publishers
from masthead.app.retraction import retract_piece
from masthead.channels.publisher import Delivery
from masthead.channels.publishers.ghost import GhostPublisher
from masthead.channels.publishers.markup import slug_for
from masthead.config import GhostPublisherSection
from masthead.projections.replay import verify

WP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"


@dataclass
class Blog:
    """One service under test: its fake, the path posts are created at, its table, its posts."""

    server: Any
    create: str
    name: str
    env: str
    secret: str

    def table(self, timeout: float = 5.0) -> str:
        if isinstance(self.server, GhostServer):
            return ghost_table(self.server.base_url, timeout=timeout)
        return wordpress_table(self.server.base_url, timeout=timeout)

    @property
    def posts(self) -> list[dict[str, Any]]:
        return list(self.server.posts)

    def revoke(self) -> None:
        if isinstance(self.server, GhostServer):
            self.server.expire_key()
        else:
            self.server.revoke_password()


@pytest.fixture(params=["ghost", "wordpress"])
def blog(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    service: LoopbackService
    if request.param == "ghost":
        with GhostServer() as service:
            monkeypatch.setenv(GHOST_KEY_ENV, service.admin_key)
            yield Blog(service, f"{ADMIN}/posts/", "ghost", GHOST_KEY_ENV, service.admin_key)
    else:
        with WordPressServer(app_password=WP_PASSWORD) as service:
            monkeypatch.setenv(WORDPRESS_PASSWORD_ENV, WP_PASSWORD)
            yield Blog(service, POSTS, "wordpress", WORDPRESS_PASSWORD_ENV, WP_PASSWORD)


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


def workspace(tmp_path: Path, openai_url: str, blog: Blog, timeout: float = 5.0):
    return publishing_workspace(tmp_path / "ws", openai_url, blog.table(timeout), [blog.name], channel="blog")


def test_a_piece_becomes_one_post_with_its_key_slug_and_link(tmp_path, openai_url, blog):
    ws = workspace(tmp_path, openai_url, blog)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [post] = blog.posts
    [publication] = ws.store.query("SELECT * FROM publications")
    assert publication["status"] == "delivered" and publication["remote_id"] == str(post["id"])
    assert publication["url"] == post.get("url", post.get("link"))
    assert post["slug"].endswith(slug_for_key(publication["idempotency_key"]))
    html = post.get("html", post.get("content"))
    assert html.startswith("<p>") and post["title"]
    assert verify(ws.store).ok
    ws.close()


def slug_for_key(key: str) -> str:
    from masthead.channels.publishers.markup import key_digest

    return "-" + key_digest(key)


def test_an_answer_lost_after_the_post_was_made_is_found_by_its_slug(tmp_path, openai_url, blog):
    ws = workspace(tmp_path, openai_url, blog, timeout=0.5)
    blog.server.fault("POST", blog.create, Fault.accept_then_hang(2.0))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert len(blog.posts) == 1 and blog.server.count("POST", blog.create) == 1
    [publication] = ws.store.query("SELECT * FROM publications")
    assert publication["status"] == "delivered" and publication["remote_id"] == str(blog.posts[0]["id"])
    assert len([e for e in ws.store.read() if e.type == "PublicationDelivered"]) == 1
    assert verify(ws.store).ok
    ws.close()


def test_a_reset_before_the_service_took_anything_is_looked_up_then_sent_once(tmp_path, openai_url, blog):
    ws = workspace(tmp_path, openai_url, blog)
    blog.server.fault("POST", blog.create, Fault.reset())
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    # The lookup by slug said "not there", so the second POST was safe: one post in all.
    assert blog.server.count("POST", blog.create) == 2 and len(blog.posts) == 1
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    ws.close()


def test_429_and_5xx_are_retried_and_never_double_post(tmp_path, openai_url, blog):
    ws = workspace(tmp_path, openai_url, blog)
    blog.server.fault("POST", blog.create, Fault.status_reply(429, {"code": "too_many", "message": "Slow down"},
                                                              {"Retry-After": "1"}),
                      Fault.status_reply(503, {"code": "unavailable", "message": "Service Unavailable"}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert blog.server.count("POST", blog.create) == 3 and len(blog.posts) == 1
    assert any("asked to wait 1 s" in e.data["reason"] for e in ws.store.read() if e.type == "TaskDeferred")
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    ws.close()


def test_revoked_credentials_make_the_publication_wait_naming_the_variable(tmp_path, openai_url, blog):
    ws = workspace(tmp_path, openai_url, blog)
    blog.revoke()
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    assert task["status"] == "queued" and task["run_after"] > time.time() + 60
    assert blog.env in task["wait_reason"] and f"masthead publishers check {blog.name}" in task["wait_reason"]
    [row] = check_publishers(ws, blog.name)
    assert not row["ok"] and row["renew"] == blog.env
    log = "".join(repr(e.data) for e in ws.store.read()) + repr(row)
    assert blog.secret not in log and blog.secret.split(":")[-1] not in log
    assert not blog.posts
    ws.close()


def test_check_and_retract_through_the_workspace(tmp_path, openai_url, blog):
    ws = workspace(tmp_path, openai_url, blog)
    [row] = check_publishers(ws, blog.name)
    assert row["ok"] and blog.secret not in repr(row)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [piece] = ws.store.query("SELECT id FROM pieces")
    rows = retract_piece(ws, piece["id"], reason="wrong figure", operator="ana")
    assert [(r["publisher"], r["retracted"]) for r in rows] == [(blog.name, True)]
    assert not blog.posts
    assert ws.store.query("SELECT status, reason FROM publications")[0] == {"status": "retracted",
                                                                              "reason": "wrong figure"}
    assert verify(ws.store).ok
    ws.close()


@pytest.mark.parametrize("status", ["draft", "publish"])
def test_a_send_racing_an_earlier_attempt_keeps_the_earlier_post(monkeypatch, status):
    """The retry looked while the first request was still being processed, found nothing and sent
    again: the second post is found at once (a renamed or a twin slug) and deleted."""
    from masthead.channels.publishers.wordpress import WordPressPublisher
    from masthead.config import WordPressPublisherSection

    delivery = Delivery(key="pc-5:v1:blog:p", piece_id="pc-5", version=1, channel="blog", project="p",
                        text="Bank feeds\n\nTallybook 3.2 imports your bank.", subject=None, at="2026-12-07T10:00:00Z")
    with GhostServer() as ghost, WordPressServer(app_password=WP_PASSWORD) as wordpress:
        ghost_settings = GhostPublisherSection(base_url=ghost.base_url, admin_key_env=GHOST_KEY_ENV,
                                               status="published" if status == "publish" else "draft")
        wp_settings = WordPressPublisherSection(base_url=wordpress.base_url, username="ana",
                                                app_password_env=WORDPRESS_PASSWORD_ENV, status=status)
        publishers = [(GhostPublisher("ghost", ghost_settings, {GHOST_KEY_ENV: ghost.admin_key}), ghost),
                      (WordPressPublisher("wordpress", wp_settings, {WORDPRESS_PASSWORD_ENV: WP_PASSWORD}), wordpress)]
        for publisher, server in publishers:
            first = publisher.publish(delivery)
            assert publisher.publish(delivery) == first
            assert [str(p["id"]) for p in server.posts] == [first.remote_id]
            assert sum(1 for r in server.requests if r.method == "DELETE") == 1


def test_ghost_tokens_are_short_lived_admin_jwts_signed_with_the_key(monkeypatch):
    with GhostServer() as ghost:
        settings = GhostPublisherSection(base_url=ghost.base_url, admin_key_env=GHOST_KEY_ENV, status="draft")
        publisher = GhostPublisher("ghost", settings, {GHOST_KEY_ENV: ghost.admin_key})
        delivery = Delivery(key="pc-9:v1:blog:ghost", piece_id="pc-9", version=1, channel="blog", project="p",
                            text="# Bank feeds are here\n\nTallybook 3.2 **imports** your bank.", subject=None,
                            at="2026-12-07T10:00:00Z")
        assert publisher.reconcile(delivery) is None
        receipt = publisher.publish(delivery)
        [post] = ghost.posts
        assert (post["title"], post["status"], post["source"]) == ("Bank feeds are here", "draft", "html")
        assert post["slug"] == slug_for(delivery) and post["slug"].startswith("bank-feeds-are-here-")
        assert "<strong>imports</strong>" in post["html"] and "Bank feeds are here" not in post["html"]
        assert publisher.reconcile(delivery) == receipt
        [create] = [r for r in ghost.requests if r.method == "POST"]
        assert create.header("Accept-Version") == "v5.0" and create.query == {"source": ["html"]}
        token = create.header("Authorization").removeprefix("Ghost ")
        assert jwt.get_unverified_header(token)["kid"] == ghost.key_id
        claims = jwt.decode(token, bytes.fromhex(ghost.secret), algorithms=["HS256"], audience="/admin/")
        assert claims["exp"] - claims["iat"] == 300
        assert "Tallybook Blog" in publisher.check()
        publisher.retract(receipt)
        assert not ghost.posts


def test_a_ghost_key_that_is_not_id_colon_secret_is_refused_without_echoing_it():
    from masthead.errors import ConfigError

    settings = GhostPublisherSection(base_url="http://127.0.0.1:9", admin_key_env=GHOST_KEY_ENV)
    publisher = GhostPublisher("ghost", settings, {GHOST_KEY_ENV: "not-a-key-value"})
    with pytest.raises(ConfigError, match="id:secret") as error:
        publisher.check()
    assert "not-a-key-value" not in str(error.value)

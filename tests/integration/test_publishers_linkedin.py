"""The LinkedIn publisher against a loopback Posts API: wire shape, escaping, lost answers,
retired versions, and `publishers check` for X and LinkedIn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.harness import KEY_ENV, add_release_notes, content_reply, write_config
from tests.support.linkedin_server import LinkedInServer, rendered
from tests.support.loopback import Fault
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import (
    LINKEDIN_TOKEN_ENV,
    X_TOKEN_ENV,
    linkedin_table,
    publishing_workspace,
    x_table,
)
from tests.support.x_server import XServer

from masthead.app.workspace import init_workspace
from masthead.channels.publisher import Delivery
from masthead.channels.publishers.linkedin import LinkedInPublisher, commentary, plain_text
from masthead.config import LinkedInPublisherSection
from masthead.errors import ConfigError
from masthead.projections.replay import verify

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "linkedin-token-123456"
POSTS = "/rest/posts"


@pytest.fixture
def linkedin():
    with LinkedInServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(LINKEDIN_TOKEN_ENV, TOKEN)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


def workspace(tmp_path, openai_url, linkedin: LinkedInServer, timeout: float = 5.0, api_version: str = "202511"):
    table = linkedin_table(linkedin.base_url, linkedin.author, timeout=timeout, api_version=api_version)
    return publishing_workspace(tmp_path / "ws", openai_url, table, ["linkedin"])


def events(ws, kind: str):
    return [e for e in ws.store.read() if e.type == kind]


def publisher(linkedin: LinkedInServer, author: str | None = None) -> LinkedInPublisher:
    settings = LinkedInPublisherSection(base_url=linkedin.base_url, token_env=LINKEDIN_TOKEN_ENV,
                                        author=author or linkedin.author, api_version="202511")
    return LinkedInPublisher("linkedin", settings, {LINKEDIN_TOKEN_ENV: TOKEN})


def delivery(text: str, key: str = "pc-1:v1:x:linkedin") -> Delivery:
    at = datetime.now().astimezone().isoformat()
    return Delivery(key=key, piece_id="pc-1", version=1, channel="x", project="p", text=text, subject=None,
                    at=at, requested_at=at)


def test_a_piece_is_posted_once_on_the_wire_linkedin_documents(tmp_path, openai_url, linkedin):
    ws = workspace(tmp_path, openai_url, linkedin)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [post] = linkedin.posts
    [request] = [r for r in linkedin.requests if r.method == "POST" and r.path == POSTS]
    assert request.header("Authorization") == f"Bearer {TOKEN}"
    assert request.header("LinkedIn-Version") == "202511" and request.header("X-Restli-Protocol-Version") == "2.0.0"
    assert request.body == {"author": linkedin.author, "commentary": commentary(rendered(post["commentary"])),
                            "visibility": "PUBLIC",
                            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                                             "thirdPartyDistributionChannels": []},
                            "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False}
    [publication] = ws.store.query("SELECT * FROM publications")
    assert (publication["status"], publication["remote_id"]) == ("delivered", post["id"])
    assert publication["url"] == f"https://www.linkedin.com/feed/update/{post['id']}"
    assert verify(ws.store).ok
    ws.close()


def test_reserved_characters_are_escaped_so_the_post_reads_as_written(linkedin):
    text = ("Tallybook 3.2 (beta) for @freelancers: a|b {x} [y] <now> *bold* _under_ ~strike~ "
            "back\\slash, C# and #bank_feeds #2026")
    escaped = commentary(text)
    assert escaped.startswith(r"Tallybook 3.2 \(beta\) for \@freelancers: a\|b \{x\} \[y\] \<now\> \*bold\*")
    assert r"C\# and {hashtag|\#|bank\_feeds} {hashtag|\#|2026}" in escaped
    assert plain_text(escaped) == text
    receipt = publisher(linkedin).publish(delivery(text))
    [post] = linkedin.posts
    assert rendered(post["commentary"]) == text  # unescaped, LinkedIn would cut it at "("
    assert rendered(text) == "Tallybook 3.2 "
    assert publisher(linkedin).reconcile(delivery(text)) == receipt


def test_a_spent_daily_quota_waits_until_midnight_utc(tmp_path, openai_url, linkedin):
    ws = workspace(tmp_path, openai_url, linkedin)
    message = "Resource level throttle MEMBER DAY limit for calls to this resource is reached."
    linkedin.fault("POST", POSTS, Fault.status_reply(429, {"status": 429, "serviceErrorCode": 101,
                                                           "code": "TOO_MANY_REQUESTS", "message": message}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    midnight = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert task["status"] == "waiting_rate_limit" and abs(task["run_after"] - midnight.timestamp()) < 5
    [deferred] = [e for e in events(ws, "TaskDeferred") if e.data["state"] == "waiting_rate_limit"]
    assert "daily quota is spent" in deferred.data["reason"] and "MEMBER DAY limit" in deferred.data["reason"]
    assert linkedin.count("POST", POSTS) == 1 and not linkedin.posts
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "failed"
    ws.close()


def test_another_429_is_retried_with_backoff_and_posts_once(tmp_path, openai_url, linkedin):
    ws = workspace(tmp_path, openai_url, linkedin)
    linkedin.fault("POST", POSTS, Fault.status_reply(429, {"status": 429, "serviceErrorCode": 101, "code": "TOO_MANY_REQUESTS",
                                                           "message": "Too many requests"}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert linkedin.count("POST", POSTS) == 2 and len(linkedin.posts) == 1
    assert any("429 TOO_MANY_REQUESTS" in e.data["error"] for e in events(ws, "TaskRetryScheduled"))
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    ws.close()


def test_an_expired_token_makes_the_publication_wait_naming_the_variable(tmp_path, openai_url, linkedin):
    ws = workspace(tmp_path, openai_url, linkedin)
    linkedin.expire_token()
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    assert task["status"] == "queued" and task["run_after"] > time.time() + 60
    assert LINKEDIN_TOKEN_ENV in task["wait_reason"] and "INVALID_ACCESS_TOKEN" in task["wait_reason"]
    assert "masthead publishers check linkedin" in task["wait_reason"]
    assert TOKEN not in "".join(repr(e.data) for e in ws.store.read())
    assert not linkedin.posts
    ws.close()


def test_a_retired_api_version_waits_with_an_error_naming_the_setting(tmp_path, openai_url, linkedin):
    ws = workspace(tmp_path, openai_url, linkedin, api_version="202401")
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    assert task["status"] == "queued"
    assert "[publishers.linkedin] api_version = '202401'" in task["wait_reason"]
    assert "Requested version 202401 is not active" in task["wait_reason"]
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "failed"
    assert not linkedin.posts
    ws.close()


def test_a_lost_answer_is_found_among_the_authors_posts_and_never_resent(tmp_path, openai_url, linkedin):
    ws = workspace(tmp_path, openai_url, linkedin, timeout=0.5)
    linkedin.fault("POST", POSTS, Fault.accept_then_hang(2.0))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [post] = linkedin.posts
    [publication] = ws.store.query("SELECT * FROM publications")
    assert (publication["status"], publication["remote_id"]) == ("delivered", post["id"])
    assert linkedin.count("POST", POSTS) == 1
    [search] = [r for r in linkedin.requests if r.method == "GET" and r.path == POSTS]
    assert search.query["author"] == [linkedin.author] and search.header("X-RestLi-Method") == "FINDER"
    assert verify(ws.store).ok
    ws.close()


def test_without_permission_to_read_posts_a_person_decides_and_nothing_is_resent(tmp_path, openai_url, linkedin):
    ws = workspace(tmp_path, openai_url, linkedin)
    linkedin.can_read_posts = False
    linkedin.fault("POST", POSTS, Fault.accept_then_reset())
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    ws.runner().run(until_idle=True)
    [publication] = ws.store.query("SELECT * FROM publications")
    assert publication["status"] == "needs_human" and "may have been delivered by linkedin" in publication["reason"]
    assert linkedin.count("POST", POSTS) == 1 and len(linkedin.posts) == 1
    assert verify(ws.store).ok
    ws.close()


def test_a_duplicate_refusal_is_the_earlier_post(linkedin):
    li = publisher(linkedin)
    first = li.publish(delivery("Tallybook 3.2 is out."))
    assert li.publish(delivery("Tallybook 3.2 is out.", key="again")) == first
    assert len(linkedin.posts) == 1


def test_retract_deletes_by_encoded_urn_and_check_names_the_member(linkedin):
    li = publisher(linkedin)
    receipt = li.publish(delivery("Tallybook 3.2 is out."))
    li.retract(receipt)
    assert not linkedin.posts
    [deleted] = [r for r in linkedin.requests if r.method == "DELETE"]
    assert deleted.path == "/rest/posts/urn%3Ali%3Ashare%3A" + receipt.remote_id.rsplit(":", 1)[1]
    assert deleted.header("LinkedIn-Version") == "202511"
    assert f"Tally Book ({linkedin.author})" in li.check() and "among the author's posts" in li.check()
    linkedin.can_read_posts = False
    assert "goes to a person" in li.check()
    linkedin.active_versions = {"202601"}
    with pytest.raises(ConfigError, match=r"\[publishers.linkedin\] api_version = '202511'.*not active"):
        li.check()
    with pytest.raises(ConfigError, match=r"author urn:li:person:someoneelse is not the token's member"):
        publisher(linkedin, author="urn:li:person:someoneelse").check()


def test_settings_name_what_is_wrong():
    with pytest.raises(ValueError, match="api_version"):
        LinkedInPublisherSection(token_env="LI", author="urn:li:person:abc", api_version="2025-11")
    with pytest.raises(ValueError, match="author"):
        LinkedInPublisherSection(token_env="LI", author="me", api_version="202511")


def test_publishers_check_names_the_credential_to_renew_and_never_prints_a_secret(tmp_path):
    with XServer(token="good-x-token-abc") as x, LinkedInServer(token="good-li-token-abc") as linkedin:
        write_config(tmp_path, "http://127.0.0.1:9/v1")
        with (tmp_path / "masthead.toml").open("a") as config:
            config.write("\n" + x_table(x.base_url) + "\n" + linkedin_table(linkedin.base_url, linkedin.author))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
               X_TOKEN_ENV: "good-x-token-abc", LINKEDIN_TOKEN_ENV: "stale-li-token-xyz"}
        run = [sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path)]
        init_workspace(tmp_path)[0].close()
        checked = subprocess.run([*run, "publishers", "check", "--json"], env=env, capture_output=True, text=True)
        assert checked.returncode == 1, checked.stderr
        rows = {r["name"]: r for r in json.loads(checked.stdout)}
        assert rows["x"]["ok"] and "@tallybook" in rows["x"]["detail"]
        assert not rows["linkedin"]["ok"] and rows["linkedin"]["renew"] == LINKEDIN_TOKEN_ENV
        x.expire_token()
        one = subprocess.run([*run, "publishers", "check", "x"], env=env, capture_output=True, text=True)
        assert one.returncode == 1 and X_TOKEN_ENV in one.stdout and "Traceback" not in one.stderr
        for output in (checked.stdout, checked.stderr, one.stdout, one.stderr):
            assert "good-x-token-abc" not in output and "stale-li-token-xyz" not in output


def test_one_channel_to_x_and_linkedin_then_retracted_from_both(tmp_path, openai_url, linkedin, monkeypatch):
    from masthead.app.retraction import retract_piece

    monkeypatch.setenv(X_TOKEN_ENV, "x-user-token-123456")
    with XServer() as x:
        tables = x_table(x.base_url) + "\n" + linkedin_table(linkedin.base_url, linkedin.author)
        ws = publishing_workspace(tmp_path / "ws", openai_url, tables, ["x", "linkedin"])
        add_release_notes(ws)
        ws.runner().run(until_idle=True)
        assert len(x.posts) == 1 and len(linkedin.posts) == 1
        [piece] = ws.store.query("SELECT id FROM pieces")
        rows = retract_piece(ws, piece["id"], operator="ana", reason="wrong figure")
        assert sorted((r["publisher"], r["retracted"]) for r in rows) == [("linkedin", True), ("x", True)]
        assert not x.posts and not linkedin.posts
        statuses = {r["publisher"]: r["status"] for r in ws.store.query("SELECT * FROM publications")}
        assert statuses == {"x": "retracted", "linkedin": "retracted"}
        assert verify(ws.store).ok
        ws.close()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab é#_@()[]{}<>|\\*~\n")) | st.characters(), max_size=60))
def test_any_text_reads_back_as_written_after_escaping(text):
    escaped = commentary(text)
    assert rendered(escaped) == text  # LinkedIn cuts nothing
    assert plain_text(escaped) == text  # and reconcile reads it back

"""The X publisher against a loopback X API v2: posts, lost answers, limits, threads."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply
from tests.support.loopback import Fault
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import X_TOKEN_ENV, publishing_workspace, x_table
from tests.support.x_server import XServer

from masthead.channels.publisher import Delivery, PublicationRejected, PublisherBusy, Receipt
from masthead.channels.publishers.x import XPublisher
from masthead.config import XPublisherSection
from masthead.projections.replay import verify

TOKEN = "x-user-token-123456"
TWEETS = "/2/tweets"


@pytest.fixture
def x():
    with XServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(X_TOKEN_ENV, TOKEN)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


def workspace(tmp_path, openai_url, x: XServer, timeout: float = 5.0, extra: str = ""):
    return publishing_workspace(tmp_path / "ws", openai_url, x_table(x.base_url, timeout=timeout) + extra, ["x"])


def events(ws, kind: str):
    return [e for e in ws.store.read() if e.type == kind]


def publisher(x: XServer) -> XPublisher:
    return XPublisher("x", XPublisherSection(base_url=x.base_url, token_env=X_TOKEN_ENV), {X_TOKEN_ENV: TOKEN})


def delivery(text: str, key: str = "pc-1:v1:x:x", at: str | None = None, reply_to: Receipt | None = None) -> Delivery:
    at = at or datetime.now().astimezone().isoformat()
    return Delivery(key=key, piece_id="pc-1", version=1, channel="x", project="p", text=text, subject=None,
                    at=at, requested_at=at, reply_to=reply_to)


def test_a_piece_is_posted_once_and_its_link_is_recorded(tmp_path, openai_url, x):
    ws = workspace(tmp_path, openai_url, x)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [post] = x.posts
    [request] = [r for r in x.requests if r.path == TWEETS]
    assert request.header("Authorization") == f"Bearer {TOKEN}"
    assert set(request.body) == {"text"} and request.body["text"] == post["sent"]
    [publication] = ws.store.query("SELECT * FROM publications")
    assert (publication["status"], publication["remote_id"]) == ("delivered", post["id"])
    assert publication["url"] == f"https://x.com/i/web/status/{post['id']}"
    assert verify(ws.store).ok
    ws.close()


def test_429_waits_until_the_windows_reset(tmp_path, openai_url, x):
    ws = workspace(tmp_path, openai_url, x)
    x.rate_limit_posts(1, reset_in=1.0)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert x.count("POST", TWEETS) == 2 and len(x.posts) == 1
    [deferred] = [e for e in events(ws, "TaskDeferred") if e.data["state"] == "waiting_rate_limit"]
    assert "rate limited (429 Too Many Requests" in deferred.data["reason"] and "asked to wait" in deferred.data["reason"]
    first, second = (e.meta.at for e in events(ws, "TaskClaimed") if e.data["id"].endswith(".publish.x"))
    gap = datetime.fromisoformat(second).timestamp() - datetime.fromisoformat(first).timestamp()
    assert gap >= 0.95
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    ws.close()


def test_the_24_hour_cap_waits_for_its_own_reset(x):
    reset = int(time.time()) + 3600
    x.fault("POST", TWEETS, Fault.status_reply(429, {"title": "Too Many Requests", "detail": "Too Many Requests",
                                                     "type": "about:blank", "status": 429},
                                               {"x-rate-limit-reset": str(int(time.time()) + 60),
                                                "x-user-limit-24hour-limit": "17",
                                                "x-user-limit-24hour-remaining": "0",
                                                "x-user-limit-24hour-reset": str(reset)}))
    with pytest.raises(PublisherBusy, match="24-hour posting cap") as caught:
        publisher(x).publish(delivery("Tallybook 3.2 is out."))
    assert caught.value.retry_after is not None and 3500 < caught.value.retry_after <= 3600


def test_an_expired_token_makes_the_publication_wait_naming_the_variable(tmp_path, openai_url, x):
    ws = workspace(tmp_path, openai_url, x)
    x.expire_token()
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    assert task["status"] == "queued" and task["run_after"] > time.time() + 60
    assert X_TOKEN_ENV in task["wait_reason"] and "masthead publishers check x" in task["wait_reason"]
    assert "401 Unauthorized" in task["wait_reason"]
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "failed"
    assert TOKEN not in "".join(repr(e.data) for e in ws.store.read())
    assert not x.posts
    ws.close()


def test_a_lost_answer_is_found_among_the_accounts_posts_and_never_resent(tmp_path, openai_url, x):
    ws = workspace(tmp_path, openai_url, x, timeout=0.5)
    x.fault("POST", TWEETS, Fault.accept_then_hang(2.0))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [post] = x.posts
    [publication] = ws.store.query("SELECT * FROM publications")
    assert (publication["status"], publication["remote_id"]) == ("delivered", post["id"])
    assert x.count("POST", TWEETS) == 1
    [search] = [r for r in x.requests if r.path == f"/2/users/{x.user['id']}/tweets"]
    assert search.query["exclude"] == ["replies,retweets"] and search.query["max_results"] == ["100"]
    assert search.query["start_time"][0].endswith("Z") and "." not in search.query["start_time"][0]
    assert len(events(ws, "PublicationDelivered")) == 1
    assert verify(ws.store).ok
    ws.close()


def test_when_the_search_cannot_tell_a_person_decides_and_nothing_is_resent(tmp_path, openai_url, x):
    ws = workspace(tmp_path, openai_url, x)
    x.fault("POST", TWEETS, Fault.accept_then_reset())
    # X's timeline lags behind a write: the post is not listed yet.
    x.fault("GET", f"/2/users/{x.user['id']}/tweets", Fault.status_reply(200, {"meta": {"result_count": 0}}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    ws.runner().run(until_idle=True)
    [publication] = ws.store.query("SELECT * FROM publications")
    assert publication["status"] == "needs_human" and "may have been delivered by x" in publication["reason"]
    assert x.count("POST", TWEETS) == 1 and len(x.posts) == 1
    assert not events(ws, "PublicationDelivered")
    assert verify(ws.store).ok
    ws.close()


def test_5xx_is_retried_and_posts_once(tmp_path, openai_url, x):
    ws = workspace(tmp_path, openai_url, x)
    x.fault("POST", TWEETS, Fault.status_reply(503, {"title": "Service Unavailable", "detail": "Service Unavailable",
                                                     "type": "about:blank", "status": 503}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert x.count("POST", TWEETS) == 2 and len(x.posts) == 1
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    ws.close()


def test_reconcile_reads_links_and_entities_back_as_they_were_written(x):
    x_publisher = publisher(x)
    text = "Tallybook 3.2 & friends <now>: https://tallybook.example/changelog?v=3.2&lang=en"
    receipt = x_publisher.publish(delivery(text))
    assert "t.co" in x.posts[0]["text"] and "&amp;" in x.posts[0]["text"]  # what X gives back
    assert x_publisher.reconcile(delivery(text)) == receipt
    assert x_publisher.reconcile(delivery("Some other text")) is None


def test_a_duplicate_refusal_is_this_publication_only_when_its_post_is_recent(x):
    x_publisher = publisher(x)
    first = x_publisher.publish(delivery("Tallybook 3.2 is out."))
    # A person sent it again after a lost answer: X refuses the duplicate, and the post found is it.
    assert x_publisher.publish(delivery("Tallybook 3.2 is out.", key="pc-1:v1:x:x:again")) == first
    # The same text posted long before this intent is another publication: the refusal stands.
    later = "2999-01-01T00:00:00+00:00"
    with pytest.raises(PublicationRejected, match="duplicate"):
        x_publisher.publish(delivery("Tallybook 3.2 is out.", key="pc-2:v1:x:x", at=later))
    assert len(x.posts) == 1


def test_a_thread_part_replies_to_the_previous_one_and_is_found_among_replies(x):
    x_publisher = publisher(x)
    root = x_publisher.publish(delivery("1/2 Tallybook 3.2 is out."))
    second = delivery("2/2 Bank feeds for 40 more banks.", key="pc-1:v1:x:x:2", reply_to=root)
    receipt = x_publisher.publish(second)
    [request] = [r for r in x.requests if r.path == TWEETS and "2/2" in r.body["text"]]
    assert request.body["reply"] == {"in_reply_to_tweet_id": root.remote_id}
    assert x_publisher.reconcile(second) == receipt
    assert [r.query["exclude"] for r in x.requests if r.path.endswith("/tweets") and r.method == "GET"] == [["retweets"]]
    # The same text answering another post is not this part.
    other = delivery("2/2 Bank feeds for 40 more banks.", reply_to=Receipt(location="", remote_id="42"))
    assert x_publisher.reconcile(other) is None
    assert XPublisher.capabilities.threads


def test_retract_deletes_the_post_and_check_names_the_account(x):
    x_publisher = publisher(x)
    receipt = x_publisher.publish(delivery("Tallybook 3.2 is out."))
    x_publisher.retract(receipt)
    assert not x.posts and x.count("DELETE", f"/2/tweets/{receipt.remote_id}") == 1
    assert x_publisher.check() == f"@tallybook (id {x.user['id']}) on {x.base_url}"
    assert x_publisher.limits().max_characters == 280


def test_the_posting_limit_is_the_guards_default_unless_configured(tmp_path, openai_url, x):
    ws = workspace(tmp_path, openai_url, x)
    limiter = ws.guards.limiter("publisher:x")
    assert limiter.rpm == 13  # 200 per 15 minutes, per minute
    for _ in range(13):
        permit, _wait, _why = limiter.try_acquire(0)
        assert permit is not None
        permit.settle(0)
    permit, wait, why = limiter.try_acquire(0)
    assert permit is None and 0 < wait <= 60 and "limit 13" in why
    assert ws.guards.limiter("publisher:file").rpm is None
    ws.close()
    configured = workspace(tmp_path / "two", openai_url, x,
                           extra='\n[rate_limits."publisher:x"]\nrequests_per_minute = 2\n')
    assert configured.guards.limiter("publisher:x").rpm == 2
    configured.close()

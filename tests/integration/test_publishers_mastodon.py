"""The Mastodon publisher against a loopback instance: Idempotency-Key, receipts, failures."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV, add_release_notes, content_reply
from tests.support.loopback import Fault
from tests.support.mastodon_server import MastodonServer
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import MASTODON_TOKEN_ENV, mastodon_table, publishing_workspace

from masthead.app.queries import piece_detail
from masthead.channels.publisher import Delivery
from masthead.channels.publishers.mastodon import MastodonPublisher
from masthead.config import MastodonPublisherSection
from masthead.errors import MastheadError
from masthead.projections.replay import verify

TOKEN = "mastodon-token-123456"
STATUSES = "/api/v1/statuses"


@pytest.fixture
def mastodon():
    with MastodonServer(token=TOKEN) as server:
        yield server


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(MASTODON_TOKEN_ENV, TOKEN)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


def workspace(tmp_path: Path, openai_url: str, mastodon: MastodonServer, timeout: float = 5.0):
    return publishing_workspace(tmp_path / "ws", openai_url, mastodon_table(mastodon.base_url, timeout=timeout),
                                ["mastodon"])


def events(ws, kind: str):
    return [e for e in ws.store.read() if e.type == kind]


def test_a_piece_is_posted_once_with_the_publication_key_and_its_link_is_recorded(tmp_path, openai_url, mastodon):
    ws = workspace(tmp_path, openai_url, mastodon)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [status] = mastodon.statuses
    [post] = [r for r in mastodon.requests if r.path == STATUSES]
    [publication] = ws.store.query("SELECT * FROM publications")
    assert post.header("Idempotency-Key") == publication["idempotency_key"]
    assert post.header("Authorization") == f"Bearer {TOKEN}"
    assert (publication["status"], publication["remote_id"], publication["url"]) == ("delivered", status["id"], status["url"])
    assert post.body["status"] in status["content"]
    # `piece show` reads the lineage: the publication carries the remote id and link.
    shown = piece_detail(ws, publication["piece_id"])["lineage"]["publications"][0]
    assert (shown["remote_id"], shown["url"]) == (status["id"], status["url"])
    assert verify(ws.store).ok
    ws.close()


def test_an_answer_lost_after_the_post_was_made_ends_in_one_status(tmp_path, openai_url, mastodon):
    ws = workspace(tmp_path, openai_url, mastodon, timeout=0.5)
    mastodon.fault("POST", STATUSES, Fault.accept_then_hang(2.0))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert len(mastodon.statuses) == 1
    [publication] = ws.store.query("SELECT * FROM publications")
    assert publication["status"] == "delivered" and publication["remote_id"] == mastodon.statuses[0]["id"]
    # The retry looked for the status first (reconcile) and found it: one POST in all.
    assert mastodon.count("POST", STATUSES) == 1
    assert mastodon.count("GET", "/api/v1/accounts/1/statuses") == 1
    assert len(events(ws, "PublicationDelivered")) == 1
    assert verify(ws.store).ok
    ws.close()


def test_a_reset_after_accepting_is_retried_with_the_same_key_and_makes_one_status(tmp_path, openai_url, mastodon):
    ws = workspace(tmp_path, openai_url, mastodon)
    mastodon.fault("POST", STATUSES, Fault.accept_then_reset())
    # The reconcile cannot see the status (it lists none), so only the Idempotency-Key
    # keeps the second POST from making a second status.
    mastodon.fault("GET", "/api/v1/accounts/1/statuses", Fault.status_reply(200, []))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert mastodon.count("POST", STATUSES) == 2
    assert len(mastodon.statuses) == 1
    keys = {r.header("Idempotency-Key") for r in mastodon.requests if r.path == STATUSES}
    assert len(keys) == 1
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    assert verify(ws.store).ok
    ws.close()


def test_429_with_retry_after_defers_the_task_until_then(tmp_path, openai_url, mastodon):
    ws = workspace(tmp_path, openai_url, mastodon)
    mastodon.fault("POST", STATUSES, Fault.status_reply(429, {"error": "Too many requests"}, {"Retry-After": "1"}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    posts = [r for r in mastodon.requests if r.path == STATUSES]
    assert len(posts) == 2 and len(mastodon.statuses) == 1
    [deferred] = [e for e in events(ws, "TaskDeferred") if e.data["state"] == "waiting_rate_limit"]
    assert "asked to wait 1 s" in deferred.data["reason"]
    first, second = (e.meta.at for e in events(ws, "TaskClaimed") if e.data["id"].endswith(".publish.x"))
    gap = datetime.fromisoformat(second).timestamp() - datetime.fromisoformat(first).timestamp()
    assert gap >= 0.95
    assert verify(ws.store).ok
    ws.close()


def test_5xx_is_retried_with_backoff_and_never_double_posts(tmp_path, openai_url, mastodon):
    ws = workspace(tmp_path, openai_url, mastodon)
    mastodon.fault("POST", STATUSES, Fault.status_reply(503, {"error": "Service Unavailable"}),
                   Fault.status_reply(502, {"error": "Bad Gateway"}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert mastodon.count("POST", STATUSES) == 3 and len(mastodon.statuses) == 1
    assert len([e for e in events(ws, "TaskRetryScheduled") if "503" in e.data["error"] or "502" in e.data["error"]]) == 2
    assert len(events(ws, "PublicationFailed")) == 2
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    ws.close()


def test_a_revoked_token_makes_the_publication_wait_naming_the_variable(tmp_path, openai_url, mastodon):
    ws = workspace(tmp_path, openai_url, mastodon)
    mastodon.expire_token()
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    assert task["status"] == "queued" and task["run_after"] > time.time() + 60
    assert MASTODON_TOKEN_ENV in task["wait_reason"] and "masthead publishers check mastodon" in task["wait_reason"]
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "failed"
    log = "".join(repr(e.data) for e in ws.store.read())
    assert TOKEN not in log
    assert not mastodon.statuses
    ws.close()


def test_instance_limits_are_asked_once_and_check_names_the_account(mastodon, monkeypatch):
    settings = MastodonPublisherSection(base_url=mastodon.base_url, token_env=MASTODON_TOKEN_ENV)
    publisher = MastodonPublisher("mastodon", settings, {MASTODON_TOKEN_ENV: TOKEN})
    assert publisher.limits().max_characters == 500
    assert publisher.limits().characters_per_url == 23
    assert "@tallybook" in publisher.check()
    assert mastodon.count("GET", "/api/v2/instance") == 1


def test_an_instance_that_cannot_tell_its_limits_is_not_asked_at_every_step(mastodon):
    settings = MastodonPublisherSection(base_url=mastodon.base_url, token_env=MASTODON_TOKEN_ENV)
    publisher = MastodonPublisher("mastodon", settings, {MASTODON_TOKEN_ENV: TOKEN})
    mastodon.fault("GET", "/api/v2/instance", Fault.status_reply(503, {"error": "down for maintenance"}))
    for _ in range(3):  # a draft, a check and a refinement step of one piece
        with pytest.raises(MastheadError):
            publisher.limits()
    assert mastodon.count("GET", "/api/v2/instance") == 1


def test_reconcile_finds_a_status_by_its_text_and_retract_deletes_it(mastodon):
    settings = MastodonPublisherSection(base_url=mastodon.base_url, token_env=MASTODON_TOKEN_ENV)
    publisher = MastodonPublisher("mastodon", settings, {MASTODON_TOKEN_ENV: TOKEN})
    delivery = Delivery(key="pc-1:v1:x:mastodon", piece_id="pc-1", version=1, channel="x", project="p",
                        text="Tallybook 3.2 & friends <now>\n\nSecond paragraph.", subject=None, at="2026-12-07T10:00:00Z")
    assert publisher.reconcile(delivery) is None
    receipt = publisher.publish(delivery)
    assert publisher.reconcile(delivery) == receipt
    publisher.retract(receipt)
    assert not mastodon.statuses


def test_credentials_refused_while_looking_for_a_lost_post_wait_without_resending(tmp_path, openai_url, mastodon):
    ws = workspace(tmp_path, openai_url, mastodon)
    mastodon.fault("POST", STATUSES, Fault.accept_then_reset())
    mastodon.fault("GET", "/api/v1/accounts/verify_credentials",
                   Fault.status_reply(401, {"error": "The access token is invalid"}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    assert task["status"] == "queued" and MASTODON_TOKEN_ENV in task["wait_reason"]
    # The outcome of the first POST is still unknown: no resend, and the intent stays open.
    assert mastodon.count("POST", STATUSES) == 1 and len(mastodon.statuses) == 1
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "requested"
    ws.close()


def test_an_open_circuit_holds_the_send_back_and_the_next_attempt_sends(tmp_path, openai_url, mastodon):
    ws = publishing_workspace(tmp_path / "ws", openai_url, mastodon_table(mastodon.base_url) +
                              '\n[breaker]\nfailures = 1\ncooldown_seconds = 0.5\n', ["mastodon"])
    mastodon.fault("POST", STATUSES, Fault.status_reply(503, {"error": "Service Unavailable"}))
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert len(mastodon.statuses) == 1 and mastodon.count("POST", STATUSES) == 2
    assert [e.data["endpoint"] for e in events(ws, "CircuitOpened")] == ["publisher:mastodon"]
    assert any("circuit open" in e.data["reason"] for e in events(ws, "TaskDeferred"))
    # Held back before sending: recorded as not sent, so the next attempt sends without asking.
    assert any("circuit open" in e.data["error"] for e in events(ws, "PublicationFailed"))
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    ws.close()


def test_past_the_key_lifetime_a_status_not_found_goes_to_a_person(tmp_path, openai_url, mastodon):
    from masthead.runtime.worker import Worker

    ws = workspace(tmp_path, openai_url, mastodon)
    mastodon.fault("POST", STATUSES, Fault.accept_then_reset())
    mastodon.fault("GET", "/api/v1/accounts/1/statuses", Fault.status_reply(200, []))  # the search misses it
    add_release_notes(ws)
    services = ws.services()
    services.clock = lambda: time.time() + 2 * 3600  # the retry comes after Mastodon forgot the key
    worker = Worker(ws.store, services, "test:1:0", lease_seconds=30, backoff_base=0, backoff_max=0)
    while (task := worker.claim()) is not None:
        worker.run(task)
    [publication] = ws.store.query("SELECT * FROM publications")
    assert publication["status"] == "needs_human" and "may have been delivered by mastodon" in publication["reason"]
    assert mastodon.count("POST", STATUSES) == 1
    ws.close()


@pytest.mark.parametrize(("channel", "instance_limit", "measured"),
                         [("mastodon", 200, 200), ("mastodon", 1000, 1000), ("x", 1000, 280), ("x", 200, 200)])
def test_the_instances_own_limit_is_what_drafts_are_composed_and_checked_against(tmp_path, openai_url, channel,
                                                                                  instance_limit, measured):
    """An instance's `max_characters` sets the Mastodon channel's limit; when another channel's
    pieces also go to Mastodon, it can only lower that channel's own."""
    with MastodonServer(token=TOKEN, max_characters=instance_limit) as instance:
        ws = publishing_workspace(tmp_path / "ws", openai_url, mastodon_table(instance.base_url), ["mastodon"],
                                  channel=channel)
        add_release_notes(ws)
        ws.runner().run(until_idle=True)
        [piece] = ws.store.query("SELECT * FROM pieces")
        checks = piece_detail(ws, piece["id"])["versions"][-1]["checks"]
        [length] = [c for c in checks if c["name"] == "length"]
        assert f" of {measured} " in length["detail"], length
        assert len(piece["text"]) <= measured
        ws.close()

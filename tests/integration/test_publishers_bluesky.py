"""The Bluesky publisher against a loopback PDS: record keys, facets, sessions, failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.bluesky_server import TID, BlueskyServer
from tests.support.harness import KEY_ENV, add_release_notes, content_reply
from tests.support.loopback import Fault
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import BLUESKY_PASSWORD_ENV, bluesky_table, publishing_workspace

from masthead.channels.publisher import Delivery
from masthead.channels.publishers.bluesky import BlueskyPublisher, record_key
from masthead.channels.publishers.facets import facets_for
from masthead.config import BlueskyPublisherSection
from masthead.projections.replay import verify

PASSWORD = "app-pass-1234"
CREATE = "/xrpc/com.atproto.repo.createRecord"


@pytest.fixture
def pds():
    with BlueskyServer(password=PASSWORD) as server:
        yield server


@pytest.fixture
def openai_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(BLUESKY_PASSWORD_ENV, PASSWORD)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as server:
        yield server.base_url


def workspace(tmp_path: Path, openai_url: str, pds: BlueskyServer, timeout: float = 5.0):
    return publishing_workspace(tmp_path / "ws", openai_url, bluesky_table(pds.base_url, pds.handle, timeout=timeout),
                                ["bluesky"])


def publisher(pds: BlueskyServer, password: str = PASSWORD) -> BlueskyPublisher:
    settings = BlueskyPublisherSection(base_url=pds.base_url, handle=pds.handle, app_password_env=BLUESKY_PASSWORD_ENV)
    return BlueskyPublisher("bluesky", settings, {BLUESKY_PASSWORD_ENV: password})


def delivery(key: str, text: str = "Tallybook 3.2 is out.") -> Delivery:
    return Delivery(key=key, piece_id="pc-1", version=1, channel="x", project="p", text=text, subject=None,
                    at="2026-12-07T10:00:05Z", requested_at="2026-12-07T10:00:00.123456Z")


def span(text: str, facet: dict) -> str:
    index = facet["index"]
    return text.encode("utf-8")[index["byteStart"]:index["byteEnd"]].decode("utf-8")


def test_facets_use_utf8_byte_offsets_with_emoji_and_cjk():
    text = "🎉 新版本 #発表 は https://tallybook.example/3.2 にあります。 #release2 😀"
    facets = facets_for(text)
    # 🎉 is 4 bytes, each CJK character 3: "🎉 新版本 " is 15 bytes, "#発表" 7, " は " 5,
    # the URL 29, " にあります。 " 20, "#release2" 9. Character offsets would be 6, 12, 49.
    assert [(f["index"]["byteStart"], f["index"]["byteEnd"]) for f in facets] == [(15, 22), (27, 56), (76, 85)]
    assert [span(text, f) for f in facets] == ["#発表", "https://tallybook.example/3.2", "#release2"]
    assert facets[0]["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "発表"}]
    assert facets[1]["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": "https://tallybook.example/3.2"}]


def test_facets_leave_out_trailing_punctuation_numbers_and_anchors():
    text = "See https://a.example/x. Not #1, not a#b, but #ok."
    assert [span(text, f) for f in facets_for(text)] == ["https://a.example/x", "#ok"]


def test_record_keys_are_tids_stable_per_key_and_distinct_between_keys():
    first = record_key(delivery("pc-1:v1:x:bluesky"))
    assert TID.match(first)
    assert record_key(delivery("pc-1:v1:x:bluesky")) == first
    assert record_key(delivery("pc-1:v2:x:bluesky")) != first


def test_a_piece_becomes_one_record_with_its_link_recorded(tmp_path, openai_url, pds):
    ws = workspace(tmp_path, openai_url, pds)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [(rkey, record)] = pds.records.items()
    [publication] = ws.store.query("SELECT * FROM publications")
    assert publication["status"] == "delivered"
    assert publication["remote_id"] == f"at://did:plc:loopbacktallybook/app.bsky.feed.post/{rkey}"
    assert publication["url"] == f"https://bsky.app/profile/{pds.handle}/post/{rkey}"
    assert record["createdAt"] == publication["requested_at"]
    assert verify(ws.store).ok
    ws.close()


@pytest.mark.parametrize("fault", [Fault.accept_then_reset(), Fault.accept_then_hang(2.0)], ids=["reset", "timeout"])
def test_an_answer_lost_after_the_record_was_written_ends_in_one_record(tmp_path, openai_url, pds, fault):
    ws = workspace(tmp_path, openai_url, pds, timeout=0.5)
    pds.fault("POST", CREATE, fault)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    assert len(pds.records) == 1
    # The retry read the record at the derived key and found it: no second createRecord.
    assert pds.count("POST", CREATE) == 1
    assert pds.count("GET", "/xrpc/com.atproto.repo.getRecord") == 1
    assert ws.store.query("SELECT status FROM publications")[0]["status"] == "delivered"
    assert verify(ws.store).ok
    ws.close()


def test_a_second_create_at_the_same_key_is_recognised_as_the_same_post(pds):
    bluesky = publisher(pds)
    first = bluesky.publish(delivery("pc-1:v1:x:bluesky"))
    again = bluesky.publish(delivery("pc-1:v1:x:bluesky"))
    assert again == first and len(pds.records) == 1


def test_an_expired_access_token_is_refreshed_not_a_new_login(pds):
    bluesky = publisher(pds)
    bluesky.publish(delivery("pc-1:v1:x:bluesky"))
    pds.expire_access()
    bluesky.publish(delivery("pc-2:v1:x:bluesky", "Second post."))
    assert (pds.sessions_created, pds.sessions_refreshed) == (1, 1)
    assert len(pds.records) == 2


def test_a_wrong_app_password_waits_naming_the_variable_and_never_prints_it(tmp_path, openai_url, pds, monkeypatch):
    monkeypatch.setenv(BLUESKY_PASSWORD_ENV, "wrong-password-987")
    ws = workspace(tmp_path, openai_url, pds)
    add_release_notes(ws)
    ws.runner().run(until_idle=True)
    [task] = ws.store.query("SELECT * FROM tasks WHERE kind = 'publish'")
    assert task["status"] == "queued" and BLUESKY_PASSWORD_ENV in task["wait_reason"]
    assert "wrong-password-987" not in "".join(repr(e.data) for e in ws.store.read())
    assert not pds.records
    ws.close()


def test_429_from_the_pds_reports_when_to_come_back(pds):
    from masthead.channels.publisher import PublisherBusy

    bluesky = publisher(pds)
    pds.fault("POST", CREATE, Fault.status_reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                                                 {"RateLimit-Reset": "9999999999", "RateLimit-Remaining": "0"}))
    with pytest.raises(PublisherBusy) as caught:
        bluesky.publish(delivery("pc-1:v1:x:bluesky"))
    assert caught.value.retry_after is not None and caught.value.retry_after > 3600
    assert not pds.records


def test_retract_deletes_the_record(pds):
    bluesky = publisher(pds)
    receipt = bluesky.publish(delivery("pc-1:v1:x:bluesky"))
    bluesky.retract(receipt)
    assert not pds.records

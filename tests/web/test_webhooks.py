"""POST /hooks/{source}: signed deliveries become signals once; every bad one changes nothing."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from tests.support.web import signed_headers
from tests.web.conftest import HOOK_ENV, HOOK_SECRET

from masthead.app.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookInbox,
    legacy_signature,
    signature,
)
from masthead.app.workspace import Workspace, open_workspace
from masthead.web import create_app

pytestmark = pytest.mark.anyio
PAYLOAD = json.dumps({"title": "Tallybook 3.3", "body": "- Dark mode.\n- CSV export."}).encode()


def signals(ws: Workspace) -> list[dict]:
    return ws.store.query("SELECT id, project, kind, priority, title, body, source FROM signals ORDER BY seq")


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str], source: str = "github") -> httpx.Response:
    return await client.post(f"/hooks/{source}", content=body, headers=headers)


async def test_a_signed_delivery_becomes_a_signal(client, ws) -> None:
    answer = await post(client, PAYLOAD, signed_headers(HOOK_SECRET, PAYLOAD, "d-1"))
    assert answer.status_code == 202, answer.text
    receipt = answer.json()
    assert receipt["duplicate"] is False and len(receipt["job_ids"]) == 1
    assert signals(ws) == [{"id": receipt["signal_id"], "project": "tallybook", "kind": "release_notes",
                            "priority": "high", "title": "Tallybook 3.3", "body": PAYLOAD.decode(),
                            "source": "webhook:github:d-1"}]


async def test_a_replayed_delivery_is_accepted_once(client, ws) -> None:
    first = await post(client, PAYLOAD, signed_headers(HOOK_SECRET, PAYLOAD, "d-2"))
    again = await post(client, PAYLOAD, signed_headers(HOOK_SECRET, PAYLOAD, "d-2"))
    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == {"signal_id": first.json()["signal_id"], "job_ids": [], "duplicate": True}
    assert len(signals(ws)) == 1


async def test_a_v2_request_resent_under_a_new_delivery_id_fails_its_signature(client, ws) -> None:
    headers = signed_headers(HOOK_SECRET, PAYLOAD, "d-4")
    assert (await post(client, PAYLOAD, headers)).status_code == 202
    headers[DELIVERY_HEADER] = "d-4-copy"  # the delivery id is signed: a copy cannot change it
    resent = await post(client, PAYLOAD, headers)
    assert resent.status_code == 401 and resent.json()["error"]["code"] == "bad_signature"
    assert len(signals(ws)) == 1


async def test_a_legacy_request_resent_under_new_ids_names_the_first_signal(client, ws) -> None:
    first = await post(client, PAYLOAD, signed_headers(HOOK_SECRET, PAYLOAD, "l-0", legacy=True))
    assert first.status_code == 202
    headers = signed_headers(HOOK_SECRET, PAYLOAD, "l-1", timestamp=int(time.time()) - 1, legacy=True)
    copied = await post(client, PAYLOAD, headers)
    assert copied.status_code == 202 and copied.json()["signal_id"] != first.json()["signal_id"]
    for copy in ("l-1-copy", "l-1-again"):
        headers[DELIVERY_HEADER] = copy
        resent = await post(client, PAYLOAD, headers)
        # The copy names the signal of the request it copies, not any other signal of the source.
        assert resent.status_code == 200 and resent.json()["signal_id"] == copied.json()["signal_id"]
    assert len(signals(ws)) == 2


def test_legacy_copies_racing_in_threads_make_one_signal(ws) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stamp = str(int(time.time()))
    base = {TIMESTAMP_HEADER.lower(): stamp, SIGNATURE_HEADER.lower(): legacy_signature(HOOK_SECRET.encode(), stamp, PAYLOAD)}
    inboxes = [WebhookInbox(ws), WebhookInbox(ws)]  # two inboxes share nothing but the database

    def deliver(index: int):
        headers = {**base, DELIVERY_HEADER.lower(): f"race-{index}"}
        return inboxes[index % 2].receive("github", headers, PAYLOAD)

    with ThreadPoolExecutor(8) as pool:
        receipts = list(pool.map(deliver, range(8)))
    assert len({r.signal_id for r in receipts}) == 1 and sum(not r.duplicate for r in receipts) == 1
    assert len(signals(ws)) == 1


@pytest.mark.parametrize("legacy", [False, True])
async def test_replay_protection_survives_a_restart(client, ws, legacy: bool) -> None:
    headers = signed_headers(HOOK_SECRET, PAYLOAD, "d-3", legacy=legacy)
    first = await post(client, PAYLOAD, headers)
    assert first.status_code == 202
    root = ws.root
    reopened = open_workspace(str(root))
    try:
        fresh = create_app(reopened, with_workers=False)  # a new process: nothing in memory
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fresh), base_url="http://testserver") as other:
            again = await post(other, PAYLOAD, headers)
            assert again.status_code == 200 and again.json()["signal_id"] == first.json()["signal_id"]
            headers[DELIVERY_HEADER] = "d-3-copy"
            copied = await post(other, PAYLOAD, headers)
        if legacy:  # the signature was claimed in the database, so the copy is known after a restart
            assert copied.status_code == 200 and copied.json()["signal_id"] == first.json()["signal_id"]
        else:
            assert copied.status_code == 401
        assert len(signals(reopened)) == 1
    finally:
        reopened.close()


@pytest.mark.parametrize(("case", "status", "code"), [
    ("bad_signature", 401, "bad_signature"),
    ("wrong_secret", 401, "bad_signature"),
    ("no_signature", 401, "bad_signature"),
    ("body_changed", 401, "bad_signature"),
    ("stale", 401, "stale_timestamp"),
    ("future", 401, "stale_timestamp"),
    ("no_timestamp", 400, "bad_timestamp"),
    ("superscript_timestamp", 400, "bad_timestamp"),
    ("arabic_indic_timestamp", 400, "bad_timestamp"),
    ("text_plain", 415, "unsupported_media_type"),
    ("form_encoded", 415, "unsupported_media_type"),
    ("no_content_type", 415, "unsupported_media_type"),
    ("nan", 400, "malformed_json"),
    ("infinity", 400, "malformed_json"),
    ("no_delivery", 400, "bad_delivery_id"),
    ("malformed_json", 400, "malformed_json"),
    ("not_utf8", 400, "malformed_json"),
    ("oversize", 413, "too_large"),
    ("unknown_source", 404, "not_found"),
])
async def test_bad_deliveries_write_nothing(client, ws, case: str, status: int, code: str) -> None:
    body, source = PAYLOAD, "github"
    headers = signed_headers(HOOK_SECRET, body, f"bad-{case}")
    if case == "bad_signature":
        headers[SIGNATURE_HEADER] = "sha256=" + "0" * 64
    elif case == "wrong_secret":
        headers = signed_headers("another-secret", body, "bad")
    elif case == "no_signature":
        del headers[SIGNATURE_HEADER]
    elif case == "body_changed":
        body = PAYLOAD.replace(b"Dark", b"Lite")
    elif case in ("stale", "future"):
        # Past the 300 s tolerance; the future case keeps 60 s of slack for a slow, loaded run.
        shift = -301 if case == "stale" else 360
        headers = signed_headers(HOOK_SECRET, body, "bad", timestamp=int(time.time()) + shift)
    elif case == "no_timestamp":
        del headers[TIMESTAMP_HEADER]
    elif case == "superscript_timestamp":  # "²".isdigit() is True, and int() or .encode("ascii") fails
        headers[TIMESTAMP_HEADER] = headers[TIMESTAMP_HEADER][:-1] + "\u00b2"
    elif case == "arabic_indic_timestamp":  # sent as UTF-8 bytes; the server reads them as latin-1
        headers[TIMESTAMP_HEADER] = "\u0661\u0667\u0666\u0665".encode().decode("latin-1")
    elif case in ("text_plain", "form_encoded", "no_content_type"):
        kinds = {"text_plain": "text/plain", "form_encoded": "application/x-www-form-urlencoded"}
        if case in kinds:
            headers["Content-Type"] = kinds[case]
        else:
            del headers["Content-Type"]
    elif case in ("nan", "infinity"):
        body = b'{"title": "x", "price": ' + (b"NaN" if case == "nan" else b"-Infinity") + b"}"
        headers = signed_headers(HOOK_SECRET, body, "bad")
    elif case == "no_delivery":
        del headers[DELIVERY_HEADER]
    elif case == "malformed_json":
        body = b'{"title": "x", '
        headers = signed_headers(HOOK_SECRET, body, "bad")
    elif case == "not_utf8":
        body = b'{"title": "\xff"}'
        headers = signed_headers(HOOK_SECRET, body, "bad")
    elif case == "oversize":
        body = json.dumps({"body": "x" * 1_000_001}).encode()
        headers = signed_headers(HOOK_SECRET, body, "bad")
    elif case == "unknown_source":
        source = "gitlab"
    head = ws.store.head()
    encoded = {name: value.encode("latin-1") for name, value in headers.items()}  # bytes as sent on the wire
    answer = await post(client, body, encoded, source)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"]
    assert ws.store.head() == head and signals(ws) == []


async def test_oversize_is_refused_before_reading_it_all(client, ws) -> None:
    async def endless():  # a chunked body with no length: refused as soon as it passes 1 MB
        for _ in range(2000):
            yield b"x" * 1024

    headers = signed_headers(HOOK_SECRET, b"", "big")
    answer = await client.post("/hooks/github", content=endless(), headers=headers)
    assert answer.status_code == 413 and signals(ws) == []


async def test_a_source_without_its_secret_is_unavailable(client, ws, monkeypatch) -> None:
    monkeypatch.delenv(HOOK_ENV)
    answer = await post(client, PAYLOAD, signed_headers(HOOK_SECRET, PAYLOAD, "d-9"))
    assert answer.status_code == 503
    assert HOOK_ENV in answer.json()["error"]["message"] and HOOK_SECRET not in answer.text
    assert signals(ws) == []


def test_the_signature_covers_v2_timestamp_delivery_id_and_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"v2:1700000000.rel-2.1.{}", hashlib.sha256).hexdigest()
    assert signature(b"k", "1700000000", "rel-2.1", b"{}") == f"v2={expected}"
    legacy = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert legacy_signature(b"k", "1700000000", b"{}") == f"sha256={legacy}"


def test_a_legacy_copy_sent_to_another_server_process_makes_no_second_signal(tmp_path) -> None:
    from tests.support.harness import KEY_ENV, make_workspace
    from tests.support.openai_server import OpenAIServer
    from tests.support.web import ServeProcess
    from tests.web.conftest import WEBHOOK_TOML

    with OpenAIServer(api_key="sk-test") as llm:
        workspace = make_workspace(tmp_path / "ws", llm.base_url)
        with (workspace.root / "masthead.toml").open("a", encoding="utf-8") as config:
            config.write(WEBHOOK_TOML)
        workspace.close()
        env = {KEY_ENV: "sk-test", HOOK_ENV: HOOK_SECRET}
        headers = signed_headers(HOOK_SECRET, PAYLOAD, "p-1", legacy=True)
        with ServeProcess(tmp_path / "ws", workers=False, env=env, log=tmp_path / "a.log") as one, \
                ServeProcess(tmp_path / "ws", workers=False, env=env, log=tmp_path / "b.log") as other:
            first = httpx.post(one.url + "/hooks/github", content=PAYLOAD, headers=headers)
            assert first.status_code == 202, first.text
            for server, copy in ((other, "p-2"), (one, "p-3"), (other, "p-4")):
                answer = httpx.post(server.url + "/hooks/github", content=PAYLOAD,
                                    headers={**headers, DELIVERY_HEADER: copy})
                assert answer.status_code == 200 and answer.json()["signal_id"] == first.json()["signal_id"]
        reopened = open_workspace(str(tmp_path / "ws"))
        try:
            assert [s["source"] for s in signals(reopened)] == ["webhook:github:p-1"]
        finally:
            reopened.close()

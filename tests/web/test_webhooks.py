"""POST /hooks/{source}: signed deliveries become signals once; every bad one changes nothing."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from tests.support.web import signed_headers
from tests.web.conftest import HOOK_ENV, HOOK_SECRET

from masthead.app.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
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
    # The same signed request re-sent under a new delivery id is still the same delivery.
    headers = signed_headers(HOOK_SECRET, PAYLOAD, "d-4", timestamp=int(time.time()) - 1)
    copied = await post(client, PAYLOAD, headers)
    assert copied.status_code == 202
    headers[DELIVERY_HEADER] = "d-4-copy"
    resent = await post(client, PAYLOAD, headers)
    assert resent.status_code == 200 and resent.json()["signal_id"] == copied.json()["signal_id"]
    assert len(signals(ws)) == 2


async def test_replay_protection_survives_a_restart(client, ws) -> None:
    first = await post(client, PAYLOAD, signed_headers(HOOK_SECRET, PAYLOAD, "d-3"))
    assert first.status_code == 202
    root = ws.root
    reopened = open_workspace(str(root))
    try:
        fresh = create_app(reopened, with_workers=False)  # a new process: nothing in memory
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fresh), base_url="http://testserver") as other:
            again = await post(other, PAYLOAD, signed_headers(HOOK_SECRET, PAYLOAD, "d-3"))
        assert again.status_code == 200 and again.json()["signal_id"] == first.json()["signal_id"]
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
    ("no_timestamp", 401, "bad_timestamp"),
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
    answer = await post(client, body, headers, source)
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


def test_the_signature_scheme_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature(b"k", "1700000000", b"{}") == f"sha256={expected}"

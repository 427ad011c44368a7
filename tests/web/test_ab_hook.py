"""POST /hooks/ab records signed cumulative A/B results once; the desk draws the test."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.harness import KEY_ENV, add_release_notes, make_workspace, pieces_by_channel
from tests.support.openai_server import OpenAIServer
from tests.support.web import signed_headers
from tests.web.conftest import log_in, run_until_idle

from masthead.app import ab
from masthead.app.auth import read_token
from masthead.app.workspace import Workspace, open_workspace
from masthead.web import create_app

pytestmark = pytest.mark.anyio
AB_SECRET = "ab-secret-0123456789abcdef"
AB_ENV = "MASTHEAD_TEST_AB_SECRET"


@pytest.fixture
def abws(tmp_path: Path, llm: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(AB_ENV, AB_SECRET)
    workspace = make_workspace(tmp_path / "ws", llm.base_url)
    with (workspace.root / "masthead.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[ab]\nsecret_env = "{AB_ENV}"\n')
    workspace.close()
    reopened = open_workspace(str(workspace.root))
    yield reopened
    reopened.close()


@pytest.fixture
def test_id(abws: Workspace) -> str:
    job = add_release_notes(abws)
    run_until_idle(abws)
    piece = pieces_by_channel(abws, job)["newsletter"]
    return ab.start_test(abws, piece["id"], settings=ab.AbSettings(batch_size=400), variants=None,
                         operator="human:ana")


@pytest.fixture
async def abclient(abws: Workspace) -> Any:
    app = create_app(abws, with_workers=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


def report(test_id: str, rows: list[tuple[str, int, int, int]]) -> bytes:
    return json.dumps({"test_id": test_id, "results": [
        {"variant": v, "sent": s, "opens": o, "clicks": c} for v, s, o, c in rows]}).encode()


def recorded(ws: Workspace, test_id: str) -> list[str]:
    rows = ws.store.query("SELECT data FROM events WHERE stream = ? AND type = 'AbResultsRecorded' ORDER BY seq",
                          (f"abtest-{test_id}",))
    return [json.loads(row["data"])["source"] for row in rows]


async def test_signed_results_are_recorded_once_and_decide_the_test(abclient, abws, test_id) -> None:
    first = report(test_id, [("A", 200, 52, 9), ("B", 200, 45, 4)])
    answer = await abclient.post("/hooks/ab", content=first, headers=signed_headers(AB_SECRET, first, "r-1"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "running" and answer.json()["duplicate"] is False
    again = await abclient.post("/hooks/ab", content=first, headers=signed_headers(AB_SECRET, first, "r-1"))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert recorded(abws, test_id) == ["hook:r-1"]  # the same delivery, recorded once

    later = report(test_id, [("A", 600, 185, 20), ("B", 400, 82, 8)])
    decided = await abclient.post("/hooks/ab", content=later, headers=signed_headers(AB_SECRET, later, "r-2"))
    assert decided.status_code == 200
    assert (decided.json()["status"], decided.json()["winner"]) == ("decided", "A")
    assert recorded(abws, test_id) == ["hook:r-1", "hook:r-2"]


@pytest.mark.parametrize(("mutate", "status", "code"), [
    (lambda h, b: {**h, "X-Masthead-Signature": "v2=" + "0" * 64}, 401, "bad_signature"),
    (lambda h, b: signed_headers(AB_SECRET, b, "r-9", legacy=True), 401, "bad_signature"),
    (lambda h, b: signed_headers(AB_SECRET, b, "r-9", timestamp=1_000_000_000), 401, "stale_timestamp"),
])
async def test_a_bad_signature_records_nothing(abclient, abws, test_id, mutate, status, code) -> None:
    body = report(test_id, [("A", 200, 52, 9), ("B", 200, 45, 4)])
    answer = await abclient.post("/hooks/ab", content=body, headers=mutate(signed_headers(AB_SECRET, body, "r-9"), body))
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert recorded(abws, test_id) == []


@pytest.mark.parametrize(("rows", "status", "field"), [
    ([("A", 100, 150, 0)], 422, "results[0]"),  # more opens than sends
    ([("Z", 100, 10, 0)], 422, None),  # no such variant
    ([("A", -1, 0, 0)], 422, "results[0]"),
])
async def test_a_bad_report_names_the_field_and_records_nothing(abclient, abws, test_id, rows, status, field) -> None:
    body = report(test_id, rows)
    answer = await abclient.post("/hooks/ab", content=body, headers=signed_headers(AB_SECRET, body, "r-5"))
    assert answer.status_code == status, answer.text
    assert answer.json()["error"].get("field") == field and answer.json()["error"]["message"]
    assert recorded(abws, test_id) == []


async def test_an_unknown_test_is_404_and_no_secret_is_503(abclient, abws, test_id, monkeypatch) -> None:
    body = report("ab-nope", [("A", 1, 0, 0)])
    answer = await abclient.post("/hooks/ab", content=body, headers=signed_headers(AB_SECRET, body, "r-6"))
    assert answer.status_code == 404
    monkeypatch.delenv(AB_ENV)
    answer = await abclient.post("/hooks/ab", content=body, headers=signed_headers(AB_SECRET, body, "r-7"))
    assert answer.status_code == 503 and AB_ENV in answer.json()["error"]["message"]
    assert AB_SECRET not in answer.text


async def test_the_desk_draws_the_test_and_links_it_from_the_piece(abclient, abws, test_id) -> None:
    ab.record_results(abws, test_id, ab.parse_results_csv("variant,sent,opens,clicks\nA,200,52,9\nB,200,45,4\n", "r"),
                      source="file:r", operator="human:ana")
    await log_in(abclient, read_token(abws.root) or "")
    piece_id = ab.ab_report(abws, test_id)["piece_id"]
    piece_page = await abclient.get(f"/pieces/{piece_id}")
    assert f'href="/ab/{test_id}"' in piece_page.text
    assert re.search(r'class="confidence" data-confidence="[\d.]+">Confidence \d\.\d\d \(checks', piece_page.text)
    desk_page = await abclient.get("/")  # the hard-gated newsletter waits in the queue, with its confidence
    assert re.search(r'class="q-confidence" title="confidence [^"]+">confidence \d\.\d\d</span>', desk_page.text)
    page = await abclient.get(f"/ab/{test_id}")
    assert page.status_code == 200
    svg = re.search(r"<svg class=\"chart ab\".*?</svg>", page.text, re.S)
    assert svg is not None
    variants = ab.ab_report(abws, test_id)["variants"]
    # One row per variant: its interval bar, its mean dot and its probability of being best.
    assert svg.group(0).count("<circle") == 2
    for variant in variants:
        assert f">{variant['p_best']:.3f}</text>" in svg.group(0)
        assert f"mean {variant['posterior_mean'] * 100:.2f}%" in svg.group(0)
    assert "Tallybook 3.2: bank feeds for 40 more banks" in page.text


async def test_without_an_ab_table_the_hook_is_404(tmp_path: Path, llm: OpenAIServer, monkeypatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    ws = make_workspace(tmp_path / "plain", llm.base_url)
    app = create_app(ws, with_workers=False)
    body = report("ab-x", [("A", 1, 0, 0)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        answer = await http.post("/hooks/ab", content=body, headers=signed_headers(AB_SECRET, body, "r-1"))
    assert answer.status_code == 404 and "[ab] secret_env" in answer.json()["error"]["message"]
    ws.close()

"""The desk's Undo: offered in the flash after an undoable action (and on the pages while the
window lasts), posted with the session's CSRF token, refused for someone else's action or a
second time; the JSON API's GET/POST /api/v1/undo does the same."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.web.conftest import log_in, run_until_idle

pytestmark = pytest.mark.anyio
HX = {"HX-Request": "true"}


def offered_seq(html: str) -> int | None:
    form = re.search(r'<form class="undo".*?name="seq" value="(\d+)".*?</form>', html, re.S)
    return int(form.group(1)) if form else None


async def test_undo_on_the_desk_takes_the_approval_back_once(client, app, token, ws, reviewed) -> None:
    csrf = await log_in(client, token, operator="cleo")
    piece = reviewed["newsletter"]["id"]
    approved = await client.post(f"/ui/pieces/{piece}/approve", data={"version": "1"}, headers=HX | {"X-CSRF-Token": csrf})
    assert approved.status_code == 200
    seq = offered_seq(approved.text)
    assert seq is not None and 'data-key="u"' in approved.text and "your approval of newsletter piece" in approved.text
    page = await client.get(f"/pieces/{piece}")  # a page shows the offer too, while the window lasts
    assert offered_seq(page.text) == seq and "<kbd>u</kbd> undo your last action" in page.text
    head = ws.store.head()
    no_csrf = await client.post("/ui/undo", data={"seq": str(seq)}, headers=HX)
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text and ws.store.head() == head
    # Someone else (another session) may not undo cleo's approval.
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    other_csrf = await log_in(other, token, operator="dora")
    theirs = await other.post("/ui/undo", data={"seq": str(seq)}, headers=HX | {"X-CSRF-Token": other_csrf})
    await other.aclose()
    assert theirs.status_code == 403 and "is an action of human:cleo, not of dora" in theirs.text
    assert ws.store.head() == head
    undone = await client.post("/ui/undo", data={"seq": str(seq), "where": "desk"}, headers=HX | {"X-CSRF-Token": csrf})
    assert undone.status_code == 200 and "undid your approval of newsletter piece" in undone.text
    assert offered_seq(undone.text) is None  # an undo is not offered for undoing
    assert ws.store.query("SELECT status FROM pieces WHERE id = ?", (piece,))[0]["status"] == "in_review"
    again = await client.post("/ui/undo", data={"seq": str(seq)}, headers=HX | {"X-CSRF-Token": csrf})
    assert again.status_code == 409 and "undone already" in again.text
    run_until_idle(ws)
    assert ws.store.query("SELECT status FROM pieces WHERE id = ?", (piece,))[0]["status"] == "in_review"
    # Without htmx, a form post goes back to the piece page.
    await client.post(f"/ui/pieces/{piece}/reject", data={"reason": "off-brand"}, headers=HX | {"X-CSRF-Token": csrf})
    plain = await client.post("/ui/undo", data={"csrf_token": csrf})
    assert plain.status_code == 303 and plain.headers["location"] == f"/pieces/{piece}"
    assert ws.store.query("SELECT status FROM pieces WHERE id = ?", (piece,))[0]["status"] == "in_review"


async def test_the_api_names_the_last_action_and_undoes_it(client, bearer, ws, reviewed) -> None:
    piece = reviewed["newsletter"]["id"]
    empty = await client.get("/api/v1/undo", headers=bearer)
    assert empty.status_code == 200 and empty.json()["undo"] is None
    rejected = await client.post(f"/api/v1/pieces/{piece}/reject", json={"reason": "off-brand"}, headers=bearer)
    assert rejected.status_code == 200
    offer = (await client.get("/api/v1/undo", headers=bearer)).json()["undo"]
    assert offer["action"] == "reject" and offer["piece_id"] == piece and offer["until"].endswith("Z")
    done = await client.post("/api/v1/undo", json={"seq": offer["seq"]}, headers=bearer)
    assert done.status_code == 200 and done.json()["status"] == "in_review" and done.json()["undone"] == offer["seq"]
    again = await client.post("/api/v1/undo", json={"seq": offer["seq"]}, headers=bearer)
    assert again.status_code == 409 and "undone already" in again.json()["error"]["message"]

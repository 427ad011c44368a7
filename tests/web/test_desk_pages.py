"""The desk's pages and buttons through the ASGI client: login, CSRF, the queue with SLA
escalation, channel-true rendering, actions as events by human:<name>, and no secrets shown."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from tests.support.harness import PROJECT_YAML, RELEASE_NOTES, add_release_notes, pieces_by_channel
from tests.support.web import csrf_from
from tests.web.conftest import HOOK_SECRET, log_in, run_until_idle
from tests.web.failing_pieces import FAILING_NOTES, failing_reply

from masthead.app.commands import add_signal, apply_project
from masthead.app.desk import desk_queue
from masthead.app.workspace import Workspace

pytestmark = pytest.mark.anyio
HX = {"HX-Request": "true"}


async def test_pages_send_the_browser_to_login(client) -> None:
    for path in ("/", "/pieces", "/dashboard", "/pieces/pc-x", "/ui/queue"):
        answer = await client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    partial = await client.get("/ui/queue", headers=HX)
    assert partial.status_code == 401 and partial.headers["HX-Redirect"].startswith("/login")


async def test_login_sets_a_strict_http_only_cookie(client, token) -> None:
    page = await client.get("/login")
    assert page.status_code == 200 and 'type="password"' in page.text
    answer = await client.post("/login", data={"token": token, "operator": "ana", "next": "/dashboard"})
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    cookie = answer.headers["set-cookie"]
    assert "masthead_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert token not in cookie
    assert (await client.get("/dashboard")).status_code == 200


async def test_bad_logins_and_open_redirects_are_refused(client, token) -> None:
    wrong = await client.post("/login", data={"token": "mh_guess", "operator": "ana"})
    assert wrong.status_code == 401 and "not this workspace" in wrong.text and "set-cookie" not in wrong.headers
    bad_name = await client.post("/login", data={"token": token, "operator": "ana smith"})
    assert bad_name.status_code == 401 and "set-cookie" not in bad_name.headers
    for target in ("https://evil.example/", "//evil.example/", "/\\evil"):
        answer = await client.post("/login", data={"token": token, "operator": "ana", "next": target})
        assert answer.headers["location"] == "/"


async def test_many_wrong_tokens_are_slowed_down(client, token) -> None:
    for _ in range(10):
        await client.post("/login", data={"token": "mh_guess", "operator": "ana"})
    blocked = await client.post("/login", data={"token": token, "operator": "ana"})
    assert blocked.status_code == 429


async def test_logout_needs_csrf_and_ends_the_session(client, token) -> None:
    csrf = await log_in(client, token)
    assert (await client.post("/logout")).status_code == 403
    answer = await client.post("/logout", data={"csrf_token": csrf})
    assert answer.status_code == 303
    client.cookies.clear()
    assert (await client.get("/")).status_code == 303


async def test_the_desk_shows_the_queue_and_the_selected_piece(client, token, reviewed) -> None:
    await log_in(client, token)
    newsletter = reviewed["newsletter"]
    page = await client.get("/")
    assert page.status_code == 200
    assert f'data-piece="{newsletter["id"]}"' in page.text
    assert "As it will appear on newsletter" in page.text and "Approve v1" in page.text
    assert re.search(r'hx-headers=\'\{"X-CSRF-Token": "[^"]+"\}\'', page.text)
    for header in ("content-security-policy", "x-content-type-options", "x-frame-options"):
        assert header in page.headers
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline: the CSP forbids it


async def test_piece_page_renders_the_channel_count_versions_and_lineage(client, token, ws, reviewed) -> None:
    await log_in(client, token)
    x = reviewed["x"]
    page = (await client.get(f"/pieces/{x['id']}")).text
    assert "As it will appear on x" in page
    assert f"<strong>{len(x['text'])}</strong> / 280 weighted characters" in page
    assert "Lineage" in page and "release_notes" in page and "openai:gpt-test" in page
    assert "approved" in page and "published" in page  # decisions and publication
    # What the signal says (its extracted items) and the candidates the draft was chosen from.
    assert "What the signal says" in page and "most salient first" in page
    assert "Draft candidates" in page and "chosen" in page and "why:" in page
    letter = (await client.get(f"/pieces/{reviewed['newsletter']['id']}")).text
    assert "Subject" in letter and "/60" in letter and "no limit on newsletter" in letter


async def test_over_the_limit_is_marked(client, token, ws, tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_text(PROJECT_YAML.replace("x: {gate: auto}", "x: {gate: hard}"), "utf-8")
    apply_project(ws, tmp_path / "project.yaml")
    job = add_release_notes(ws)
    run_until_idle(ws)
    x_piece = pieces_by_channel(ws, job)["x"]["id"]
    csrf = await log_in(client, token)
    long_text = "Tallybook 3.2 is out. " + "界" * 140  # CJK weighs 2 on X: 22 + 280 = 302
    edited = await client.post(f"/ui/pieces/{x_piece}/edit", data={"text": long_text, "csrf_token": csrf}, headers=HX)
    assert edited.status_code == 200
    assert "<strong>302</strong> / 280 weighted characters · over by 22" in edited.text
    assert 'class="counter over"' in edited.text and "✗" in edited.text  # and the length check failed


async def test_a_thread_is_shown_post_by_post_with_each_posts_count(client, token, ws, tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_text(PROJECT_YAML.replace("x: {gate: auto}", "x: {gate: hard}"), "utf-8")
    apply_project(ws, tmp_path / "project.yaml")
    job = add_release_notes(ws)
    run_until_idle(ws)
    x_piece = pieces_by_channel(ws, job)["x"]["id"]
    csrf = await log_in(client, token)
    thread = "Tallybook 3.2: bank feeds for 40 more banks.\n---\nThe dashboard loads 35% faster. " + "界" * 130
    edited = await client.post(f"/ui/pieces/{x_piece}/edit", data={"text": thread, "csrf_token": csrf}, headers=HX)
    assert edited.status_code == 200
    assert "A thread of 2 posts" in edited.text
    # Each post with its number, counted as X counts it: 44 + "1/2" line = 48; 32 + 260 + 4 = 296.
    assert "<strong>48</strong> / 280 weighted characters" in edited.text
    assert "<strong>296</strong> / 280 weighted characters · over by 16" in edited.text
    assert "part 2 is 296 (16 over)" in edited.text and "a line of only <code>---</code>" in edited.text


# A person's edit of the newsletter that passes every check (long enough for the substance
# check, every number from the release notes): approving it needs no confirmation.
EDITED_LETTER = "Tallybook 3.2 brings bank feeds\nfor 40 more banks, and the dashboard loads 35% faster. Less typing."


async def test_actions_need_csrf_and_are_events_by_the_operator(client, token, ws, reviewed) -> None:
    csrf = await log_in(client, token, operator="cleo")
    piece = reviewed["newsletter"]["id"]
    head = ws.store.head()
    refused = await client.post(f"/ui/pieces/{piece}/approve", data={"version": "1"}, headers=HX)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert ws.store.head() == head
    edited = await client.post(f"/ui/pieces/{piece}/edit", headers=HX | {"X-CSRF-Token": csrf},
                               data={"text": EDITED_LETTER.replace("\n", "\r\n"), "subject": "3.2 is out"})
    assert edited.status_code == 200 and "saved v2" in edited.text
    assert "<del>" in edited.text and "<ins>" in edited.text  # the diff of the edit
    assert '"queue-changed"' in edited.headers["HX-Trigger"]
    stale = await client.post(f"/ui/pieces/{piece}/approve", data={"version": "1"}, headers=HX | {"X-CSRF-Token": csrf})
    assert stale.status_code == 409 and "v2" in stale.text
    approved = await client.post(f"/ui/pieces/{piece}/approve", data={"version": "2"}, headers=HX | {"X-CSRF-Token": csrf})
    assert approved.status_code == 200 and "approved newsletter piece &#39;3.2 is out&#39; v2" in approved.text
    rows = ws.store.query("SELECT decision, actor FROM decisions WHERE piece_id = ? AND decision IN ('edited', 'approved')"
                          " ORDER BY seq", (piece,))
    assert rows == [{"decision": "edited", "actor": "human:cleo"}, {"decision": "approved", "actor": "human:cleo"}]
    text = ws.store.query("SELECT text, subject FROM pieces WHERE id = ?", (piece,))[0]
    assert text == {"text": EDITED_LETTER, "subject": "3.2 is out"}


async def test_reject_refine_and_plain_form_posts(client, token, ws) -> None:
    csrf = await log_in(client, token)
    jobs = [add_release_notes(ws) for _ in range(2)]
    run_until_idle(ws)
    pieces = [pieces_by_channel(ws, job)["newsletter"]["id"] for job in jobs]
    empty = await client.post(f"/ui/pieces/{pieces[0]}/reject", data={"reason": " ", "csrf_token": csrf}, headers=HX)
    assert empty.status_code == 422 and "reason" in empty.text
    # Without htmx (no JavaScript) a form post answers with a redirect back to the piece.
    plain = await client.post(f"/ui/pieces/{pieces[0]}/reject", data={"reason": "off-brand", "csrf_token": csrf})
    assert plain.status_code == 303 and plain.headers["location"] == f"/pieces/{pieces[0]}"
    refined = await client.post(f"/ui/pieces/{pieces[1]}/refine", data={"note": "shorter", "csrf_token": csrf}, headers=HX)
    assert refined.status_code == 200 and "refinement queued" in refined.text
    statuses = {r["id"]: r["status"] for r in ws.store.query("SELECT id, status FROM pieces WHERE id IN (?, ?)", pieces)}
    assert statuses[pieces[0]] == "rejected"


async def test_review_sla_moves_overdue_items_up(client, token, ws, tmp_path: Path) -> None:
    slow = add_release_notes(ws, priority="low")
    run_until_idle(ws)
    (tmp_path / "project.yaml").write_text(PROJECT_YAML + "review_sla_minutes: 30\n", "utf-8")
    apply_project(ws, tmp_path / "project.yaml")
    urgent = add_release_notes(ws, priority="high")
    run_until_idle(ws)
    low_piece = pieces_by_channel(ws, slow)["newsletter"]["id"]
    high_piece = pieces_by_channel(ws, urgent)["newsletter"]["id"]
    import time

    now = time.time()

    def order(at: float) -> list[dict]:  # the two newsletters (other channels may wait too)
        return [i for i in desk_queue(ws, at) if i["piece_id"] in (low_piece, high_piece)]

    assert [i["piece_id"] for i in order(now)] == [high_piece, low_piece]
    later = order(now + 31 * 60)  # both past the SLA: both overdue, priority decides between them
    assert all(i["overdue"] for i in later) and [i["piece_id"] for i in later] == [high_piece, low_piece]
    from masthead.app.desk import epoch

    since = {i["piece_id"]: i["since"] for i in order(now)}
    only_low = epoch(since[low_piece]) + 30 * 60 + 0.001  # the older piece is just past 30 minutes
    assert epoch(since[high_piece]) + 30 * 60 > only_low, "the second job was reviewed in the same microsecond"
    escalated = order(only_low)
    assert [i["piece_id"] for i in escalated] == [low_piece, high_piece]
    assert escalated[0]["overdue"] and not escalated[1]["overdue"]
    await log_in(client, token)
    assert "overdue" not in (await client.get("/ui/queue")).text


async def test_dashboard_and_pieces_list(client, token, reviewed) -> None:
    await log_in(client, token)
    board = await client.get("/dashboard")
    assert board.status_code == 200
    assert board.text.count("<svg") >= 2 and "Approval latency" in board.text and "Budget use" in board.text
    listing = await client.get("/pieces?status=published")
    assert listing.status_code == 200 and listing.text.count("st-published") == 2
    assert (await client.get("/pieces?status=lost")).status_code == 422


async def test_no_secret_in_any_page_or_event(client: httpx.AsyncClient, token: str, ws: Workspace, reviewed) -> None:
    from tests.support.web import signed_headers

    body = b'{"title": "hook"}'
    assert (await client.post("/hooks/github", content=body, headers=signed_headers(HOOK_SECRET, body, "s-1"))).status_code == 202
    wrong = await client.post("/login", data={"token": token[:-1] + "x", "operator": "ana"})
    assert token not in wrong.text
    csrf = await log_in(client, token)
    piece = reviewed["newsletter"]["id"]
    await client.post(f"/ui/pieces/{piece}/approve", data={"version": "1"}, headers=HX | {"X-CSRF-Token": csrf})
    pages = [await client.get(p) for p in ("/", "/pieces", f"/pieces/{piece}", "/dashboard", "/ui/queue",
                                            f"/ui/pieces/{piece}/panel", "/login", "/openapi.json")]
    bearer = {"Authorization": f"Bearer {token}"}
    pages += [await client.get(p, headers=bearer) for p in ("/api/v1/events?limit=500", "/metrics", "/api/v1/review-queue")]
    for page in pages:
        assert token not in page.text and HOOK_SECRET not in page.text, page.request.url
    csrf_from(pages[0].text)  # the CSRF token is on the page by design; the operator token never is
    for event in ws.store.read():
        raw = str(event.as_dict())
        assert token not in raw and HOOK_SECRET not in raw and "sk-test" not in raw


def failing_newsletter(ws: Workspace, llm) -> dict:
    """A hard-gated newsletter in review whose v2 (the refinement) failed subject_length and grounding."""
    llm.default_reply = failing_reply
    job = add_release_notes(ws, body=FAILING_NOTES)
    run_until_idle(ws)
    letter = pieces_by_channel(ws, job)["newsletter"]
    assert letter["status"] == "in_review" and letter["version"] == 2
    return letter


async def test_approving_a_version_with_failed_checks_asks_to_confirm_first(client, token, ws, llm) -> None:
    letter = failing_newsletter(ws, llm)
    piece = letter["id"]
    csrf = await log_in(client, token, operator="cleo")
    headers = HX | {"X-CSRF-Token": csrf}
    head = ws.store.head()
    for form in ({"version": "2"}, {"version": "2", "confirm_failed_checks": "1"}):
        asked = await client.post(f"/ui/pieces/{piece}/approve", data=form, headers=headers)
        assert asked.status_code == 200 and "HX-Trigger" not in asked.headers
        assert "Approve despite failed checks?" in asked.text
        assert "newsletter piece &#39;Tallybook 3.2 is here with everything ...&#39; v2 failed 2 checks" in asked.text
        assert re.search(r'<strong class="fail">grounding</strong> \([^)]*9000', asked.text)
        assert '<strong class="fail">subject_length</strong> (subject is 120 of 60' in asked.text
        assert 'name="confirm_failed_checks" value="2"' in asked.text
        assert ws.store.head() == head, "asking to confirm must not append anything"
    shown = await client.get(f"/ui/pieces/{piece}/panel")
    assert "2 checks failed: approving asks you to confirm" in shown.text
    plain = await client.post(f"/ui/pieces/{piece}/approve", data={"version": "2", "csrf_token": csrf})
    assert plain.status_code == 200 and "Approve despite failed checks?" in plain.text and "<html" in plain.text
    assert ws.store.head() == head
    approved = await client.post(f"/ui/pieces/{piece}/approve", data={"version": "2", "confirm_failed_checks": "2"},
                                 headers=headers)
    assert approved.status_code == 200 and '"queue-changed"' in approved.headers["HX-Trigger"]
    assert "approved newsletter piece &#39;Tallybook 3.2 is here with everything ...&#39; v2" in approved.text
    rows = ws.store.query("SELECT decision, version, actor FROM decisions WHERE piece_id = ? AND decision = 'approved'",
                          (piece,))
    assert rows == [{"decision": "approved", "version": 2, "actor": "human:cleo"}]


async def test_queue_cards_name_the_signal_they_came_from(client, token, ws) -> None:
    added = [add_signal(ws, "tallybook", kind="release_notes", body=RELEASE_NOTES, title=title, priority="normal",
                        source="test")
             for title in ("Tallybook 3.2", "Tallybook 3.3")]
    run_until_idle(ws)
    await log_in(client, token)
    queue = (await client.get("/ui/queue")).text
    today = time.strftime("%Y-%m-%d", time.gmtime())
    for title, signal in zip(("Tallybook 3.2", "Tallybook 3.3"), added, strict=True):
        assert re.search(rf'from {re.escape(title)}\s+· <code>{signal.signal_id}</code> · received {today} \d\d:\d\d UTC',
                         queue), f"no card names {title} ({signal.signal_id})"


async def test_favicon_is_served_and_linked(client) -> None:
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg") and len(icon.content) < 2048
    assert (await client.get("/static/favicon.svg")).content == icon.content
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in (await client.get("/login")).text


async def test_work_held_back_by_a_missing_key_is_on_the_desk_with_its_reason(client, token, ws, monkeypatch) -> None:
    # With no key the steps wait (`waiting_config`): an empty queue must not read as "nothing to do".
    from tests.support.harness import KEY_ENV

    monkeypatch.delenv(KEY_ENV)
    add_release_notes(ws)
    run_until_idle(ws)
    await log_in(client, token)
    page = (await client.get("/")).text
    assert "Held back" in page and "waiting config" in page
    assert KEY_ENV in page  # the reason names the variable to set, never a value
    assert "some work is held back" in page

"""Every /api/v1 route through the ASGI client: answers, error shapes and auth failures."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from tests.support.harness import PROJECT_YAML, add_release_notes, pieces_by_channel
from tests.support.openai_server import OpenAIServer
from tests.web.conftest import log_in, run_until_idle

from masthead.app.commands import apply_project
from masthead.app.workspace import Workspace
from masthead.projections.replay import verify

pytestmark = pytest.mark.anyio

# Every route of the OpenAPI schema, each with a request that exercises it; a new route fails
# `test_every_api_route_is_covered` until it is added here (and tested below).
ROUTES = {
    ("get", "/api/v1/projects"), ("get", "/api/v1/projects/{name}"),
    ("get", "/api/v1/signals"), ("get", "/api/v1/signals/{signal_id}"), ("post", "/api/v1/signals"),
    ("get", "/api/v1/jobs"), ("get", "/api/v1/jobs/{job_id}"),
    ("get", "/api/v1/tasks"), ("get", "/api/v1/tasks/{task_id}"), ("post", "/api/v1/tasks/{task_id}/complete"),
    ("get", "/api/v1/pieces"), ("get", "/api/v1/pieces/{piece_id}"), ("get", "/api/v1/pieces/{piece_id}/versions"),
    ("get", "/api/v1/pieces/{piece_id}/diff"),
    ("get", "/api/v1/review-queue"), ("post", "/api/v1/pieces/{piece_id}/approve"),
    ("post", "/api/v1/pieces/{piece_id}/reject"), ("post", "/api/v1/pieces/{piece_id}/edit"),
    ("post", "/api/v1/pieces/{piece_id}/refine"), ("post", "/api/v1/pieces/{piece_id}/complete"),
    ("post", "/api/v1/pieces/{piece_id}/revert"), ("post", "/api/v1/pieces/{piece_id}/reopen"),
    ("get", "/api/v1/publications"), ("post", "/api/v1/publications/{key}/settle"), ("get", "/api/v1/costs"),
    ("get", "/api/v1/dashboard"),
    ("get", "/api/v1/events"), ("get", "/api/v1/stream"),
    ("get", "/api/v1/memory"), ("get", "/api/v1/memory/search"), ("post", "/api/v1/memory"),
    ("post", "/api/v1/memory/{item_id}/forget"),
    ("get", "/api/v1/undo"), ("post", "/api/v1/undo"),  # tests/web/test_desk_undo.py
    ("post", "/api/v1/jobs/{job_id}/retry"),  # below; the retry itself: tests/integration/test_retry_job.py
    ("post", "/hooks/{source}"), ("post", "/hooks/ab"),  # /hooks/ab: tests/web/test_ab_hook.py
}


def error_of(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body
    error: dict[str, Any] = body["error"]
    return error


def concrete(path: str) -> str:
    return (path.replace("{name}", "tallybook").replace("{signal_id}", "sig-x").replace("{job_id}", "job-x")
            .replace("{task_id}", "t-x").replace("{piece_id}", "pc-x").replace("{source}", "github").replace("{item_id}", "mem-x")
            .replace("{key}", "pc-x:v1:x"))


async def test_every_api_route_is_covered(client: httpx.AsyncClient, bearer: dict[str, str]) -> None:
    schema = (await client.get("/openapi.json", headers=bearer)).json()
    found = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert found == ROUTES


@pytest.mark.parametrize(("method", "path"), sorted(r for r in ROUTES if r[1].startswith("/api/")))
async def test_every_api_route_needs_the_token(client: httpx.AsyncClient, ws: Workspace, method: str, path: str) -> None:
    head = ws.store.head()
    for headers in ({}, {"Authorization": "Bearer mh_wrong"}, {"Authorization": "Basic YWJjOmRlZg=="}):
        answer = await client.request(method, concrete(path), headers=headers, json={})
        assert answer.status_code == 401, (path, headers, answer.text)
        assert error_of(answer)["code"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
    assert ws.store.head() == head  # refused requests wrote nothing


async def test_metrics_needs_the_token_and_speaks_prometheus(client, bearer, reviewed) -> None:
    assert (await client.get("/metrics")).status_code == 401
    answer = await client.get("/metrics", headers=bearer)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    assert '# TYPE masthead_pieces gauge' in text
    assert 'masthead_pieces{status="published"} 2' in text
    assert "masthead_review_queue_size 1" in text
    assert 'masthead_model_cost_usd_total{model="gpt-test",project="tallybook",provider="openai"}' in text
    for line in text.splitlines():  # every sample line is `name{labels} number`
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


async def test_projects(client, bearer) -> None:
    listed = (await client.get("/api/v1/projects", headers=bearer)).json()
    assert [p["name"] for p in listed] == ["tallybook"]
    assert listed[0]["spec"]["channels"]["newsletter"]["gate"] == "hard"
    one = await client.get("/api/v1/projects/tallybook", headers=bearer)
    assert one.status_code == 200 and one.json()["revision"] == 1
    missing = await client.get("/api/v1/projects/nope", headers=bearer)
    assert missing.status_code == 404 and error_of(missing) == {
        "code": "not_found", "message": missing.json()["error"]["message"], "field": "name"}


async def test_signals_create_list_show(client, bearer, ws) -> None:
    answer = await client.post("/api/v1/signals", headers=bearer, json={
        "project": "tallybook", "kind": "release_notes", "body": "# 3.3\n- Dark mode.", "title": "3.3"})
    assert answer.status_code == 202
    created = answer.json()
    assert created["recipes"] == ["release-notes"] and len(created["job_ids"]) == 1
    stored = ws.store.query("SELECT body, source FROM signals WHERE id = ?", (created["signal_id"],))
    assert stored == [{"body": "# 3.3\n- Dark mode.", "source": "api:human:ana"}]
    listed = (await client.get("/api/v1/signals?project=tallybook", headers=bearer)).json()
    assert [s["id"] for s in listed] == [created["signal_id"]] and "body" not in listed[0]
    one = (await client.get(f"/api/v1/signals/{created['signal_id']}", headers=bearer)).json()
    assert one["body"] == "# 3.3\n- Dark mode." and one["jobs"][0]["id"] == created["job_ids"][0]
    assert (await client.get("/api/v1/signals/sig-none", headers=bearer)).status_code == 404


async def test_a_created_signal_says_which_jobs_backpressure_parks_and_why(client, bearer, ws) -> None:
    (ws.root / "project.yaml").write_text(PROJECT_YAML.replace("channels:", "max_active_jobs: 1\nchannels:"), "utf-8")
    apply_project(ws, ws.root / "project.yaml")
    note = {"project": "tallybook", "kind": "release_notes", "body": "# 3.3\n- Dark mode.", "title": "3.3"}
    first = (await client.post("/api/v1/signals", headers=bearer, json=note)).json()
    assert first["deferred"] == {} and first["budget_wait"] is None
    second = (await client.post("/api/v1/signals", headers=bearer, json=note | {"body": "# 3.4\n- Exports."})).json()
    [parked] = second["job_ids"]
    assert list(second["deferred"]) == [parked]
    assert "1 of 1 active jobs for project tallybook (max_active_jobs 1)" in second["deferred"][parked]


async def test_a_signal_about_a_person_is_sealed_and_read_back_opened(client, bearer, ws) -> None:
    brief = "Clara wants a landing page for her bakery; budget 4,000 GBP."
    answer = await client.post("/api/v1/signals", headers=bearer, json={
        "project": "tallybook", "kind": "release_notes", "body": brief, "title": "Clara's brief",
        "person": "clara@client.example"})
    assert answer.status_code == 202
    signal_id = answer.json()["signal_id"]
    stored = ws.store.query("SELECT title, body, subject FROM signals WHERE id = ?", (signal_id,))[0]
    assert stored["title"] is None and stored["body"] == "" and stored["subject"].startswith("subj_")
    assert "Clara" not in " ".join(row["data"] for row in ws.store.query("SELECT data FROM events"))
    shown = (await client.get(f"/api/v1/signals/{signal_id}", headers=bearer)).json()
    assert shown["body"] == brief and shown["title"] == "Clara's brief" and not shown["forgotten"]
    bad = await client.post("/api/v1/signals", headers=bearer, json={
        "project": "tallybook", "kind": "release_notes", "body": brief, "person": "clara"})
    assert bad.status_code == 422 and error_of(bad)["field"] == "person"


async def test_retrying_a_job_with_nothing_failed_is_a_conflict_that_writes_nothing(client, bearer, ws) -> None:
    job_id = add_release_notes(ws)
    head = ws.store.head()
    answer = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=bearer, json={"reason": "again"})
    assert answer.status_code == 409 and "has no failed step" in error_of(answer)["message"]
    missing = await client.post("/api/v1/jobs/job-nope/retry", headers=bearer, json={"reason": "again"})
    assert missing.status_code == 404 and error_of(missing)["field"] == "job"
    empty = await client.post(f"/api/v1/jobs/{job_id}/retry", headers=bearer, json={"reason": ""})
    assert empty.status_code == 422 and error_of(empty)["field"] == "reason"
    assert ws.store.head() == head


async def test_bad_signals_change_nothing(client, bearer, ws) -> None:
    head = ws.store.head()
    cases = [
        ({"project": "nope", "kind": "release_notes", "body": "x"}, 404, None),
        ({"project": "tallybook", "kind": "release notes", "body": "x"}, 422, "kind"),
        ({"project": "tallybook", "kind": "release_notes", "body": "x", "priority": "urgent"}, 422, "priority"),
        ({"project": "tallybook", "kind": "release_notes", "body": ""}, 422, "body"),
        ({"project": "tallybook", "kind": "release_notes", "body": "  \n "}, 422, None),
        ({"project": "tallybook", "kind": "release_notes", "body": "x", "extra": 1}, 422, "extra"),
    ]
    for payload, status, field in cases:
        answer = await client.post("/api/v1/signals", headers=bearer, json=payload)
        assert answer.status_code == status, (payload, answer.text)
        error = error_of(answer)
        assert error["message"]
        if field:
            assert error["field"] == field
    broken = await client.post("/api/v1/signals", headers=bearer | {"Content-Type": "application/json"}, content=b"{nope")
    assert broken.status_code == 422 and error_of(broken)["code"] == "invalid_input"
    assert ws.store.head() == head


async def test_jobs_and_tasks(client, bearer, reviewed) -> None:
    job_id = reviewed["x"]["job_id"]
    jobs = (await client.get("/api/v1/jobs?status=running", headers=bearer)).json()
    assert [j["id"] for j in jobs] == [job_id]
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=bearer)).json()
    assert {p["channel"] for p in job["pieces"]} == {"x", "linkedin", "newsletter"}
    assert job["tasks"][0]["step"] == "brief" and isinstance(job["tasks"][0]["output"], dict)
    waiting = (await client.get(f"/api/v1/tasks?job_id={job_id}&status=waiting", headers=bearer)).json()
    assert [t["id"] for t in waiting] == [f"{job_id}.gate.newsletter"]
    task = (await client.get(f"/api/v1/tasks/{job_id}.brief", headers=bearer)).json()
    assert task["status"] == "done" and task["output"]["agent"] == "brief"
    bad = await client.get("/api/v1/jobs?status=sleeping", headers=bearer)
    assert bad.status_code == 422 and error_of(bad)["field"] == "status"
    assert (await client.get("/api/v1/tasks/none", headers=bearer)).status_code == 404
    assert (await client.get("/api/v1/jobs/none", headers=bearer)).status_code == 404
    assert (await client.get("/api/v1/tasks?limit=0", headers=bearer)).status_code == 422


async def test_pieces_detail_versions_and_diff(client, bearer, reviewed) -> None:
    newsletter = reviewed["newsletter"]["id"]
    listed = (await client.get("/api/v1/pieces?status=published", headers=bearer)).json()
    assert {p["channel"] for p in listed} == {"x", "linkedin"}
    detail = (await client.get(f"/api/v1/pieces/{newsletter}", headers=bearer)).json()
    assert detail["lineage"]["signal"]["kind"] == "release_notes"
    assert detail["rendering"]["count"] == len(detail["text"]) and detail["rendering"]["limit"] is None
    assert detail["rendering"]["subject"] == detail["subject"]
    edited = await client.post(f"/api/v1/pieces/{newsletter}/edit", headers=bearer,
                               json={"text": "Tallybook 3.2 brings bank feeds for 40 more banks.", "operator": "ana"})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    versions = (await client.get(f"/api/v1/pieces/{newsletter}/versions", headers=bearer)).json()
    assert [(v["version"], v["author"]) for v in versions] == [(1, versions[0]["author"]), (2, "human:ana")]
    assert versions[1]["checks"], "checks run on a human edit at once"
    diff = (await client.get(f"/api/v1/pieces/{newsletter}/diff", headers=bearer)).json()
    assert (diff["from"], diff["to"]) == (1, 2)
    assert diff["unified"].startswith("--- v1\n+++ v2\n")
    # v1 is the model's hook spliced onto the composed sections; the edit keeps its first words.
    assert diff["words"][0] == {"op": "equal", "text": "Tallybook 3.2 brings bank feeds for 40 more banks"}
    assert diff["words"][1]["op"] == "delete" and diff["words"][1]["text"].startswith(" and a 35% faster dashboard")
    explicit = (await client.get(f"/api/v1/pieces/{newsletter}/diff?from=2&to=2", headers=bearer)).json()
    assert explicit["words"] == [{"op": "equal", "text": "Tallybook 3.2 brings bank feeds for 40 more banks."}]
    missing = await client.get(f"/api/v1/pieces/{newsletter}/diff?from=9", headers=bearer)
    assert missing.status_code == 404 and error_of(missing)["field"] == "from"
    assert (await client.get("/api/v1/pieces/pc-none", headers=bearer)).status_code == 404


async def test_review_actions_are_events_by_the_operator(client, bearer, ws, reviewed) -> None:
    newsletter = reviewed["newsletter"]["id"]
    queue = (await client.get("/api/v1/review-queue", headers=bearer)).json()
    assert [i["piece_id"] for i in queue["pieces"]] == [newsletter] and queue["needs_human"] == []
    stale = await client.post(f"/api/v1/pieces/{newsletter}/approve", headers=bearer, json={"version": 7})
    assert stale.status_code == 409 and error_of(stale)["code"] == "wrong_state"
    empty = await client.post(f"/api/v1/pieces/{newsletter}/reject", headers=bearer, json={"reason": ""})
    assert empty.status_code == 422 and error_of(empty)["field"] == "reason"
    bad_name = await client.post(f"/api/v1/pieces/{newsletter}/approve", headers=bearer, json={"operator": "a b"})
    assert bad_name.status_code == 422 and error_of(bad_name)["field"] == "operator"
    approved = await client.post(f"/api/v1/pieces/{newsletter}/approve", headers=bearer,
                                 json={"version": 1, "operator": "bea"})
    assert approved.status_code == 200 and approved.json() == {
        "piece_id": newsletter, "status": "approved", "approved_version": 1, "missing": []}
    again = await client.post(f"/api/v1/pieces/{newsletter}/approve", headers=bearer, json={})
    assert again.status_code == 409
    decisions = ws.store.query("SELECT decision, actor FROM decisions WHERE piece_id = ? AND decision = 'approved'",
                               (newsletter,))
    assert decisions == [{"decision": "approved", "actor": "human:bea"}]
    run_until_idle(ws)
    publications = (await client.get("/api/v1/publications?status=delivered", headers=bearer)).json()
    assert newsletter in {p["piece_id"] for p in publications}
    rejected = await client.post(f"/api/v1/pieces/{newsletter}/reject", headers=bearer, json={"reason": "late"})
    assert rejected.status_code == 409  # already published
    assert (await client.get("/api/v1/publications?status=lost", headers=bearer)).status_code == 422
    assert verify(ws.store).ok


async def test_reject_with_reason(client, bearer, ws, reviewed) -> None:
    newsletter = reviewed["newsletter"]["id"]
    answer = await client.post(f"/api/v1/pieces/{newsletter}/reject", headers=bearer, json={"reason": "off-brand"})
    assert answer.status_code == 200
    row = ws.store.query("SELECT actor, reason FROM decisions WHERE piece_id = ? AND decision = 'rejected'", (newsletter,))
    assert row == [{"actor": "human:ana", "reason": "off-brand"}]


async def test_refine_queues_a_final_tier_version(client, bearer, ws, reviewed, llm: OpenAIServer) -> None:
    newsletter = reviewed["newsletter"]["id"]
    answer = await client.post(f"/api/v1/pieces/{newsletter}/refine", headers=bearer,
                               json={"note": "mention the free plan"})
    assert answer.status_code == 202 and answer.json()["task_id"]
    twice = await client.post(f"/api/v1/pieces/{newsletter}/refine", headers=bearer, json={})
    assert twice.status_code == 409
    run_until_idle(ws)
    versions = (await client.get(f"/api/v1/pieces/{newsletter}/versions", headers=bearer)).json()
    assert [v["kind"] for v in versions] == ["draft", "refinement"]
    assert any("mention the free plan" in json.dumps(call.body) for call in llm.calls)


async def test_complete_a_needs_human_step_by_hand(client, bearer, ws, llm: OpenAIServer) -> None:
    from tests.support.harness import content_reply

    def refuse_drafts(body: dict[str, Any]) -> str:
        if body["response_format"]["json_schema"]["name"] == "DraftOutput":
            return "not json at all"
        return content_reply(body)

    llm.default_reply = refuse_drafts
    # Nothing to compose from (the signal has no item), so each failed draft needs a person.
    job = add_release_notes(ws, body="Tallybook 3.2")
    run_until_idle(ws)
    queue = (await client.get("/api/v1/review-queue", headers=bearer)).json()
    handed = {t["id"] for t in queue["needs_human"]}
    assert f"{job}.draft.x" in handed
    by_task = await client.post(f"/api/v1/tasks/{job}.draft.x/complete", headers=bearer,
                                json={"text": "Tallybook 3.2 adds bank feeds for 40 more banks."})
    assert by_task.status_code == 200 and by_task.json()["status"] == "done"
    again = await client.post(f"/api/v1/tasks/{job}.draft.x/complete", headers=bearer, json={"text": "x"})
    assert again.status_code == 409
    linkedin = pieces_by_channel(ws, job).get("linkedin")
    piece_ref = linkedin["id"] if linkedin else f"{job}.draft.linkedin"
    route = f"/api/v1/pieces/{piece_ref}/complete" if linkedin else f"/api/v1/tasks/{piece_ref}/complete"
    by_piece = await client.post(route, headers=bearer,
                                 json={"text": "Tallybook 3.2 adds bank feeds for 40 more banks. Posted by the Tallybook team."})
    assert by_piece.status_code == 200, by_piece.text
    missing = await client.post("/api/v1/pieces/pc-none/complete", headers=bearer, json={"text": "x"})
    assert missing.status_code == 404
    run_until_idle(ws)
    # The substance check holds human versions too: a signal with no item leaves the call to a person.
    assert pieces_by_channel(ws, job)["x"]["status"] == "in_review"
    # Finished by hand, the hand-offs still count as automation giving up: one job, every draft.
    rates = (await client.get("/api/v1/dashboard?days=1", headers=bearer)).json()["rates"]
    drafts = ws.store.query("SELECT COUNT(*) AS n FROM tasks WHERE step = 'draft'")[0]["n"]
    assert rates["needs_human_tasks"] == drafts and rates["manual_fallback_rate"] == 1.0


async def test_costs_dashboard_and_events(client, bearer, reviewed, ws) -> None:
    costs = (await client.get("/api/v1/costs?by=model", headers=bearer)).json()
    assert costs["calls"] > 0 and costs["published_pieces"] == 2
    assert {r["key"] for r in costs["rows"]} >= {"openai:gpt-test"}
    assert (await client.get("/api/v1/costs?by=planet", headers=bearer)).status_code == 422
    board = (await client.get("/api/v1/dashboard?days=3", headers=bearer)).json()
    assert len(board["throughput"]) == 3 and board["throughput"][-1]["statuses"] == {"published": 2, "in_review": 1}
    assert board["review_queue"] == 1 and board["rates"]["job_failure_rate"] is None
    first = (await client.get("/api/v1/events?limit=5", headers=bearer)).json()
    assert [e["seq"] for e in first["events"]] == [1, 2, 3, 4, 5] and first["next_since"] == 5
    assert set(first["events"][0]) == {"seq", "stream", "version", "type", "data", "meta", "hash"}
    rest = (await client.get("/api/v1/events?since=5&limit=500", headers=bearer)).json()
    assert rest["events"][0]["seq"] == 6 and rest["events"][-1]["seq"] == rest["head"] == ws.store.head()[0]
    stream = (await client.get("/api/v1/events?stream=project-tallybook", headers=bearer)).json()
    assert [e["type"] for e in stream["events"]] == ["ProjectApplied"]


async def test_stream_backlog_without_follow(client, bearer, reviewed, ws) -> None:
    """The live stream is tested live against a real server in test_live_stream.py; through the
    ASGI client (which buffers whole responses) only its non-following form can be read."""
    answer = await client.get("/api/v1/stream?since=3&follow=false", headers=bearer)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    ids = [int(line[4:]) for line in answer.text.splitlines() if line.startswith("id: ")]
    assert ids == list(range(3, ws.store.head()[0] + 1))  # "ready" carries 3, then 4..head, each once
    resumed = await client.get("/api/v1/stream?follow=false", headers=bearer | {"Last-Event-ID": "10"})
    assert [int(x[4:]) for x in resumed.text.splitlines() if x.startswith("id: ")][:2] == [10, 11]


async def test_session_cookie_needs_csrf_for_changes(client, token, ws, reviewed) -> None:
    csrf = await log_in(client, token)
    newsletter = reviewed["newsletter"]["id"]
    assert (await client.get("/api/v1/review-queue")).status_code == 200  # reads ride on the session
    head = ws.store.head()
    refused = await client.post(f"/api/v1/pieces/{newsletter}/approve", json={"version": 1})
    assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_failed"
    forged = await client.post(f"/api/v1/pieces/{newsletter}/approve", json={"version": 1},
                               headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    assert forged.status_code == 403
    assert ws.store.head() == head
    accepted = await client.post(f"/api/v1/pieces/{newsletter}/approve", json={"version": 1},
                                 headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 200
    actor = ws.store.query("SELECT actor FROM decisions WHERE piece_id = ? AND decision = 'approved'", (newsletter,))
    assert actor == [{"actor": "human:ana"}]


async def test_memory_remember_search_and_forget(client, bearer, ws) -> None:
    added = await client.post("/api/v1/memory", headers=bearer, json={
        "text": "Tallybook invoices can be paid by card since 3.0.", "kind": "fact", "project": "tallybook",
        "operator": "ana"})
    assert added.status_code == 201 and added.json()["added"] is True
    item_id = added.json()["item_id"]
    again = await client.post("/api/v1/memory", headers=bearer, json={
        "text": "Tallybook invoices can be paid by card since 3.0.", "kind": "fact", "project": "tallybook"})
    assert again.json() == {"item_id": item_id, "added": False}
    listed = {i["id"]: i for i in (await client.get("/api/v1/memory?project=tallybook&kind=fact", headers=bearer)).json()}
    assert listed[item_id]["source"] == "human:ana"  # beside the project's own facts
    found = (await client.get("/api/v1/memory/search?q=paid%20by%20card&project=tallybook", headers=bearer)).json()
    assert found["results"][0]["id"] == item_id
    assert set(found["results"][0]["parts"]) >= {"similarity", "recency", "kind_match", "confidence", "total"}
    no_project = await client.post("/api/v1/memory", headers=bearer, json={"text": "x", "project": "nope"})
    assert no_project.status_code == 404
    forgotten = await client.post(f"/api/v1/memory/{item_id}/forget", headers=bearer, json={"reason": "outdated"})
    assert forgotten.status_code == 200
    assert item_id not in {i["id"] for i in (await client.get("/api/v1/memory?project=tallybook", headers=bearer)).json()}
    twice = await client.post(f"/api/v1/memory/{item_id}/forget", headers=bearer, json={})
    assert twice.status_code == 409
    assert verify(ws.store).ok


async def test_approve_schedules_and_settle_refuses_what_needs_no_person(client, bearer, reviewed) -> None:
    newsletter = reviewed["newsletter"]["id"]
    past = await client.post(f"/api/v1/pieces/{newsletter}/approve", headers=bearer, json={"at": "2020-01-01 09:00"})
    assert past.status_code == 422 and error_of(past)["field"] == "--at"
    answer = await client.post(f"/api/v1/pieces/{newsletter}/approve", headers=bearer, json={"at": "2099-01-01 09:00"})
    assert answer.status_code == 200 and answer.json()["scheduled_at"] == "2099-01-01T09:00:00Z"
    [delivered] = (await client.get("/api/v1/publications?status=delivered&limit=1", headers=bearer)).json()
    settle = await client.post(f"/api/v1/publications/{delivered['idempotency_key']}/settle", headers=bearer,
                               json={"outcome": "not_published"})
    assert settle.status_code == 409 and "only a needs_human publication" in error_of(settle)["message"]
    missing = await client.post("/api/v1/publications/pc-none:v1:x/settle", headers=bearer, json={"outcome": "published",
                                                                                                 "url": "https://a.example/1"})
    assert missing.status_code == 404

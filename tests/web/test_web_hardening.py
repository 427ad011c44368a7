"""Findings of the attacker's probe (issue 18) on the web side: throttling per client, the
schema behind auth, no-store answers, logout that ends the session on the server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.web.conftest import log_in

from masthead.web.auth import SESSION_COOKIE
from masthead.web.throttle import FailureThrottle

pytestmark = pytest.mark.anyio


def client_from(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def attacker(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_from(app, "203.0.113.7") as http:
        yield http


@pytest.fixture
async def operator(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_from(app, "198.51.100.2") as http:
        yield http


async def test_a_guesser_is_throttled_and_the_operator_is_not(attacker, operator, token, bearer) -> None:
    for _ in range(10):
        wrong = await attacker.get("/api/v1/projects", headers={"Authorization": "Bearer mh_guess"})
        assert wrong.status_code == 401
    blocked = await attacker.get("/api/v1/projects", headers={"Authorization": "Bearer mh_guess"})
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # The guessing address is refused even with the right token; the operator's is not.
    assert (await attacker.get("/api/v1/projects", headers=bearer)).status_code == 429
    assert (await attacker.post("/login", data={"token": token, "operator": "ana"})).status_code == 429
    assert (await operator.get("/api/v1/projects", headers=bearer)).status_code == 200
    assert (await operator.post("/login", data={"token": token, "operator": "ana"})).status_code == 303


async def test_failed_logins_count_per_address(app, attacker, operator, token) -> None:
    for _ in range(10):
        await attacker.post("/login", data={"token": "mh_guess", "operator": "ana"})
    refused = await attacker.post("/login", data={"token": "mh_guess", "operator": "ana"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert (await operator.post("/login", data={"token": token, "operator": "ana"})).status_code == 303


async def test_the_global_last_resort_never_blocks_an_address_without_failures(app, operator, bearer) -> None:
    app.state.desk.throttle = FailureThrottle(global_limit=20)
    for index in range(20):  # guessing spread over many addresses, each under the per-address limit
        async with client_from(app, f"192.0.2.{index}") as guesser:
            assert (await guesser.get("/metrics", headers={"Authorization": "Bearer mh_x"})).status_code == 401
    async with client_from(app, "192.0.2.3") as guesser:  # one that failed before: now refused
        assert (await guesser.get("/metrics", headers={"Authorization": "Bearer mh_x"})).status_code == 429
    assert (await operator.get("/metrics", headers=bearer)).status_code == 200


def test_the_throttle_forgets_after_its_window() -> None:
    now = [1000.0]
    throttle = FailureThrottle(per_client=2, window=60.0, clock=lambda: now[0])
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.retry_after("a") == 60 and throttle.retry_after("b") is None
    now[0] += 30.5
    assert throttle.retry_after("a") == 30
    now[0] += 30
    assert throttle.retry_after("a") is None


async def test_the_schema_needs_the_token_and_no_docs_page_is_served(client, bearer) -> None:
    assert (await client.get("/openapi.json")).status_code == 401
    schema = await client.get("/openapi.json", headers=bearer)
    assert schema.status_code == 200 and "/api/v1/signals" in schema.json()["paths"]
    assert (await client.get("/api/docs")).status_code in (303, 404)  # no page that loads CDN scripts
    assert (await client.get("/api/docs", headers=bearer)).status_code == 404


async def test_answers_are_not_stored_by_caches(client, bearer, token) -> None:
    for answer in (await client.get("/api/v1/projects", headers=bearer), await client.get("/metrics", headers=bearer),
                   await client.get("/login"), await client.get("/api/v1/projects")):
        assert answer.headers["Cache-Control"] == "no-store", answer.request.url
    await log_in(client, token)
    assert (await client.get("/")).headers["Cache-Control"] == "no-store"
    assert (await client.get("/static/desk.css")).headers.get("Cache-Control") != "no-store"


async def test_logout_revokes_the_session_on_the_server(client, token, app) -> None:
    csrf = await log_in(client, token)
    stolen = client.cookies[SESSION_COOKIE]
    assert (await client.post("/logout", data={"csrf_token": csrf})).status_code == 303
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 cookies={SESSION_COOKIE: stolen}) as replay:
        page = await replay.get("/")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert (await replay.get("/api/v1/projects")).status_code == 401
    again = await log_in(client, token)  # a new login is a new session, unaffected
    assert again != csrf


async def test_a_non_ascii_last_event_id_is_ignored_not_a_crash(client, bearer) -> None:
    headers = {**bearer, "Last-Event-ID": "1\u00b2".encode("latin-1")}
    answer = await client.get("/api/v1/stream?follow=false", headers=headers)
    assert answer.status_code == 200

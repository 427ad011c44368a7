"""`GET /ab/{test_id}`: an A/B test drawn on the server (posterior means, 95% intervals,
probability of being best), linked from its piece; and `POST /hooks/ab`, the signed results."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from masthead.app.ab import ab_report
from masthead.app.ab_hook import receive_ab_report
from masthead.web.auth import PageOperator
from masthead.web.charts import ab_intervals
from masthead.web.hooks import _HEADERS_DOC, require_json
from masthead.web.pages import page_context
from masthead.web.state import desk

router = APIRouter()


@router.get("/ab/{test_id}", response_class=HTMLResponse, include_in_schema=False)
def ab_page(request: Request, test_id: str, operator: PageOperator) -> Response:
    state = desk(request)
    report = ab_report(state.workspace, test_id)
    chart = ab_intervals(report["variants"], title=f"A/B test {test_id}: {report['metric']} rate per variant")
    return state.templates.TemplateResponse(request, "ab.html", page_context(
        operator, nav="pieces", test=report, chart=chart))


@router.post(
    "/hooks/ab", status_code=200, tags=["webhooks"],
    summary="Record an A/B test's cumulative results (signed like the webhooks)",
    description='Body: {"test_id": "ab-...", "results": [{"variant": "A", "sent": 1200, "opens": 300, "clicks": 41}]},'
                " cumulative counts, as `masthead ab record` reads them. 200 with the test's report (`duplicate`"
                " true for a repeated delivery id, recorded once). 401 bad or stale signature (v2 only), 404 unknown"
                " test or no [ab] secret_env, 409 test already decided, 422 invalid report, 503 secret variable unset.",
    openapi_extra={"parameters": _HEADERS_DOC,
                   "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}},
)
async def receive_ab_hook(request: Request) -> Any:
    state = desk(request)
    require_json(request)
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    report = await anyio.to_thread.run_sync(lambda: receive_ab_report(state.workspace, headers, body))
    return JSONResponse(report)

"""The dashboard page: the numbers of `app.stats` with server-drawn SVG charts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from masthead.app.stats import dashboard
from masthead.web.auth import PageOperator
from masthead.web.charts import bars, meter, stacked_bars
from masthead.web.pages import page_context
from masthead.web.state import desk

router = APIRouter(include_in_schema=False)
STATUS_ORDER = ("published", "approved", "in_review", "drafted", "rejected")


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, operator: PageOperator,
                   days: Annotated[int, Query(ge=1, le=90)] = 14) -> Response:
    state = desk(request)
    numbers = dashboard(state.workspace, days=days)
    charts = {
        "throughput": stacked_bars([(d["day"], d["statuses"]) for d in numbers["throughput"]], STATUS_ORDER,
                                   title=f"Pieces per day by status, last {days} days", width=960),
        "latency": bars([(b["bucket"], b["count"]) for b in numbers["approval_latency"]["histogram"]],
                        title="Approvals by time waited in review"),
        "budgets": {b["project"]: meter(b["share"], title=f"{b['project']}: the tightest budget limit")
                    for b in numbers["budgets"]},
    }
    return state.templates.TemplateResponse(request, "dashboard.html", page_context(
        operator, nav="dashboard", numbers=numbers, charts=charts, days=days))

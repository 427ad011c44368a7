"""Costs (the ledger) and the dashboard's numbers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from masthead.app.costs import GROUPINGS, cost_report
from masthead.app.stats import dashboard
from masthead.web.auth import ApiOperator
from masthead.web.state import desk

router = APIRouter(tags=["costs"])


@router.get("/costs", summary="Model spend grouped by day, job, model or channel; per published piece; budget use")
def get_costs(request: Request, _op: ApiOperator, project: str | None = None,
              by: Annotated[str, Query(description=f"one of: {', '.join(GROUPINGS)}")] = "day") -> dict[str, Any]:
    return cost_report(desk(request).workspace, project=project, by=by)


@router.get("/dashboard", summary="Throughput, approval latency, cost per piece, failure and fallback rates, budgets")
def get_dashboard(request: Request, _op: ApiOperator,
                  days: Annotated[int, Query(ge=1, le=90)] = 14) -> dict[str, Any]:
    return dashboard(desk(request).workspace, days=days)

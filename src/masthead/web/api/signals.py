"""Signals: list, show, and add one (the authenticated twin of the webhooks)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from masthead.app.commands import add_signal
from masthead.app.listings import list_signals, signal_detail
from masthead.web.api.schemas import MAX_OFFSET, SignalIn
from masthead.web.auth import ApiOperator
from masthead.web.state import desk

router = APIRouter(tags=["signals"])


@router.get("/signals", summary="Signals, newest first (bodies left out; see one signal for its body)")
def get_signals(request: Request, _op: ApiOperator, project: str | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> list[dict[str, Any]]:
    return list_signals(desk(request).workspace, project=project, limit=limit, offset=offset)


@router.get("/signals/{signal_id}", summary="One signal with its body and the jobs it started")
def get_signal(request: Request, signal_id: str, _op: ApiOperator) -> dict[str, Any]:
    return signal_detail(desk(request).workspace, signal_id)


@router.post("/signals", status_code=202,
             summary="Store a signal and start a job for every recipe it triggers",
             description="Answers once the signal is durably in the log; the jobs run in the background.")
def post_signal(request: Request, body: SignalIn, operator: ApiOperator) -> dict[str, Any]:
    added = add_signal(desk(request).workspace, body.project, kind=body.kind, body=body.body, title=body.title,
                       priority=body.priority, source=f"api:{operator.actor}", by=operator.principal,
                       person=body.person)
    # deferred: job id -> why backpressure parks it; budget_wait: why the project's work waits for budget.
    return {"signal_id": added.signal_id, "job_ids": added.job_ids, "recipes": added.recipes,
            "deferred": added.deferred, "budget_wait": added.budget_wait}

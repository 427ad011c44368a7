"""Jobs and their tasks, and finishing a `needs_human` step by hand."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from masthead.app import commands
from masthead.app.listings import job_detail, list_jobs, list_tasks, task_detail
from masthead.app.retry import retry_job
from masthead.web.api.schemas import MAX_OFFSET, CompleteIn, RetryIn
from masthead.web.auth import ApiOperator
from masthead.web.state import desk

router = APIRouter(tags=["jobs"])
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("/jobs", summary="Jobs, newest first")
def get_jobs(request: Request, _op: ApiOperator, status: str | None = None, project: str | None = None,
             limit: Limit = 100, offset: Offset = 0) -> list[dict[str, Any]]:
    return list_jobs(desk(request).workspace, status=status, project=project, limit=limit, offset=offset)


@router.get("/jobs/{job_id}", summary="One job with its tasks and pieces")
def get_job(request: Request, job_id: str, _op: ApiOperator) -> dict[str, Any]:
    return job_detail(desk(request).workspace, job_id)


@router.get("/tasks", summary="Tasks, newest first; status=needs_human lists the hand-offs")
def get_tasks(request: Request, _op: ApiOperator, status: str | None = None, job_id: str | None = None,
              limit: Limit = 100, offset: Offset = 0) -> list[dict[str, Any]]:
    return list_tasks(desk(request).workspace, status=status, job_id=job_id, limit=limit, offset=offset)


@router.get("/tasks/{task_id}", summary="One task: state, attempts, error, output, hand-off details")
def get_task(request: Request, task_id: str, _op: ApiOperator) -> dict[str, Any]:
    return task_detail(desk(request).workspace, task_id)


@router.post("/tasks/{task_id}/complete", summary="Finish a needs_human step by hand; the recipe goes on")
def complete_task(request: Request, task_id: str, body: CompleteIn, operator: ApiOperator) -> dict[str, Any]:
    done = commands.complete(desk(request).workspace, task_id, operator=operator.acting(request, body.operator), text=body.text)
    return {"task_id": done, "status": "done"}


@router.post("/jobs/{job_id}/retry", summary="Run a job's failed steps again, keeping what succeeded")
def retry(request: Request, job_id: str, body: RetryIn, operator: ApiOperator) -> dict[str, Any]:
    retried = retry_job(desk(request).workspace, job_id, operator=operator.acting(request, body.operator),
                        reason=body.reason)
    return {"job_id": retried.job_id, "failed": retried.failed, "skipped": retried.skipped}

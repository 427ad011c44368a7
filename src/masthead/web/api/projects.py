"""Projects: read-only here; they change by `masthead project apply FILE.yaml` (a reviewed file)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from masthead.app.listings import list_projects, project_detail
from masthead.web.auth import ApiOperator
from masthead.web.state import desk

router = APIRouter(tags=["projects"])


@router.get("/projects", summary="List projects with their current spec")
def get_projects(request: Request, _op: ApiOperator) -> list[dict[str, Any]]:
    return list_projects(desk(request).workspace)


@router.get("/projects/{name}", summary="One project, with its pieces counted by status")
def get_project(request: Request, name: str, _op: ApiOperator) -> dict[str, Any]:
    return project_detail(desk(request).workspace, name)

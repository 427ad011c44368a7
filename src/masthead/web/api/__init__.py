"""The JSON API under /api/v1: one module per resource, all behind the operator token."""

from __future__ import annotations

from fastapi import APIRouter

from masthead.web.api import (
    costs,
    events,
    jobs,
    memory,
    pieces,
    projects,
    publications,
    review,
    signals,
)


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    for module in (projects, signals, jobs, pieces, review, publications, costs, events, memory):
        router.include_router(module.router)
    return router

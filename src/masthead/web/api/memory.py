"""Project memory: list, search with score parts, remember, forget (through MemoryService)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from masthead.web.api.schemas import OPERATOR_FIELD
from masthead.web.auth import ApiOperator
from masthead.web.state import desk

router = APIRouter(tags=["memory"])


class MemoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=100_000)
    kind: Literal["fact", "exemplar", "piece", "note", "feedback"] = "note"
    tier: Literal["project", "global"] = "project"
    project: str | None = Field(None, max_length=64, description="required for project memory")
    confidence: float = Field(1.0, ge=0, le=1)
    operator: str | None = OPERATOR_FIELD


class ForgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=2000)
    operator: str | None = OPERATOR_FIELD


@router.get("/memory", summary="Remembered items, newest first")
def list_memory(request: Request, _op: ApiOperator, project: str | None = None,
                kind: str | None = None, tier: str | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    items = desk(request).workspace.memory.list_items(project=project, kind=kind, tier=tier, limit=limit)
    return [item.as_dict() for item in items]


@router.get("/memory/search", summary="What a query retrieves, best first, with each score's parts")
def search_memory(request: Request, _op: ApiOperator, q: Annotated[str, Query(min_length=1, max_length=2000)],
                  project: str | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    ranking = desk(request).workspace.memory.rank(q, project=project)
    return {"query": ranking.query, "considered": ranking.considered, "results": [
        {**c.item.as_dict(), "score": c.parts.total, "parts": c.parts.model_dump(), "stood_in_for": list(c.stood_in_for)}
        for c in ranking.ranked[:limit]]}


@router.post("/memory", status_code=201, summary="Remember one item (an event by the operator)")
def add_memory(request: Request, body: MemoryIn, operator: ApiOperator) -> dict[str, Any]:
    name = operator.acting(request, body.operator).name
    added = desk(request).workspace.memory.add(body.text, kind=body.kind, tier=body.tier, project=body.project,
                                               source=f"human:{name}", confidence=body.confidence,
                                               actor=f"human:{name}")
    return {"item_id": added.item_id, "added": added.added}


@router.post("/memory/{item_id}/forget", summary="Forget an item everywhere; it stays forgotten after replay")
def forget_memory(request: Request, item_id: str, body: ForgetIn, operator: ApiOperator) -> dict[str, Any]:
    item = desk(request).workspace.memory.forget(item_id, reason=body.reason,
                                                 actor=operator.acting(request, body.operator).actor)
    return {"item_id": item.id, "forgotten": True}

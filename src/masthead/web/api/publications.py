"""Publications: the outbox, one row per piece version and channel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from masthead.app.listings import list_publications
from masthead.web.api.schemas import MAX_OFFSET
from masthead.web.auth import ApiOperator
from masthead.web.state import desk

router = APIRouter(tags=["publications"])


@router.get("/publications", summary="Publications, newest first: requested (intent), delivered, failed (nothing sent) or needs_human")
def get_publications(request: Request, _op: ApiOperator, status: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> list[dict[str, Any]]:
    return list_publications(desk(request).workspace, status=status, limit=limit, offset=offset)

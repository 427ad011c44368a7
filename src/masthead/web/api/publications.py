"""Publications: the outbox, one row per piece version and channel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from masthead.app.listings import list_publications
from masthead.web.api.schemas import MAX_OFFSET, SettleIn
from masthead.web.auth import ApiOperator
from masthead.web.state import desk

router = APIRouter(tags=["publications"])


@router.get("/publications", summary="Publications, newest first: requested (intent), delivered, failed (nothing sent) or needs_human")
def get_publications(request: Request, _op: ApiOperator, status: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> list[dict[str, Any]]:
    return list_publications(desk(request).workspace, status=status, limit=limit, offset=offset)


@router.post("/publications/{key}/settle",
             summary="Settle a needs_human publication: published at a URL (never sent again) or not published (sent again)")
def settle(request: Request, key: str, body: SettleIn, operator: ApiOperator) -> dict[str, Any]:
    from masthead.app.settlement import settle_publication

    return settle_publication(desk(request).workspace, key, operator=body.operator or operator.name,
                              published_url=body.url if body.outcome == "published" else None,
                              not_published=body.outcome == "not_published", note=body.note)

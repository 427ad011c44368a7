"""Pieces: list, show with lineage, versions and diffs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from masthead.app.queries import list_pieces, piece_detail, unified_diff
from masthead.errors import NotFoundError
from masthead.web.api.schemas import MAX_OFFSET
from masthead.web.auth import ApiOperator
from masthead.web.render import channel_view, word_diff
from masthead.web.state import desk

router = APIRouter(tags=["pieces"])


@router.get("/pieces", summary="Pieces, oldest first; filter by status or project")
def get_pieces(request: Request, _op: ApiOperator, status: str | None = None,
               project: str | None = None) -> list[dict[str, Any]]:
    return list_pieces(desk(request).workspace, status, project)


@router.get("/pieces/{piece_id}", summary="One piece: text, channel count, versions with checks, full lineage")
def get_piece(request: Request, piece_id: str, _op: ApiOperator) -> dict[str, Any]:
    detail = piece_detail(desk(request).workspace, piece_id)
    return detail | {"rendering": channel_view(detail["channel"], detail["text"], detail["subject"], detail["parts"])}


@router.get("/pieces/{piece_id}/versions", summary="Every version of a piece with its checks and diff")
def get_versions(request: Request, piece_id: str, _op: ApiOperator) -> list[dict[str, Any]]:
    versions: list[dict[str, Any]] = piece_detail(desk(request).workspace, piece_id)["versions"]
    return versions


@router.get("/pieces/{piece_id}/diff", summary="The change between two versions (default: the last two)")
def get_diff(request: Request, piece_id: str, _op: ApiOperator,
             from_version: Annotated[int | None, Query(alias="from", ge=1, le=MAX_OFFSET)] = None,
             to_version: Annotated[int | None, Query(alias="to", ge=1, le=MAX_OFFSET)] = None) -> dict[str, Any]:
    versions = {v["version"]: v for v in piece_detail(desk(request).workspace, piece_id)["versions"]}
    new = to_version if to_version is not None else max(versions)
    old = from_version if from_version is not None else max(1, new - 1)
    for number, name in ((old, "from"), (new, "to")):
        if number not in versions:
            raise NotFoundError(f"piece {piece_id} has no version {number}", field=name,
                                fix=f"use a version from 1 to {max(versions)}")
    before, after = versions[old]["text"], versions[new]["text"]
    return {"piece_id": piece_id, "from": old, "to": new,
            "unified": unified_diff(before, after, f"v{old}", f"v{new}"), "words": word_diff(before, after)}

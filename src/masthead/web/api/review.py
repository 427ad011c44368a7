"""The review queue and the operator's decisions: approve, reject, edit, refine, complete.

Each action is one command of `masthead.app.commands`, appended as an event by `human:<name>`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from masthead.app import commands
from masthead.app.desk import desk_queue
from masthead.app.queries import manual_queue
from masthead.app.undo import UNDO_WINDOW_SECONDS, undo, undo_offer
from masthead.web.api.schemas import (
    ApproveIn,
    CompleteIn,
    EditIn,
    RefineIn,
    RejectIn,
    ReopenIn,
    RevertIn,
    UndoIn,
)
from masthead.web.auth import ApiOperator
from masthead.web.state import desk

router = APIRouter(tags=["review"])


@router.get("/review-queue", summary="Pieces waiting for a decision, overdue (past the SLA) first, and hand-offs")
def get_queue(request: Request, _op: ApiOperator) -> dict[str, Any]:
    ws = desk(request).workspace
    return {"pieces": desk_queue(ws), "needs_human": manual_queue(ws)}


@router.post("/pieces/{piece_id}/approve", summary="Approve the piece's current version (or refuse if it moved on)")
def approve(request: Request, piece_id: str, body: ApproveIn, operator: ApiOperator) -> dict[str, Any]:
    piece = commands.approve(desk(request).workspace, piece_id, operator=operator.acting(request, body.operator),
                             version=body.version, at=body.at, next_slot=body.next_slot)
    scheduled = {"scheduled_at": piece["scheduled_at"]} if piece.get("scheduled_at") else {}
    # With `approvals`/`approvers`, an approval may be one of several: the piece waits for the rest.
    return {"piece_id": piece_id, "status": "in_review" if piece["missing"] else "approved",
            "approved_version": piece["approved_version"], "missing": piece["missing"]} | scheduled


@router.post("/pieces/{piece_id}/reject", summary="Reject the piece with a reason; it will not be published")
def reject(request: Request, piece_id: str, body: RejectIn, operator: ApiOperator) -> dict[str, Any]:
    commands.reject(desk(request).workspace, piece_id, operator=operator.acting(request, body.operator), reason=body.reason)
    return {"piece_id": piece_id, "status": "rejected"}


@router.post("/pieces/{piece_id}/edit", summary="Save a human version; checks run on it at once")
def edit(request: Request, piece_id: str, body: EditIn, operator: ApiOperator) -> dict[str, Any]:
    version = commands.edit(desk(request).workspace, piece_id, operator=operator.acting(request, body.operator),
                            text=body.text, subject=body.subject)
    return {"piece_id": piece_id, "version": version}


@router.post("/pieces/{piece_id}/refine", status_code=202, summary="Queue a refinement by the final tier, with a note")
def refine(request: Request, piece_id: str, body: RefineIn, operator: ApiOperator) -> dict[str, Any]:
    task = commands.refine(desk(request).workspace, piece_id, operator=operator.acting(request, body.operator), note=body.note)
    return {"piece_id": piece_id, "task_id": task}


@router.post("/pieces/{piece_id}/complete", summary="Finish the piece's needs_human step by hand")
def complete(request: Request, piece_id: str, body: CompleteIn, operator: ApiOperator) -> dict[str, Any]:
    task = commands.complete(desk(request).workspace, piece_id, operator=operator.acting(request, body.operator), text=body.text)
    return {"piece_id": piece_id, "task_id": task, "status": "done"}


@router.post("/pieces/{piece_id}/revert", summary="Save a new version equal to an earlier one; checks run on it")
def revert(request: Request, piece_id: str, body: RevertIn, operator: ApiOperator) -> dict[str, Any]:
    version = commands.revert(desk(request).workspace, piece_id, operator=operator.acting(request, body.operator),
                              to_version=body.to_version)
    return {"piece_id": piece_id, "version": version}


@router.post("/pieces/{piece_id}/reopen", summary="Take a rejection back; the piece goes back to review")
def reopen(request: Request, piece_id: str, body: ReopenIn, operator: ApiOperator) -> dict[str, Any]:
    commands.reopen(desk(request).workspace, piece_id, operator=operator.acting(request, body.operator),
                    reason=body.reason)
    return {"piece_id": piece_id, "status": "drafted"}


@router.get("/undo", summary="Your last action, if it can still be undone (null otherwise), and until when")
def get_undo(request: Request, operator: ApiOperator) -> dict[str, Any]:
    offer = undo_offer(desk(request).workspace, operator.principal)
    return {"undo": offer.as_dict() if offer else None, "window_seconds": UNDO_WINDOW_SECONDS}


@router.post("/undo", summary="Undo your own last action (approve, reject, edit, revert, reopen) shortly after it")
def post_undo(request: Request, body: UndoIn, operator: ApiOperator) -> dict[str, Any]:
    done = undo(desk(request).workspace, operator.acting(request, body.operator), seq=body.seq)
    return {"undone": done.seq, "action": done.action, "piece_id": done.piece_id, "status": done.status,
            "message": done.message}

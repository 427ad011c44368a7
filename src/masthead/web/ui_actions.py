"""The desk's buttons: form posts (htmx or plain) that call the same commands as the API.

An htmx request gets the refreshed piece panel, a flash message out of band and a
`queue-changed` trigger; a plain form post is sent back to the piece page (works without JS).
Approving a version whose checks failed needs `confirm_failed_checks` naming that version;
without it the answer is the confirmation (naming the piece and the failed checks), not an approval.
After an action the flash offers to undo the person's last action while it can be (app/undo.py).
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from masthead.app import commands
from masthead.app.desk import ApprovalConfirmation, approval_confirmation, piece_label
from masthead.app.undo import undo, undo_offer
from masthead.web.auth import PageOperator
from masthead.web.pages import page_context, piece_panel
from masthead.web.state import desk

router = APIRouter(include_in_schema=False)


def after_action(request: Request, operator: PageOperator, piece_id: str, message: str, where: str) -> Response:
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"/pieces/{piece_id}", status_code=303)
    state = desk(request)
    response = state.templates.TemplateResponse(request, "partials/_panel.html", page_context(
        operator, where=where, flash=message, undo=undo_offer(state.workspace, operator.principal),
        **piece_panel(state.workspace, piece_id)))
    response.headers["HX-Trigger"] = json.dumps({"queue-changed": {"piece": piece_id, "message": message}})
    return response


Where = Annotated[str, Form()]


def _ask_to_confirm(request: Request, operator: PageOperator, confirm: ApprovalConfirmation, where: str) -> Response:
    """The approval's confirmation instead of an approval: the panel (htmx) or the piece page
    (a plain form post) with the failed checks named and an explicit "approve anyway" form."""
    state = desk(request)
    panel = piece_panel(state.workspace, confirm.piece_id)
    if not request.headers.get("hx-request"):
        return state.templates.TemplateResponse(request, "piece.html", page_context(
            operator, nav="pieces", where="page", confirm=confirm, **panel))
    ask = f"{confirm.label} v{confirm.version} failed {len(confirm.failed)} check(s): y approves it anyway, Esc cancels"
    return state.templates.TemplateResponse(request, "partials/_panel.html", page_context(
        operator, where=where, confirm=confirm, flash=ask, flash_kind="warn",
        undo=undo_offer(state.workspace, operator.principal), **panel))


@router.post("/ui/pieces/{piece_id}/approve")
def approve(request: Request, piece_id: str, operator: PageOperator, version: Annotated[int, Form(ge=1)],
            confirm_failed_checks: Annotated[int | None, Form(ge=1)] = None, where: Where = "desk") -> Response:
    workspace = desk(request).workspace
    confirm = approval_confirmation(workspace, piece_id, version)
    if confirm is not None and confirm_failed_checks != version:
        return _ask_to_confirm(request, operator, confirm, where)
    piece = commands.approve(workspace, piece_id, operator=operator.principal, version=version)
    if piece["missing"]:
        return after_action(request, operator, piece_id, f"recorded your approval of {piece_label(piece)}"
                      f" v{piece['approved_version']}; still needed: {', '.join(piece['missing'])}", where)
    return after_action(request, operator, piece_id, f"approved {piece_label(piece)} v{piece['approved_version']}", where)


@router.post("/ui/pieces/{piece_id}/reject")
def reject(request: Request, piece_id: str, operator: PageOperator,
           reason: Annotated[str, Form(max_length=2000)] = "", where: Where = "desk") -> Response:
    commands.reject(desk(request).workspace, piece_id, operator=operator.principal, reason=reason)
    return after_action(request, operator, piece_id, "rejected", where)


@router.post("/ui/pieces/{piece_id}/reopen")
def reopen(request: Request, piece_id: str, operator: PageOperator,
           reason: Annotated[str, Form(max_length=2000)] = "", where: Where = "desk") -> Response:
    commands.reopen(desk(request).workspace, piece_id, operator=operator.principal, reason=reason)
    return after_action(request, operator, piece_id, "reopened: it goes back to review", where)


@router.post("/ui/undo")
def undo_last(request: Request, operator: PageOperator, seq: Annotated[int | None, Form(ge=1)] = None,
              where: Where = "desk") -> Response:
    """Undo the person's own last action (`seq` names it, as the offer did; without it: whatever it is)."""
    done = undo(desk(request).workspace, operator.principal, seq=seq)
    return after_action(request, operator, done.piece_id, done.message, where)


@router.post("/ui/pieces/{piece_id}/edit")
def edit(request: Request, piece_id: str, operator: PageOperator, text: Annotated[str, Form()] = "",
         subject: Annotated[str | None, Form()] = None, where: Where = "desk") -> Response:
    # Browsers send textarea line breaks as CRLF; the log keeps the text as the operator sees it.
    text = text.replace("\r\n", "\n")
    version = commands.edit(desk(request).workspace, piece_id, operator=operator.principal, text=text,
                            subject=subject.strip() if subject and subject.strip() else None)
    return after_action(request, operator, piece_id, f"saved v{version}", where)


@router.post("/ui/pieces/{piece_id}/refine")
def refine(request: Request, piece_id: str, operator: PageOperator,
           note: Annotated[str, Form(max_length=2000)] = "", where: Where = "desk") -> Response:
    task = commands.refine(desk(request).workspace, piece_id, operator=operator.principal, note=note)
    return after_action(request, operator, piece_id, f"refinement queued ({task})", where)


@router.post("/ui/tasks/{task_id}/complete")
def complete(request: Request, task_id: str, operator: PageOperator, text: Annotated[str, Form()] = "",
             piece_id: Annotated[str | None, Form()] = None, where: Where = "desk") -> Response:
    done = commands.complete(desk(request).workspace, task_id, operator=operator.principal, text=text.replace("\r\n", "\n"))
    if piece_id:
        return after_action(request, operator, piece_id, f"completed {done} by hand", where)
    if not request.headers.get("hx-request"):
        return RedirectResponse("/", status_code=303)
    state = desk(request)
    response = state.templates.TemplateResponse(request, "partials/_flash.html", page_context(
        operator, kind="ok", message=f"completed {done} by hand"))
    response.headers["HX-Trigger"] = json.dumps({"queue-changed": {"task": done}})
    return response

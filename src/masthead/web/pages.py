"""Server-rendered pages: the review desk, one piece, the list of pieces; and their partials."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from masthead.app.desk import desk_queue, piece_label, queue_neighbours
from masthead.app.listings import held_work, list_publications
from masthead.app.permissions import ACTIONS, allows
from masthead.app.queries import PIECE_STATUSES, list_pieces, manual_queue, piece_detail
from masthead.app.schedule_views import publication_queue
from masthead.app.undo import undo_offer
from masthead.app.workspace import Workspace
from masthead.errors import InputError, NotFoundError
from masthead.web.auth import Operator, PageOperator
from masthead.web.render import channel_view, word_diff
from masthead.web.state import WEB_DIR, desk

router = APIRouter(include_in_schema=False)
FAVICON = WEB_DIR / "static" / "favicon.svg"


def page_context(operator: Operator, **extra: Any) -> dict[str, Any]:
    # `may`: the actions the person's role allows, so the desk offers only buttons that work
    # (the server checks each one again).
    may = {action for action in ACTIONS if allows(operator.principal.role, action)}
    return {"user": operator.name, "role": operator.principal.role, "may": may, "csrf_token": operator.csrf, **extra}


def piece_panel(ws: Workspace, piece_id: str) -> dict[str, Any]:
    """Everything the piece partials show: the text as its channel shows it, checks, versions with
    word diffs, lineage, the queue entry (SLA) and a needs_human step, if any."""
    detail = piece_detail(ws, piece_id)
    versions = detail["versions"]
    for index, version in enumerate(versions):
        version["words"] = word_diff(versions[index - 1]["text"], version["text"]) if index else None
    current = versions[-1] if versions else {"checks": []}
    queue = desk_queue(ws)
    entry = next((item for item in queue if item["piece_id"] == piece_id), None)
    handoff = next((t for t in manual_queue(ws)
                    if t["job_id"] == detail["job_id"] and t["channel"] == detail["channel"]), None)
    previous, following = queue_neighbours(queue, piece_id)
    return {
        "piece": detail, "label": piece_label(detail),
        "view": channel_view(detail["channel"], detail["text"], detail["subject"], detail["parts"]),
        "checks": current["checks"], "failed_checks": [c for c in current["checks"] if not c["passed"]],
        "versions": list(reversed(versions)), "entry": entry, "handoff": handoff,
        "previous_id": previous, "next_id": following,
        "can_decide": detail["status"] in ("drafted", "in_review"),
        "can_reject": detail["status"] not in ("published", "rejected"),
        "can_retract": any(p["status"] == "delivered" for p in detail["lineage"]["publications"]),
    }


def desk_context(ws: Workspace) -> dict[str, Any]:
    return {"queue": desk_queue(ws), "handoffs": manual_queue(ws), "schedule": publication_queue(ws),
            "unsettled": list_publications(ws, status="needs_human", limit=100, offset=0),
            # Work that will not move by itself (a missing key, a budget, off-peak hours, backpressure):
            # without it an empty queue looks like "nothing to do" when something needs setting up.
            "held": held_work(ws)}


@router.get("/", response_class=HTMLResponse)
def desk_page(request: Request, operator: PageOperator, piece: str | None = None) -> Response:
    state = desk(request)
    context = desk_context(state.workspace)
    selected = piece or (context["queue"][0]["piece_id"] if context["queue"] else None)
    panel = piece_panel(state.workspace, selected) if selected else {}
    return state.templates.TemplateResponse(request, "desk.html", page_context(
        operator, nav="desk", selected=selected, where="desk", undo=undo_offer(state.workspace, operator.principal),
        **context, **panel))


@router.get("/ui/queue", response_class=HTMLResponse)
def queue_partial(request: Request, operator: PageOperator, selected: str | None = None) -> Response:
    state = desk(request)
    return state.templates.TemplateResponse(request, "partials/_queue.html", page_context(
        operator, selected=selected, **desk_context(state.workspace)))


@router.get("/ui/pieces/{piece_id}/panel", response_class=HTMLResponse)
def panel_partial(request: Request, piece_id: str, operator: PageOperator) -> Response:
    state = desk(request)
    return state.templates.TemplateResponse(request, "partials/_panel.html", page_context(
        operator, where="desk", **piece_panel(state.workspace, piece_id)))


@router.get("/ui/tasks/{task_id}/panel", response_class=HTMLResponse)
def handoff_partial(request: Request, task_id: str, operator: PageOperator) -> Response:
    state = desk(request)
    task = next((t for t in manual_queue(state.workspace) if t["id"] == task_id), None)
    if task is None:
        raise NotFoundError(f"task {task_id!r} does not wait for a human", field="task_id",
                            fix="reload the desk: someone may have completed it")
    return state.templates.TemplateResponse(request, "partials/_handoff.html", page_context(operator, task=task))


@router.get("/pieces", response_class=HTMLResponse)
def pieces_page(request: Request, operator: PageOperator, status: str | None = None) -> Response:
    state = desk(request)
    if status == "":
        status = None
    if status is not None and status not in PIECE_STATUSES:
        raise InputError(f"status {status!r} is not a piece status", field="status",
                         fix=f"use one of: {', '.join(PIECE_STATUSES)}")
    pieces = list(reversed(list_pieces(state.workspace, status)))
    return state.templates.TemplateResponse(request, "pieces.html", page_context(
        operator, nav="pieces", pieces=pieces, status=status, statuses=PIECE_STATUSES))


@router.get("/pieces/{piece_id}", response_class=HTMLResponse)
def piece_page(request: Request, piece_id: str, operator: PageOperator) -> Response:
    state = desk(request)
    return state.templates.TemplateResponse(request, "piece.html", page_context(
        operator, nav="pieces", where="page", undo=undo_offer(state.workspace, operator.principal),
        **piece_panel(state.workspace, piece_id)))


@router.get("/favicon.ico")
def favicon() -> Response:
    # Browsers ask for /favicon.ico whatever the pages link; answer with the same shipped SVG.
    return FileResponse(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

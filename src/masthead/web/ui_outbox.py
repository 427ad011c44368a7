"""The desk's outbox buttons: retract a published piece (after a confirmation) and settle a
publication that needs a person (published at a URL, or not published).

Retracting deletes posts on services, so the first post answers with a confirmation naming
where the piece is published and what cannot be taken back; only the explicit "retract"
(posting `confirm_retract`) retracts. The CLI (`masthead piece retract ID`) names the piece
explicitly instead.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from masthead.app.desk import piece_label
from masthead.app.retraction import retract_piece
from masthead.app.settlement import settle_publication
from masthead.web.auth import PageOperator
from masthead.web.pages import page_context, piece_panel
from masthead.web.state import desk
from masthead.web.ui_actions import Where, after_action

router = APIRouter(include_in_schema=False)


@router.post("/ui/pieces/{piece_id}/retract")
def retract(request: Request, piece_id: str, operator: PageOperator,
            reason: Annotated[str, Form(max_length=2000)] = "", confirm_retract: Annotated[int, Form()] = 0,
            where: Where = "desk") -> Response:
    state = desk(request)
    if confirm_retract != 1:
        panel = piece_panel(state.workspace, piece_id)
        confirm = {"reason": reason, "publications": [p for p in panel["piece"]["lineage"]["publications"]
                                                      if p["status"] == "delivered"]}
        template = "partials/_panel.html" if request.headers.get("hx-request") else "piece.html"
        return state.templates.TemplateResponse(request, template, page_context(
            operator, nav="pieces", where=where if template != "piece.html" else "page", retract_confirm=confirm,
            flash=f"retract {panel['label']}? press the button again to confirm, Esc cancels", flash_kind="warn",
            **panel))
    rows = retract_piece(state.workspace, piece_id, operator=operator.name, reason=reason.strip() or None)
    done = [row["publisher"] for row in rows if row["retracted"]]
    kept = [f"{row['publisher']} ({row['detail']})" for row in rows if not row["retracted"]]
    piece = piece_panel(state.workspace, piece_id)["piece"]
    message = f"retracted {piece_label(piece)} from {', '.join(done) or 'nowhere'}"
    if kept:
        message += "; not retracted: " + "; ".join(kept)
    return after_action(request, operator, piece_id, message, where)


@router.post("/ui/publications/settle")
def settle(request: Request, operator: PageOperator, key: Annotated[str, Form(max_length=500)],
           outcome: Annotated[str, Form(pattern="^(published|not_published)$")],
           url: Annotated[str, Form(max_length=2000)] = "", note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    state = desk(request)
    settle_publication(state.workspace, key, operator=operator.name,
                       published_url=url if outcome == "published" else None,
                       not_published=outcome == "not_published", note=note)
    message = (f"recorded {key} as published at {url.strip()}" if outcome == "published"
               else f"recorded {key} as not published: it is sent again")
    if not request.headers.get("hx-request"):
        return RedirectResponse("/", status_code=303)
    response = state.templates.TemplateResponse(request, "partials/_flash.html", page_context(
        operator, kind="ok", message=message))
    response.headers["HX-Trigger"] = json.dumps({"queue-changed": {"publication": key, "message": message}})
    return response

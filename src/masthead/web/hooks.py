"""`POST /hooks/{source}`: signed webhooks from external systems (scheme in app/webhooks.py)."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from masthead.app.github_sources import receive_github
from masthead.app.webhooks import (
    DELIVERY_HEADER,
    LEGACY_SIGNATURES_UNTIL,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRefused,
)
from masthead.sources.github import EVENT_HEADER
from masthead.web.state import DeskState, desk

router = APIRouter(tags=["webhooks"])

_HEADERS_DOC = [
    {"name": TIMESTAMP_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
     "description": "unix seconds when the sender signed the delivery (5-minute tolerance)"},
    {"name": DELIVERY_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
     "description": "the sender's unique id for this delivery; a repeat is answered, not stored again"},
    {"name": SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
     "description": 'v2=<hex HMAC-SHA256(secret, "v2:" + timestamp + "." + delivery id + "." + raw body)>'
                    ' (the deprecated sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)> is accepted'
                    f' until {LEGACY_SIGNATURES_UNTIL})'},
]


def require_json(request: Request) -> None:
    """Only JSON is a delivery: a form or text/plain post is what a browser can send cross-site."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not (media_type.startswith("application/") and media_type.endswith("+json")):
        raise WebhookRefused(415, "unsupported_media_type", f"the Content-Type {media_type or '(none)'!r} is not JSON",
                             field="Content-Type", fix="send the body as JSON with Content-Type: application/json")


@router.post(
    "/hooks/{source}", status_code=202,
    summary="Receive a signed webhook delivery as a signal",
    description="202 with the signal id once it is durably in the log; 200 with the same id for a repeated"
                " delivery. GitHub's own deliveries to /hooks/github (X-GitHub-Event, X-Hub-Signature-256) go to the"
                " project's github_releases sources: 202 a published release, 200 a ping or a repeat, 204 ignored."
                " 401 bad or stale signature, 400 malformed timestamp, delivery id or JSON (NaN and Infinity"
                " included), 413 over 1 MB, 415 not JSON.",
    openapi_extra={"parameters": _HEADERS_DOC,
                   "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}},
)
async def receive_hook(request: Request, source: str) -> Any:
    state = desk(request)
    require_json(request)
    body = await request.body()  # at most the route's limit: web/limits.py cuts it off before
    headers = {k.lower(): v for k, v in request.headers.items()}
    if source == GITHUB_PATH and EVENT_HEADER.lower() in headers:
        return await _github_delivery(state, headers, body)
    receipt = await anyio.to_thread.run_sync(lambda: state.inbox.receive(source, headers, body))
    answer = {"signal_id": receipt.signal_id, "job_ids": receipt.job_ids, "duplicate": receipt.duplicate}
    return JSONResponse(answer, status_code=200 if receipt.duplicate else 202)


# GitHub's own deliveries (X-GitHub-Event, X-Hub-Signature-256) to /hooks/github go to the
# github_releases sources; a Masthead-signed delivery to a [webhooks.github] source still works.
GITHUB_PATH = "github"


async def _github_delivery(state: DeskState, headers: dict[str, str], body: bytes) -> Response:
    receipt = await anyio.to_thread.run_sync(lambda: receive_github(state.workspace, headers, body))
    if receipt.status == 204:
        return Response(status_code=204)
    return JSONResponse({"signal_ids": receipt.signal_ids, "job_ids": receipt.job_ids, "note": receipt.note},
                        status_code=receipt.status)

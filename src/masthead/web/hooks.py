"""`POST /hooks/{source}`: signed webhooks from external systems (scheme in app/webhooks.py)."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from masthead.app.webhooks import (
    DELIVERY_HEADER,
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRefused,
)
from masthead.web.state import desk

router = APIRouter(tags=["webhooks"])

_HEADERS_DOC = [
    {"name": TIMESTAMP_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
     "description": "unix seconds when the sender signed the delivery (5-minute tolerance)"},
    {"name": DELIVERY_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
     "description": "the sender's unique id for this delivery; a repeat is answered, not stored again"},
    {"name": SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
     "description": 'sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>'},
]


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` (a declared or an actual length)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WebhookRefused(413, "too_large", f"the body is over {limit:,} bytes", fix="send an excerpt or a link")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookRefused(413, "too_large", f"the body is over {limit:,} bytes", fix="send an excerpt or a link")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/hooks/{source}", status_code=202,
    summary="Receive a signed webhook delivery as a signal",
    description="202 with the signal id once it is durably in the log; 200 with the same id for a repeated"
                " delivery. 401 bad or stale signature, 400 malformed JSON or delivery id, 413 over 1 MB.",
    openapi_extra={"parameters": _HEADERS_DOC,
                   "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}},
)
async def receive_hook(request: Request, source: str) -> Any:
    state = desk(request)
    body = await read_limited(request, MAX_BODY_BYTES)
    headers = {k.lower(): v for k, v in request.headers.items()}
    receipt = await anyio.to_thread.run_sync(lambda: state.inbox.receive(source, headers, body))
    answer = {"signal_id": receipt.signal_id, "job_ids": receipt.job_ids, "duplicate": receipt.duplicate}
    return JSONResponse(answer, status_code=200 if receipt.duplicate else 202)

"""Request body limits, enforced before anything reads or parses a body, and before auth.

FastAPI reads and parses a body before it runs the dependencies that check the token, so a
limit inside a route would come too late: one unauthenticated 200 MB POST would be buffered
whole. This middleware sits outside the app: a declared `Content-Length` over the route's
limit is answered 413 before a byte of the body is read, and a body without a length (chunked)
is counted as it streams and cut off at the limit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from masthead.app.commands import MAX_SIGNAL_BYTES
from masthead.app.webhooks import MAX_BODY_BYTES

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class BodyLimit:
    pattern: re.Pattern[str]
    limit: int


def _route(pattern: str, limit: int) -> BodyLimit:
    return BodyLimit(re.compile(pattern), limit)


# First match wins (paths, any method). Texts that may be as long as a signal (MAX_SIGNAL_BYTES)
# get room for JSON escapes (API) or percent-encoding (desk forms); everything else is small.
BODY_LIMITS: tuple[BodyLimit, ...] = (
    _route(r"/hooks/[^/]+", MAX_BODY_BYTES),
    _route(r"/api/v1/(signals|pieces/[^/]+/(edit|complete)|tasks/[^/]+/complete)", 2 * MAX_SIGNAL_BYTES),
    _route(r"/api/v1/memory", 512 * KIB),
    _route(r"/ui/(pieces/[^/]+/(edit|complete)|tasks/[^/]+/complete)", 4 * MAX_SIGNAL_BYTES),
    _route(r"/(login|logout)", 16 * KIB),
)
DEFAULT_BODY_LIMIT = 64 * KIB


def body_limit(path: str) -> int:
    for route in BODY_LIMITS:
        if route.pattern.fullmatch(path):
            return route.limit
    return DEFAULT_BODY_LIMIT


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit. An HTTPException, so FastAPI's
    body parsing lets it through (it turns other errors into a 400) and it is answered 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is over {limit:,} bytes, this route's limit"
                              " (fix: send less; see the limits in docs/web.md)")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


async def _refuse(send: Send, status: int, code: str, message: str, field: str | None) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "field": field}}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    """A pure ASGI middleware (no body buffering of its own) applying BODY_LIMITS."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None:
            # ASCII digits only: int() would also take "١٢" or " 12 ", which no client sends.
            if not re.fullmatch(rb"[0-9]{1,19}", declared):
                await _refuse(send, 400, "bad_request", "the Content-Length header is not a whole number of bytes",
                              "Content-Length")
                return
            if int(declared) > limit:
                await _refuse(send, 413, "too_large", str(BodyTooLarge(limit).detail), None)
                return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as error:
            # Normally the app's own handler answers it; this catches a reader outside FastAPI.
            if started:
                raise
            await _refuse(send, 413, "too_large", str(error.detail), None)

"""Errors as JSON: `{"error": {"code", "message", "field"}}`, from the one exception family.

The message is the error's own text with its fix, as the CLI prints it. Pages get the same
text in an HTML page; htmx requests get it as a fragment the page shows in its flash area.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from masthead.app.auth import AuthenticationError
from masthead.app.permissions import PermissionDenied
from masthead.app.webhooks import WebhookRefused
from masthead.errors import (
    ConcurrencyConflict,
    ConfigError,
    InputError,
    MastheadError,
    NotFoundError,
    StateError,
)

# Most specific first: the first class an error is an instance of decides.
STATUS_BY_ERROR: tuple[tuple[type[MastheadError], int, str], ...] = (
    (AuthenticationError, 401, "unauthorized"),
    (PermissionDenied, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (InputError, 422, "invalid_input"),
    (ConfigError, 422, "invalid_config"),
    (ConcurrencyConflict, 409, "conflict"),
    (StateError, 409, "wrong_state"),
)
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid_input",
              429: "too_many_requests", 503: "unavailable"}


log = logging.getLogger("masthead.web")


class LoginRequired(Exception):
    """A page was asked for without a session: send the browser to the login page."""

    def __init__(self, next_path: str):
        self.next_path = next_path


class CsrfRejected(MastheadError):
    """A state-changing request from a browser session did not carry the session's CSRF token."""


class TooManyAttempts(MastheadError):
    """Too many wrong tokens from one address in a short time (web/throttle.py); answered 429."""

    def __init__(self, message: str, *, fix: str, retry_after: int):
        super().__init__(message, fix=fix)
        self.retry_after = retry_after


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def status_of(error: MastheadError) -> tuple[int, str]:
    if isinstance(error, WebhookRefused):
        return error.status, error.code
    if isinstance(error, CsrfRejected):
        return 403, "csrf_failed"
    if isinstance(error, TooManyAttempts):
        return 429, "too_many_requests"
    for cls, status, code in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status, code
    return 500, "internal"


def message_of(error: MastheadError) -> str:
    return error.message + (f" (fix: {error.fix})" if error.fix else "")


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith(("/api/", "/hooks/")) or path in ("/metrics", "/openapi.json"))


def _respond(request: Request, status: int, code: str, message: str, field: str | None,
             headers: dict[str, str] | None = None) -> Response:
    if wants_html(request):
        templates = request.app.state.desk.templates
        name = "partials/_flash.html" if request.headers.get("hx-request") else "error.html"
        context = {"status": status, "code": code, "message": message, "field": field, "kind": "error"}
        # htmx swaps only 2xx answers by default; the flash target is swapped by desk.js.
        return templates.TemplateResponse(request, name, context, status_code=status, headers=headers)
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MastheadError)
    async def masthead_error(request: Request, error: MastheadError) -> Response:
        status, code = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 and not isinstance(error, WebhookRefused) else None
        if isinstance(error, TooManyAttempts):
            headers = {"Retry-After": str(error.retry_after)}
        return _respond(request, status, code, message_of(error), error.field, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        problems = error.errors()
        first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
        location = list(first.get("loc", ()))
        if location and location[0] in ("body", "query", "path", "header", "cookie"):
            location = location[1:]  # where it was sent is not part of the field's name
        field = ".".join(str(part) for part in location)
        message = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in problems[:5])
        return _respond(request, 422, "invalid_input", message or "invalid request", field or None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(error.status_code, "error")
        return _respond(request, error.status_code, code, str(error.detail), None,
                        dict(error.headers) if error.headers else None)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired) -> Response:
        target = "/login?" + urlencode({"next": error.next_path})
        if request.headers.get("hx-request"):
            return HTMLResponse("", status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        # A bug: log it with its traceback here, answer without details (they may hold data).
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        return _respond(request, 500, "internal", "an unexpected error happened; the server log has details", None)

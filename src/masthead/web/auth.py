"""Who is asking: the operator token as a bearer header (API), or a signed session cookie (UI).

- API clients send `Authorization: Bearer <token>` on every request.
- The login page takes the token once and sets `masthead_session`: HttpOnly, SameSite=Strict,
  signed with a key derived from the token (rotating the token ends every session).
- A state-changing request that rides on the cookie must also carry the session's CSRF token
  (`X-CSRF-Token` header, which htmx adds to every request, or a `csrf_token` form field).
  Bearer requests need none: a browser never adds that header on its own.
- Logout revokes the session on the server (the session's id is its CSRF token), so a copied
  cookie stops working too.
- Wrong tokens, at the login page or as a bearer header, are throttled per client address
  (web/throttle.py): 429 with Retry-After.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer

from masthead.app.auth import (
    AuthenticationError,
    revoke_session,
    session_key,
    session_revoked,
    token_matches,
)
from masthead.app.commands import human
from masthead.errors import InputError
from masthead.web.errors import CsrfRejected, LoginRequired, TooManyAttempts
from masthead.web.state import desk

SESSION_COOKIE = "masthead_session"
SESSION_SECONDS = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

bearer_scheme = HTTPBearer(auto_error=False, description="the operator token (`masthead token`)")


@dataclass(frozen=True)
class Operator:
    name: str
    via: str  # bearer | session
    csrf: str | None = None

    @property
    def actor(self) -> str:
        return f"human:{self.name}"


def _serializer(token: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_key(token), salt="masthead-session")


def new_session(token: str, operator: str) -> tuple[str, str]:
    """A signed cookie value and the CSRF token it carries."""
    csrf = secrets.token_urlsafe(24)
    return _serializer(token).dumps({"op": operator, "csrf": csrf}), csrf


def read_session(token: str, cookie: str) -> Operator | None:
    try:
        data: Any = _serializer(token).loads(cookie, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("op"), str) or not isinstance(data.get("csrf"), str):
        return None
    return Operator(name=data["op"], via="session", csrf=data["csrf"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refuse_if_throttled(request: Request) -> None:
    """429 for an address that sent too many wrong tokens lately (whatever it sends now)."""
    wait = desk(request).throttle.retry_after(client_address(request))
    if wait is not None:
        raise TooManyAttempts("too many wrong tokens from this address in the last minute",
                              fix=f"wait {wait} s and try again", retry_after=wait)


def identify(request: Request) -> Operator | None:
    """The operator behind this request, or None. A wrong bearer never falls back to the cookie."""
    state = desk(request)
    token = state.token_file.current()
    if token is None:
        return None
    header = request.headers.get("authorization")
    if header is not None:
        refuse_if_throttled(request)
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and token_matches(token, value.strip()):
            return Operator(name=state.workspace.config.workspace.operator, via="bearer")
        state.throttle.failed(client_address(request))
        return None
    cookie = request.cookies.get(SESSION_COOKIE)
    operator = read_session(token, cookie) if cookie else None
    if operator is not None and operator.csrf and session_revoked(state.workspace.store, operator.csrf):
        return None  # logged out: a copy of the cookie ends with it
    return operator


async def check_csrf(request: Request, operator: Operator) -> None:
    if operator.via != "session" or request.method in SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # starlette caches it, so the endpoint can read it again
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not (operator.csrf and presented and token_matches(operator.csrf, presented)):
        raise CsrfRejected("this request is missing the page's CSRF token",
                           fix="reload the page and try again")


async def api_operator(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Operator:
    """For /api/v1 and /metrics: a bearer token (or the UI's session, with CSRF for changes)."""
    operator = identify(request)
    if operator is None:
        raise AuthenticationError("this endpoint needs the operator token",
                                  fix="send Authorization: Bearer <token> (print it with `masthead token`)")
    await check_csrf(request, operator)
    return operator


async def page_operator(request: Request) -> Operator:
    """For pages and UI actions: a session, else the login page."""
    operator = identify(request)
    if operator is None:
        path = request.url.path
        raise LoginRequired(path if request.method == "GET" else "/")
    await check_csrf(request, operator)
    return operator


ApiOperator = Annotated[Operator, Depends(api_operator)]
PageOperator = Annotated[Operator, Depends(page_operator)]


def safe_next(value: str | None) -> str:
    """Only paths on this site: an open redirect would make the login page a phishing tool."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    state = desk(request)
    return state.templates.TemplateResponse(request, "login.html", {
        "next": safe_next(next), "operator": state.workspace.config.workspace.operator, "error": None,
        "csrf_token": None, "user": None,
    })


@router.post("/login")
def login(request: Request, token: Annotated[str, Form()] = "", operator: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    state = desk(request)
    refuse_if_throttled(request)
    expected = state.token_file.current()
    error = None
    name = operator.strip() or state.workspace.config.workspace.operator
    try:
        human(name)
    except InputError as exc:
        error = f"{exc.message} ({exc.fix})"
    if error is None and (expected is None or not token_matches(expected, token.strip())):
        state.throttle.failed(client_address(request))
        error = "that is not this workspace's token (print it with `masthead token`)"
    if error is not None or expected is None:
        return state.templates.TemplateResponse(request, "login.html", {
            "next": safe_next(next), "operator": name, "error": error, "csrf_token": None, "user": None,
        }, status_code=401)
    cookie, _csrf = new_session(expected, name)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout")
def logout(request: Request, operator: PageOperator) -> Response:
    if operator.csrf:
        now = time.time()
        revoke_session(desk(request).workspace.store, operator.csrf, now + SESSION_SECONDS, now)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

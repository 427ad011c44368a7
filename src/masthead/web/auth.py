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
- People (app/people.py): a user's own token works as a bearer or at the login page (with
  their name), as does their password. Their session names the credential it was made with, so
  rotating the token, setting a new password or removing the user ends it. The operator token
  acts as the owner (app/people.py `as_owner_token`).
- Every request is checked against the permission table (app/permissions.py ROUTE_ACTIONS)
  before its route runs: 403 with who, what and which role would allow it. A state-changing
  request from a session whose Origin header names another site is refused as CSRF.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

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
from masthead.app.people import as_owner_token, find_user, user_of_password, user_of_token
from masthead.app.permissions import PermissionDenied, Principal, authorize, route_action
from masthead.errors import InputError, MastheadError
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
    """Who sent a request: the person acting (role and scope) and how they proved it."""

    principal: Principal
    via: str  # bearer | session
    csrf: str | None = None
    # The operator token (or a session made with it): the workspace's own authority, which may
    # name another person to act as (the API's `operator` field), as the local CLI's --as does.
    owner_token: bool = False

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def actor(self) -> str:
        return self.principal.actor

    def acting(self, request: Request, name: str | None) -> Principal:
        """The person an action is done as: this one, or (operator token only) the one named."""
        if name is None or name == self.name:
            return self.principal
        if not self.owner_token:
            raise PermissionDenied(f"{self.name} may act only as themself, not as {name}",
                                   field="operator", fix=f"leave out operator, or sign in as {name}")
        other = as_owner_token(desk(request).workspace, name)
        check_route(request, other)  # the one named must be allowed the route too
        return other


@dataclass(frozen=True)
class Session:
    name: str
    csrf: str
    credential: str | None  # the user's token_id or password_id it was made with; None: the operator token


def _serializer(token: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_key(token), salt="masthead-session")


def new_session(token: str, operator: str, credential: str | None = None) -> tuple[str, str]:
    """A signed cookie value and the CSRF token it carries."""
    csrf = secrets.token_urlsafe(24)
    return _serializer(token).dumps({"op": operator, "csrf": csrf, "cred": credential}), csrf


def read_session(token: str, cookie: str) -> Session | None:
    try:
        data: Any = _serializer(token).loads(cookie, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("op"), str) or not isinstance(data.get("csrf"), str):
        return None
    credential = data.get("cred")
    return Session(data["op"], data["csrf"], credential if isinstance(credential, str) else None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refuse_if_throttled(request: Request) -> None:
    """429 for an address that sent too many wrong tokens lately (whatever it sends now)."""
    wait = desk(request).throttle.retry_after(client_address(request))
    if wait is not None:
        raise TooManyAttempts("too many wrong tokens from this address in the last minute",
                              fix=f"wait {wait} s and try again", retry_after=wait)


def _bearer(request: Request, token: str | None, value: str) -> Operator | None:
    state = desk(request)
    if token is not None and token_matches(token, value):
        return Operator(as_owner_token(state.workspace, None), via="bearer", owner_token=True)
    user = user_of_token(state.workspace.store, value)
    return Operator(user.principal, via="bearer") if user is not None else None


def _from_session(request: Request, session: Session) -> Operator | None:
    store = desk(request).workspace.store
    if session_revoked(store, session.csrf):
        return None  # logged out: a copy of the cookie ends with it
    if session.credential is None:
        try:
            principal = as_owner_token(desk(request).workspace, session.name)
        except MastheadError:
            return None  # a name that is no longer usable (users were added since)
        return Operator(principal, via="session", csrf=session.csrf, owner_token=True)
    user = find_user(store, session.name)
    if user is None or session.credential not in (user.token_id, user.password_id):
        return None  # removed, or the token or password it was made with was replaced
    return Operator(user.principal, via="session", csrf=session.csrf)


def identify(request: Request) -> Operator | None:
    """The person behind this request, or None. A wrong bearer never falls back to the cookie."""
    state = desk(request)
    token = state.token_file.current()
    header = request.headers.get("authorization")
    if header is not None:
        refuse_if_throttled(request)
        scheme, _, value = header.partition(" ")
        found = _bearer(request, token, value.strip()) if scheme.lower() == "bearer" and value.strip() else None
        if found is None:
            state.throttle.failed(client_address(request))
        return found
    cookie = request.cookies.get(SESSION_COOKIE)
    session = read_session(token, cookie) if cookie and token is not None else None
    return _from_session(request, session) if session is not None else None


def check_route(request: Request, who: Operator | Principal) -> None:
    """The route's action (app/permissions.py ROUTE_ACTIONS) for the person who sent it."""
    authorize(who.principal if isinstance(who, Operator) else who, route_action(request.method, route_template(request)))


def route_template(request: Request) -> str:
    """The route's path as the table writes it ("/api/v1/pieces/{piece_id}/approve"): each
    segment that is a path parameter's value becomes the parameter's name. (A value equal to a
    fixed segment makes an unknown template, which only an owner may call: never more access.)"""
    names = {str(value): name for name, value in request.path_params.items()}
    return "/".join("{" + names[part] + "}" if part in names else part
                    for part in unquote(request.url.path).split("/"))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # no Origin (older browsers): the CSRF token decides
    # The host only: behind a TLS proxy the scheme seen here is not the browser's. A proxy that
    # rewrites Host names the browser's host in X-Forwarded-Host.
    hosts = {request.headers.get("host", request.url.netloc), request.headers.get("x-forwarded-host")}
    return urlsplit(origin).netloc in hosts


async def check_csrf(request: Request, operator: Operator) -> None:
    if operator.via != "session" or request.method in SAFE_METHODS:
        return
    if not _same_origin(request):
        raise CsrfRejected("this request comes from another site", fix="use the desk's own pages")
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
        raise AuthenticationError("this endpoint needs the operator token or a user's token",
                                  fix="send Authorization: Bearer <token> (print it with `masthead token`)")
    await check_csrf(request, operator)
    check_route(request, operator)
    return operator


async def page_operator(request: Request) -> Operator:
    """For pages and UI actions: a session, else the login page."""
    operator = identify(request)
    if operator is None:
        path = request.url.path
        raise LoginRequired(path if request.method == "GET" else "/")
    await check_csrf(request, operator)
    check_route(request, operator)
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


def _login_as(request: Request, name: str, secret: str) -> tuple[str, str | None] | str:
    """(name, credential) of a valid login, else the error to show."""
    state = desk(request)
    expected = state.token_file.current()
    if expected is None:
        return "this workspace has no operator token yet (create it with `masthead token`)"
    if token_matches(expected, secret):
        try:
            return as_owner_token(state.workspace, name).name, None
        except MastheadError as exc:
            return f"{exc.message} ({exc.fix})"
    user = user_of_token(state.workspace.store, secret)
    if user is not None:
        return user.name, user.token_id
    user = user_of_password(state.workspace.store, name, secret) if secret else None
    if user is not None:
        return user.name, user.password_id
    state.throttle.failed(client_address(request))
    return "that is not this workspace's token, nor your own token or password (print a token with `masthead token`)"


@router.post("/login")
def login(request: Request, token: Annotated[str, Form()] = "", operator: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    state = desk(request)
    refuse_if_throttled(request)
    name = operator.strip() or state.workspace.config.workspace.operator
    try:
        human(name)
        found = _login_as(request, name, token.strip())
    except InputError as exc:
        found = f"{exc.message} ({exc.fix})"
    if isinstance(found, str):
        return state.templates.TemplateResponse(request, "login.html", {
            "next": safe_next(next), "operator": name, "error": found, "csrf_token": None, "user": None,
        }, status_code=401)
    key = state.token_file.current()
    assert key is not None  # _login_as refused a workspace without one
    cookie, _csrf = new_session(key, found[0], found[1])
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

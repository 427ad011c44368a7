"""The web app: `create_app(workspace, with_workers=...)` for `masthead serve` and for tests.

It holds no state of its own beyond caches: every page and API answer is read from the
workspace's projections, and every change is a command of `masthead.app.commands`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from masthead import __version__
from masthead.app.auth import TokenFile
from masthead.app.webhooks import WebhookInbox
from masthead.app.workspace import Workspace
from masthead.web import ab_pages, auth, dashboard, hooks, metrics, pages, ui_actions, ui_outbox
from masthead.web.api import api_router
from masthead.web.auth import ApiOperator
from masthead.web.charts import meter
from masthead.web.errors import install_error_handlers
from masthead.web.limits import BodyLimits
from masthead.web.render import ago, minutes, percent, seconds_text, usd
from masthead.web.sse import POLL_SECONDS, Broadcaster
from masthead.web.state import WEB_DIR, DeskState
from masthead.web.workers import start_poller, start_workers, stop_poller, stop_workers

# No inline script or style anywhere, so the policy can forbid both: injected markup cannot run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
                               " frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


# Answers carry the operator's data (and the login page its CSRF token): no cache may keep
# them, a shared proxy's or the browser's back-forward one. Bundled static files may be cached.
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Adds SECURITY_HEADERS (and, outside /static, Cache-Control: no-store) to every HTTP answer
    that does not set its own. A plain ASGI middleware: the decorator form (BaseHTTPMiddleware)
    costs a task and a copy per request, a third of the webhook's time."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = self.headers if scope["path"].startswith("/static/") else [*self.headers, NO_STORE]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in headers if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    templates.env.filters.update(ago=ago, minutes=minutes, usd=usd, percent=percent, seconds=seconds_text)
    templates.env.globals.update(version=__version__, meter=meter)
    return templates


schema_router = APIRouter(include_in_schema=False)


@schema_router.get("/openapi.json")
def openapi_schema(request: Request, _op: ApiOperator) -> JSONResponse:
    """The API's schema, for the operator only: it maps every route an attacker could try. No
    browsable docs page is served (its scripts would come from a CDN that the CSP refuses)."""
    return JSONResponse(request.app.openapi())


def create_app(workspace: Workspace, *, with_workers: bool, allowed_hosts: list[str] | None = None,
               poll_seconds: float = POLL_SECONDS, with_poller: bool = False) -> FastAPI:
    """The API, the desk and the live stream for one workspace; with the workers and the source
    poller (sources and cron schedules) if asked."""
    state = DeskState(workspace=workspace, templates=make_templates(), token_file=TokenFile(workspace.root),
                      broadcaster=Broadcaster(), inbox=WebhookInbox(workspace), poll_seconds=poll_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workspace.store.listeners.append(state.broadcaster.on_append)
        if with_workers:
            start_workers(state)
        if with_poller:
            start_poller(state)
        try:
            yield
        finally:
            state.broadcaster.close()
            stop_poller(state)
            stop_workers(state)
            workspace.store.listeners.remove(state.broadcaster.on_append)

    app = FastAPI(
        title="Masthead", version=__version__, lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None,
        description="Signals in, reviewed pieces out. Every route under /api/v1 needs"
                    " `Authorization: Bearer <token>` (`masthead token` prints it).",
    )
    app.state.desk = state
    install_error_handlers(app)

    # Limits first (innermost of these, outside every route): a body is capped before it is
    # parsed and before auth runs; its 413 still gets the security headers.
    app.add_middleware(BodyLimits)
    app.add_middleware(SecurityHeaders)
    if allowed_hosts:
        # On loopback, a Host header naming another site means DNS rebinding: refuse it.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    # Routes are matched in order: the webhook route, the busiest under load, comes first.
    app.include_router(ab_pages.router)  # before hooks: /hooks/ab is not a webhook source
    app.include_router(hooks.router)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    app.include_router(api_router())
    app.include_router(schema_router)
    for module in (metrics, auth, pages, ui_actions, ui_outbox, dashboard):
        app.include_router(module.router)
    return app

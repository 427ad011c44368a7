"""The operator's desk: JSON API, live stream, webhooks and the review UI (FastAPI + Jinja + htmx)."""

from masthead.web.app import create_app

__all__ = ["create_app"]

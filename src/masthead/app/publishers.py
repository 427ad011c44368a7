"""The configured publishers, for `masthead publishers list|check` (and the API, later).

`check` asks each service whether it accepts the credentials (Mastodon verify_credentials,
Bluesky createSession, X users/me, LinkedIn userinfo, SMTP EHLO + STARTTLS + AUTH, a read for
Ghost and WordPress) and says which environment variable to renew when it does not; no secret's
value is ever part of a row.
"""

from __future__ import annotations

from typing import Any

from masthead.app.workspace import Workspace
from masthead.channels.publisher import CredentialsRejected, Publisher
from masthead.config import SECRET_ENV_KEYS, PublisherSection
from masthead.errors import MastheadError, NotFoundError


def _sections(ws: Workspace) -> dict[str, PublisherSection]:
    return {"file": PublisherSection(kind="file"), **ws.config.publishers}


def _credential(section: PublisherSection) -> str | None:
    return next((str(getattr(section, key)) for key in SECRET_ENV_KEYS if getattr(section, key, None)), None)


def _row(name: str, section: PublisherSection, publisher: Publisher) -> dict[str, Any]:
    capabilities = publisher.capabilities
    return {"name": name, "kind": section.kind, "credential_env": _credential(section),
            "exactly_once": capabilities.exactly_once, "retract": capabilities.retract}


def list_publishers(ws: Workspace) -> list[dict[str, Any]]:
    publishers = ws.publishers()
    return [_row(name, section, publishers[name]) for name, section in sorted(_sections(ws).items())]


def check_publishers(ws: Workspace, name: str | None = None) -> list[dict[str, Any]]:
    """One row per publisher: `ok`, and `detail` (the account, or what is wrong and the fix)."""
    sections = _sections(ws)
    if name is not None and name not in sections:
        raise NotFoundError(f"publisher {name!r} is not configured",
                            fix=f"use one of {', '.join(sorted(sections))}, or add [publishers.{name}] to masthead.toml")
    publishers = ws.publishers()
    rows = []
    for each in sorted(sections) if name is None else [name]:
        row = _row(each, sections[each], publishers[each])
        try:
            row |= {"ok": True, "detail": publishers[each].check()}
        except CredentialsRejected as exc:
            row |= {"ok": False, "detail": ws.redact(str(exc)), "renew": exc.env}
        except MastheadError as exc:
            row |= {"ok": False, "detail": ws.redact(str(exc))}
        rows.append(row)
    return rows

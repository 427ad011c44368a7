"""Settling a publication whose outcome Masthead could not know (`needs_human`).

A person looks at the service and says what happened: `published` at a URL (recorded as
delivered, never sent again) or `not_published` (recorded like a failure the service reported:
the next attempt sends). The publish task waiting for the person looks again at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from masthead.app.commands import human
from masthead.app.scheduling import wake_publish
from masthead.app.workspace import Workspace
from masthead.errors import InputError, NotFoundError, StateError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.types import PublicationSettled


def _checked_url(url: str) -> str:
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(f"--published {url!r} is not a link", field="--published",
                         fix="give the post's address as the service shows it, e.g. https://mastodon.social/@you/123")
    return url.strip()


def settle_publication(ws: Workspace, key: str, *, operator: str, published_url: str | None = None,
                       not_published: bool = False, note: str | None = None) -> dict[str, Any]:
    """Record a person's answer for a `needs_human` publication; returns the publication row."""
    actor = human(operator)
    if (published_url is None) == (not not_published):
        raise InputError("say what became of the publication", field="--published",
                         fix="give --published URL (it is out there) or --not-published (send it again)")
    url = _checked_url(published_url) if published_url is not None else None
    meta = Meta(actor=actor, at=utc_now())
    with ws.store.transaction() as tx:
        rows = tx.query("SELECT * FROM publications WHERE idempotency_key = ?", (key,))
        if not rows:
            raise NotFoundError(f"publication {key!r} does not exist",
                                fix="see `masthead publications list --status needs_human`")
        publication = rows[0]
        if publication["status"] != "needs_human":
            raise StateError(f"publication {key} is {publication['status']}; only a needs_human publication is settled")
        event = PublicationSettled(key=key, outcome="published" if url else "not_published", url=url,
                                   note=(note or "").strip() or None)
        tx.append([event.to_new(stream_of("publication", key))], meta)
        piece = tx.query("SELECT * FROM pieces WHERE id = ?", (publication["piece_id"],))[0]
        wake_publish(tx, piece | {"channel": publication["channel"]}, meta, f"publication {key} settled: {event.outcome}")
        return tx.query("SELECT * FROM publications WHERE idempotency_key = ?", (key,))[0]

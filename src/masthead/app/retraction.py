"""`masthead piece retract`: take a piece's delivered publications back where the service allows.

Each delivered publication is retracted through its publisher (Mastodon deletes the status,
Bluesky the record, a feed drops the item) and recorded as `PublicationRetracted` by the
operator. Publishers that cannot take a post back (a file, a webhook) are refused by name,
and nothing is recorded for them.
"""

from __future__ import annotations

from typing import Any

from masthead.app.people import principal_of
from masthead.app.permissions import Principal, authorize
from masthead.app.workspace import Workspace
from masthead.channels.publisher import Receipt
from masthead.errors import NotFoundError, StateError
from masthead.events.model import Meta, stream_of, utc_now
from masthead.events.types import PublicationRetracted


def retract_piece(ws: Workspace, piece_id: str, *, operator: str | Principal,
                  reason: str | None = None) -> list[dict[str, Any]]:
    """One row per delivered publication: `retracted` True, or why not."""
    who = principal_of(ws, operator)
    authorize(who, "retract")
    actor = who.actor
    if not ws.store.query("SELECT id FROM pieces WHERE id = ?", (piece_id,)):
        raise NotFoundError(f"piece {piece_id!r} does not exist", fix="see `masthead pieces list`")
    delivered = ws.store.query("SELECT * FROM publications WHERE piece_id = ? AND status = 'delivered'"
                               " ORDER BY requested_at", (piece_id,))
    if not delivered:
        raise StateError(f"piece {piece_id} has no delivered publication to retract")
    publishers = ws.publishers()
    rows = []
    for publication in delivered:
        name, key = publication["publisher"], publication["idempotency_key"]
        publisher = publishers.get(name)
        if publisher is None or not publisher.capabilities.retract:
            why = "is no longer configured" if publisher is None else "cannot take a post back"
            rows.append({"key": key, "publisher": name, "retracted": False, "detail": f"publisher {name} {why}"})
            continue
        publisher.retract(Receipt(location=publication["location"], remote_id=publication["remote_id"],
                                  url=publication["url"]))
        event = PublicationRetracted(key=key, reason=reason)
        ws.store.append([event.to_new(stream_of("publication", key))], Meta(actor=actor, at=utc_now()))
        rows.append({"key": key, "publisher": name, "retracted": True, "detail": publication["url"] or publication["location"]})
    return rows

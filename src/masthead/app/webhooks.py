"""Signed webhooks: external systems POST signals to /hooks/<source>.

The scheme (also in docs/web.md):

    X-Masthead-Timestamp: <unix seconds>
    X-Masthead-Delivery:  <the sender's unique id for this delivery>
    X-Masthead-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>

The secret comes from the environment variable that `[webhooks.<source>] secret_env` names.
A timestamp more than five minutes away from our clock is refused, so a captured request
cannot be replayed later; within those five minutes a repeated delivery id is answered with
the signal it already made, never a second one. The delivery id is kept in the signal's
`source` (`webhook:<source>:<delivery>`), i.e. in the log, and a partial unique index on it
makes the de-duplication hold across restarts and racing processes. The delivery id itself is
not signed, so a repeated *signature* (same timestamp and body) counts as a replay too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from masthead.app.commands import MAX_SIGNAL_BYTES, add_signal
from masthead.app.workspace import Workspace
from masthead.config import WebhookSection
from masthead.errors import MastheadError, NotFoundError

TIMESTAMP_HEADER = "X-Masthead-Timestamp"
SIGNATURE_HEADER = "X-Masthead-Signature"
DELIVERY_HEADER = "X-Masthead-Delivery"
TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = MAX_SIGNAL_BYTES
DELIVERY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,199}$")
SIGNATURE_PATTERN = re.compile(r"^sha256=([0-9a-f]{64})$")
TITLE_CHARS = 200


class WebhookRefused(MastheadError):
    """A webhook delivery was refused; `status` and `code` say how to answer it."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 fix: str | None = None):
        self.status = status
        self.code = code
        super().__init__(message, field=field, fix=fix)


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Masthead-Signature` value a sender computes (and we recompute)."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_source(ws: Workspace, source: str) -> WebhookSection:
    section = ws.config.webhooks.get(source)
    if section is None:
        raise NotFoundError(f"webhook source {source!r} is not configured",
                            fix="add a [webhooks.<source>] section to masthead.toml")
    return section


def webhook_secret(source: str, section: WebhookSection) -> bytes:
    value = os.environ.get(section.secret_env)
    if not value:
        # Names the variable, never a value: the answer must not help anyone guess secrets.
        raise WebhookRefused(503, "not_configured", f"webhook source {source!r} has no secret yet",
                             fix=f"set the environment variable {section.secret_env} for `masthead serve`")
    return value.encode("utf-8")


@dataclass(frozen=True)
class VerifiedDelivery:
    delivery_id: str
    signature: str
    timestamp: int


def verify_delivery(secret: bytes, headers: Mapping[str, str], body: bytes, now: float) -> VerifiedDelivery:
    """Check headers, signature and freshness, in that order; raise WebhookRefused otherwise."""
    timestamp = headers.get(TIMESTAMP_HEADER.lower()) or ""
    presented = headers.get(SIGNATURE_HEADER.lower()) or ""
    delivery = headers.get(DELIVERY_HEADER.lower()) or ""
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise WebhookRefused(401, "bad_timestamp", "the timestamp header is missing or not unix seconds",
                             field=TIMESTAMP_HEADER, fix="send the current time as whole unix seconds")
    match = SIGNATURE_PATTERN.match(presented.strip().lower())
    if match is None or not hmac.compare_digest(signature(secret, timestamp, body), f"sha256={match.group(1)}"):
        raise WebhookRefused(401, "bad_signature", "the signature does not match the body and timestamp",
                             field=SIGNATURE_HEADER,
                             fix='send sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>')
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise WebhookRefused(401, "stale_timestamp",
                             f"the timestamp is more than {TOLERANCE_SECONDS // 60} minutes from the server's clock",
                             field=TIMESTAMP_HEADER, fix="sign each delivery when you send it; check the sender's clock")
    if not DELIVERY_PATTERN.match(delivery):
        raise WebhookRefused(400, "bad_delivery_id", "the delivery id header is missing or malformed",
                             field=DELIVERY_HEADER, fix="send a unique id of letters, digits and . _ : - (max 200)")
    return VerifiedDelivery(delivery_id=delivery, signature=match.group(1), timestamp=int(timestamp))


def parse_payload(body: bytes) -> tuple[str, str | None]:
    """The signal text (the body verbatim) and a title when the JSON object carries one."""
    try:
        text = body.decode("utf-8")
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRefused(400, "malformed_json", "the body is not UTF-8 JSON",
                             fix="send a JSON document with Content-Type: application/json") from None
    title = payload.get("title") if isinstance(payload, dict) else None
    return text, title[:TITLE_CHARS] if isinstance(title, str) and title.strip() else None


def delivery_source(source: str, delivery_id: str) -> str:
    return f"webhook:{source}:{delivery_id}"


def find_delivery(ws: Workspace, source: str, delivery_id: str) -> str | None:
    # The LIKE term repeats the partial index's own condition so SQLite uses that index.
    rows = ws.store.query("SELECT id FROM signals WHERE source = ? AND source LIKE 'webhook:%'",
                          (delivery_source(source, delivery_id),))
    return rows[0]["id"] if rows else None


@dataclass(frozen=True)
class Receipt:
    signal_id: str
    job_ids: list[str]
    duplicate: bool


class WebhookInbox:
    """Turns verified deliveries into signals, each delivery once.

    The append runs outside any Python lock (so concurrent deliveries share one WAL flush); the
    unique index on the delivery source refuses a second copy of a delivery id, in this
    process or another. Signatures seen within the tolerance window are
    remembered, since a captured request re-sent under a new delivery id is still a replay.
    """

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._lock = threading.Lock()
        self._signatures: dict[str, str] = {}  # signature -> signal id
        self._in_flight: dict[str, threading.Event] = {}  # signature -> set once it is stored (or failed)
        self._expiry: deque[tuple[float, str]] = deque()  # (forget after, signature), oldest first

    def receive(self, source: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Receipt:
        now = time.time() if now is None else now
        section = webhook_source(self.ws, source)
        if len(body) > MAX_BODY_BYTES:
            raise WebhookRefused(413, "too_large", f"the body is over {MAX_BODY_BYTES:,} bytes",
                                 fix="send an excerpt or a link")
        delivery = verify_delivery(webhook_secret(source, section), headers, body, now)
        text, title = parse_payload(body)
        with self._lock:
            self._forget_old_signatures(now)
            seen = self._signatures.get(delivery.signature)
            in_flight = self._in_flight.get(delivery.signature)
            if seen is None and in_flight is None:
                # Claim the signature before appending, so a copy arriving meanwhile waits for
                # this one; the append runs outside the lock so concurrent deliveries share a flush.
                in_flight = self._in_flight[delivery.signature] = threading.Event()
                owner = True
            else:
                owner = False
        if seen is not None:
            return Receipt(seen, [], duplicate=True)
        assert in_flight is not None
        if not owner:
            return self._await_copy(in_flight, delivery)
        try:
            receipt = self._store_once(source, section, text, title, delivery)
            with self._lock:
                self._signatures[delivery.signature] = receipt.signal_id
                self._expiry.append((now + 2 * TOLERANCE_SECONDS, delivery.signature))
        finally:
            with self._lock:
                del self._in_flight[delivery.signature]
            in_flight.set()
        return receipt

    def _await_copy(self, in_flight: threading.Event, delivery: VerifiedDelivery) -> Receipt:
        in_flight.wait(timeout=30.0)
        with self._lock:
            seen = self._signatures.get(delivery.signature)
        if seen is None:  # the first copy failed: the sender should try again
            raise WebhookRefused(409, "retry", "an identical delivery was being stored and did not finish",
                                 fix="send the delivery again")
        return Receipt(seen, [], duplicate=True)

    def _store_once(self, source: str, section: WebhookSection, text: str, title: str | None,
                    delivery: VerifiedDelivery) -> Receipt:
        existing = find_delivery(self.ws, source, delivery.delivery_id)
        if existing is not None:
            return Receipt(existing, [], duplicate=True)
        try:
            added = add_signal(self.ws, section.project, kind=section.kind, body=text,
                               title=title, priority=section.priority,
                               source=delivery_source(source, delivery.delivery_id), trust="untrusted")
        except NotFoundError as exc:
            raise WebhookRefused(503, "not_configured", f"webhook source {source!r}: {exc.message}",
                                 fix=exc.fix) from None
        except Exception:
            # A concurrent request (here or in another process) stored the same delivery id
            # between our check and our append: the unique index refused the second copy.
            raced = find_delivery(self.ws, source, delivery.delivery_id)
            if raced is None:
                raise
            return Receipt(raced, [], duplicate=True)
        return Receipt(added.signal_id, added.job_ids, duplicate=False)

    def _forget_old_signatures(self, now: float) -> None:
        # Past the tolerance window a repeat fails the timestamp check anyway.
        while self._expiry and self._expiry[0][0] < now:
            _, old = self._expiry.popleft()
            self._signatures.pop(old, None)

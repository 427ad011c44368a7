"""Signed webhooks: external systems POST signals to /hooks/<source>.

The scheme (also in docs/web.md):

    Content-Type:         application/json
    X-Masthead-Timestamp: <unix seconds, ASCII digits>
    X-Masthead-Delivery:  <the sender's unique id for this delivery>
    X-Masthead-Signature: v2=<hex HMAC-SHA256(secret, "v2:" + timestamp + "." + delivery + "." + raw body)>

The secret comes from the environment variable that `[webhooks.<source>] secret_env` names.
A timestamp more than five minutes away from our clock is refused, so a captured request
cannot be replayed later; within those five minutes a repeated delivery id is answered with
the signal it already made, never a second one. The delivery id is kept in the signal's
`source` (`webhook:<source>:<delivery>`), i.e. in the log, and a partial unique index on it
makes the de-duplication hold across restarts and racing processes. Since the v2 signature
covers the delivery id, a captured request re-sent under a new id fails the signature.

The legacy scheme, `sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`, is still
accepted until LEGACY_SIGNATURES_UNTIL. It does not sign the delivery id, so its signatures are
claimed in the database for the tolerance window (app/webhook_replay.py): a re-sent copy under a
new id is answered with the first copy's signal, in any process, after any restart.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from masthead.app.commands import MAX_SIGNAL_BYTES, add_signal
from masthead.app.webhook_replay import SignatureClaims
from masthead.app.workspace import Workspace
from masthead.channels.webhook_signing import (
    DELIVERY_HEADER,
    LEGACY_SCHEME,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    legacy_signature,
    signature,
)
from masthead.config import WebhookSection
from masthead.errors import MastheadError, NotFoundError

TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = MAX_SIGNAL_BYTES
DELIVERY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,199}$")
SIGNATURE_PATTERN = re.compile(r"(v2|sha256)=([0-9a-f]{64})")
TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,12}")  # ASCII only: str.isdigit() also takes "²" and "١"
LEGACY_SIGNATURES_UNTIL = "2027-06-30"
COPY_WAIT_SECONDS = 10.0
TITLE_CHARS = 200


class WebhookRefused(MastheadError):
    """A webhook delivery was refused; `status` and `code` say how to answer it."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 fix: str | None = None):
        self.status = status
        self.code = code
        super().__init__(message, field=field, fix=fix)


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
    legacy: bool  # signed with the deprecated scheme that does not cover the delivery id


def verify_delivery(secret: bytes, headers: Mapping[str, str], body: bytes, now: float) -> VerifiedDelivery:
    """Check headers, signature and freshness, in that order; raise WebhookRefused otherwise."""
    timestamp = headers.get(TIMESTAMP_HEADER.lower()) or ""
    presented = headers.get(SIGNATURE_HEADER.lower()) or ""
    delivery = headers.get(DELIVERY_HEADER.lower()) or ""
    if not TIMESTAMP_PATTERN.fullmatch(timestamp):
        raise WebhookRefused(400, "bad_timestamp", "the timestamp header is missing or not unix seconds in ASCII digits",
                             field=TIMESTAMP_HEADER, fix="send the current time as whole unix seconds, e.g. 1765100000")
    if not DELIVERY_PATTERN.fullmatch(delivery):
        raise WebhookRefused(400, "bad_delivery_id", "the delivery id header is missing or malformed",
                             field=DELIVERY_HEADER, fix="send a unique id of letters, digits and . _ : - (max 200)")
    match = SIGNATURE_PATTERN.fullmatch(presented.strip().lower())
    legacy = match is not None and match.group(1) == LEGACY_SCHEME
    expected = legacy_signature(secret, timestamp, body) if legacy else signature(secret, timestamp, delivery, body)
    if match is None or not hmac.compare_digest(expected, match.group(0)):
        raise WebhookRefused(401, "bad_signature", "the signature does not match the body, timestamp and delivery id",
                             field=SIGNATURE_HEADER,
                             fix='send v2=<hex HMAC-SHA256(secret, "v2:" + timestamp + "." + delivery id + "." + body)>')
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise WebhookRefused(401, "stale_timestamp",
                             f"the timestamp is more than {TOLERANCE_SECONDS // 60} minutes from the server's clock",
                             field=TIMESTAMP_HEADER, fix="sign each delivery when you send it; check the sender's clock")
    return VerifiedDelivery(delivery_id=delivery, signature=match.group(2), timestamp=int(timestamp), legacy=legacy)


def _no_constants(name: str) -> None:
    raise WebhookRefused(400, "malformed_json", f"the body holds {name}, which JSON does not allow",
                         fix="send numbers as finite JSON numbers (or as strings)")


def parse_payload(body: bytes) -> tuple[str, str | None]:
    """The signal text (the body verbatim) and a title when the JSON object carries one."""
    try:
        text = body.decode("utf-8")
        payload = json.loads(text, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRefused(400, "malformed_json", "the body is not UTF-8 JSON",
                             fix="send a JSON document with Content-Type: application/json") from None
    title = payload.get("title") if isinstance(payload, dict) else None
    return text, title[:TITLE_CHARS] if isinstance(title, str) and title.strip() else None


def delivery_source(source: str, delivery_id: str) -> str:
    return f"webhook:{source}:{delivery_id}"


def find_delivery(ws: Workspace, source_key: str) -> str | None:
    """The signal stored for a delivery source (`webhook:<source>:<delivery id>`), if any."""
    # The LIKE term repeats the partial index's own condition so SQLite uses that index.
    rows = ws.store.query("SELECT id FROM signals WHERE source = ? AND source LIKE 'webhook:%'", (source_key,))
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
    process or another. Legacy signatures are claimed in the database first (SignatureClaims),
    since a captured legacy request re-sent under a new delivery id is still a replay.
    """

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.claims = SignatureClaims(ws.store)

    def receive(self, source: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> Receipt:
        now = time.time() if now is None else now
        section = webhook_source(self.ws, source)
        if len(body) > MAX_BODY_BYTES:
            raise WebhookRefused(413, "too_large", f"the body is over {MAX_BODY_BYTES:,} bytes",
                                 fix="send an excerpt or a link")
        delivery = verify_delivery(webhook_secret(source, section), headers, body, now)
        text, title = parse_payload(body)
        source_key = delivery_source(source, delivery.delivery_id)
        if not delivery.legacy:
            return self._store_once(source, section, text, title, source_key)
        # Past twice the tolerance a copy fails the timestamp check anyway (clocks may differ both ways).
        owner = self.claims.claim(delivery.signature, source_key, now + 2 * TOLERANCE_SECONDS, now)
        if owner != source_key:
            return self._copy_of(delivery.signature, owner)
        try:
            return self._store_once(source, section, text, title, source_key)
        except BaseException:
            self.claims.release(delivery.signature, source_key)
            raise

    def _copy_of(self, signature_hex: str, owner: str) -> Receipt:
        """The answer to a copy of a legacy-signed request: the first copy's signal, once it is stored."""
        deadline = time.monotonic() + COPY_WAIT_SECONDS
        while True:
            first = find_delivery(self.ws, owner)
            if first is not None:
                return Receipt(first, [], duplicate=True)
            if self.claims.owner(signature_hex) != owner or time.monotonic() > deadline:
                # The first copy failed (and let go of its claim), or it is taking too long.
                raise WebhookRefused(409, "retry", "an identical delivery is being stored and has not finished",
                                     fix="send the delivery again in a minute")
            time.sleep(0.05)  # the first copy is between its claim and its append (in any process)

    def _store_once(self, source: str, section: WebhookSection, text: str, title: str | None,
                    source_key: str) -> Receipt:
        existing = find_delivery(self.ws, source_key)
        if existing is not None:
            return Receipt(existing, [], duplicate=True)
        try:
            added = add_signal(self.ws, section.project, kind=section.kind, body=text,
                               title=title, priority=section.priority, source=source_key, trust="untrusted")
        except NotFoundError as exc:
            raise WebhookRefused(503, "not_configured", f"webhook source {source!r}: {exc.message}",
                                 fix=exc.fix) from None
        except Exception:
            # A concurrent request (here or in another process) stored the same delivery id
            # between our check and our append: the unique index refused the second copy.
            raced = find_delivery(self.ws, source_key)
            if raced is None:
                raise
            return Receipt(raced, [], duplicate=True)
        return Receipt(added.signal_id, added.job_ids, duplicate=False)

"""The signature of a Masthead webhook, one definition for both directions: the `webhook`
publisher signs what it sends with it, and `/hooks/<source>` (app/webhooks.py) checks what it
receives with it, so one Masthead can feed another.

    X-Masthead-Signature: v2=<hex HMAC-SHA256(secret, "v2:" + timestamp + "." + delivery id + "." + raw body)>

The deprecated `sha256=` scheme signs `timestamp + "." + raw body` only: a copy re-sent under a
new delivery id keeps a valid signature, which is why v2 covers the id. Masthead no longer sends
it; /hooks/<source> still accepts it for a while (app/webhooks.py says until when).
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Masthead-Timestamp"
DELIVERY_HEADER = "X-Masthead-Delivery"
SIGNATURE_HEADER = "X-Masthead-Signature"
SCHEME = "v2"
LEGACY_SCHEME = "sha256"


def signing_string(timestamp: str, delivery_id: str, body: bytes) -> bytes:
    """The exact bytes a v2 signature covers: `v2:<timestamp>.<delivery id>.<raw body>`."""
    return b"v2:" + timestamp.encode("ascii") + b"." + delivery_id.encode("ascii") + b"." + body


def signature(secret: bytes, timestamp: str, delivery_id: str, body: bytes) -> str:
    """The `X-Masthead-Signature` value of a delivery."""
    return f"{SCHEME}=" + hmac.new(secret, signing_string(timestamp, delivery_id, body), hashlib.sha256).hexdigest()


def legacy_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The deprecated `sha256=` value over `timestamp + "." + body` (no delivery id)."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"{LEGACY_SCHEME}={digest}"

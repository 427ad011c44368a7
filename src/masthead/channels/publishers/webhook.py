"""Signed webhook out: each publication is POSTed as JSON to a URL of the operator's choosing.

Headers (channels/webhook_signing.py: the scheme Masthead's own /hooks/<source> checks, so one
Masthead can feed another):

    X-Masthead-Timestamp: <unix seconds>
    X-Masthead-Delivery:  <the publication's idempotency key>
    X-Masthead-Signature: v2=<hex HMAC-SHA256(secret, "v2:" + timestamp + "." + delivery + "." + raw body)>

The receiver must de-duplicate by X-Masthead-Delivery. There is no way to ask a receiver
whether it got a request, so after an unknown outcome (a timeout after sending, a reset
connection, a crash) the publication goes to a person rather than being sent again.
"""

from __future__ import annotations

import json
import time
from typing import ClassVar

import httpx

from masthead.channels.publisher import (
    RECONCILE,
    Capabilities,
    Delivery,
    Limits,
    PublicationRejected,
    Receipt,
)
from masthead.channels.publishers.http import exchange
from masthead.channels.publishers.service import ServicePublisher
from masthead.channels.webhook_signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from masthead.config import WebhookPublisherSection


class WebhookPublisher(ServicePublisher[WebhookPublisherSection]):
    kind: ClassVar[str] = "webhook"
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=RECONCILE)
    settings_model: ClassVar[type[WebhookPublisherSection]] = WebhookPublisherSection


    def _signing_key(self) -> bytes:
        return self._secret(self.settings.secret_env, "<the secret the receiver checks signatures with>").encode("utf-8")

    def publish(self, delivery: Delivery) -> Receipt:
        body = json.dumps({
            "key": delivery.key, "piece_id": delivery.piece_id, "version": delivery.version,
            "channel": delivery.channel, "project": delivery.project, "subject": delivery.subject,
            "text": delivery.text, "published_at": delivery.at,
        }, ensure_ascii=False, sort_keys=True).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                   DELIVERY_HEADER: delivery.key, SIGNATURE_HEADER: signature(self._signing_key(), timestamp, delivery.key, body)}
        # A refused signature (401/403) means the receiver does not share our secret.
        response = exchange(self._client, self.name, self.settings.secret_env, "POST", self.settings.url,
                            content=body, headers=headers)
        return _receipt(response, self.settings.url)

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        return None  # a receiver cannot be asked; a person decides

    def retract(self, receipt: Receipt) -> None:
        raise PublicationRejected(f"publisher {self.name}: a webhook delivery cannot be taken back",
                                  fix="ask the receiver's owner to remove it")

    def limits(self) -> Limits:
        return Limits()

    def check(self) -> str:
        self._signing_key()
        return f"POSTs signed JSON to {self.settings.url} (secret in ${self.settings.secret_env} is set)"


def _receipt(response: httpx.Response, url: str) -> Receipt:
    """The receiver may answer with its own id and link for the item ({"id": ..., "url": ...})."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        remote_id = str(answer["id"]) if answer.get("id") is not None else None
        link = answer.get("url") if isinstance(answer.get("url"), str) else None
        return Receipt(location=link or url, remote_id=remote_id, url=link)
    return Receipt(location=url)

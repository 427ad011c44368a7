"""`POST /hooks/ab`: the mail service reports an A/B test's cumulative results, signed.

The signing is the webhooks' v2 scheme (app/webhooks.py): `X-Masthead-Timestamp`,
`X-Masthead-Delivery` and `X-Masthead-Signature: v2=<hex HMAC-SHA256(secret, "v2:" + timestamp +
"." + delivery id + "." + raw body)>`, five minutes of tolerance; the secret is in the
environment variable `[ab] secret_env` names. The legacy `sha256=` scheme is not taken here.
The body is the same report as `masthead ab record`'s CSV, as JSON:

    {"test_id": "ab-...", "results": [{"variant": "A", "sent": 1200, "opens": 300, "clicks": 41}, ...]}

A delivery is recorded once: its id is the report's source (`hook:<delivery id>`), and a repeat
is answered with the test as it stands, without a second report.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from masthead.app.ab import ab_report, record_results
from masthead.app.webhooks import MAX_BODY_BYTES, WebhookRefused, verify_delivery
from masthead.app.workspace import Workspace
from masthead.events.ab_types import AbResult

ACTOR = "system"


def _secret(ws: Workspace) -> bytes:
    name = ws.config.ab.secret_env
    if not name:
        # Not set up, as an unknown webhook source: there is nothing here to post to.
        raise WebhookRefused(404, "not_found", "POST /hooks/ab is not configured",
                             fix='add [ab] secret_env = "MASTHEAD_AB_HOOK_SECRET" to masthead.toml and set that variable')
    value = os.environ.get(name)
    if not value:
        # Names the variable, never a value.
        raise WebhookRefused(503, "not_configured", "POST /hooks/ab has no secret yet",
                             fix=f"set the environment variable {name} for `masthead serve`")
    return value.encode("utf-8")


def parse_report(body: bytes) -> tuple[str, list[AbResult]]:
    """The test id and its results from a JSON body; a bad body refuses the whole report."""
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=lambda name: _bad(f"it holds {name}"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRefused(400, "malformed_json", "the body is not UTF-8 JSON",
                             fix="send a JSON document with Content-Type: application/json") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("test_id"), str) or \
            not isinstance(payload.get("results"), list) or not payload["results"]:
        raise _bad("it needs test_id (a string) and results (a non-empty list)")
    results = []
    for index, row in enumerate(payload["results"]):
        try:
            results.append(AbResult.model_validate(row))
        except ValidationError:
            raise _bad(f"results[{index}] is not {{variant, sent, opens, clicks}} with whole counts", index) from None
        if results[-1].opens > results[-1].sent or results[-1].clicks > results[-1].sent:
            raise _bad(f"results[{index}] has more opens or clicks than sends", index)
    return payload["test_id"], results


def _bad(why: str, index: int | None = None) -> WebhookRefused:
    return WebhookRefused(422, "invalid_report", f"the A/B report is not valid: {why}",
                          field="results" if index is None else f"results[{index}]",
                          fix='send {"test_id": "ab-...", "results": [{"variant": "A", "sent": 1200, '
                              '"opens": 300, "clicks": 41}]} with cumulative counts')


def receive_ab_report(ws: Workspace, headers: Mapping[str, str], body: bytes,
                      now: float | None = None) -> dict[str, Any]:
    """Verify, parse and record one signed report; returns the test report and `duplicate`."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRefused(413, "too_large", f"the body is over {MAX_BODY_BYTES:,} bytes", fix="send one test's counts")
    delivery = verify_delivery(_secret(ws), headers, body, time.time() if now is None else now)
    if delivery.legacy:
        raise WebhookRefused(401, "bad_signature", "POST /hooks/ab takes v2 signatures only",
                             field="X-Masthead-Signature", fix="sign with the v2 scheme, which covers the delivery id")
    test_id, results = parse_report(body)
    source = f"hook:{delivery.delivery_id}"
    seen = ws.store.query("SELECT data FROM events WHERE stream = ? AND type = 'AbResultsRecorded'",
                          (f"abtest-{test_id}",))
    if any(json.loads(row["data"])["source"] == source for row in seen):
        return ab_report(ws, test_id) | {"duplicate": True}
    return record_results(ws, test_id, results, source=source, operator=ACTOR) | {"duplicate": False}

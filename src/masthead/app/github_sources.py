"""`kind: github_releases` sources: GitHub's release webhook (POST /hooks/github) to signals.

A delivery is checked against each github_releases source's secret (the environment variable
its `secret_env` names); the sources whose secret signed it receive it. Nothing is recorded
for a delivery without a valid signature. A signed delivery is answered as GitHub expects:
  202  a published release: one `release_notes` signal (untrusted unless trusted_sources says
       otherwise), source `github:<source>:<delivery GUID>`
  200  a ping, or a delivery already received (a redelivery answers with the same signal)
  204  anything else (another event, another action, a draft or pre-release not asked for,
       another repository): ignored, and recorded as such in the source's state
Every signed delivery is a SourcePolled event in the source's stream, with the delivery GUID,
so `masthead sources list` shows the last one and a redelivery is recognised after restarts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from masthead.app.commands import MAX_SIGNAL_BYTES
from masthead.app.source_state import (
    ConfiguredSource,
    add_signal_once,
    configured_sources,
    find_source_signal,
    record_poll,
)
from masthead.app.webhooks import WebhookRefused
from masthead.app.workspace import Workspace
from masthead.events.source_types import SourcePolled
from masthead.sources.github import (
    DELIVERY_HEADER,
    DELIVERY_PATTERN,
    EVENT_HEADER,
    EVENT_PATTERN,
    SIGNATURE_HEADER,
    GithubPayloadError,
    ignore_reason,
    parse_payload,
    read_release,
    repository_of,
    signature_matches,
)

RELEASE_SIGNAL_KIND = "release_notes"


@dataclass(frozen=True)
class GithubReceipt:
    status: int  # 202 new signal(s), 200 ping or repeat, 204 ignored
    signal_ids: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)
    note: str | None = None


def receive_github(ws: Workspace, headers: Mapping[str, str], body: bytes) -> GithubReceipt:
    """Verify one delivery (headers lower-cased) and act on it; WebhookRefused otherwise."""
    if len(body) > MAX_SIGNAL_BYTES:
        raise WebhookRefused(413, "too_large", f"the body is over {MAX_SIGNAL_BYTES:,} bytes",
                             fix="GitHub release payloads are far smaller; check the sender")
    delivery = headers.get(DELIVERY_HEADER.lower(), "")
    event = headers.get(EVENT_HEADER.lower(), "")
    if not DELIVERY_PATTERN.fullmatch(delivery) or not EVENT_PATTERN.fullmatch(event):
        raise WebhookRefused(400, "bad_headers", "the X-GitHub-Delivery or X-GitHub-Event header is missing or malformed",
                             field=DELIVERY_HEADER, fix="point a GitHub repository webhook at /hooks/github")
    sources = _signed_by(ws, headers.get(SIGNATURE_HEADER.lower(), ""), body)
    try:
        payload = parse_payload(body)
    except GithubPayloadError as exc:
        raise WebhookRefused(400, "malformed_json", str(exc), fix="set the webhook's content type to application/json") \
            from None
    receipts = [_deliver(ws, source, delivery, event, payload) for source in sources]
    signals = [sid for receipt in receipts for sid in receipt.signal_ids]
    # A new signal anywhere makes it 202; else a repeat or ping 200; else every source ignored it.
    statuses = {receipt.status for receipt in receipts}
    status = 202 if 202 in statuses else 200 if 200 in statuses else 204
    return GithubReceipt(status, signals, [job for receipt in receipts for job in receipt.job_ids],
                         "; ".join(receipt.note for receipt in receipts if receipt.note) or None)


def _signed_by(ws: Workspace, presented: str, body: bytes) -> list[ConfiguredSource]:
    sources = [source for source in configured_sources(ws) if source.spec.kind == "github_releases"]
    if not sources:
        raise WebhookRefused(404, "not_configured", "no project has a github_releases source",
                             fix="add {name: gh, kind: github_releases, secret_env: NAME} to a project's sources:")
    secrets = [(source, os.environ.get(source.spec.secret_env or "")) for source in sources]
    if not any(secret for _, secret in secrets):
        # Names the variables, never a value.
        names = ", ".join(sorted({source.spec.secret_env or "" for source in sources}))
        raise WebhookRefused(503, "not_configured", "no github_releases source has its secret set",
                             fix=f"set {names} in the environment of `masthead serve`")
    signed = [source for source, secret in secrets
              if secret and signature_matches(secret.encode("utf-8"), body, presented)]
    if not signed:
        raise WebhookRefused(401, "bad_signature", "the X-Hub-Signature-256 signature does not match the body "
                             "for any github_releases source", field=SIGNATURE_HEADER,
                             fix="give the GitHub webhook the same secret as the source's secret_env variable")
    return signed


def _deliver(ws: Workspace, source: ConfiguredSource, delivery: str, event: str,
             payload: dict[str, Any]) -> GithubReceipt:
    spec, project = source.spec, source.project.name
    key = f"github:{spec.name}:{delivery}"
    if _seen(ws, source, delivery):
        earlier = find_source_signal(ws, project, key)
        return GithubReceipt(200, [earlier] if earlier else [], note=f"delivery {delivery} was received before")
    repository = repository_of(payload)
    if event == "ping":  # answered 200 from any repository: GitHub shows it as the hook's health
        _record(ws, source, delivery, "ok", f"ping from {repository or 'GitHub'}: the webhook is connected")
        return GithubReceipt(200, note="pong")
    if spec.repository and repository != spec.repository:
        return _ignored(ws, source, delivery, f"{event} event of {repository or 'no repository'}, "
                                              f"not {spec.repository}")
    if event != "release":
        return _ignored(ws, source, delivery, f"{event} event (only release events make signals)")
    try:
        release = read_release(payload)
    except GithubPayloadError as exc:
        return _ignored(ws, source, delivery, str(exc))
    reason = ignore_reason(payload.get("action"), release, drafts=spec.drafts, prereleases=spec.prereleases)
    if reason is not None:
        return _ignored(ws, source, delivery, reason)
    added = add_signal_once(ws, project, key, kind=RELEASE_SIGNAL_KIND, body=release.signal_body()[:MAX_SIGNAL_BYTES],
                            title=release.title, priority="normal", trust="untrusted")
    if not added.created:  # a racing copy of this delivery stored it first
        return GithubReceipt(200, [added.signal_id], note=f"delivery {delivery} was received before")
    _record(ws, source, delivery, "ok", f"release {release.tag} published", imported=1)
    return GithubReceipt(202, [added.signal_id], added.job_ids)


def _seen(ws: Workspace, source: ConfiguredSource, delivery: str) -> bool:
    """A delivery recorded before (a redelivery): every signed delivery is a SourcePolled with its
    GUID in the source's stream; canonical JSON has no spaces, so the LIKE term is exact."""
    rows = ws.store.query("SELECT 1 AS hit FROM events WHERE stream = ? AND type = 'SourcePolled' AND data LIKE ?"
                          " LIMIT 1", (source.stream, f'%"delivery":"{delivery}"%'))
    return bool(rows)


def _ignored(ws: Workspace, source: ConfiguredSource, delivery: str, reason: str) -> GithubReceipt:
    _record(ws, source, delivery, "ignored", reason)
    return GithubReceipt(204, note=reason)


def _record(ws: Workspace, source: ConfiguredSource, delivery: str, status: str, detail: str,
            imported: int = 0) -> None:
    record_poll(ws, source, SourcePolled(project=source.project.name, source=source.spec.name, status=status,
                                         delivery=delivery, detail=detail, imported=imported))

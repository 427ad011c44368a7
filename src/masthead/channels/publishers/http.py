"""One HTTP exchange with a service, its failures sorted into the publisher errors.

What matters is whether the request may have reached the service: a refused connection did
not (send again later), a timeout while waiting for the answer or a reset connection may
have (the outcome is unknown), an error status is the service's answer (it did not post).
"""

from __future__ import annotations

import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from masthead.channels.publisher import (
    CredentialsRejected,
    OutcomeUnknown,
    PublicationRejected,
    PublisherBusy,
)

# Never sent: the request did not leave, or no connection took it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def exchange(client: httpx.Client, publisher: str, credential_env: str | None, method: str, url: str,
             **kwargs: Any) -> httpx.Response:
    """The service's 2xx answer, or the error that says what to do next."""
    response = send(client, publisher, method, url, **kwargs)
    raise_for_answer(response, publisher, credential_env)
    return response


def send(client: httpx.Client, publisher: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """The service's answer, whatever its status; a request without one raises."""
    try:
        return client.request(method, url, **kwargs)
    except _NOT_SENT as exc:
        raise PublisherBusy(f"publisher {publisher}: {url} is unreachable ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise OutcomeUnknown(f"publisher {publisher}: no answer from {url} after sending "
                             f"({type(exc).__name__}); the post may have been made") from None


def raise_for_answer(response: httpx.Response, publisher: str, credential_env: str | None) -> None:
    status = response.status_code
    if status < 300:
        return
    detail = f"{status} {error_text(response)}"
    where = f"publisher {publisher}: {response.request.method} {response.request.url.path}"
    if status == 429:
        wait = retry_after_seconds(response.headers)
        raise PublisherBusy(f"{where} is rate limited ({detail})", retry_after=wait)
    if status >= 500:
        raise PublisherBusy(f"{where} failed on the service's side ({detail})")
    if status in (401, 403) and credential_env is not None:
        raise CredentialsRejected(publisher, credential_env, detail)
    raise PublicationRejected(f"{where} was refused ({detail})",
                              fix="read the service's message; edit the piece or the publisher's settings")


def error_text(response: httpx.Response) -> str:
    """The service's own words, short: `error`/`code`/`message` from a JSON body (X's
    problem+json `title`/`detail`, LinkedIn's and WordPress's `code`, Ghost's first `errors`
    item), else the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        # Ghost: {"errors": [{"message": ..., "type": ...}]}
        body = next((e for e in body["errors"] if isinstance(e, dict)), {})
        body = {"error": body.get("type"), "message": body.get("message")}
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("error", "title", "code", "message", "detail", "error_description") if body.get(k)]
        if parts:
            return ": ".join(parts)[:300]
    return response.text[:200]


def retry_after_seconds(headers: httpx.Headers, now: float | None = None) -> float | None:
    """How long the service asked us to wait: Retry-After (seconds or an HTTP date), else the
    reset time of its rate-limit window (Mastodon: ISO 8601; Bluesky and X: Unix seconds)."""
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value)
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-ratelimit-reset") or headers.get("x-rate-limit-reset") or headers.get("ratelimit-reset")
    if reset:
        try:
            moment = float(reset) if reset.replace(".", "", 1).isdigit() else \
                datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
            return max(0.0, moment - now)
        except ValueError:
            return None
    return None

"""Mastodon: POST /api/v1/statuses with the publication key as `Idempotency-Key`.

Mastodon answers a repeated request with the same key by returning the status it already
made, for one hour; so within that hour a retry after an unknown outcome is safe, and after it
the outbox reconciles first: the account's recent statuses are searched for the text.
A thread's parts are statuses in reply to the part before (`in_reply_to_id`).
"""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Any, ClassVar

import httpx

from masthead.channels.publisher import (
    SAFE_RETRY,
    Capabilities,
    Delivery,
    Limits,
    Receipt,
)
from masthead.channels.publishers.http import exchange
from masthead.channels.publishers.service import ServicePublisher
from masthead.config import MastodonPublisherSection
from masthead.errors import MastheadError

# Mastodon remembers an Idempotency-Key (and the status it made) for one hour.
KEY_LIFETIME_SECONDS = 3600.0
RECENT_STATUSES = 40  # the most one page of an account's statuses returns
LIMITS_RETRY_SECONDS = 300.0  # an instance that could not tell its limits is asked again after this


class MastodonPublisher(ServicePublisher[MastodonPublisherSection]):
    kind: ClassVar[str] = "mastodon"
    capabilities: ClassVar[Capabilities] = Capabilities(
        exactly_once=SAFE_RETRY, retry_window_seconds=KEY_LIFETIME_SECONDS, retract=True, threads=True)
    settings_model: ClassVar[type[MastodonPublisherSection]] = MastodonPublisherSection

    def __init__(self, name: str, settings: MastodonPublisherSection, environ: dict[str, str]):
        super().__init__(name, settings, environ)
        self._limits: Limits | None = None
        self._limits_failure: tuple[float, MastheadError] | None = None
        self._lock = threading.Lock()

    # -- the wire ---------------------------------------------------------------------------
    def _headers(self, **extra: str) -> dict[str, str]:
        token = self._secret(self.settings.token_env, "<an access token with the write:statuses scope>")
        return {"Authorization": f"Bearer {token}", **extra}

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return exchange(self._client, self.name, self.settings.token_env, method, self._base + path, **kwargs)

    # -- the protocol -----------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Receipt:
        status: dict[str, Any] = {"status": delivery.text, "visibility": self.settings.visibility}
        if delivery.reply_to is not None:
            status["in_reply_to_id"] = delivery.reply_to.remote_id
        response = self._call("POST", "/api/v1/statuses",
                              headers=self._headers(**{"Idempotency-Key": delivery.key}), json=status)
        return _receipt(response.json())

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        account = self._call("GET", "/api/v1/accounts/verify_credentials", headers=self._headers()).json()
        replying = delivery.reply_to is not None
        # A thread's later parts are replies (to our own statuses): look among replies for them.
        params = {"limit": RECENT_STATUSES} | ({} if replying else {"exclude_replies": "true"})
        statuses = self._call("GET", f"/api/v1/accounts/{account['id']}/statuses", params=params,
                              headers=self._headers()).json()
        wanted = _plain(delivery.text)
        parent = delivery.reply_to.remote_id if delivery.reply_to is not None else None
        for status in statuses:
            if _plain(_html_text(status.get("content", ""))) == wanted and status.get("in_reply_to_id") == parent:
                return _receipt(status)
        return None

    def retract(self, receipt: Receipt) -> None:
        self._call("DELETE", f"/api/v1/statuses/{receipt.remote_id}", headers=self._headers())

    def limits(self) -> Limits:
        """The instance's own limits (they differ per instance), asked once per process. Every
        draft, check and refinement step asks for them: an instance that could not answer is not
        asked again for LIMITS_RETRY_SECONDS (each step would wait out the timeout), the same
        error is raised meanwhile."""
        with self._lock:
            failed = self._limits_failure
            if self._limits is None and failed is not None and time.monotonic() - failed[0] < LIMITS_RETRY_SECONDS:
                raise failed[1]
            if self._limits is None:
                try:
                    instance = self._call("GET", "/api/v2/instance").json()
                except MastheadError as exc:
                    self._limits_failure = (time.monotonic(), exc)
                    raise
                statuses = instance.get("configuration", {}).get("statuses", {})
                self._limits = Limits(max_characters=statuses.get("max_characters"),
                                      characters_per_url=statuses.get("characters_reserved_per_url"))
            return self._limits

    def check(self) -> str:
        account = self._call("GET", "/api/v1/accounts/verify_credentials", headers=self._headers()).json()
        limits = self.limits()
        return f"@{account['acct']} on {self._base} (max {limits.max_characters} characters)"


def _receipt(status: dict[str, Any]) -> Receipt:
    url = status.get("url") or status.get("uri")
    return Receipt(location=str(url), remote_id=str(status["id"]), url=url)


def _html_text(content: str) -> str:
    # Mastodon returns the text as HTML: paragraphs and line breaks become newlines.
    content = re.sub(r"<br\s*/?>|</p>\s*<p>", "\n", content)
    return html.unescape(re.sub(r"<[^>]+>", "", content))


def _plain(text: str) -> str:
    return " ".join(text.split())

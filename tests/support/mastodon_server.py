"""A loopback Mastodon instance: the parts of its REST API a publisher uses, in its wire format.

Routes: GET /api/v2/instance, GET /api/v1/accounts/verify_credentials, POST /api/v1/statuses
(with `Idempotency-Key`: a repeated key returns the status it made), GET
/api/v1/accounts/:id/statuses, DELETE /api/v1/statuses/:id. Bearer tokens are checked (401
`{"error": "The access token is invalid"}`), every answer carries X-RateLimit-* headers, and
`expire_token()` revokes the token as an instance does when a user revokes the app.
`in_reply_to_id` must name a status that exists (404 otherwise, as Mastodon answers).
"""

from __future__ import annotations

import html
import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.loopback import Answer, LoopbackService, Request


class MastodonServer(LoopbackService):
    def __init__(self, token: str = "mastodon-token-123456", max_characters: int = 500):
        super().__init__()
        self.token = token
        self.max_characters = max_characters
        self.statuses: list[dict[str, Any]] = []  # newest last
        self._by_key: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(109_000_000_000_000_001)
        self.route("GET", "/api/v2/instance", self._instance)
        self.route("GET", "/api/v1/accounts/verify_credentials", self._authed(self._verify))
        self.route("POST", "/api/v1/statuses", self._authed(self._post))
        self.route("GET", r"/api/v1/accounts/(\w+)/statuses", self._authed(self._list))
        self.route("DELETE", r"/api/v1/statuses/(\w+)", self._authed(self._delete))

    def expire_token(self) -> None:
        self.token = "revoked-" + self.token

    @property
    def account(self) -> dict[str, Any]:
        return {"id": "1", "username": "tallybook", "acct": "tallybook", "display_name": "Tallybook",
                "url": f"{self.base_url}/@tallybook"}

    def _headers(self) -> dict[str, str]:
        reset = (datetime.now(UTC) + timedelta(minutes=5)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299", "X-RateLimit-Reset": reset}

    def _authed(self, route: Any) -> Any:
        def checked(request: Request, match: re.Match[str]) -> Answer:
            if request.header("Authorization") != f"Bearer {self.token}":
                return Answer(401, {"error": "The access token is invalid"}, self._headers())
            return route(request, match)
        return checked

    def _instance(self, request: Request, match: re.Match[str]) -> Answer:
        return Answer(200, {"domain": "127.0.0.1", "title": "Loopback", "version": "4.3.0",
                            "configuration": {"statuses": {"max_characters": self.max_characters,
                                                           "max_media_attachments": 4,
                                                           "characters_reserved_per_url": 23}}})

    def _verify(self, request: Request, match: re.Match[str]) -> Answer:
        return Answer(200, self.account, self._headers())

    def _post(self, request: Request, match: re.Match[str]) -> Answer:
        key = request.header("Idempotency-Key")
        if key and key in self._by_key:
            return Answer(200, self._by_key[key], self._headers())
        text = (request.body or {}).get("status", "")
        if not text:
            return Answer(422, {"error": "Validation failed: Text can't be blank"}, self._headers())
        if len(text) > self.max_characters:
            return Answer(422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"},
                          self._headers())
        parent = (request.body or {}).get("in_reply_to_id")
        if parent is not None and not any(s["id"] == parent for s in self.statuses):
            return Answer(404, {"error": "Record not found"}, self._headers())
        status_id = str(next(self._ids))
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
        status = {"id": status_id, "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                  "content": paragraphs.replace("\n", "<br />"), "visibility": request.body.get("visibility", "public"),
                  "uri": f"{self.base_url}/users/tallybook/statuses/{status_id}",
                  "url": f"{self.base_url}/@tallybook/{status_id}", "account": self.account,
                  "in_reply_to_id": parent, "in_reply_to_account_id": self.account["id"] if parent else None}
        self.statuses.append(status)
        if key:
            self._by_key[key] = status
        return Answer(200, status, self._headers())

    def _list(self, request: Request, match: re.Match[str]) -> Answer:
        limit = int(request.query.get("limit", ["20"])[0])
        return Answer(200, list(reversed(self.statuses))[:limit], self._headers())

    def _delete(self, request: Request, match: re.Match[str]) -> Answer:
        found = next((s for s in self.statuses if s["id"] == match.group(1)), None)
        if found is None:
            return Answer(404, {"error": "Record not found"}, self._headers())
        self.statuses.remove(found)
        return Answer(200, found, self._headers())

"""A loopback Ghost: the Admin API routes a publisher uses, in its wire format.

Routes under /ghost/api/admin: GET site/, GET posts/, POST posts/?source=html, GET
posts/slug/:slug/, DELETE posts/:id/. Each authenticated request must carry
`Authorization: Ghost <jwt>`: the token is verified with pyjwt as Ghost does (HS256, the key
whose id is the `kid`, audience /admin/, at most five minutes of life). Errors have Ghost's
shape, `{"errors": [{"message": ..., "type": ...}]}`. `expire_key()` deletes the integration's
key as an owner does when they regenerate it.
"""

from __future__ import annotations

import itertools
import re
import secrets
from datetime import UTC, datetime
from typing import Any

import jwt
from tests.support.loopback import Answer, LoopbackService, Request

ADMIN = "/ghost/api/admin"


def ghost_error(status: int, kind: str, message: str) -> Answer:
    return Answer(status, {"errors": [{"message": message, "type": kind, "context": None}]})


class GhostServer(LoopbackService):
    def __init__(self, admin_key: str | None = None) -> None:
        super().__init__()
        self.key_id, _, self.secret = (admin_key or f"6748592f4b9b7700010f6564:{secrets.token_hex(32)}").partition(":")
        self.posts: list[dict[str, Any]] = []
        self.tokens: list[dict[str, Any]] = []  # the verified claims of every request
        self._ids = itertools.count(1)
        self.route("GET", f"{ADMIN}/site/", self._site)
        self.route("GET", f"{ADMIN}/posts/", self._authed(self._browse))
        self.route("POST", f"{ADMIN}/posts/", self._authed(self._create))
        self.route("GET", f"{ADMIN}/posts/slug/([^/]+)/", self._authed(self._by_slug))
        self.route("DELETE", f"{ADMIN}/posts/([^/]+)/", self._authed(self._delete))

    @property
    def admin_key(self) -> str:
        return f"{self.key_id}:{self.secret}"

    def expire_key(self) -> None:
        self.secret = secrets.token_hex(32)

    def _authed(self, route: Any) -> Any:
        def checked(request: Request, match: re.Match[str]) -> Answer:
            scheme, _, token = (request.header("Authorization") or "").partition(" ")
            if scheme != "Ghost" or request.header("Accept-Version") is None:
                return ghost_error(403, "NoPermissionError", "Authorization failed")
            try:
                if jwt.get_unverified_header(token).get("kid") != self.key_id:
                    return ghost_error(401, "UnauthorizedError", "Unknown Admin API Key")
                claims = jwt.decode(token, bytes.fromhex(self.secret), algorithms=["HS256"], audience="/admin/",
                                    options={"require": ["iat", "exp", "aud"]})
            except jwt.PyJWTError as exc:
                return ghost_error(401, "UnauthorizedError", f"Invalid token: {type(exc).__name__}")
            if claims["exp"] - claims["iat"] > 300:
                return ghost_error(401, "UnauthorizedError", "Token has an expiry too far in the future")
            self.tokens.append(claims)
            return route(request, match)
        return checked

    def _site(self, request: Request, match: re.Match[str]) -> Answer:
        return Answer(200, {"site": {"title": "Tallybook Blog", "url": f"{self.base_url}/", "version": "5.96"}})

    def _browse(self, request: Request, match: re.Match[str]) -> Answer:
        limit = int(request.query.get("limit", ["15"])[0])
        return Answer(200, {"posts": list(reversed(self.posts))[:limit],
                            "meta": {"pagination": {"page": 1, "limit": limit, "total": len(self.posts)}}})

    def _create(self, request: Request, match: re.Match[str]) -> Answer:
        [post] = (request.body or {}).get("posts", [{}])
        if not post.get("title"):
            return ghost_error(422, "ValidationError", "Validation error, cannot save post.")
        slug = post.get("slug") or re.sub(r"[^a-z0-9]+", "-", post["title"].lower()).strip("-")
        taken = {p["slug"] for p in self.posts}
        unique, n = slug, 2
        while unique in taken:  # as Ghost does: a taken slug gets -2, -3...
            unique, n = f"{slug}-{n}", n + 1
        post_id = f"{next(self._ids):024x}"
        made = {"id": post_id, "uuid": secrets.token_hex(16), "title": post["title"], "slug": unique,
                "html": post.get("html", ""), "status": post.get("status", "draft"),
                "url": f"{self.base_url}/{unique}/", "created_at": datetime.now(UTC).isoformat(),
                "source": request.query.get("source", [None])[0]}
        self.posts.append(made)
        return Answer(201, {"posts": [made]})

    def _by_slug(self, request: Request, match: re.Match[str]) -> Answer:
        found = next((p for p in self.posts if p["slug"] == match.group(1)), None)
        if found is None:
            return ghost_error(404, "NotFoundError", "Post not found.")
        return Answer(200, {"posts": [found]})

    def _delete(self, request: Request, match: re.Match[str]) -> Answer:
        found = next((p for p in self.posts if p["id"] == match.group(1)), None)
        if found is None:
            return ghost_error(404, "NotFoundError", "Post not found.")
        self.posts.remove(found)
        return Answer(204, None)

"""A loopback LinkedIn API: the Posts API and OpenID userinfo, in their wire format.

Routes: POST /rest/posts (201, empty body, the post's urn in `x-restli-id`; the same
commentary twice is 422 "Content is a duplicate of <urn>"), GET /rest/posts?q=author (the
FINDER: {"elements", "paging"}, newest first; 403 without r_member_social), DELETE
/rest/posts/<encoded urn> (204), GET /v2/userinfo. Versioned calls need `LinkedIn-Version`
(400 VERSION_MISSING; 426 NONEXISTENT_VERSION for one not in `active_versions`) and
`X-Restli-Protocol-Version: 2.0.0`. Errors are {"status", "serviceErrorCode", "code",
"message"}. The commentary is read as little text the way the feed shows it: an unescaped
reserved character cuts the text there (what LinkedIn does to a stray "(" or "@"), so
`rendered(post)` shows whether a publisher escaped it.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any
from urllib.parse import unquote

from tests.support.loopback import Answer, LoopbackService, Request

RESERVED = set("|{}@[]()<>#\\*_~")
HASHTAG = re.compile(r"\{hashtag\|\\#\|((?:[^}\\]|\\.)*)\}")


def error(status: int, code: str, message: str, service_code: int = 100) -> dict[str, Any]:
    return {"status": status, "serviceErrorCode": service_code, "code": code, "message": message}


def rendered(commentary: str) -> str:
    """What a reader sees: hashtag templates as #tag, escapes undone, cut at the first
    unescaped reserved character."""
    out: list[str] = []
    i = 0
    while i < len(commentary):
        template = HASHTAG.match(commentary, i)
        if template:
            out.append("#" + re.sub(r"\\(.)", r"\1", template.group(1)))
            i = template.end()
        elif commentary[i] == "\\" and i + 1 < len(commentary):
            out.append(commentary[i + 1])
            i += 2
        elif commentary[i] in RESERVED:
            break
        else:
            out.append(commentary[i])
            i += 1
    return "".join(out)


class LinkedInServer(LoopbackService):
    def __init__(self, token: str = "linkedin-token-123456", sub: str = "782bbtaQ",
                 active_versions: tuple[str, ...] = ("202510", "202511", "202601")):
        super().__init__()
        self.token = token
        self.sub = sub
        self.active_versions = set(active_versions)
        self.can_read_posts = True  # r_member_social, which LinkedIn grants few apps
        self.posts: list[dict[str, Any]] = []  # newest last
        self._ids = itertools.count(7270000000000000001)
        self.route("GET", "/v2/userinfo", self._authed(self._userinfo, versioned=False))
        self.route("POST", "/rest/posts", self._authed(self._create))
        self.route("GET", "/rest/posts", self._authed(self._find))
        self.route("DELETE", r"/rest/posts/(.+)", self._authed(self._delete))

    @property
    def author(self) -> str:
        return f"urn:li:person:{self.sub}"

    def expire_token(self) -> None:
        self.token = "expired-" + self.token

    def _authed(self, route: Any, versioned: bool = True) -> Any:
        def checked(request: Request, match: re.Match[str]) -> Answer:
            if request.header("Authorization") != f"Bearer {self.token}":
                return Answer(401, error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600))
            if versioned:
                version = request.header("LinkedIn-Version")
                if not version:
                    return Answer(400, error(400, "VERSION_MISSING", "A version must be present. Please specify "
                                             "a version by adding the LinkedIn-Version header."))
                if version not in self.active_versions:
                    return Answer(426, {"status": 426, "code": "NONEXISTENT_VERSION",
                                        "message": f"Requested version {version} is not active"})
                if request.header("X-Restli-Protocol-Version") != "2.0.0":
                    return Answer(400, error(400, "ILLEGAL_ARGUMENT", "Rest.li protocol 2.0.0 is required"))
            return route(request, match)
        return checked

    def _userinfo(self, request: Request, match: re.Match[str]) -> Answer:
        return Answer(200, {"sub": self.sub, "email_verified": True, "name": "Tally Book", "given_name": "Tally",
                            "family_name": "Book", "locale": {"country": "US", "language": "en"}})

    def _create(self, request: Request, match: re.Match[str]) -> Answer:
        body = request.body if isinstance(request.body, dict) else {}
        missing = [k for k in ("author", "commentary", "visibility", "distribution", "lifecycleState") if k not in body]
        if missing:
            return Answer(422, error(422, "UNPROCESSABLE_ENTITY", f"/{missing[0]} :: field is required"))
        if body["author"] != self.author:
            return Answer(403, error(403, "ACCESS_DENIED", f"Member is not allowed to post as {body['author']}"))
        duplicate = next((p for p in self.posts if p["commentary"] == body["commentary"]), None)
        if duplicate is not None:
            return Answer(422, error(422, "UNPROCESSABLE_ENTITY", f"Content is a duplicate of {duplicate['id']}"))
        urn = f"urn:li:share:{next(self._ids)}"
        now = int(time.time() * 1000)
        self.posts.append({**body, "id": urn, "createdAt": now, "lastModifiedAt": now, "publishedAt": now,
                           "lifecycleStateInfo": {"isEditedByAuthor": False}})
        return Answer(201, None, {"x-restli-id": urn, "x-linkedin-id": urn})

    def _find(self, request: Request, match: re.Match[str]) -> Answer:
        if request.query.get("q") != ["author"] or request.header("X-RestLi-Method") != "FINDER":
            return Answer(400, error(400, "ILLEGAL_ARGUMENT", "q=author with X-RestLi-Method FINDER is required"))
        if not self.can_read_posts:
            return Answer(403, error(403, "ACCESS_DENIED", "Not enough permissions to access: "
                                     "partnerApiPostsExternal.FINDER-author.20251101"))
        author = request.query.get("author", [""])[0]
        count = int(request.query.get("count", ["10"])[0])
        found = [p for p in reversed(self.posts) if p["author"] == author]
        return Answer(200, {"elements": found[:count], "paging": {"start": 0, "count": count, "links": [],
                                                                  "total": len(found)}})

    def _delete(self, request: Request, match: re.Match[str]) -> Answer:
        urn = unquote(match.group(1))
        found = next((p for p in self.posts if p["id"] == urn), None)
        if found is None:
            return Answer(404, error(404, "NOT_FOUND", f"Post {urn} does not exist"))
        self.posts.remove(found)
        return Answer(204, None)

"""A loopback X API v2: the parts a publisher uses, in its wire format.

Routes: POST /2/tweets (201 {"data": {"id", "text", "edit_history_tweet_ids"}}; `reply`
threads it; the same text twice is 403 "duplicate content"), GET /2/users/me, GET
/2/users/:id/tweets (max_results 5..100, exclude, start_time, tweet.fields; newest first),
DELETE /2/tweets/:id. As X does, a stored post's links become t.co links (the originals in
`entities.urls`) and &, < and > come back escaped. Errors are problem+json ({"title",
"detail", "type", "status"}); every answer carries x-rate-limit-limit/remaining/reset
(reset in epoch seconds); `expire_token()` makes the token lapse as an OAuth 2.0 user token
does after two hours; `rate_limit_posts()` answers the next posts with the 429 X sends
past its window.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import time
from datetime import UTC, datetime
from typing import Any

from tests.support.loopback import Answer, LoopbackService, Request

URL = re.compile(r"https?://\S+")
PROBLEM = {"Content-Type": "application/problem+json"}


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status}


class XServer(LoopbackService):
    def __init__(self, token: str = "x-user-token-123456", user_id: str = "1580661436132757506"):
        super().__init__()
        self.token = token
        self.user = {"id": user_id, "name": "Tallybook", "username": "tallybook"}
        self.posts: list[dict[str, Any]] = []  # newest last, with "created_at" and "author_id"
        self._ids = itertools.count(1866000000000000001)
        self._links = itertools.count(1)
        self._limited = (0, 0.0)
        # X's timeline can lag behind a write: a post is listed only this long after it is made.
        self.listed_after_seconds = 0.0
        self.route("GET", "/2/users/me", self._authed(self._me))
        self.route("POST", "/2/tweets", self._authed(self._post))
        self.route("GET", r"/2/users/(\d+)/tweets", self._authed(self._timeline))
        self.route("DELETE", r"/2/tweets/(\d+)", self._authed(self._delete))

    def expire_token(self) -> None:
        self.token = "expired-" + self.token

    def rate_limit_posts(self, times: int = 1, reset_in: float = 1.0) -> None:
        """The next `times` posts get the 429 X sends past its window, whose reset (epoch
        seconds, rounded up) is `reset_in` after the moment it answers."""
        with self.lock:
            self._limited = (times, reset_in)

    def _rate_limited(self) -> Answer | None:
        times, reset_in = self._limited
        if times <= 0:
            return None
        self._limited = (times - 1, reset_in)
        reset = str(math.ceil(time.time() + reset_in))
        headers = {**PROBLEM, "x-rate-limit-limit": "200", "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
        return Answer(429, problem(429, "Too Many Requests", "Too Many Requests"), headers)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        reset = str(int(time.time()) + 900)
        return {"x-rate-limit-limit": "200", "x-rate-limit-remaining": "199", "x-rate-limit-reset": reset,
                **(extra or {})}

    def _authed(self, route: Any) -> Any:
        def checked(request: Request, match: re.Match[str]) -> Answer:
            if request.header("Authorization") != f"Bearer {self.token}":
                return Answer(401, problem(401, "Unauthorized", "Unauthorized"), self._headers(PROBLEM))
            return route(request, match)
        return checked

    def _me(self, request: Request, match: re.Match[str]) -> Answer:
        return Answer(200, {"data": self.user}, self._headers())

    def _post(self, request: Request, match: re.Match[str]) -> Answer:
        limited = self._rate_limited()
        if limited is not None:
            return limited
        body = request.body if isinstance(request.body, dict) else {}
        text = body.get("text", "")
        if not text or len(text) > 280:
            return Answer(400, {"errors": [{"parameters": {"text": [text]}, "message": "Invalid text length"}],
                                **problem(400, "Invalid Request", "One or more parameters to your request was invalid.",
                                          "https://api.twitter.com/2/problems/invalid-request")},
                          self._headers(PROBLEM))
        if any(p["sent"] == text for p in self.posts):
            return Answer(403, problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."),
                          self._headers(PROBLEM))
        post = self._store(text, (body.get("reply") or {}).get("in_reply_to_tweet_id"))
        return Answer(201, {"data": {"id": post["id"], "text": post["text"],
                                     "edit_history_tweet_ids": [post["id"]]}}, self._headers())

    def _store(self, text: str, in_reply_to: str | None) -> dict[str, Any]:
        post_id = str(next(self._ids))
        links = []
        shown = html.escape(text, quote=False)  # X returns &, < and > escaped
        for found in URL.finditer(shown):
            short = f"https://t.co/lb{next(self._links):06d}"
            links.append({"url": short, "expanded_url": html.unescape(found.group()),
                          "display_url": found.group().split("//", 1)[1][:30]})
        for link in links:
            shown = shown.replace(html.escape(link["expanded_url"], quote=False), link["url"], 1)
        for link in links:
            link["start"] = shown.index(link["url"])
            link["end"] = link["start"] + len(link["url"])
        post: dict[str, Any] = {"id": post_id, "text": shown, "sent": text, "author_id": self.user["id"],
                                "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                                "edit_history_tweet_ids": [post_id], "made_at": time.time()}
        if links:
            post["entities"] = {"urls": links}
        if in_reply_to:
            post["referenced_tweets"] = [{"type": "replied_to", "id": str(in_reply_to)}]
        self.posts.append(post)
        return post

    def _timeline(self, request: Request, match: re.Match[str]) -> Answer:
        limit = int(request.query.get("max_results", ["10"])[0])
        if match.group(1) != self.user["id"] or not 5 <= limit <= 100:
            return Answer(400, problem(400, "Invalid Request", "One or more parameters to your request was invalid.",
                                       "https://api.twitter.com/2/problems/invalid-request"), self._headers(PROBLEM))
        exclude = set(request.query.get("exclude", [""])[0].split(","))
        start = request.query.get("start_time", [""])[0]
        fields = set(request.query.get("tweet.fields", [""])[0].split(","))
        shown = []
        for post in reversed(self.posts):
            if "replies" in exclude and post.get("referenced_tweets"):
                continue
            if start and post["created_at"] < start.replace("Z", ".000Z"):
                continue
            if post["made_at"] > time.time() - self.listed_after_seconds:
                continue
            shown.append({k: v for k, v in post.items()
                          if k in ("id", "text", "edit_history_tweet_ids") or k in fields})
        shown = shown[:limit]
        if not shown:
            return Answer(200, {"meta": {"result_count": 0}}, self._headers())
        return Answer(200, {"data": shown, "meta": {"result_count": len(shown), "newest_id": shown[0]["id"],
                                                    "oldest_id": shown[-1]["id"]}}, self._headers())

    def _delete(self, request: Request, match: re.Match[str]) -> Answer:
        found = next((p for p in self.posts if p["id"] == match.group(1)), None)
        if found is None:
            return Answer(404, problem(404, "Not Found Error", f"Could not find tweet with id: [{match.group(1)}].",
                                       "https://api.twitter.com/2/problems/resource-not-found"), self._headers(PROBLEM))
        self.posts.remove(found)
        return Answer(200, {"data": {"deleted": True}}, self._headers())

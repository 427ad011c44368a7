"""A loopback WordPress: the REST routes a publisher uses, in their wire format.

Routes: POST /wp-json/wp/v2/posts, GET /wp-json/wp/v2/posts (?slug, ?status=any needs
`context=edit` rights), DELETE /wp-json/wp/v2/posts/:id (?force=true deletes, else trash), GET
/wp-json/wp/v2/users/me. Requests authenticate with HTTP Basic (user + application password);
errors have WordPress's shape `{"code", "message", "data": {"status"}}`. Like WordPress, a
published post's taken slug gets -2, a draft keeps the slug it was given.
`revoke_password()` revokes the application password as a user does in their profile.
"""

from __future__ import annotations

import base64
import itertools
import re
from datetime import UTC, datetime
from typing import Any

from tests.support.loopback import Answer, LoopbackService, Request

POSTS = "/wp-json/wp/v2/posts"


def wp_error(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"code": code, "message": message, "data": {"status": status}})


class WordPressServer(LoopbackService):
    def __init__(self, username: str = "ana", app_password: str = "abcd EFGH 1234 ijkl MNOP 5678") -> None:
        super().__init__()
        self.username = username
        self.app_password = app_password
        self.posts: list[dict[str, Any]] = []
        self._ids = itertools.count(101)
        self.route("POST", POSTS, self._authed(self._create, "rest_cannot_create",
                                               "Sorry, you are not allowed to create posts as this user."))
        self.route("GET", POSTS, self._list)
        self.route("DELETE", rf"{POSTS}/(\d+)", self._authed(self._delete, "rest_cannot_delete",
                                                             "Sorry, you are not allowed to delete this post."))
        self.route("GET", "/wp-json/wp/v2/users/me", self._authed(self._me, "rest_not_logged_in",
                                                                  "You are not currently logged in."))

    def revoke_password(self) -> None:
        self.app_password = "revoked " + self.app_password

    def _user(self, request: Request) -> str | None:
        """'ok', 'wrong' (credentials given and refused) or None (none given)."""
        scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
        if scheme != "Basic":
            return None
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        # WordPress ignores the spaces it shows application passwords with.
        same = user == self.username and password.replace(" ", "") == self.app_password.replace(" ", "")
        return "ok" if same else "wrong"

    def _authed(self, route: Any, code: str, message: str) -> Any:
        def checked(request: Request, match: re.Match[str]) -> Answer:
            who = self._user(request)
            if who == "wrong":
                return wp_error(401, "incorrect_password", "The provided password is an invalid application password.")
            if who is None:
                return wp_error(401, code, message)
            return route(request, match)
        return checked

    def _view(self, post: dict[str, Any], edit: bool) -> dict[str, Any]:
        view = {k: v for k, v in post.items() if k not in ("title", "content")}
        view["title"] = {"rendered": post["title"], **({"raw": post["title"]} if edit else {})}
        view["content"] = {"rendered": post["content"], "protected": False, **({"raw": post["content"]} if edit else {})}
        return view

    def _create(self, request: Request, match: re.Match[str]) -> Answer:
        body = request.body or {}
        if not body.get("title") and not body.get("content"):
            return wp_error(400, "empty_content", "Content, title, and excerpt are empty.")
        status = body.get("status", "draft")
        if status not in ("draft", "publish", "pending", "private", "future"):
            return wp_error(400, "rest_invalid_param", "Invalid parameter(s): status")
        slug = body.get("slug") or re.sub(r"[^a-z0-9]+", "-", body.get("title", "").lower()).strip("-")
        if status not in ("draft", "pending"):  # wp_unique_post_slug leaves drafts alone
            taken, unique, n = {p["slug"] for p in self.posts}, slug, 2
            while unique in taken:
                unique, n = f"{slug}-{n}", n + 1
            slug = unique
        post_id = next(self._ids)
        post = {"id": post_id, "date_gmt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "slug": slug,
                "status": status, "type": "post", "link": f"{self.base_url}/?p={post_id}",
                "title": body.get("title", ""), "content": body.get("content", "")}
        self.posts.append(post)
        return Answer(201, self._view(post, edit=True))

    def _list(self, request: Request, match: re.Match[str]) -> Answer:
        statuses = request.query.get("status", ["publish"])[0].split(",")
        edit = request.query.get("context", ["view"])[0] == "edit"
        who = self._user(request)
        if who == "wrong":
            return wp_error(401, "incorrect_password", "The provided password is an invalid application password.")
        if (statuses != ["publish"] or edit) and who != "ok":
            return wp_error(400 if statuses != ["publish"] else 401, "rest_invalid_param"
                            if statuses != ["publish"] else "rest_forbidden_context", "Invalid parameter(s): status")
        found = [p for p in reversed(self.posts) if "any" in statuses or p["status"] in statuses]
        if "slug" in request.query:
            found = [p for p in found if p["slug"] in request.query["slug"][0].split(",")]
        return Answer(200, [self._view(p, edit) for p in found],
                      {"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1"})

    def _delete(self, request: Request, match: re.Match[str]) -> Answer:
        found = next((p for p in self.posts if p["id"] == int(match.group(1))), None)
        if found is None:
            return wp_error(404, "rest_post_invalid_id", "Invalid post ID.")
        if request.query.get("force", ["false"])[0] != "true":
            found["status"] = "trash"
            return Answer(200, self._view(found, edit=True))
        self.posts.remove(found)
        return Answer(200, {"deleted": True, "previous": self._view(found, edit=True)})

    def _me(self, request: Request, match: re.Match[str]) -> Answer:
        return Answer(200, {"id": 1, "name": "Ana Lima", "slug": self.username,
                            "capabilities": {"publish_posts": True}})

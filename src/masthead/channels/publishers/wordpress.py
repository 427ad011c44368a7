"""WordPress: POST /wp-json/wp/v2/posts with an application password (HTTP Basic).

WordPress takes no idempotency key, but it takes the post's slug, derived here from the
publication key (markup.slug_for). A retry after an unknown outcome asks for that slug first
(GET /wp-json/wp/v2/posts?slug=<slug>&status=any&context=edit: drafts and private posts too);
a post there is this publication, none means the first attempt made nothing, so sending again
is safe. The outbox always looks before it sends again; and should an earlier attempt still
have been under way when it looked, the publisher finds the twin right after creating and
deletes the newer post.
"""

from __future__ import annotations

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
from masthead.channels.publishers.markup import body_of, markdown_html, slug_for, title_of
from masthead.channels.publishers.service import ServicePublisher
from masthead.config import WordPressPublisherSection

POSTS = "/wp-json/wp/v2/posts"


class WordPressPublisher(ServicePublisher[WordPressPublisherSection]):
    kind: ClassVar[str] = "wordpress"
    # Safe without a time limit: the slug lookup answers for sure, and a slug never lapses.
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=SAFE_RETRY, retract=True)
    settings_model: ClassVar[type[WordPressPublisherSection]] = WordPressPublisherSection


    # -- the wire ---------------------------------------------------------------------------
    def _auth(self) -> httpx.BasicAuth:
        password = self._secret(self.settings.app_password_env, f"<an application password of {self.settings.username}"
                                " (Users > Profile > Application Passwords)>")
        return httpx.BasicAuth(self.settings.username, password)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # 401/403 (rest_cannot_create, incorrect_password...) name the application password.
        return exchange(self._client, self.name, self.settings.app_password_env, method, self._base + path,
                        auth=self._auth(), **kwargs)

    # -- the protocol -----------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Receipt:
        post = {"title": title_of(delivery), "content": markdown_html(body_of(delivery)),
                "status": self.settings.status, "slug": slug_for(delivery)}
        made = self._call("POST", POSTS, json=post).json()
        # An earlier attempt still under way when the retry looked may have made the post since
        # (WordPress gives a published twin another slug, a draft twin the same one): keep the
        # earlier post and delete the one just made.
        earlier = [p for p in self._with_slug(str(post["slug"])) if p["id"] != made["id"]]
        if earlier:
            self.retract(Receipt(location="", remote_id=str(made["id"])))
            return _receipt(earlier[0])
        return _receipt(made)

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        found = self._with_slug(slug_for(delivery))
        return _receipt(found[0]) if found else None

    def _with_slug(self, slug: str) -> list[dict[str, Any]]:
        posts: list[dict[str, Any]] = self._call("GET", POSTS, params={"slug": slug, "status": "any",
                                                                      "context": "edit"}).json()
        return sorted(posts, key=lambda p: int(p["id"]))  # the oldest first: the one kept

    def retract(self, receipt: Receipt) -> None:
        # force=true deletes for good; without it the post would only move to the trash.
        self._call("DELETE", f"{POSTS}/{receipt.remote_id}", params={"force": "true"})

    def limits(self) -> Limits:
        return Limits()

    def check(self) -> str:
        user = self._call("GET", "/wp-json/wp/v2/users/me", params={"context": "edit"}).json()
        return f"{user.get('name') or self.settings.username} on {self._base} (posts as {self.settings.status})"


def _receipt(post: dict[str, Any]) -> Receipt:
    url = post.get("link")
    return Receipt(location=str(url or post["slug"]), remote_id=str(post["id"]), url=url)

"""Ghost: POST /ghost/api/admin/posts/?source=html through the Admin API.

Each request carries a fresh short-lived token: a JWT (HS256) signed with the hex-decoded secret
of the Admin API key ("id:secret"), `kid` = the key's id, audience "/admin/", expiring after
five minutes (Ghost refuses longer ones).

Ghost takes no idempotency key, but it takes the post's slug, and the slug is derived from the
publication key (markup.slug_for). A retry after an unknown outcome asks for that slug first
(GET posts/slug/<slug>/); a post there is this publication, and a 404 means the first attempt
made nothing, so sending again is safe. The outbox always looks before it sends again; and
should an earlier attempt still have been under way when it looked, Ghost gives the second post
another slug, and the publisher deletes that second post at once.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import httpx
import jwt

from masthead.channels.publisher import (
    SAFE_RETRY,
    Capabilities,
    Delivery,
    Limits,
    Receipt,
)
from masthead.channels.publishers.http import exchange, raise_for_answer, send
from masthead.channels.publishers.markup import body_of, markdown_html, slug_for, title_of
from masthead.channels.publishers.service import ServicePublisher
from masthead.config import GhostPublisherSection
from masthead.errors import ConfigError

API_VERSION = "v5.0"
TOKEN_LIFETIME_SECONDS = 300  # Ghost refuses Admin API tokens valid for more than five minutes
ADMIN = "/ghost/api/admin"


class GhostPublisher(ServicePublisher[GhostPublisherSection]):
    api_root: ClassVar[str] = ADMIN
    kind: ClassVar[str] = "ghost"
    # Safe without a time limit: the slug lookup answers for sure, and a slug never lapses.
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=SAFE_RETRY, retract=True)
    settings_model: ClassVar[type[GhostPublisherSection]] = GhostPublisherSection


    # -- the wire ---------------------------------------------------------------------------
    def _token(self) -> str:
        env = self.settings.admin_key_env
        key_id, _, secret = self._environ.get(env, "").partition(":")
        try:
            signing_key = bytes.fromhex(secret)
        except ValueError:
            signing_key = b""
        if not key_id or not signing_key:
            raise ConfigError(f"publisher {self.name}: ${env} is not set or is not an Admin API key (id:secret)",
                              fix=f"export {env}=<the Admin API key of a custom integration "
                                  "(Settings > Integrations), written id:secret>")
        now = int(time.time())
        return jwt.encode({"iat": now, "exp": now + TOKEN_LIFETIME_SECONDS, "aud": "/admin/"}, signing_key,
                          algorithm="HS256", headers={"kid": key_id})

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Ghost {self._token()}", "Accept-Version": API_VERSION}

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return exchange(self._client, self.name, self.settings.admin_key_env, method, self._base + path,
                        headers=self._headers(), **kwargs)

    # -- the protocol -----------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Receipt:
        post = {"title": title_of(delivery), "html": markdown_html(body_of(delivery)),
                "status": self.settings.status, "slug": slug_for(delivery)}
        response = self._call("POST", "/posts/", params={"source": "html"}, json={"posts": [post]})
        made = response.json()["posts"][0]
        if made["slug"] != post["slug"]:
            # Ghost renamed the slug because a post already has it: this publication's earlier
            # attempt, still being processed when the retry looked. Keep that one.
            earlier = self.reconcile(delivery)
            if earlier is not None:
                self._call("DELETE", f"/posts/{made['id']}/")
                return earlier
        return _receipt(made)

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        response = send(self._client, self.name, "GET", f"{self._base}/posts/slug/{slug_for(delivery)}/",
                        headers=self._headers())
        if response.status_code == 404:
            return None  # not there: the earlier attempt made nothing
        raise_for_answer(response, self.name, self.settings.admin_key_env)
        return _receipt(response.json()["posts"][0])

    def retract(self, receipt: Receipt) -> None:
        self._call("DELETE", f"/posts/{receipt.remote_id}/")

    def limits(self) -> Limits:
        return Limits()  # a post has no length limit worth stating

    def check(self) -> str:
        # /site/ answers anyone; listing posts needs the key, so it is what checks it.
        self._call("GET", "/posts/", params={"limit": "1", "fields": "id"})
        site = self._call("GET", "/site/").json().get("site", {})
        return f"{site.get('title', 'Ghost')} at {site.get('url', self.settings.base_url)} (posts as {self.settings.status})"


def _receipt(post: dict[str, Any]) -> Receipt:
    url = post.get("url")
    return Receipt(location=str(url or post["slug"]), remote_id=str(post["id"]), url=url)

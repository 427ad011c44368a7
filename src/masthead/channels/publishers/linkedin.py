"""LinkedIn: the Posts API (POST /rest/posts) with its monthly version header.

The post's text (`commentary`) is in LinkedIn's "little text" format, where | { } @ [ ] ( ) < >
# \\ * _ ~ are markup: each is escaped with a backslash so the text reads as written, except a
hashtag, which becomes LinkedIn's hashtag template so it stays a hashtag.

LinkedIn takes no idempotency key. After an unknown outcome the author's recent posts (GET
/rest/posts?q=author) are searched for the same commentary; found: that post is the
publication. Not found, or the token may not read posts (reading a member's posts needs
r_member_social, which LinkedIn grants few apps): it cannot be known, and the outbox hands it
to a person.

LinkedIn serves each API version for about a year: a retired `api_version` answers 426, which
is a setting to change (ConfigError naming it), not a failure to retry.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from masthead.channels.publisher import (
    RECONCILE,
    Capabilities,
    Delivery,
    Limits,
    PublicationRejected,
    PublisherBusy,
    Receipt,
)
from masthead.channels.publishers.http import error_text, raise_for_answer, send
from masthead.channels.publishers.service import ServicePublisher
from masthead.config import LinkedInPublisherSection
from masthead.errors import ConfigError

MAX_CHARACTERS = 3000
RECENT_POSTS = 50
RESTLI_PROTOCOL = "2.0.0"
VERSIONING_DOCS = "https://learn.microsoft.com/linkedin/marketing/versioning"
_RESERVED = re.compile(r"([|{}@\[\]()<>#\\*_~])")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\#\|([^}]*)\}")
_ESCAPED = re.compile(r"\\(.)")


def commentary(text: str) -> str:
    """The text in little-text format: reserved characters escaped, hashtags as templates."""
    pieces = []
    last = 0
    for match in _HASHTAG.finditer(text):
        pieces.append(_RESERVED.sub(r"\\\1", text[last:match.start()]))
        pieces.append("{hashtag|\\#|" + _RESERVED.sub(r"\\\1", match.group(1)) + "}")
        last = match.end()
    pieces.append(_RESERVED.sub(r"\\\1", text[last:]))
    return "".join(pieces)


def plain_text(little_text: str) -> str:
    """What a reader sees of a little-text commentary (hashtag templates as #tag, escapes undone)."""
    return _ESCAPED.sub(r"\1", _HASHTAG_TEMPLATE.sub(r"#\1", little_text))


class LinkedInPublisher(ServicePublisher[LinkedInPublisherSection]):
    kind: ClassVar[str] = "linkedin"
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=RECONCILE, retract=True)
    settings_model: ClassVar[type[LinkedInPublisherSection]] = LinkedInPublisherSection


    # -- the wire ---------------------------------------------------------------------------
    def _token(self) -> str:
        return self._secret(self.settings.token_env, "<a member access token with w_member_social, openid, profile>")

    def _rest_headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}", "LinkedIn-Version": self.settings.api_version,
                "X-Restli-Protocol-Version": RESTLI_PROTOCOL, **extra}

    def _rest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A versioned call, its answer whatever the status; a retired version is a ConfigError,
        a spent daily quota waits until it resets."""
        response = send(self._client, self.name, method, self._base + path, **kwargs)
        _raise_for_daily_quota(response, self.name)
        if response.status_code == 426 or _code(response) == "NONEXISTENT_VERSION":
            setting = f"[publishers.{self.name}] api_version"
            raise ConfigError(f"publisher {self.name}: LinkedIn does not serve {setting} = "
                              f"{self.settings.api_version!r} ({response.status_code} {error_text(response)})",
                              fix=f"set {setting} to a current version (\"YYYYMM\"), see {VERSIONING_DOCS}")
        return response

    # -- the protocol -----------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Receipt:
        body = {"author": self.settings.author, "commentary": commentary(delivery.text), "visibility": "PUBLIC",
                "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                                 "thirdPartyDistributionChannels": []},
                "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False}
        response = self._rest("POST", "/rest/posts", json=body, headers=self._rest_headers())
        if response.status_code == 422 and "duplicate" in error_text(response).lower():
            # LinkedIn refuses a post that repeats a recent one; if that one is found it is
            # this publication (an earlier attempt made it), else the refusal stands.
            found = self.reconcile(delivery)
            if found is not None:
                return found
        raise_for_answer(response, self.name, self.settings.token_env)
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise PublicationRejected(f"publisher {self.name}: LinkedIn answered {response.status_code} "
                                      "without the post's id (x-restli-id)")
        return _receipt(urn)

    def _recent_posts(self, count: int) -> httpx.Response:
        """The author's newest posts (the FINDER q=author); 403 when the token may not read them."""
        author = quote(self.settings.author, safe="")
        path = f"/rest/posts?author={author}&q=author&count={count}&sortBy=CREATED"
        response = self._rest("GET", path, headers=self._rest_headers(**{"X-RestLi-Method": "FINDER"}))
        if response.status_code != 403:
            raise_for_answer(response, self.name, self.settings.token_env)
        return response

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        response = self._recent_posts(RECENT_POSTS)
        if response.status_code == 403:
            return None  # the token may post but not read posts: the service cannot be asked
        wanted = _plain(delivery.text)
        for post in response.json().get("elements") or []:
            if post.get("author") == self.settings.author and _plain(plain_text(str(post.get("commentary", "")))) == wanted:
                return _receipt(str(post["id"]))
        return None

    def retract(self, receipt: Receipt) -> None:
        if not receipt.remote_id or not receipt.remote_id.startswith("urn:li:"):
            raise PublicationRejected(f"publisher {self.name}: {receipt.remote_id!r} is not a LinkedIn post urn")
        response = self._rest("DELETE", f"/rest/posts/{quote(receipt.remote_id, safe='')}",
                              headers=self._rest_headers(**{"X-RestLi-Method": "DELETE"}))
        raise_for_answer(response, self.name, self.settings.token_env)

    def limits(self) -> Limits:
        return Limits(max_characters=MAX_CHARACTERS)

    def check(self) -> str:
        """The token's member (OpenID Connect userinfo; a person author must be that member),
        then one versioned read: a retired api_version shows here, not at the first post."""
        response = send(self._client, self.name, "GET", self._base + "/v2/userinfo",
                        headers={"Authorization": f"Bearer {self._token()}"})
        raise_for_answer(response, self.name, self.settings.token_env)
        member = response.json()
        person = f"urn:li:person:{member['sub']}"
        author = self.settings.author
        if author.startswith("urn:li:person:") and author != person:
            raise ConfigError(f"publisher {self.name}: author {author} is not the token's member ({person})",
                              fix=f"set [publishers.{self.name}] author = \"{person}\", or use that member's token")
        reads = self._recent_posts(1).status_code < 300
        after_lost_answer = "looks for it among the author's posts" if reads else \
            "goes to a person (the token may not read posts: r_member_social)"
        return (f"{member.get('name', person)} ({person}) posting as {author}, LinkedIn-Version "
                f"{self.settings.api_version}; a post whose answer is lost {after_lost_answer}")


def _raise_for_daily_quota(response: httpx.Response, publisher: str, now: datetime | None = None) -> None:
    """LinkedIn's quotas are per day and reset at midnight UTC; its 429 says which one ran out
    ("... MEMBER DAY limit ...") and carries no Retry-After. Other 429s (LinkedIn also sheds
    load with them) are retried with backoff like any busy service."""
    if response.status_code != 429 or response.headers.get("retry-after") or \
            "DAY limit" not in error_text(response):
        return
    now = now or datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    raise PublisherBusy(f"publisher {publisher}: LinkedIn's daily quota is spent (429 {error_text(response)}); "
                        "it resets at midnight UTC", retry_after=(midnight - now).total_seconds())


def _receipt(urn: str) -> Receipt:
    url = f"https://www.linkedin.com/feed/update/{urn}"
    return Receipt(location=url, remote_id=urn, url=url)


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def _plain(text: str) -> str:
    return " ".join(text.split())

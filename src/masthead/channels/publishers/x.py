"""X: POST /2/tweets with an OAuth 2.0 user token.

X takes no idempotency key, so a post whose answer was lost cannot be sent again safely. After
an unknown outcome the account's own recent posts (GET /2/users/:id/tweets, from a little
before the first intent) are searched for the exact text; X shortens links to t.co and
escapes &, < and > in what it returns, so the links are expanded from the post's entities and
the text unescaped before comparing. Found: that post is the publication. Not found: it
cannot be known (X's timeline can lag behind a write), and the outbox hands it to a person.

A thread part replies to the previous part (`reply.in_reply_to_tweet_id`). X refuses a post
whose text the account already posted (403 "duplicate content"); when that post is found
among the recent ones it is this publication, otherwise the refusal stands.
"""

from __future__ import annotations

import html
import threading
import time
import unicodedata
from datetime import datetime, timedelta
from typing import Any, ClassVar

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
from masthead.channels.publishers.http import error_text, exchange, raise_for_answer, send
from masthead.channels.publishers.service import ServicePublisher
from masthead.config import XPublisherSection

MAX_CHARACTERS = 280
CHARACTERS_PER_URL = 23  # every link counts as a t.co link
RECENT_POSTS = 100  # the most one page of GET /2/users/:id/tweets returns
# X allows 200 posts per 15 minutes per user; the guards count per minute, so 13 (195 per
# 15 minutes) stays under it.
POSTS_PER_MINUTE = 13.0
# The search for a lost post starts this long before the intent: our clock and X's differ.
CLOCK_SLACK = timedelta(minutes=10)
DUPLICATE = "duplicate content"


class XPublisher(ServicePublisher[XPublisherSection]):
    kind: ClassVar[str] = "x"
    capabilities: ClassVar[Capabilities] = Capabilities(
        exactly_once=RECONCILE, retract=True, threads=True, requests_per_minute=POSTS_PER_MINUTE)
    settings_model: ClassVar[type[XPublisherSection]] = XPublisherSection

    def __init__(self, name: str, settings: XPublisherSection, environ: dict[str, str]):
        super().__init__(name, settings, environ)
        self._user: dict[str, Any] | None = None
        self._lock = threading.Lock()

    # -- the wire ---------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        token = self._secret(self.settings.token_env, "<an OAuth 2.0 user token with tweet.read tweet.write users.read>")
        return {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return exchange(self._client, self.name, self.settings.token_env, method, self._base + path,
                        headers=self._headers(), **kwargs)

    def _me(self) -> dict[str, Any]:
        """The token's account, asked once per process (one token names one account)."""
        with self._lock:
            if self._user is None:
                self._user = self._call("GET", "/2/users/me").json()["data"]
            return self._user

    # -- the protocol -----------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Receipt:
        body: dict[str, Any] = {"text": delivery.text}
        if delivery.reply_to is not None and delivery.reply_to.remote_id:
            body["reply"] = {"in_reply_to_tweet_id": delivery.reply_to.remote_id}
        response = send(self._client, self.name, "POST", self._base + "/2/tweets",
                        headers=self._headers(), json=body)
        if response.status_code == 403 and DUPLICATE in error_text(response).lower():
            found = self.reconcile(delivery)
            if found is not None:
                return found
            raise PublicationRejected(f"publisher {self.name}: X refused the post as a duplicate of an earlier one "
                                      f"({error_text(response)})", fix="edit the piece so its text differs")
        _raise_for_daily_cap(response, self.name)
        raise_for_answer(response, self.name, self.settings.token_env)
        return _receipt(str(response.json()["data"]["id"]))

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        me = self._me()
        # A thread part is a reply to our own post: replies must stay in the search then.
        params: dict[str, Any] = {"max_results": RECENT_POSTS,
                                  "exclude": "retweets" if delivery.reply_to else "replies,retweets",
                                  "tweet.fields": "created_at,entities,referenced_tweets"}
        since = _search_start(delivery)
        if since is not None:
            params["start_time"] = since
        page = self._call("GET", f"/2/users/{me['id']}/tweets", params=params).json()
        wanted = _plain(delivery.text)
        for tweet in page.get("data") or []:
            if _plain(_as_written(tweet)) == wanted and _answers(tweet, delivery.reply_to):
                return _receipt(str(tweet["id"]))
        return None

    def retract(self, receipt: Receipt) -> None:
        if not receipt.remote_id:
            raise PublicationRejected(f"publisher {self.name}: the receipt has no post id to delete")
        self._call("DELETE", f"/2/tweets/{receipt.remote_id}")

    def limits(self) -> Limits:
        return Limits(max_characters=MAX_CHARACTERS, characters_per_url=CHARACTERS_PER_URL)

    def check(self) -> str:
        me = self._me()
        return f"@{me['username']} (id {me['id']}) on {self._base}"


def _receipt(post_id: str) -> Receipt:
    url = f"https://x.com/i/web/status/{post_id}"
    return Receipt(location=url, remote_id=post_id, url=url)


def _raise_for_daily_cap(response: httpx.Response, publisher: str) -> None:
    """X's 24-hour posting cap answers 429 with its own reset header, later than the
    15-minute window's: wait for that one."""
    headers = response.headers
    if response.status_code != 429 or headers.get("x-user-limit-24hour-remaining") != "0":
        return
    reset = headers.get("x-user-limit-24hour-reset", "")
    if reset.isdigit():
        wait = max(0.0, float(reset) - time.time())
        raise PublisherBusy(f"publisher {publisher}: the account reached X's 24-hour posting cap "
                            f"(429 {error_text(response)})", retry_after=wait)


def _search_start(delivery: Delivery) -> str | None:
    first = delivery.requested_at or delivery.at
    if not first:
        return None
    start = datetime.fromisoformat(first.replace("Z", "+00:00")) - CLOCK_SLACK
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")  # X takes whole seconds, no fraction


def _as_written(tweet: dict[str, Any]) -> str:
    """The text as it was sent: t.co links back to the links they stand for, entities unescaped."""
    text = str(tweet.get("text", ""))
    for link in (tweet.get("entities") or {}).get("urls") or []:
        if link.get("url") and link.get("expanded_url"):
            text = text.replace(link["url"], link["expanded_url"])
    return html.unescape(text)


def _answers(tweet: dict[str, Any], reply_to: Receipt | None) -> bool:
    if reply_to is None:
        return True
    referenced = tweet.get("referenced_tweets") or []
    return any(r.get("type") == "replied_to" and str(r.get("id")) == reply_to.remote_id for r in referenced)


def _plain(text: str) -> str:
    # X stores text NFC-normalised; whitespace runs compare as one space.
    return " ".join(unicodedata.normalize("NFC", text).split())

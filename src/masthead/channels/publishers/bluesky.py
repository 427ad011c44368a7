"""Bluesky: an `app.bsky.feed.post` record written with a record key derived from the
publication key, so a retry after an unknown outcome finds the record or writes that same key;
the repository cannot hold two records under one key, so there is never a second post.
A thread's parts are posts whose `reply` names the thread's first post (root) and the part
before (parent) as strong references (uri + cid); the cids are read back with getRecord, so a
part sent after a restart links to the posts as the service stored them.

The session is created once per process (com.atproto.server.createSession: logins are rate
limited) and refreshed with its refresh token when the access token expires.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Any, ClassVar

import httpx

from masthead.channels.publisher import (
    SAFE_RETRY,
    Capabilities,
    CredentialsRejected,
    Delivery,
    Limits,
    PublicationRejected,
    Receipt,
)
from masthead.channels.publishers.facets import facets_for
from masthead.channels.publishers.http import raise_for_answer, send
from masthead.channels.publishers.service import ServicePublisher
from masthead.config import BlueskyPublisherSection

POST = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
# base32-sortable, the alphabet of atproto TIDs
_S32 = "234567abcdefghijklmnopqrstuvwxyz"


def record_key(delivery: Delivery) -> str:
    """A valid TID (13 base32-sortable characters: 53 bits of microseconds, 10 of clock id)
    made from the first intent's time and the publication key: the same on every attempt,
    different for different publications."""
    at = datetime.fromisoformat((delivery.requested_at or delivery.at).replace("Z", "+00:00"))
    micros = int(at.timestamp() * 1_000_000) & ((1 << 53) - 1)
    clock_id = int.from_bytes(hashlib.sha256(delivery.key.encode()).digest()[:2], "big") & 0x3FF
    value = (micros << 10) | clock_id
    return "".join(_S32[(value >> shift) & 31] for shift in range(60, -1, -5))


class BlueskyPublisher(ServicePublisher[BlueskyPublisherSection]):
    api_root: ClassVar[str] = "/xrpc/"
    kind: ClassVar[str] = "bluesky"
    # Safe without a time limit: a record key, unlike Mastodon's Idempotency-Key, never lapses.
    capabilities: ClassVar[Capabilities] = Capabilities(exactly_once=SAFE_RETRY, retract=True, threads=True)
    settings_model: ClassVar[type[BlueskyPublisherSection]] = BlueskyPublisherSection

    def __init__(self, name: str, settings: BlueskyPublisherSection, environ: dict[str, str]):
        super().__init__(name, settings, environ)
        self._session: dict[str, Any] | None = None
        self._lock = threading.Lock()

    # -- the session ------------------------------------------------------------------------
    def _create_session(self) -> dict[str, Any]:
        env = self.settings.app_password_env
        password = self._secret(env, "<an app password from Settings > Privacy and security>")
        response = send(self._client, self.name, "POST", self._base + "com.atproto.server.createSession",
                        json={"identifier": self.settings.handle, "password": password})
        raise_for_answer(response, self.name, env if response.status_code in (400, 401) else None)
        session: dict[str, Any] = response.json()
        return session

    def _refresh_session(self, stale: dict[str, Any]) -> dict[str, Any]:
        response = send(self._client, self.name, "POST", self._base + "com.atproto.server.refreshSession",
                        headers={"Authorization": f"Bearer {stale['refreshJwt']}"})
        if response.status_code in (400, 401):
            return self._create_session()  # the refresh token lapsed too: log in again, once
        raise_for_answer(response, self.name, None)
        session: dict[str, Any] = response.json()
        return session

    def _current_session(self, expired: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:  # one login or refresh at a time, shared by every worker thread
            if self._session is None:
                self._session = self._create_session()
            elif expired is not None and self._session is expired:
                self._session = self._refresh_session(expired)
            return self._session

    def _xrpc(self, method: str, nsid: str, **kwargs: Any) -> httpx.Response:
        """A call with the session's access token; an expired token is refreshed and the call
        made again (the first one was refused, so nothing was written)."""
        session = self._current_session()
        for attempt in (1, 2):
            response = send(self._client, self.name, method, self._base + nsid,
                            headers={"Authorization": f"Bearer {session['accessJwt']}"}, **kwargs)
            if attempt == 1 and response.status_code in (400, 401) and _error(response) == "ExpiredToken":
                session = self._current_session(expired=session)
                continue
            break
        if response.status_code == 401:
            raise CredentialsRejected(self.name, self.settings.app_password_env, _error(response) or "401")
        return response

    # -- the protocol -----------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Receipt:
        session = self._current_session()
        rkey = record_key(delivery)
        record: dict[str, Any] = {"$type": POST, "text": delivery.text,
                                  "createdAt": delivery.requested_at or delivery.at}
        facets = facets_for(delivery.text)
        if facets:
            record["facets"] = facets
        if delivery.reply_to is not None:
            parent = self._strong_ref(delivery.reply_to)
            root = self._strong_ref(delivery.thread_root) if delivery.thread_root is not None else parent
            record["reply"] = {"root": root, "parent": parent}
        response = self._xrpc("POST", "com.atproto.repo.createRecord",
                              json={"repo": session["did"], "collection": POST, "rkey": rkey, "record": record})
        if 400 <= response.status_code < 500:
            # Refused: perhaps because a record already has this key (an earlier attempt whose
            # answer was lost wrote it). Then that record is this publication.
            found = self.reconcile(delivery)
            if found is not None:
                return found
        raise_for_answer(response, self.name, None)
        return self._receipt(response.json()["uri"], rkey)

    def reconcile(self, delivery: Delivery) -> Receipt | None:
        session = self._current_session()
        rkey = record_key(delivery)
        response = self._xrpc("GET", "com.atproto.repo.getRecord",
                              params={"repo": session["did"], "collection": POST, "rkey": rkey})
        if response.status_code == 400 and _error(response) == "RecordNotFound":
            return None
        raise_for_answer(response, self.name, None)
        return self._receipt(response.json()["uri"], rkey)

    def _strong_ref(self, receipt: Receipt) -> dict[str, str]:
        """The uri and cid of a post this account made (a reply must name both)."""
        if not receipt.remote_id or not receipt.remote_id.startswith("at://"):
            raise PublicationRejected(f"publisher {self.name}: cannot reply to {receipt.remote_id!r},"
                                      " which is not an at:// record URI")
        repo, collection, rkey = receipt.remote_id.removeprefix("at://").split("/", 2)
        response = self._xrpc("GET", "com.atproto.repo.getRecord",
                              params={"repo": repo, "collection": collection, "rkey": rkey})
        raise_for_answer(response, self.name, None)
        found = response.json()
        return {"uri": str(found["uri"]), "cid": str(found["cid"])}

    def retract(self, receipt: Receipt) -> None:
        if not receipt.remote_id or not receipt.remote_id.startswith("at://"):
            raise PublicationRejected(f"publisher {self.name}: {receipt.remote_id!r} is not an at:// record URI")
        repo, collection, rkey = receipt.remote_id.removeprefix("at://").split("/", 2)
        response = self._xrpc("POST", "com.atproto.repo.deleteRecord",
                              json={"repo": repo, "collection": collection, "rkey": rkey})
        raise_for_answer(response, self.name, None)

    def limits(self) -> Limits:
        return Limits(max_characters=MAX_GRAPHEMES)

    def check(self) -> str:
        session = self._current_session()
        return f"@{session['handle']} ({session['did']}) on {self.settings.base_url}"

    def _receipt(self, uri: str, rkey: str) -> Receipt:
        url = f"https://bsky.app/profile/{self.settings.handle}/post/{rkey}"
        return Receipt(location=url, remote_id=uri, url=url)


def _error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None

"""A loopback Bluesky PDS: the XRPC procedures a publisher uses, in the AT Protocol wire format.

Routes (under /xrpc/): com.atproto.server.createSession, com.atproto.server.refreshSession,
com.atproto.repo.createRecord, com.atproto.repo.getRecord, com.atproto.repo.deleteRecord.
Errors are XRPC's `{"error": ..., "message": ...}`: 401 AuthenticationRequired for a wrong
password, 400 ExpiredToken for a stale access token, 400 RecordNotFound, 400 InvalidRequest for a
record key that is taken; answers carry RateLimit-* headers. `expire_access()` makes the current
access token stale (a refresh fixes it); `expire_refresh()` the refresh token as well.
Records are checked as the PDS checks them: the rkey must be a TID, facets must fall inside
the text's UTF-8 bytes, and a reply's root and parent must be strong references (uri and cid)
to records that exist, as the AppView needs them to show a thread.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from typing import Any

from tests.support.loopback import Answer, LoopbackService, Request

TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
DID = "did:plc:loopbacktallybook"


class BlueskyServer(LoopbackService):
    def __init__(self, handle: str = "tallybook.test", password: str = "app-pass-1234"):
        super().__init__()
        self.handle = handle
        self.password = password
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> record
        self.cids: dict[str, str] = {}  # rkey -> the record's cid
        self.sessions_created = 0
        self.sessions_refreshed = 0
        self._serial = itertools.count(1)
        self._access: set[str] = set()
        self._refresh: set[str] = set()
        for nsid, handler in (("com.atproto.server.createSession", self._create_session),
                              ("com.atproto.server.refreshSession", self._refresh_session),
                              ("com.atproto.repo.createRecord", self._authed(self._create_record)),
                              ("com.atproto.repo.deleteRecord", self._authed(self._delete_record))):
            self.route("POST", f"/xrpc/{nsid}", handler)
        self.route("GET", "/xrpc/com.atproto.repo.getRecord", self._authed(self._get_record))

    def expire_access(self) -> None:
        with self.lock:
            self._access.clear()

    def expire_refresh(self) -> None:
        with self.lock:
            self._access.clear()
            self._refresh.clear()

    def _headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": "5000", "RateLimit-Remaining": "4999",
                "RateLimit-Reset": str(int(time.time()) + 3600), "RateLimit-Policy": "5000;w=3600"}

    def _tokens(self) -> dict[str, Any]:
        n = next(self._serial)
        access, refresh = f"access-{n}", f"refresh-{n}"
        self._access.add(access)
        self._refresh.add(refresh)
        return {"did": DID, "handle": self.handle, "accessJwt": access, "refreshJwt": refresh, "active": True}

    def _bearer(self, request: Request) -> str:
        return (request.header("Authorization") or "").removeprefix("Bearer ")

    def _authed(self, route: Any) -> Any:
        def checked(request: Request, match: re.Match[str]) -> Answer:
            token = self._bearer(request)
            if token not in self._access:
                if token.startswith("access-"):
                    return Answer(400, {"error": "ExpiredToken", "message": "Token has expired"}, self._headers())
                return Answer(401, {"error": "AuthenticationRequired", "message": "Invalid token"}, self._headers())
            return route(request, match)
        return checked

    def _create_session(self, request: Request, match: re.Match[str]) -> Answer:
        body = request.body or {}
        if body.get("identifier") != self.handle or body.get("password") != self.password:
            return Answer(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                          self._headers())
        self.sessions_created += 1
        return Answer(200, self._tokens(), self._headers())

    def _refresh_session(self, request: Request, match: re.Match[str]) -> Answer:
        token = self._bearer(request)
        if token not in self._refresh:
            return Answer(400, {"error": "ExpiredToken", "message": "Token has expired"}, self._headers())
        self._refresh.discard(token)  # a refresh token is used once
        self.sessions_refreshed += 1
        return Answer(200, self._tokens(), self._headers())

    def _uri(self, collection: str, rkey: str) -> str:
        return f"at://{DID}/{collection}/{rkey}"

    def _create_record(self, request: Request, match: re.Match[str]) -> Answer:
        body = request.body or {}
        rkey, record = body.get("rkey", ""), body.get("record", {})
        problem = self._invalid(body, rkey, record)
        if problem:
            return Answer(400, {"error": "InvalidRequest", "message": problem}, self._headers())
        if rkey in self.records:
            return Answer(400, {"error": "InvalidRequest", "message": f"Record already exists at {rkey}"},
                          self._headers())
        self.records[rkey] = record
        cid = self.cids[rkey] = "bafyrei" + hashlib.sha256(repr(record).encode()).hexdigest()[:40]
        return Answer(200, {"uri": self._uri(body["collection"], rkey), "cid": cid,
                            "commit": {"cid": cid, "rev": rkey}, "validationStatus": "valid"}, self._headers())

    def _invalid(self, body: dict[str, Any], rkey: str, record: dict[str, Any]) -> str | None:
        if body.get("repo") != DID or body.get("collection") != "app.bsky.feed.post":
            return "Invalid repo or collection"
        if not TID.match(rkey):
            return f"Invalid record key: {rkey!r} is not a TID"
        text = record.get("text", "")
        if record.get("$type") != "app.bsky.feed.post" or not isinstance(text, str) or "createdAt" not in record:
            return "Invalid app.bsky.feed.post record"
        if "reply" in record:
            problem = self._invalid_reply(record["reply"])
            if problem:
                return problem
        size = len(text.encode("utf-8"))
        for facet in record.get("facets", []):
            index = facet["index"]
            if not 0 <= index["byteStart"] < index["byteEnd"] <= size:
                return f"Invalid facet byte range {index}"
        return None

    def _invalid_reply(self, reply: Any) -> str | None:
        for ref in ("root", "parent"):
            strong = reply.get(ref) if isinstance(reply, dict) else None
            if not isinstance(strong, dict) or not strong.get("uri") or not strong.get("cid"):
                return f"Invalid app.bsky.feed.post record: reply.{ref} must have uri and cid"
            rkey = str(strong["uri"]).rsplit("/", 1)[-1]
            if self.cids.get(rkey) != strong["cid"] or strong["uri"] != self._uri("app.bsky.feed.post", rkey):
                return f"Invalid reply.{ref}: no record {strong['uri']} with cid {strong['cid']}"
        return None

    def _get_record(self, request: Request, match: re.Match[str]) -> Answer:
        rkey = request.query.get("rkey", [""])[0]
        collection = request.query.get("collection", [""])[0]
        if rkey not in self.records:
            return Answer(400, {"error": "RecordNotFound", "message": f"Could not locate record: {self._uri(collection, rkey)}"},
                          self._headers())
        return Answer(200, {"uri": self._uri(collection, rkey), "cid": self.cids[rkey], "value": self.records[rkey]},
                      self._headers())

    def _delete_record(self, request: Request, match: re.Match[str]) -> Answer:
        rkey = (request.body or {}).get("rkey", "")
        self.records.pop(rkey, None)
        self.cids.pop(rkey, None)
        return Answer(200, {"commit": {"cid": "bafyreideleted", "rev": "x"}}, self._headers())

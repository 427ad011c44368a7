"""Fetch and read one feed (RSS, Atom or JSON Feed through feedparser), deterministically.

A fetch is a conditional GET: the stored ETag and Last-Modified go out as If-None-Match and
If-Modified-Since, so an unchanged feed answers 304 with no body and costs nothing. Redirects
are followed up to MAX_REDIRECTS; the body is read up to MAX_FEED_BYTES and dropped past it.
Everything that makes the answer unusable raises FeedUnusable with the state it leaves the
source in; nothing is imported from it.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import feedparser
import httpx

MAX_REDIRECTS = 5
MAX_FEED_BYTES = 10 * 1024 * 1024
TIMEOUT_SECONDS = 15.0
MAX_ENTRY_CHARS = 20_000
USER_AGENT = "masthead-feed-reader (+https://github.com/masthead)"


class FeedUnusable(Exception):
    """The feed's answer cannot be imported; `status` is the source state it leaves ("gone", "error")."""

    def __init__(self, status: Literal["gone", "error"], message: str):
        self.status: Literal["gone", "error"] = status
        super().__init__(message)


@dataclass(frozen=True)
class FeedEntry:
    key: str  # the entry's id, else its link, else a hash of its title and text
    title: str | None
    link: str | None
    text: str
    published: float | None  # unix seconds, when the feed says

    def signal_body(self) -> str:
        parts = [self.title or "", self.text, self.link or ""]
        return "\n\n".join(part for part in parts if part.strip())


@dataclass(frozen=True)
class FeedFetch:
    status: Literal["ok", "not_modified"]
    entries: list[FeedEntry]  # oldest first
    etag: str | None
    last_modified: str | None
    final_url: str | None  # set when redirects led elsewhere


def public_url(url: str) -> str:
    """The URL without its query and credentials: private feeds carry tokens there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def fetch_feed(client: httpx.Client, url: str, *, etag: str | None, last_modified: str | None) -> FeedFetch:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, "
               "application/feed+json, application/xml;q=0.9, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    shown = public_url(url)
    try:
        with client.stream("GET", url, headers=headers) as response:
            final = str(response.url)
            if response.status_code == 304:
                return FeedFetch("not_modified", [], etag, last_modified, None if final == url else final)
            _check_status(response.status_code, shown)
            body = _read_capped(response, shown)
    except httpx.TooManyRedirects:
        raise FeedUnusable("error", f"{shown} redirects more than {MAX_REDIRECTS} times (a redirect loop?); "
                                    "put the feed's final URL in the source's url") from None
    except httpx.TimeoutException:
        raise FeedUnusable("error", f"{shown} did not answer within {TIMEOUT_SECONDS:g} s; "
                                    "it is tried again at the next poll") from None
    except httpx.HTTPError as exc:
        raise FeedUnusable("error", f"{shown} could not be fetched ({type(exc).__name__}); "
                                    "check the URL and the network") from None
    entries = parse_entries(body, shown)
    return FeedFetch("ok", entries, response.headers.get("ETag"), response.headers.get("Last-Modified"),
                     None if final == url else final)


def _check_status(status: int, shown: str) -> None:
    if status == 410:
        raise FeedUnusable("gone", f"{shown} answered 410 Gone: the feed was removed; "
                                   "remove the source or give it the feed's new url")
    if status >= 400:
        raise FeedUnusable("error", f"{shown} answered HTTP {status}; it is tried again at the next poll")
    if status >= 300:
        raise FeedUnusable("error", f"{shown} answered a redirect ({status}) without a usable Location")


def _read_capped(response: httpx.Response, shown: str) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_FEED_BYTES:
        raise FeedUnusable("error", f"{shown} is {int(declared):,} bytes, over the {MAX_FEED_BYTES:,}-byte limit "
                                    "for a feed; point the source at a shorter feed")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_FEED_BYTES:  # stop reading: a body without Content-Length may never end
            raise FeedUnusable("error", f"{shown} sent more than {MAX_FEED_BYTES:,} bytes, the limit for a feed; "
                                        "point the source at a shorter feed")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_entries(body: bytes, shown: str) -> list[FeedEntry]:
    """The entries of a feed document, oldest first; FeedUnusable when it is not a feed."""
    parsed = feedparser.parse(body)
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        why = "it looks like HTML, not a feed" if body.lstrip()[:100].lower().startswith((b"<!doctype html", b"<html")) \
            else f"it is not RSS, Atom or JSON Feed ({type(problem).__name__ if problem else 'unknown format'})"
        raise FeedUnusable("error", f"{shown} answered something that is not a feed: {why}; "
                                    "give the URL of the feed itself (often /feed.xml or /rss)")
    # An entry with no title, text or link says nothing: it is left out.
    entries = [entry for entry in map(_entry, parsed.entries) if entry.signal_body().strip()]
    # Feeds list newest first; import oldest first. Undated entries keep the document order.
    entries.reverse()
    if all(entry.published is not None for entry in entries):
        entries.sort(key=lambda entry: entry.published or 0.0)
    return entries


def _entry(raw: Any) -> FeedEntry:
    title = _plain(raw.get("title") or "") or None
    link = raw.get("link") or None
    content = raw.get("content") or []
    text = _plain(content[0].get("value", "") if content else raw.get("summary") or "")[:MAX_ENTRY_CHARS]
    key = raw.get("id") or link or "sha256:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    stamp = raw.get("published_parsed") or raw.get("updated_parsed")
    return FeedEntry(key=key, title=title, link=link, text=text,
                     published=float(calendar.timegm(stamp)) if stamp else None)


_TAG = re.compile(r"<[^>]+>")
_BLANKS = re.compile(r"[ \t]+")


def _plain(markup: str) -> str:
    """Feed HTML (already sanitised by feedparser) as plain text for a signal."""
    text = re.sub(r"<(br|/p|/li|/h\d)\b[^>]*>", "\n", markup, flags=re.IGNORECASE)
    text = html.unescape(_TAG.sub("", text))
    lines = [_BLANKS.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def entry_source_key(source: str, entry_key: str) -> str:
    """The signal source of an entry: `feed:<source>:<16 hex of the entry key>`. A hash, since
    entry ids are URLs or any text; it keeps the source a short token that trusted_sources can name."""
    return f"feed:{source}:{hashlib.sha256(entry_key.encode('utf-8')).hexdigest()[:16]}"


def new_client(timeout: float = TIMEOUT_SECONDS) -> httpx.Client:
    return httpx.Client(follow_redirects=True, max_redirects=MAX_REDIRECTS, timeout=timeout)

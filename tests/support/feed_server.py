"""A real RSS server on 127.0.0.1 for the feed source tests and the sources benchmark.

    server = FeedServer().start()
    server.publish("post-1", "Title", "Text")        # the feed at /feed.xml gains an item
    server.url("/feed.xml")

Routes: /feed.xml (ETag and Last-Modified; 304 when the request's validators match),
/moved -> /feed.xml (301), /loop -> /loop (302 forever), /gone (410), /html (an HTML page),
/broken (500), /huge (an endless chunked body), /slow (waits `slow_seconds` before answering),
/fresh (the feed without validators: always a 200, as a feed that changes on every poll would).
Every request is recorded with its conditional headers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Seen:
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    status: int


class FeedServer:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, float]] = []  # guid, title, text, published
        self.requests: list[Seen] = []
        self.calendars: dict[str, bytes] = {}  # served at /cal/<name> as text/calendar
        self.slow_seconds = 5.0
        self.last_modified = formatdate(time.time() - 3600, usegmt=True)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FeedServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def url(self, path: str = "/feed.xml") -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def publish(self, guid: str, title: str, text: str, published: float | None = None) -> None:
        with self._lock:
            stamp = published if published is not None else 1_765_000_000 + len(self.items) * 60
            self.items.append((guid, title, text, stamp))
            self.last_modified = formatdate(time.time() + len(self.items), usegmt=True)

    def document(self) -> bytes:
        with self._lock:
            items = "".join(
                f"<item><guid>{escape(guid)}</guid><title>{escape(title)}</title>"
                f"<link>https://blog.example/{escape(guid)}</link><description>{escape(text)}</description>"
                f"<pubDate>{formatdate(stamp, usegmt=True)}</pubDate></item>"
                for guid, title, text, stamp in reversed(self.items))  # newest first, as feeds do
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
                f"<link>https://blog.example/</link><description>Posts</description>{items}</channel></rss>").encode()

    def etag(self, body: bytes) -> str:
        return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]


def _handler_for(feed: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            feed.requests.append(Seen(self.path, self.headers.get("If-None-Match"),
                                      self.headers.get("If-Modified-Since"), status))
            try:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (a timeout test): nothing to answer

        def do_GET(self) -> None:
            route = {"/feed.xml": self._feed, "/moved": lambda: self._answer(301, headers={"Location": "/feed.xml"}),
                     "/loop": lambda: self._answer(302, headers={"Location": "/loop"}),
                     "/gone": lambda: self._answer(410, b"gone"), "/broken": lambda: self._answer(500, b"oops"),
                     "/html": lambda: self._answer(200, b"<!DOCTYPE html><html><body><h1>Blog</h1></body></html>",
                                                   {"Content-Type": "text/html"}),
                     "/huge": self._huge, "/slow": self._slow,
                     "/fresh": lambda: self._answer(200, feed.document(), {"Content-Type": "application/rss+xml"})}.get(self.path.split("?")[0])
            path = self.path.split("?")[0]
            calendar = feed.calendars.get(path.removeprefix("/cal/")) if path.startswith("/cal/") else None
            if calendar is not None:
                self._answer(200, calendar, {"Content-Type": "text/calendar"})
            elif route is None:
                self._answer(404, b"not found")
            else:
                route()

        def _feed(self) -> None:
            body = feed.document()
            validators = {"ETag": feed.etag(body), "Last-Modified": feed.last_modified}
            if (self.headers.get("If-None-Match") == validators["ETag"]
                    or (self.headers.get("If-None-Match") is None
                        and self.headers.get("If-Modified-Since") == feed.last_modified)):
                self._answer(304, headers=validators)
                return
            self._answer(200, body, {"Content-Type": "application/rss+xml", **validators})

        def _huge(self) -> None:
            feed.requests.append(Seen(self.path, None, None, 200))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"<!-- " + b"x" * 65_000 + b" -->"
            try:
                while True:  # never ends: the client must stop reading
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:
                pass

        def _slow(self) -> None:
            time.sleep(feed.slow_seconds)
            self._feed()

    return Handler

"""The common part of the loopback fakes of publishing services (Mastodon, a Bluesky PDS).

A fake is a real HTTP server on 127.0.0.1 with a route table; each test can script faults
for the next matching requests:

    server.fault("POST", "/api/v1/statuses", Fault.status(429, headers={"Retry-After": "2"}))
    server.fault("POST", "/api/v1/statuses", Fault.accept_then_hang(30))   # times out after accepting
    server.fault("POST", "/api/v1/statuses", Fault.accept_then_reset())    # connection reset after accepting
    server.fault("POST", "/api/v1/statuses", Fault.reset())                # reset before anything happens

`accept_*` faults run the real handler first (the post is made) and then lose the answer,
which is the case that makes exactly-once hard.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Fault:
    kind: str  # status | accept_then_hang | accept_then_reset | reset | none
    status: int = 0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @staticmethod
    def status_reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Fault:
        return Fault("status", status=status, body=body, headers=headers or {})

    @staticmethod
    def accept_then_hang(seconds: float) -> Fault:
        return Fault("accept_then_hang", seconds=seconds)

    @staticmethod
    def accept_then_reset() -> Fault:
        return Fault("accept_then_reset")

    @staticmethod
    def reset() -> Fault:
        return Fault("reset")

    @staticmethod
    def none() -> Fault:
        """Answer normally: queued before other faults, it lets earlier requests through."""
        return Fault("none")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Request, re.Match[str]], Answer]


class LoopbackService:
    """Subclasses add routes with `self.route(method, pattern, handler)`."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Route]] = []
        self._faults: dict[tuple[str, str], deque[Fault]] = {}
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self._server: ThreadingHTTPServer | None = None

    def route(self, method: str, pattern: str, handler: Route) -> None:
        self._routes.append((method, re.compile(f"^{pattern}$"), handler))

    def fault(self, method: str, path: str, *faults: Fault) -> None:
        with self.lock:
            self._faults.setdefault((method, path), deque()).extend(faults)

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.method == method and r.path == path)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LoopbackService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                service._handle(self, "GET")

            def do_POST(self) -> None:
                service._handle(self, "POST")

            def do_DELETE(self) -> None:
                service._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # -- one request ------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        body: Any = raw
        content_type = handler.headers.get("Content-Type", "")
        if raw and "json" in content_type:
            body = json.loads(raw)
        elif raw and "form" in content_type:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        request = Request(method, parts.path, parse_qs(parts.query), dict(handler.headers.items()), body)
        with self.lock:
            self.requests.append(request)
            queue = self._faults.get((method, parts.path))
            fault = queue.popleft() if queue else None
        if fault is not None and fault.kind == "reset":
            return _reset(handler)
        if fault is not None and fault.kind == "status":
            return _write(handler, Answer(fault.status, {} if fault.body is None else fault.body, fault.headers))
        answer = self._dispatch(request)
        if fault is not None and fault.kind == "accept_then_reset":
            return _reset(handler)
        if fault is not None and fault.kind == "accept_then_hang":
            time.sleep(fault.seconds)
        _write(handler, answer)

    def _dispatch(self, request: Request) -> Answer:
        for method, pattern, route in self._routes:
            match = pattern.match(request.path)
            if method == request.method and match:
                with self.lock:
                    return route(request, match)
        return Answer(404, {"error": "Record not found"})


def _write(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    # A body of None is an empty answer (LinkedIn's 201 and 204); a Content-Type among the
    # answer's headers replaces the JSON one (X's errors are application/problem+json).
    data = b"" if answer.body is None else json.dumps(answer.body).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", **answer.headers}
    try:
        handler.send_response(answer.status)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up waiting (a hang fault): what a real server would see too


def _reset(handler: BaseHTTPRequestHandler) -> None:
    # SO_LINGER 0 makes close() send RST: the client sees "connection reset", not a clean EOF.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True

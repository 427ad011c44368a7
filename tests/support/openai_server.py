"""A real loopback HTTP server that speaks enough of the OpenAI API to test clients against.

Endpoints: `POST /v1/chat/completions` (JSON and `stream: true` SSE), `GET /v1/models`,
`POST /v1/embeddings`. Replies to chat completions can be scripted (text, error statuses,
delays); once the script runs out a default reply function answers.

    with OpenAIServer(api_key="sk-test") as srv:
        srv.script(Reply.error(429, retry_after="2"), "hello")
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test")
        ...
        srv.calls[-1].body["model"]

Standalone, for benchmarks and manual poking:

    python -m tests.support.openai_server --port 8999 [--api-key sk-test] [--dim 384]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODELS = ("gpt-4o-mini", "loopback-echo")
DEFAULT_EMBEDDING_DIM = 384
# The real API sends compact JSON; byte-level SSE parsers in clients should see the same.
_COMPACT = (",", ":")

# OpenAI's error `type` and `code` per status, so SDKs classify our errors like real ones.
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", None),
}


@dataclass(frozen=True)
class Reply:
    """One scripted answer to a chat completion request.

    `text` is the assistant content; `status` other than 200 makes it an error reply with
    `message` (and a `Retry-After: retry_after` header when given). `delay` sleeps before
    answering (to provoke client timeouts); `chunk_delay` sleeps between SSE chunks.
    """

    text: str | None = None
    status: int = 200
    message: str | None = None
    retry_after: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    finish_reason: str = "stop"

    @classmethod
    def error(
        cls, status: int, message: str | None = None, *, retry_after: str | float | None = None
    ) -> Reply:
        header = None if retry_after is None else str(retry_after)
        return cls(status=status, message=message, retry_after=header)

    @classmethod
    def slow(cls, delay: float, text: str | None = None) -> Reply:
        return cls(text=text, delay=delay)

    @classmethod
    def trickle(cls, text: str, chunk_delay: float) -> Reply:
        return cls(text=text, chunk_delay=chunk_delay)


@dataclass(frozen=True)
class Call:
    """One request the server saw. The Authorization value itself is never stored."""

    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    bearer_present: bool
    bearer_matches: bool
    at: float = field(default_factory=time.time)  # arrival, for rate-limit measurements


DefaultReply = Callable[[dict[str, Any]], str]


# --- default replies -------------------------------------------------------------------


def minimal_instance(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """The smallest plausible value valid for a JSON schema: strings "lorem", ints 1,
    one-item arrays, required properties only. Follows local `$ref`s into `$defs`."""
    root = schema if root is None else root
    if "$ref" in schema:
        return minimal_instance(_resolve_ref(schema["$ref"], root), root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            options = [s for s in schema[combinator] if s.get("type") != "null"]
            return minimal_instance((options or schema[combinator])[0], root)
    kind = _schema_type(schema)
    builders: dict[str, Callable[[], Any]] = {
        "object": lambda: _minimal_object(schema, root),
        "array": lambda: _minimal_array(schema, root),
        "string": lambda: _minimal_string(schema),
        "integer": lambda: int(_clamp(1, schema)),
        "number": lambda: float(_clamp(1, schema)),
        "boolean": lambda: True,
        "null": lambda: None,
    }
    return builders.get(kind, lambda: "lorem")()


def _schema_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return str(non_null[0]) if non_null else "null"
    if kind is None and "properties" in schema:
        return "object"
    return str(kind) if kind is not None else "string"


def _resolve_ref(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, got {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return dict(node)


def _minimal_object(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    return {
        name: minimal_instance(properties.get(name, {}), root)
        for name in schema.get("required", [])
    }


def _minimal_array(schema: dict[str, Any], root: dict[str, Any]) -> list[Any]:
    count = max(1, int(schema.get("minItems", 1)))
    if "maxItems" in schema:
        count = min(count, int(schema["maxItems"]))
    return [minimal_instance(schema.get("items", {}), root) for _ in range(count)]


def _minimal_string(schema: dict[str, Any]) -> str:
    text = "lorem"
    min_length = int(schema.get("minLength", 0))
    while len(text) < min_length:
        text += " lorem"
    if "maxLength" in schema:
        text = text[: int(schema["maxLength"])]
    return text


def _clamp(value: float, schema: dict[str, Any]) -> float:
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        value = schema["exclusiveMinimum"] + 1
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    return value


def default_reply(body: dict[str, Any]) -> str:
    """JSON valid for the requested schema when there is one, else a short echo."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema", {})
        return json.dumps(minimal_instance(schema))
    if response_format.get("type") == "json_object":
        return "{}"
    user_messages = [m for m in body.get("messages", []) if m.get("role") == "user"]
    last = _message_text(user_messages[-1]) if user_messages else ""
    return f"echo: {last[:60]}"


# --- OpenAI wire shapes -----------------------------------------------------------------


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def usage_for(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt_chars = sum(len(_message_text(m)) for m in body.get("messages", []))
    prompt_tokens = max(1, prompt_chars // 4)
    completion_tokens = max(1, len(text) // 4)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = _ERROR_KINDS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _default_error_message(status: int) -> str:
    messages = {
        400: "Invalid request.",
        404: "The model does not exist or you do not have access to it.",
        429: "Rate limit reached for requests. Please try again later.",
    }
    if status >= 500:
        return "The server had an error while processing your request."
    return messages.get(status, f"Request failed with status {status}.")


def completion_body(
    completion_id: str, model: str, text: str, reply: Reply, body: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_loopback",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": usage_for(body, text),
    }


def stream_events(
    completion_id: str, model: str, text: str, reply: Reply, body: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """OpenAI's chunk sequence: a role delta, content deltas, a finish delta, then (when
    `stream_options.include_usage`) a choice-less usage chunk. Other chunks carry `usage: null`."""
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_loopback",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if include_usage:
            event["usage"] = None
        return event

    yield chunk({"role": "assistant", "content": "", "refusal": None}, None)
    for piece in split_into_pieces(text):
        yield chunk({"content": piece}, None)
    yield chunk({}, reply.finish_reason)
    if include_usage:
        yield {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_loopback",
            "choices": [],
            "usage": usage_for(body, text),
        }


def split_into_pieces(text: str) -> list[str]:
    """Word-sized pieces (each keeps its trailing whitespace), roughly like real tokens."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def fake_embedding(text: str, dim: int) -> list[float]:
    """A deterministic unit vector derived from SHA-256 of the text."""
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((byte - 127.5) / 127.5 for byte in digest)
        counter += 1
    values = values[:dim]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]


# --- the server ---------------------------------------------------------------------------


class OpenAIServer:
    """A scriptable OpenAI-compatible server on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        port: int = 0,
        models: tuple[str, ...] = DEFAULT_MODELS,
        embedding_dim: int = DEFAULT_EMBEDDING_DIM,
        reply: DefaultReply = default_reply,
    ) -> None:
        self.api_key = api_key
        self.models = models
        self.embedding_dim = embedding_dim
        self.default_reply = reply
        self._requested_port = port
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self._calls: list[Call] = []
        # Set on stop so handlers sleeping through a scripted delay wake up and exit.
        self.stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> OpenAIServer:
        self.stopping.clear()
        handler = type("BoundHandler", (_Handler,), {"app": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._requested_port), handler)
        self._httpd.daemon_threads = True
        # A client that hangs up on a keep-alive connection is normal; do not print it.
        self._httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        # A short poll interval keeps stop() (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="openai-loopback",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(
                "the server is not running; use it as a context manager or call start()"
            )
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # scripting and history

    def script(self, *replies: Reply | str) -> None:
        """Queue replies for the next chat completions; a str is shorthand for `Reply(text=...)`."""
        with self._lock:
            self._script.extend(Reply(text=r) if isinstance(r, str) else r for r in replies)

    def next_reply(self) -> Reply | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def reset(self) -> None:
        """Forget the script and the call history."""
        with self._lock:
            self._script.clear()
            self._calls.clear()


class _Handler(BaseHTTPRequestHandler):
    app: OpenAIServer
    # HTTP/1.1 so clients keep connections alive and SSE goes out chunked, as from the real API.
    protocol_version = "HTTP/1.1"
    server_version = "OpenAILoopback/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._dispatch("GET", {"/v1/models": self._models})

    def do_POST(self) -> None:
        self._dispatch(
            "POST", {"/v1/chat/completions": self._chat, "/v1/embeddings": self._embeddings}
        )

    # routing, auth, history

    def _dispatch(self, method: str, routes: dict[str, Callable[[dict[str, Any]], None]]) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_json_body()
        bearer_present, bearer_matches = self._check_bearer()
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
        self.app.record(
            Call(
                method,
                path,
                body if isinstance(body, dict) else {},
                headers,
                bearer_present,
                bearer_matches,
            )
        )
        try:
            if self.app.api_key is not None and not bearer_matches:
                self._send_unauthorized()
            elif body is None:
                self._send_json(
                    400, error_body(400, "We could not parse the JSON body of your request.")
                )
            elif path not in routes:
                self._send_json(404, error_body(404, f"Unknown request URL: {method} {self.path}."))
            else:
                routes[path](body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (usually a deliberate timeout); nothing left to answer.
            self.close_connection = True

    def _read_json_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def _presented_key(self) -> str | None:
        header = self.headers.get("Authorization") or ""
        return header[len("Bearer ") :] if header.startswith("Bearer ") else None

    def _check_bearer(self) -> tuple[bool, bool]:
        key = self._presented_key()
        return key is not None, key is not None and key == self.app.api_key

    def _send_unauthorized(self) -> None:
        # Deliberately echoes the presented key in full (the real API masks most of it), so
        # any client that forwards this message into its own errors fails leak tests.
        presented = self._presented_key()
        message = (
            f"Incorrect API key provided: {presented}."
            if presented
            else "You didn't provide an API key."
        )
        self._send_json(401, error_body(401, message))

    # endpoints

    def _models(self, body: dict[str, Any]) -> None:
        created = int(time.time())
        data = [
            {"id": m, "object": "model", "created": created, "owned_by": "loopback"}
            for m in self.app.models
        ]
        self._send_json(200, {"object": "list", "data": data})

    def _embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else [str(i) for i in inputs]
        dim = int(body.get("dimensions") or self.app.embedding_dim)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = fake_embedding(text, dim)
            encoded: Any = (
                base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode() if as_base64 else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = max(1, sum(len(t) for t in texts) // 4)
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", "loopback-embed"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        reply = self.app.next_reply() or Reply()
        if reply.delay and self.app.stopping.wait(reply.delay):
            return
        if reply.status != 200:
            self._send_error_reply(reply)
            return
        text = reply.text if reply.text is not None else self.app.default_reply(body)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        model = str(body.get("model", "loopback-echo"))
        if body.get("stream"):
            self._send_stream(
                stream_events(completion_id, model, text, reply, body), reply.chunk_delay
            )
        else:
            self._send_json(200, completion_body(completion_id, model, text, reply, body))

    # responses

    def _send_error_reply(self, reply: Reply) -> None:
        headers = {"Retry-After": reply.retry_after} if reply.retry_after is not None else {}
        message = reply.message or _default_error_message(reply.status)
        self._send_json(reply.status, error_body(reply.status, message), headers)

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload, separators=_COMPACT).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_stream(self, events: Iterator[dict[str, Any]], chunk_delay: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, event in enumerate(events):
            if index and chunk_delay and self.app.stopping.wait(chunk_delay):
                self.close_connection = True
                return
            self._write_chunk(f"data: {json.dumps(event, separators=_COMPACT)}\n\n")
        self._write_chunk("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, text: str) -> None:
        data = text.encode("utf-8")
        self.wfile.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")
        self.wfile.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Loopback OpenAI-compatible server for tests and benchmarks."
    )
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--api-key", default=None, help="require `Authorization: Bearer KEY`")
    parser.add_argument(
        "--dim", type=int, default=DEFAULT_EMBEDDING_DIM, help="embedding dimension"
    )
    args = parser.parse_args(argv)
    server = OpenAIServer(api_key=args.api_key, port=args.port, embedding_dim=args.dim)
    with server:
        print(f"serving OpenAI-compatible API at {server.base_url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

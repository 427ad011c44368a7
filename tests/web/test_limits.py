"""Request bodies are capped per route before they are read, parsed or authenticated."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from tests.support.harness import KEY_ENV, make_workspace
from tests.support.openai_server import OpenAIServer
from tests.support.web import ServeProcess, csrf_from
from tests.web.conftest import log_in

from masthead.app.commands import MAX_SIGNAL_BYTES
from masthead.web.limits import DEFAULT_BODY_LIMIT, body_limit

pytestmark = pytest.mark.anyio
MB = 1024 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def head_of_answer(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


@pytest.mark.parametrize(("path", "limit"), [
    ("/hooks/github", 1_000_000),
    ("/api/v1/signals", 2 * MAX_SIGNAL_BYTES),
    ("/api/v1/pieces/pc-1/edit", 2 * MAX_SIGNAL_BYTES),
    ("/api/v1/pieces/pc-1/approve", DEFAULT_BODY_LIMIT),
    ("/ui/pieces/pc-1/edit", 4 * MAX_SIGNAL_BYTES),
    ("/ui/pieces/pc-1/approve", DEFAULT_BODY_LIMIT),
    ("/login", 16 * 1024),
    ("/api/v1/signals/extra/path", DEFAULT_BODY_LIMIT),
])
def test_each_route_has_its_limit(path: str, limit: int) -> None:
    assert body_limit(path) == limit


def test_a_declared_200_mb_body_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    """The finding: one unauthenticated 200 MB POST took the server from 88 to 674 MB."""
    with OpenAIServer(api_key="sk-test") as llm:
        make_workspace(tmp_path / "ws", llm.base_url).close()
        with ServeProcess(tmp_path / "ws", workers=False, env={KEY_ENV: "sk-test"}) as serve:
            before = rss_kib(serve.process.pid)
            with socket.create_connection(("127.0.0.1", serve.port)) as sock:
                sock.sendall(b"POST /api/v1/signals HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 209715200\r\n\r\n"
                             + b"x" * 65536)  # a little of the body; the rest is never sent
                answer = head_of_answer(sock)
            assert answer.startswith(b"HTTP/1.1 413"), answer
            grown_mib = (rss_kib(serve.process.pid) - before) / 1024
            assert grown_mib < 20, f"the server grew by {grown_mib:.0f} MiB"


async def test_a_chunked_body_is_cut_off_at_the_limit_without_auth(client, ws) -> None:
    sent = 0

    async def endless():  # no Content-Length: counted as it streams
        nonlocal sent
        for _ in range(10_000):  # 640 MB if it were all read
            sent += 1
            yield b"x" * 65536

    answer = await client.post("/api/v1/signals", content=endless(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"
    assert sent * 65536 <= 2 * MAX_SIGNAL_BYTES + 2 * 65536  # stopped at the cap, not at the end


async def test_a_declared_length_over_the_limit_is_refused_with_a_clear_error(client) -> None:
    answer = await client.post("/login", content=b"token=x", headers={"Content-Length": str(17 * 1024),
                                                                      "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413
    assert "16,384 bytes" in answer.json()["error"]["message"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # still behind the security headers


async def test_a_malformed_content_length_is_a_400(client) -> None:
    answer = await client.post("/api/v1/signals", content=b"{}", headers={"Content-Length": "\u00b2".encode("latin-1")})
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "Content-Length"


async def test_a_desk_form_over_its_limit_is_refused(client, token, reviewed) -> None:
    csrf = await log_in(client, token)
    piece = reviewed["newsletter"]["id"]
    text = "é" * (2 * MAX_SIGNAL_BYTES + 1)  # percent-encoded: 6 bytes per character, well over 4 MB
    answer = await client.post(f"/ui/pieces/{piece}/edit", data={"text": text, "csrf_token": csrf})
    assert answer.status_code == 413
    page = await client.get(f"/pieces/{piece}")
    assert page.status_code == 200 and csrf_from(page.text)

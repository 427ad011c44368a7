"""`masthead init` makes the operator token, `masthead token` prints or rotates it, and
`masthead serve` refuses to listen beyond loopback without one."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.support.harness import KEY_ENV, make_workspace
from tests.support.openai_server import OpenAIServer
from tests.support.web import ServeProcess

from masthead.app.auth import TokenFile, read_token, token_path


def masthead(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "masthead.cli.main", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_init_creates_a_private_token_outside_the_log(tmp_path: Path) -> None:
    done = masthead("init", str(tmp_path / "ws"))
    assert done.returncode == 0, done.stderr
    path = token_path(tmp_path / "ws")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert (path.parent / ".gitignore").read_text() == "*\n"
    token = read_token(tmp_path / "ws")
    assert token and token.startswith("mh_") and len(token) > 40
    assert token not in (tmp_path / "ws" / "masthead.toml").read_text()
    assert token.encode() not in (tmp_path / "ws" / "masthead.db").read_bytes()
    again = masthead("init", str(tmp_path / "ws"))  # a second init keeps the token
    assert again.returncode == 0 and read_token(tmp_path / "ws") == token


def test_token_prints_and_rotates(tmp_path: Path) -> None:
    assert masthead("init", str(tmp_path / "ws")).returncode == 0
    watcher = TokenFile(tmp_path / "ws")
    first = watcher.current()
    shown = masthead("-w", str(tmp_path / "ws"), "token")
    assert shown.returncode == 0 and shown.stdout.strip() == first
    rotated = masthead("-w", str(tmp_path / "ws"), "token", "--rotate")
    assert rotated.returncode == 0 and "no longer work" in rotated.stderr
    new = rotated.stdout.strip()
    assert new != first and read_token(tmp_path / "ws") == new
    assert watcher.current() == new  # a running server sees the new token without a restart
    assert stat.S_IMODE(token_path(tmp_path / "ws").stat().st_mode) == 0o600


def test_serve_refuses_a_public_host_without_a_token(tmp_path: Path) -> None:
    assert masthead("init", str(tmp_path / "ws")).returncode == 0
    token_path(tmp_path / "ws").unlink()
    refused = masthead("-w", str(tmp_path / "ws"), "serve", "--host", "0.0.0.0", "--port", "9", "--no-workers")
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0 without an operator token" in refused.stderr
    assert read_token(tmp_path / "ws") is None


def test_serve_on_loopback_refuses_foreign_host_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with OpenAIServer(api_key="sk-test") as llm:
        ws = make_workspace(tmp_path / "ws", llm.base_url)
        ws.close()
        with ServeProcess(tmp_path / "ws", workers=False, env={KEY_ENV: "sk-test"}) as serve:
            assert httpx.get(serve.url + "/login").status_code == 200
            # DNS rebinding: a page on another name that resolves to 127.0.0.1 gets nothing.
            assert httpx.get(serve.url + "/login", headers={"Host": "evil.example"}).status_code == 400
        assert read_token(tmp_path / "ws") not in serve.output()


def test_serve_answers_on_the_loopback_address_it_was_given(tmp_path: Path) -> None:
    """`serve --host 127.0.0.2` once answered 400 to everything: its Host header was not allowed."""
    with OpenAIServer(api_key="sk-test") as llm:
        ws = make_workspace(tmp_path / "ws", llm.base_url)
        ws.close()
        with ServeProcess(tmp_path / "ws", workers=False, env={KEY_ENV: "sk-test"}, host="127.0.0.2") as serve:
            assert serve.url.startswith("http://127.0.0.2:")
            assert httpx.get(serve.url + "/login").status_code == 200
            assert httpx.get(serve.url + "/login", headers={"Host": "localhost"}).status_code == 200
            assert httpx.get(serve.url + "/login", headers={"Host": "evil.example"}).status_code == 400


def test_allowed_hosts_name_loopback_and_the_served_address() -> None:
    from masthead.cli.serve import allowed_hosts

    assert allowed_hosts("0.0.0.0") is None and allowed_hosts("192.0.2.1") is None
    assert "127.0.0.2" in (allowed_hosts("127.0.0.2") or [])
    assert {"[::1]", "localhost", "127.0.0.1"} <= set(allowed_hosts("::1") or [])

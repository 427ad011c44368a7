"""Helpers for the web tests and the ingest benchmark: a real `masthead serve` subprocess on a
free loopback port, webhook signing, and reading the CSRF token off a page."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from masthead.app.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    legacy_signature,
    signature,
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def signed_headers(secret: str, body: bytes, delivery: str, timestamp: int | None = None, *,
                   legacy: bool = False) -> dict[str, str]:
    """Headers of a delivery signed with the v2 scheme (or the deprecated `sha256=` one)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = legacy_signature(secret.encode(), stamp, body) if legacy else signature(secret.encode(), stamp, delivery, body)
    return {
        TIMESTAMP_HEADER: stamp,
        DELIVERY_HEADER: delivery,
        SIGNATURE_HEADER: signed,
        "Content-Type": "application/json",
    }


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class ServeProcess:
    """`masthead -w WORKSPACE serve` in a subprocess; `stop()` sends Ctrl-C (SIGINT) like a person."""

    def __init__(self, workspace: Path, *, workers: bool = True, env: dict[str, str] | None = None,
                 log: Path | None = None, host: str = "127.0.0.1"):
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        command = [sys.executable, "-m", "masthead.cli.main", "-w", str(workspace), "serve", "--host", host,
                   "--port", str(self.port)]
        if not workers:
            command.append("--no-workers")
        self.log_path = log or workspace / "serve.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})})

    def wait_ready(self, timeout: float = 30.0) -> ServeProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"masthead serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/login", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"masthead serve did not answer within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text("utf-8", errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> ServeProcess:
        return self.wait_ready()

    def __exit__(self, *exc: object) -> None:
        self.stop()

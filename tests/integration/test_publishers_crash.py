"""kill -9 of `masthead run` between a send and its confirmation, then a restart: exactly one
remote post (Mastodon, Bluesky, Ghost, WordPress, X, LinkedIn), or one publication handed to a
person (webhook, SMTP; X when its timeline does not list the post yet; LinkedIn when the token may
not read posts), and the log still verifies."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.support.bluesky_server import BlueskyServer
from tests.support.ghost_server import ADMIN, GhostServer
from tests.support.harness import KEY_ENV, add_release_notes, content_reply
from tests.support.linkedin_server import LinkedInServer
from tests.support.loopback import Answer, Fault, LoopbackService, Request
from tests.support.mastodon_server import MastodonServer
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import (
    BLUESKY_PASSWORD_ENV,
    GHOST_KEY_ENV,
    HOOK_SECRET_ENV,
    LINKEDIN_TOKEN_ENV,
    MASTODON_TOKEN_ENV,
    SMTP_PASSWORD_ENV,
    SMTP_USER_ENV,
    WORDPRESS_PASSWORD_ENV,
    X_TOKEN_ENV,
    bluesky_table,
    ghost_table,
    linkedin_table,
    mastodon_table,
    publishing_workspace,
    smtp_table,
    webhook_table,
    wordpress_table,
    x_table,
)
from tests.support.smtp_server import SmtpServer
from tests.support.wordpress_server import POSTS, WordPressServer
from tests.support.x_server import XServer

from masthead.channels.threads import parts_of

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {KEY_ENV: "sk-test", MASTODON_TOKEN_ENV: "mastodon-token-123456",
           BLUESKY_PASSWORD_ENV: "app-pass-1234", HOOK_SECRET_ENV: "hook-secret-abcdef",
           WORDPRESS_PASSWORD_ENV: "abcd EFGH 1234 ijkl MNOP 5678", SMTP_USER_ENV: "ana@tallybook.example",
           SMTP_PASSWORD_ENV: "smtp-pass-123456", GHOST_KEY_ENV: "6748592f4b9b7700010f6564:" + "5e" * 32,
           X_TOKEN_ENV: "x-user-token-123456", LINKEDIN_TOKEN_ENV: "linkedin-token-123456"}


class Receiver(LoopbackService):
    """A webhook receiver that takes every POST (it de-duplicates by key, as asked)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, object] = {}
        self.route("POST", "/hook", self._take)

    def _take(self, request: Request, match: re.Match[str]) -> Answer:
        self.items.setdefault(request.header("X-Masthead-Delivery") or "", request.body)
        return Answer(200, {})


@contextmanager
def mastodon() -> Iterator[tuple[LoopbackService, str, str, Callable[[], int]]]:
    with MastodonServer() as server:
        yield server, "/api/v1/statuses", mastodon_table(server.base_url, timeout=30), lambda: len(server.statuses)


@contextmanager
def bluesky() -> Iterator[tuple[LoopbackService, str, str, Callable[[], int]]]:
    with BlueskyServer() as server:
        yield (server, "/xrpc/com.atproto.repo.createRecord",
               bluesky_table(server.base_url, server.handle, timeout=30), lambda: len(server.records))


@contextmanager
def webhook() -> Iterator[tuple[LoopbackService, str, str, Callable[[], int]]]:
    with Receiver() as server:
        yield server, "/hook", webhook_table(server.base_url + "/hook", name="webhook", timeout=30), lambda: len(server.items)


@contextmanager
def ghost() -> Iterator[tuple[LoopbackService, str, str, Callable[[], int]]]:
    with GhostServer(admin_key=SECRETS[GHOST_KEY_ENV]) as server:
        yield server, f"{ADMIN}/posts/", ghost_table(server.base_url, timeout=30), lambda: len(server.posts)


@contextmanager
def wordpress() -> Iterator[tuple[LoopbackService, str, str, Callable[[], int]]]:
    with WordPressServer(app_password=SECRETS[WORDPRESS_PASSWORD_ENV]) as server:
        yield server, POSTS, wordpress_table(server.base_url, timeout=30), lambda: len(server.posts)


@contextmanager
def x() -> Iterator[tuple[LoopbackService, str, str, Callable[[], int]]]:
    with XServer() as server:
        yield server, "/2/tweets", x_table(server.base_url, timeout=30), lambda: len(server.posts)


@contextmanager
def x_lagging() -> Iterator[tuple[LoopbackService, str, str, Callable[[], int]]]:
    """X lists the post late: the restart cannot find it and must not post again."""
    with x() as (server, path, table, posts):
        assert isinstance(server, XServer)
        server.listed_after_seconds = 3600
        yield server, path, table, posts


@contextmanager
def linkedin() -> Iterator[tuple[LoopbackService, str, str, Callable[[], int]]]:
    with LinkedInServer() as server:
        yield (server, "/rest/posts", linkedin_table(server.base_url, server.author, timeout=30),
               lambda: len(server.posts))


@contextmanager
def linkedin_unreadable() -> Iterator[tuple[LoopbackService, str, str, Callable[[], int]]]:
    """A token that may post but not read posts (no r_member_social): the restart cannot look."""
    with linkedin() as (server, path, table, posts):
        assert isinstance(server, LinkedInServer)
        server.can_read_posts = False
        yield server, path, table, posts


def masthead(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "masthead.cli.main", "-w", str(root), *args]


def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **SECRETS, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


def kill_when(ws_root: Path, env: dict[str, str], sent: Callable[[], bool]) -> None:
    """Run `masthead run` until `sent()`, then kill -9 it (it is waiting for the answer)."""
    run = subprocess.Popen(masthead(ws_root, "run", "--until-idle"), env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not sent() and time.time() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert sent() and run.poll() is None, "the run never reached the send"
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("service, expected, channel", [
    (mastodon, "delivered", "x"), (bluesky, "delivered", "x"), (webhook, "needs_human", "x"),
    (ghost, "delivered", "blog"), (wordpress, "delivered", "blog"), (x, "delivered", "x"),
    (x_lagging, "needs_human", "x"), (linkedin, "delivered", "x"), (linkedin_unreadable, "needs_human", "x")],
    ids=["mastodon", "bluesky", "webhook", "ghost", "wordpress", "x", "x-lagging", "linkedin", "linkedin-unreadable"])
def test_kill_9_between_send_and_confirmation(tmp_path, monkeypatch, service, expected, channel):
    env = environment(monkeypatch)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as openai, service() as (fake, path, table, posts):
        name = table.split("]")[0].removeprefix("[publishers.")
        ws = publishing_workspace(tmp_path / "ws", openai.base_url, table, [name], channel=channel)
        add_release_notes(ws)
        # The service makes the post, then never answers: the worker sits between send and
        # confirmation until it is killed.
        fake.fault("POST", path, Fault.accept_then_hang(60))
        kill_when(ws.root, env, lambda: posts() > 0)
        assert ws.store.query("SELECT status FROM publications")[0]["status"] == "requested"

        fake.clear_faults()
        again = subprocess.run(masthead(ws.root, "run", "--until-idle"), env=env, capture_output=True,
                               text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert posts() == 1
        # The restart looked first (Mastodon: the account's statuses; Bluesky: the record at the
        # derived key; Ghost, WordPress: the post at the derived slug; X and LinkedIn: the
        # account's recent posts) and found the post; the webhook (and X that lists the post late,
        # LinkedIn without read access) cannot be asked and was not sent again.
        assert fake.count("POST", path) == 1
        [publication] = ws.store.query("SELECT * FROM publications")
        assert publication["status"] == expected
        delivered = [e for e in ws.store.read() if e.type == "PublicationDelivered"]
        assert len(delivered) == (1 if expected == "delivered" else 0)
        verified = subprocess.run(masthead(ws.root, "replay", "--verify"), env=env, capture_output=True, text=True,
                                  timeout=120)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        ws.close()


# Eight items: a thread of several posts on X (see test_threads_publishing.py).
LONG_RELEASE = """\
# Tallybook 3.2
- Bank feeds now cover 40 more banks across Europe, including ING, Rabobank and ABN AMRO, with daily sync.
- The dashboard loads 35% faster thanks to a rewritten query planner and cached totals.
- Invoices can be written in Japanese (請求書), with consumption tax worked out for you.
- Recurring invoices can now be paused and resumed without losing their schedule or numbering.
- PDF invoices include a QR code for instant bank transfer payments in SEPA countries.
- Fixed currency rounding on invoices with more than 20 line items in JPY and KRW.
- Expense categories can be exported to CSV with their tax codes for your accountant.
- Dark mode for the whole app, following your system setting.
"""


@pytest.mark.slow
@pytest.mark.parametrize("service", [mastodon, bluesky], ids=["mastodon", "bluesky"])
def test_kill_9_between_send_and_confirmation_of_a_threads_second_part(tmp_path, monkeypatch, service):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    env = {**os.environ, **SECRETS, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    with OpenAIServer(api_key="sk-test", reply=content_reply) as openai, service() as (fake, path, table, posts):
        name = table.split("]")[0].removeprefix("[publishers.")
        ws = publishing_workspace(tmp_path / "ws", openai.base_url, table, [name])
        add_release_notes(ws, LONG_RELEASE)
        # Part 1 is answered; part 2 is made and never answered: the run is killed in between.
        fake.fault("POST", path, Fault.none(), Fault.accept_then_hang(60))
        run = subprocess.Popen(masthead(ws.root, "run", "--until-idle"), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while posts() < 2 and time.time() < deadline and run.poll() is None:
            time.sleep(0.05)
        assert posts() == 2 and run.poll() is None, "the run never reached the second part"
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        states = {row["idempotency_key"].rsplit("/", 1)[1]: row["status"]
                  for row in ws.store.query("SELECT idempotency_key, status FROM publications")}
        assert states == {"part-1": "delivered", "part-2": "requested"}

        fake.clear_faults()
        again = subprocess.run(masthead(ws.root, "run", "--until-idle"), env=env, capture_output=True,
                               text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        [piece] = ws.store.query("SELECT text FROM pieces")
        count = len(parts_of(piece["text"]))
        assert count >= 3
        # One copy of each part: part 2 was found at the service, not sent again.
        assert posts() == count and fake.count("POST", path) == count
        rows = ws.store.query("SELECT idempotency_key, status FROM publications ORDER BY idempotency_key")
        assert [row["idempotency_key"].rsplit("/", 1)[1] for row in rows] == [f"part-{i}" for i in range(1, count + 1)]
        assert {row["status"] for row in rows} == {"delivered"}
        delivered = [e for e in ws.store.read() if e.type == "PublicationDelivered"]
        assert len(delivered) == count
        verified = subprocess.run(masthead(ws.root, "replay", "--verify"), env=env, capture_output=True, text=True,
                                  timeout=120)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        ws.close()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a relay on 127.0.0.1
def test_kill_9_after_the_smtp_message_was_sent_hands_it_to_a_person(tmp_path, monkeypatch):
    env = environment(monkeypatch)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as openai, \
            SmtpServer(user=SECRETS[SMTP_USER_ENV], password=SECRETS[SMTP_PASSWORD_ENV], stall_seconds=60) as smtp:
        ws = publishing_workspace(tmp_path / "ws", openai.base_url, smtp_table(smtp.port, timeout=30), ["mail"],
                                  channel="email")
        add_release_notes(ws)
        # The server keeps the message and holds its answer back: killed while waiting for it.
        kill_when(ws.root, env, lambda: len(smtp.messages) > 0)
        assert ws.store.query("SELECT status FROM publications")[0]["status"] == "requested"

        smtp.stall_seconds = 0
        again = subprocess.run(masthead(ws.root, "run", "--until-idle"), env=env, capture_output=True,
                               text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        # SMTP cannot be asked: one message, and a person decides (never a second send).
        assert len(smtp.messages) == 1
        [publication] = ws.store.query("SELECT * FROM publications")
        assert publication["status"] == "needs_human" and "may have been delivered by mail" in publication["reason"]
        verified = subprocess.run(masthead(ws.root, "replay", "--verify"), env=env, capture_output=True, text=True,
                                  timeout=120)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        ws.close()

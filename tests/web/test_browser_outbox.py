"""The desk's outbox in a real browser (Debian's chromium via Playwright) against `masthead serve`:
retracting a published piece takes a confirmation; a publication that needs a person is settled
from the desk."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from tests.support.harness import KEY_ENV, RELEASE_NOTES, add_release_notes, content_reply
from tests.support.loopback import Fault
from tests.support.mastodon_server import MastodonServer
from tests.support.openai_server import OpenAIServer
from tests.support.publishing import MASTODON_TOKEN_ENV, mastodon_table, publishing_workspace
from tests.support.web import ServeProcess
from tests.web.test_browser_desk import _chromium, browser, log_in  # noqa: F401 - fixtures shared

from masthead.app.auth import read_token
from masthead.app.workspace import Workspace
from masthead.runtime.worker import Worker

TOKEN = "mastodon-token-123456"
STATUSES = "/api/v1/statuses"


def run_all(ws: Workspace, later: float = 0.0) -> None:
    services = ws.services()
    services.clock = lambda: time.time() + later
    worker = Worker(ws.store, services, "test:1:0", lease_seconds=30, backoff_base=0, backoff_max=0)
    while (task := worker.claim()) is not None:
        worker.run(task)


@pytest.fixture
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ServeProcess, str, MastodonServer, dict]]:
    """One piece published on Mastodon, and one whose post may have been made (needs_human)."""
    monkeypatch.setenv(KEY_ENV, "sk-test")
    monkeypatch.setenv(MASTODON_TOKEN_ENV, TOKEN)
    with OpenAIServer(api_key="sk-test", reply=content_reply) as llm, MastodonServer(token=TOKEN) as mastodon:
        ws = publishing_workspace(tmp_path / "ws", llm.base_url, mastodon_table(mastodon.base_url), ["mastodon"])
        add_release_notes(ws)
        run_all(ws)
        mastodon.fault("POST", STATUSES, Fault.accept_then_reset())
        mastodon.fault("GET", "/api/v1/accounts/1/statuses", Fault.status_reply(200, []))
        add_release_notes(ws, RELEASE_NOTES + "- Dark mode.\n")
        run_all(ws, later=2 * 3600)  # past Mastodon's key lifetime: only a person can tell
        rows = ws.store.query("SELECT * FROM publications ORDER BY requested_at")
        assert [row["status"] for row in rows] == ["delivered", "needs_human"]
        token = read_token(ws.root)
        assert token
        ws.close()
        with ServeProcess(tmp_path / "ws", workers=False) as serve:
            yield serve, token, mastodon, {"published": rows[0], "unsettled": rows[1]}


def publications(serve: ServeProcess, token: str) -> dict[str, dict]:
    answer = httpx.get(serve.url + "/api/v1/publications", headers={"Authorization": f"Bearer {token}"})
    return {row["idempotency_key"]: row for row in answer.json()}


def test_retract_from_the_desk_takes_a_confirmation(browser: Browser, outbox) -> None:  # noqa: F811
    serve, token, mastodon, rows = outbox
    published = rows["published"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, serve, token)
    page.goto(f"{serve.url}/?piece={published['piece_id']}")
    retract = page.locator("#panel form.act-retract")
    retract.locator("input[name=reason]").fill("wrong figure")
    retract.locator("button").click()
    # The first click only asks: the dialog names where the piece is published.
    dialog = page.locator("#panel .confirm-retract")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(published["url"])
    assert publications(serve, token)[published["idempotency_key"]]["status"] == "delivered"
    assert mastodon.count("DELETE", f"{STATUSES}/{published['remote_id']}") == 0
    # Esc cancels; asking again and confirming retracts.
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    page.locator("#panel form.act-retract button").click()
    page.locator("#panel .confirm-retract button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text("retracted x piece")
    expect(page.locator("#flash")).to_contain_text("from mastodon")
    row = publications(serve, token)[published["idempotency_key"]]
    assert (row["status"], row["reason"]) == ("retracted", "wrong figure")
    assert mastodon.count("DELETE", f"{STATUSES}/{published['remote_id']}") == 1
    assert not errors, errors


def test_a_publication_that_needs_a_person_is_settled_at_the_desk(browser: Browser, outbox) -> None:  # noqa: F811
    serve, token, mastodon, rows = outbox
    key = rows["unsettled"]["idempotency_key"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, serve, token)
    item = page.locator(f'.unsettled-item[data-publication="{key}"]')
    expect(item).to_be_visible()
    expect(item).to_contain_text("may have been delivered by mastodon")
    expect(item.locator("button", has_text="Not published: send it")).to_be_visible()
    url = f"{mastodon.base_url}/@ana/{mastodon.statuses[-1]['id']}"
    item.locator("input[name=url]").fill(url)
    item.locator("button", has_text="It is published").click()
    expect(page.locator("#flash")).to_contain_text(f"recorded {key} as published at {url}")
    expect(item).to_have_count(0)  # the queue refreshed: nothing needs a person now
    row = publications(serve, token)[key]
    assert (row["status"], row["url"]) == ("delivered", url)
    assert "settled by human:dana" in row["reason"]
    assert mastodon.count("POST", STATUSES) == 2  # the first piece and the uncertain one: never sent again

"""GitHub release webhooks (issue 13, part 2) through the real ASGI app: GitHub's signature,
delivery de-duplication across restarts, release actions, ping and unknown events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.support.harness import make_workspace

from masthead.app.sources import list_sources
from masthead.app.workspace import Workspace, open_workspace
from masthead.sources.github import github_signature
from masthead.web.app import create_app

SECRET = "gh-secret-for-tests"
PROJECT = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {description: Plain.}
channels:
  x: {gate: hard}
sources:
  - {name: gh, kind: github_releases, secret_env: MASTHEAD_TEST_GH_SECRET, repository: acme/tallybook}
"""


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("MASTHEAD_TEST_GH_SECRET", SECRET)
    workspace = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT)
    yield workspace
    workspace.close()


def release_payload(action: str = "published", tag: str = "v2.4.0", *, draft: bool = False,
                    prerelease: bool = False, repo: str = "acme/tallybook") -> bytes:
    return json.dumps({
        "action": action,
        "release": {"tag_name": tag, "name": f"Tallybook {tag}", "draft": draft, "prerelease": prerelease,
                    "body": "## What's new\n- Recurring invoices now repeat monthly.\n- Fixed PDF totals.",
                    "html_url": f"https://github.com/{repo}/releases/tag/{tag}"},
        "repository": {"full_name": repo},
    }).encode()


def deliver(client: TestClient, body: bytes, *, event: str = "release", delivery: str = "d-1",
            secret: str | None = SECRET, signature: str | None = None) -> object:
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    elif secret is not None:
        headers["X-Hub-Signature-256"] = github_signature(secret.encode(), body)
    return client.post("/hooks/github", content=body, headers=headers)


def release_signals(ws: Workspace) -> list[dict]:
    return ws.store.query("SELECT id, kind, title, body, source, trust FROM signals WHERE source LIKE 'github:%'")


def test_a_published_release_becomes_one_untrusted_release_notes_signal(ws: Workspace) -> None:
    with TestClient(create_app(ws, with_workers=False)) as client:
        answer = deliver(client, release_payload())
        assert answer.status_code == 202  # type: ignore[attr-defined]
        [signal] = release_signals(ws)
        assert answer.json()["signal_ids"] == [signal["id"]]  # type: ignore[attr-defined]
        assert (signal["kind"], signal["trust"], signal["source"]) == ("release_notes", "untrusted", "github:gh:d-1")
        assert "Recurring invoices now repeat monthly." in signal["body"]
        assert "Tag: v2.4.0" in signal["body"]
        assert "Release page: https://github.com/acme/tallybook/releases/tag/v2.4.0" in signal["body"]
        jobs = ws.store.query("SELECT recipe FROM jobs WHERE signal_id = ?", (signal["id"],))
        assert [job["recipe"] for job in jobs] == ["release-notes"]

        again = deliver(client, release_payload())  # GitHub's "Redeliver"
        assert again.status_code == 200 and again.json()["signal_ids"] == [signal["id"]]  # type: ignore[attr-defined]
    ws.close()
    reopened = open_workspace(str(ws.root))  # the delivery is remembered across a restart
    with TestClient(create_app(reopened, with_workers=False)) as client:
        assert deliver(client, release_payload()).status_code == 200  # type: ignore[attr-defined]
    assert len(release_signals(reopened)) == 1
    [state] = list_sources(reopened)
    assert (state["kind"], state["state"], state["imported"], state["every"]) == ("github_releases", "ok", 1, None)
    reopened.close()


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "sha1=abc", "garbage"])
def test_a_wrong_or_missing_signature_is_401_and_records_nothing(ws: Workspace, signature: str | None) -> None:
    head = ws.store.head()
    with TestClient(create_app(ws, with_workers=False)) as client:
        body = release_payload()
        answer = deliver(client, body, secret=None, signature=signature) if signature is not None \
            else deliver(client, body, secret=None)
        assert answer.status_code == 401  # type: ignore[attr-defined]
        assert answer.json()["error"]["code"] == "bad_signature"  # type: ignore[attr-defined]
        other_secret = deliver(client, body, secret="not-the-secret")
        assert other_secret.status_code == 401  # type: ignore[attr-defined]
    assert ws.store.head() == head
    assert SECRET not in answer.text  # type: ignore[attr-defined]


def test_a_body_changed_after_signing_is_refused(ws: Workspace) -> None:
    with TestClient(create_app(ws, with_workers=False)) as client:
        signature = github_signature(SECRET.encode(), release_payload())
        answer = deliver(client, release_payload(tag="v9.9.9"), signature=signature)
        assert answer.status_code == 401  # type: ignore[attr-defined]
    assert release_signals(ws) == []


@pytest.mark.parametrize(("body", "event", "why"), [
    (release_payload("created"), "release", "release action 'created'"),
    (release_payload("released"), "release", "release action 'released'"),
    (release_payload(draft=True), "release", "is a draft"),
    (release_payload(prerelease=True), "release", "is a pre-release"),
    (release_payload(repo="acme/other"), "release", "not acme/tallybook"),
    (json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "acme/tallybook"}}).encode(), "push",
     "push event"),
])
def test_other_actions_and_events_are_204_ignored_and_recorded(ws: Workspace, body: bytes, event: str,
                                                                 why: str) -> None:
    with TestClient(create_app(ws, with_workers=False)) as client:
        answer = deliver(client, body, event=event, delivery="d-ignored")
        assert answer.status_code == 204 and answer.content == b""  # type: ignore[attr-defined]
    assert release_signals(ws) == []
    [state] = list_sources(ws)
    assert state["state"] == "ignored" and why in state["detail"]


def test_ping_is_200_and_prereleases_can_be_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTHEAD_TEST_GH_SECRET", SECRET)
    project = PROJECT.replace("repository: acme/tallybook}", "prereleases: true}")
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", project)
    with TestClient(create_app(ws, with_workers=False)) as client:
        ping = deliver(client, json.dumps({"zen": "Keep it simple.", "hook_id": 1}).encode(), event="ping",
                       delivery="p-1")
        assert ping.status_code == 200  # type: ignore[attr-defined]
        assert list_sources(ws)[0]["state"] == "ok"
        assert deliver(client, release_payload(prerelease=True, tag="v3.0.0-rc1"),
                       delivery="d-rc").status_code == 202  # type: ignore[attr-defined]
    assert [s["source"] for s in release_signals(ws)] == ["github:gh:d-rc"]
    ws.close()


def test_a_trusted_source_makes_trusted_signals_and_the_generic_github_webhook_still_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTHEAD_TEST_GH_SECRET", SECRET)
    project = PROJECT + "policies: {trusted_sources: ['github:gh']}\n"
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", project)
    with TestClient(create_app(ws, with_workers=False)) as client:
        assert deliver(client, release_payload()).status_code == 202  # type: ignore[attr-defined]
        # Without X-GitHub-Event the request is a Masthead-signed delivery for [webhooks.github].
        plain = client.post("/hooks/github", content=b"{}", headers={"Content-Type": "application/json"})
        assert plain.status_code == 404  # no [webhooks.github] in this workspace
    assert [s["trust"] for s in release_signals(ws)] == ["trusted"]
    ws.close()


def test_a_redelivery_to_another_serve_process_on_postgres_is_recognised(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.harness import write_config
    from tests.support.postgres import fresh_database

    from masthead.app.commands import apply_project
    from masthead.app.github_sources import receive_github
    from masthead.app.workspace import init_workspace

    monkeypatch.setenv("MASTHEAD_TEST_GH_SECRET", SECRET)
    root = tmp_path / "ws"
    root.mkdir()
    body = release_payload()
    headers = {"x-github-event": "release", "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
               "x-hub-signature-256": github_signature(SECRET.encode(), body)}
    with fresh_database() as url:
        write_config(root, "http://127.0.0.1:9/v1")
        config = (root / "masthead.toml").read_text("utf-8")
        (root / "masthead.toml").write_text(config.replace("[workspace]\n", f'[workspace]\ndatabase = "{url}"\n'), "utf-8")
        one, _ = init_workspace(root)
        (root / "project.yaml").write_text(PROJECT, "utf-8")
        apply_project(one, root / "project.yaml")
        two = open_workspace(str(root))
        first = receive_github(one, headers, body)
        again = receive_github(two, headers, body)
        assert (first.status, again.status) == (202, 200) and again.signal_ids == first.signal_ids
        ignored = receive_github(two, {**headers, "x-github-event": "issues", "x-github-delivery": "d-2",
                                       "x-hub-signature-256": github_signature(SECRET.encode(), b"{}")}, b"{}")
        assert ignored.status == 204 and list_sources(one)[0]["state"] == "ignored"
        assert len(release_signals(one)) == 1
        one.close()
        two.close()

"""Feed sources (issue 13, part 1) against a real RSS server on loopback: conditional GET,
de-duplication across restarts, backfill, redirects, gone feeds and feeds that cannot be read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.feed_server import FeedServer
from tests.support.harness import make_workspace

from masthead.app.sources import list_sources, poll_sources
from masthead.app.workspace import Workspace, open_workspace
from masthead.errors import NotFoundError
from masthead.sources import feed as feed_module

PROJECT = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {{description: Plain.}}
channels:
  x: {{gate: hard}}
sources:
  - {{name: blog, kind: feed, url: "{url}", every: 15m, backfill: 2}}
"""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


def workspace(root: Path, url: str) -> Workspace:
    return make_workspace(root, "http://127.0.0.1:9/v1", PROJECT.format(url=url))


def feed_signals(ws: Workspace) -> list[dict]:
    return ws.store.query("SELECT id, kind, title, body, source, trust FROM signals WHERE source LIKE 'feed:%'"
                          " ORDER BY received_at, id")


def poll(ws: Workspace, **kwargs: object) -> dict:
    [result] = poll_sources(ws, **kwargs)  # type: ignore[arg-type]
    return result


def test_first_poll_backfills_then_only_new_entries_and_a_304_costs_nothing(server: FeedServer, tmp_path: Path) -> None:
    for n in range(1, 6):
        server.publish(f"post-{n}", f"Post {n}", f"Text of post {n}.")
    ws = workspace(tmp_path / "ws", server.url())

    first = poll(ws)
    assert (first["state"], first["imported"], first["skipped"]) == ("ok", 2, 3)
    signals = feed_signals(ws)
    assert [s["title"] for s in signals] == ["Post 4", "Post 5"]  # the newest `backfill`, oldest first
    assert {s["kind"] for s in signals} == {"feed_item"}
    assert {s["trust"] for s in signals} == {"untrusted"}
    assert "Text of post 5." in signals[1]["body"] and "https://blog.example/post-5" in signals[1]["body"]

    unchanged = poll(ws)
    assert (unchanged["state"], unchanged["imported"]) == ("not_modified", 0)
    conditional = server.requests[-1]
    assert conditional.status == 304 and conditional.if_none_match and conditional.if_modified_since
    events = ws.store.head()[0]
    assert poll(ws)["state"] == "not_modified"
    assert ws.store.head()[0] == events  # a second 304 in a row writes nothing

    server.publish("post-6", "Post 6", "Text of post 6.")
    ws.close()
    reopened = open_workspace(str(tmp_path / "ws"))  # a restart: what was seen is read back from the log
    after = poll(reopened)
    assert (after["state"], after["imported"]) == ("ok", 1)
    assert [s["title"] for s in feed_signals(reopened)] == ["Post 4", "Post 5", "Post 6"]

    [state] = list_sources(reopened)
    assert (state["state"], state["imported"], state["polls"]) == ("ok", 3, 3)  # the repeated 304 is not one


def test_a_poll_that_stopped_after_importing_is_finished_without_duplicates(server: FeedServer,
                                                                             tmp_path: Path) -> None:
    server.publish("post-1", "Post 1", "One.")
    ws = workspace(tmp_path / "ws", server.url())
    poll(ws)
    server.publish("post-2", "Post 2", "Two.")
    server.publish("post-3", "Post 3", "Three.")
    # The poll's own record is lost (a crash after the signals were stored): the next poll
    # has no ETag for this version, fetches it all, and imports only what is not stored yet.
    from masthead.app import feed_sources as app_sources

    real_record = app_sources.record_poll
    app_sources.record_poll = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        assert poll(ws)["imported"] == 2
    finally:
        app_sources.record_poll = real_record
    again = poll(ws)
    assert (again["state"], again["imported"]) == ("ok", 0)
    assert [s["title"] for s in feed_signals(ws)] == ["Post 1", "Post 2", "Post 3"]


def test_a_first_poll_that_stopped_half_way_does_not_reach_further_back(server: FeedServer,
                                                                       tmp_path: Path) -> None:
    for n in range(1, 6):
        server.publish(f"post-{n}", f"Post {n}", f"Text of post {n}.")
    ws = workspace(tmp_path / "ws", server.url())  # backfill: 2
    from masthead.app import feed_sources as app_sources

    real_record = app_sources.record_poll
    app_sources.record_poll = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        assert poll(ws)["imported"] == 2  # ...and the process dies before recording the poll
    finally:
        app_sources.record_poll = real_record
    again = poll(ws)
    assert (again["imported"], again["skipped"]) == (0, 3)
    assert [s["title"] for s in feed_signals(ws)] == ["Post 4", "Post 5"]
    assert poll(ws)["imported"] == 0


def test_an_entry_listed_twice_is_imported_once(server: FeedServer, tmp_path: Path) -> None:
    server.publish("same", "Same", "Once.")
    server.publish("same", "Same", "Once.")
    ws = workspace(tmp_path / "ws", server.url())
    assert poll(ws)["imported"] == 1


def test_redirects_are_followed_and_a_redirect_loop_is_an_error_state(server: FeedServer, tmp_path: Path) -> None:
    server.publish("post-1", "Post 1", "One.")
    ws = workspace(tmp_path / "moved", server.url("/moved"))
    moved = poll(ws)
    assert (moved["state"], moved["imported"]) == ("ok", 1)
    assert list_sources(ws)[0]["final_url"] == server.url("/feed.xml")

    looping = workspace(tmp_path / "loop", server.url("/loop"))
    result = poll(looping)
    assert result["state"] == "error" and "redirects more than 5 times" in result["error"]
    assert server.paths().count("/loop") == feed_module.MAX_REDIRECTS + 1  # bounded, then it stops
    assert feed_signals(looping) == []


def test_a_gone_feed_is_marked_gone_and_not_asked_again(server: FeedServer, tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", server.url("/gone"))
    result = poll(ws)
    assert result["state"] == "gone" and "410" in result["error"]
    assert poll(ws)["polled"] is False
    assert server.paths() == ["/gone"]
    [state] = list_sources(ws)
    assert state["state"] == "gone" and "remove the source" in state["error"]


@pytest.mark.parametrize(("path", "expected"), [
    ("/html", "not a feed: it looks like HTML"),
    ("/broken", "answered HTTP 500"),
    ("/huge", "the limit for a feed"),
])
def test_unusable_answers_leave_an_error_state_and_import_nothing(server: FeedServer, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 path: str, expected: str) -> None:
    monkeypatch.setattr(feed_module, "MAX_FEED_BYTES", 1_000_000)  # the endless body stops sooner
    ws = workspace(tmp_path / "ws", server.url(path))
    result = poll(ws)
    assert result["state"] == "error" and expected in result["error"], result
    assert feed_signals(ws) == []
    assert list_sources(ws)[0]["state"] == "error"


def test_a_slow_feed_times_out_into_an_error_state(server: FeedServer, tmp_path: Path) -> None:
    server.slow_seconds = 2.0
    ws = workspace(tmp_path / "ws", server.url("/slow"))
    with httpx.Client(follow_redirects=True, max_redirects=feed_module.MAX_REDIRECTS, timeout=0.3) as client:
        result = poll(ws, client=client)
    assert result["state"] == "error" and "did not answer" in result["error"]


def test_errors_do_not_show_the_query_string_of_a_private_feed(server: FeedServer, tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", server.url("/broken?token=s3cret-feed-token"))
    result = poll(ws)
    assert "s3cret" not in result["error"]
    logged = ws.store.query("SELECT data FROM events WHERE type = 'SourcePolled'")
    assert "s3cret" not in logged[0]["data"].split('"url"')[0]  # the error text, not the configured url
    assert "s3cret" not in (list_sources(ws)[0]["url"] or "")


def test_an_unknown_source_name_is_refused(server: FeedServer, tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", server.url())
    with pytest.raises(NotFoundError, match="no project has a source named 'blgo'") as caught:
        poll_sources(ws, name="blgo")
    assert caught.value.fix == "use one of: blog"


def test_feed_and_analytics_polling_on_postgres(server: FeedServer, tmp_path: Path) -> None:
    from tests.support.harness import write_config
    from tests.support.postgres import fresh_database

    from masthead.app.commands import apply_project
    from masthead.app.workspace import init_workspace

    server.publish("post-1", "Post 1", "One.")
    server.publish("post-2", "Post 2", "Two.")
    root = tmp_path / "ws"
    root.mkdir()
    with fresh_database() as url:
        write_config(root, "http://127.0.0.1:9/v1")
        config = (root / "masthead.toml").read_text("utf-8")
        (root / "masthead.toml").write_text(config.replace("[workspace]\n", f'[workspace]\ndatabase = "{url}"\n'), "utf-8")
        ws, _ = init_workspace(root)
        assert ws.store.backend == "postgres"
        project = PROJECT.format(url=server.url()) + "  - {name: stats, kind: analytics, path: analytics/, format: csv}\n"
        (root / "project.yaml").write_text(project, "utf-8")
        apply_project(ws, root / "project.yaml")
        (root / "analytics").mkdir()
        (root / "analytics" / "a.csv").write_text("date,metric,value\n2026-11-30,signups,3\n", "utf-8")
        results = {r["name"]: r for r in poll_sources(ws)}
        assert (results["blog"]["state"], results["blog"]["imported"]) == ("ok", 2)
        assert (results["stats"]["state"], results["stats"]["files"]) == ("ok", ["a.csv"])
        again = {r["name"]: r for r in poll_sources(ws)}
        assert again["blog"]["state"] == "not_modified" and again["stats"]["files"] == []
        server.publish("post-3", "Post 3", "Three.")
        assert poll_sources(ws, name="blog")[0]["imported"] == 1
        assert len(feed_signals(ws)) == 3
        assert {s["name"]: s["state"] for s in list_sources(ws)} == {"blog": "ok", "stats": "ok"}
        ws.close()

"""The source poller (issue 13, part 4): sources polled on their `every` in `masthead serve` and
`masthead run --watch`, a stuck source that does not stop the others, and pollers racing on
Postgres that make one signal."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.feed_server import FeedServer
from tests.support.harness import make_workspace
from tests.support.web import ServeProcess

from masthead.app.poller import SourcePoller
from masthead.app.workspace import Workspace, open_workspace

PROJECT = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {{description: Plain.}}
channels:
  x: {{gate: hard}}
sources:
  - {{name: blog, kind: feed, url: "{url}", every: {every}, backfill: 5}}
"""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


def feed_titles(ws: Workspace, name: str = "blog") -> list[str]:
    rows = ws.store.query("SELECT title FROM signals WHERE source LIKE ? ORDER BY seq", (f"feed:{name}:%",))
    return [row["title"] for row in rows]


def wait_for(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_each_source_is_polled_on_its_every_and_a_stuck_one_does_not_stop_the_others(
        server: FeedServer, tmp_path: Path) -> None:
    server.publish("post-1", "Post 1", "One.")
    server.slow_seconds = 4.0
    project = PROJECT.format(url=server.url(), every="10m") + \
        f'  - {{name: stuck, kind: feed, url: "{server.url("/slow")}", every: 1m}}\n'
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", project)
    clock, lines = Clock(), []
    poller = SourcePoller(ws, clock=clock, report=lambda line, failed: lines.append(line))
    try:
        started = poller.tick()
        assert len(started) == 2  # both never polled: due at once
        wait_for(lambda: feed_titles(ws) == ["Post 1"])
        assert not all(future.done() for future in started)  # the stuck feed is still in flight

        server.publish("post-2", "Post 2", "Two.")
        clock.now += 60
        assert poller.tick() == []  # blog is not due (every 10m), stuck is still in flight: skipped
        clock.now += 600
        [again] = poller.tick()  # blog is due again; the stuck one still holds only its own thread
        again.result(10)
        assert feed_titles(ws) == ["Post 1", "Post 2"]
        wait_for(lambda: all(future.done() for future in started), timeout=20)
        assert any("tallybook/blog: ok, 1 new signal(s)" in line for line in lines)
    finally:
        poller.stop()
        ws.close()


def test_a_restarted_poller_waits_for_every_after_the_last_recorded_poll(server: FeedServer, tmp_path: Path) -> None:
    server.publish("post-1", "Post 1", "One.")
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT.format(url=server.url(), every="1h"))
    first = SourcePoller(ws)
    [done] = first.tick()
    done.result(10)
    first.stop()
    second = SourcePoller(ws)  # a restart a moment later: the last poll is in the log
    try:
        assert second.tick() == []
        second.clock = lambda: time.time() + 3601
        assert len(second.tick()) == 1
    finally:
        second.stop()
        ws.close()


def test_serve_polls_a_feed_and_picks_up_a_new_entry(server: FeedServer, tmp_path: Path) -> None:
    server.publish("post-1", "Post 1", "One.")
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT.format(url=server.url(), every="1s"))
    ws.close()
    with ServeProcess(tmp_path / "ws", workers=False) as serve:
        reader = open_workspace(str(tmp_path / "ws"))
        wait_for(lambda: feed_titles(reader) == ["Post 1"])
        server.publish("post-2", "Post 2", "Two.")
        wait_for(lambda: feed_titles(reader) == ["Post 1", "Post 2"])
        reader.close()
        wait_for(lambda: "source tallybook/blog: ok, 1 new signal(s)" in serve.output())


def test_run_watch_polls_a_feed_and_picks_up_a_new_entry(server: FeedServer, tmp_path: Path) -> None:
    server.publish("post-1", "Post 1", "One.")
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT.format(url=server.url(), every="1s"))
    ws.close()
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path / "ws"), "run",
                                "--watch", "--concurrency", "1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        reader = open_workspace(str(tmp_path / "ws"))
        wait_for(lambda: feed_titles(reader) == ["Post 1"])
        server.publish("post-2", "Post 2", "Two.")
        wait_for(lambda: feed_titles(reader) == ["Post 1", "Post 2"])
        reader.close()
    finally:
        process.send_signal(2)  # Ctrl-C
        process.wait(30)
        log.close()
    output = (tmp_path / "run.log").read_text("utf-8")
    assert "watching the project sources and schedules" in output
    assert "source tallybook/blog: ok, 1 new signal(s)" in output


def test_run_watch_and_until_idle_are_refused_together(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT.format(url="https://e.com/f", every="1h"))
    ws.close()
    done = subprocess.run([sys.executable, "-m", "masthead.cli.main", "-w", str(tmp_path / "ws"), "run",
                           "--watch", "--until-idle"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "--watch and --until-idle do not go together" in done.stderr + done.stdout


def test_two_pollers_racing_on_postgres_make_one_signal(server: FeedServer, tmp_path: Path) -> None:
    from tests.support.harness import write_config
    from tests.support.postgres import fresh_database

    from masthead.app.commands import add_signal, apply_project
    from masthead.app.schedules import run_schedules
    from masthead.app.source_state import add_signal_once
    from masthead.app.workspace import init_workspace

    root = tmp_path / "ws"
    root.mkdir()
    project = PROJECT.format(url=server.url(), every="1m") + \
        'schedules:\n  - {recipe: release-notes, cron: "* * * * *"}\n'
    with fresh_database() as url:
        write_config(root, "http://127.0.0.1:9/v1")
        config = (root / "masthead.toml").read_text("utf-8")
        (root / "masthead.toml").write_text(config.replace("[workspace]\n", f'[workspace]\ndatabase = "{url}"\n'), "utf-8")
        one, _ = init_workspace(root)
        (root / "project.yaml").write_text(project, "utf-8")
        apply_project(one, root / "project.yaml")
        two = open_workspace(str(root))
        assert two.store.backend == "postgres"

        # The index itself: a second signal for the same feed entry is refused by the database
        # (what a poller that checked before the other one's append would try).
        key = "feed:blog:0123456789abcdef"
        signal = {"kind": "feed_item", "body": "Nine.", "title": "Post 9", "priority": "normal", "trust": "untrusted"}
        add_signal(one, "tallybook", source=key, **signal)  # type: ignore[arg-type]
        with pytest.raises(Exception, match="signals_source_once|unique"):
            add_signal(two, "tallybook", source=key, **signal)  # type: ignore[arg-type]
        assert add_signal_once(two, "tallybook", key, **signal).created is False
        assert feed_titles(one) == ["Post 9"]

        # Racing for real: both processes' pollers see the same new entries and the same tick.
        for n in range(1, 6):
            server.publish(f"post-{n}", f"Post {n}", f"Text {n}.")
        barrier = threading.Barrier(2)
        moment = time.time() + 120  # a minute tick is due for both
        results: dict[str, object] = {}

        def poll(name: str, ws: Workspace) -> None:
            poller = SourcePoller(ws, clock=lambda: moment, report=lambda line, failed: None)
            try:
                barrier.wait()
                for future in poller.tick():
                    future.result(30)
                results[name] = run_schedules(ws, now=moment)
            finally:
                poller.stop()

        threads = [threading.Thread(target=poll, args=("one", one)), threading.Thread(target=poll, args=("two", two))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(feed_titles(one)) == sorted(["Post 9"] + [f"Post {n}" for n in range(1, 6)])
        schedules = one.store.query("SELECT COUNT(*) AS n FROM signals WHERE source LIKE 'schedule:%'")
        assert schedules[0]["n"] == 1
        fired = one.store.query("SELECT COUNT(*) AS n FROM events WHERE type = 'ScheduleFired'")
        assert fired[0]["n"] == 1
        one.close()
        two.close()


def test_the_unique_index_refuses_a_second_signal_per_source_item_on_sqlite(tmp_path: Path) -> None:
    from masthead.app.commands import add_signal
    from masthead.app.source_state import add_signal_once

    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", PROJECT.format(url="https://e.com/f", every="1h"))
    signal = {"kind": "feed_item", "body": "Nine.", "title": "Post 9", "priority": "normal", "trust": "untrusted"}
    for key in ("feed:blog:0123456789abcdef", "calendar:plan:0123456789abcdef", "schedule:r:x:2026-12-08T09:00:00Z",
                "github:gh:d-1", "analytics:stats:trend:abc:2026-12-01"):
        first = add_signal(ws, "tallybook", source=key, **signal)  # type: ignore[arg-type]
        with pytest.raises(Exception, match="UNIQUE"):
            add_signal(ws, "tallybook", source=key, **signal)  # type: ignore[arg-type]
        assert add_signal_once(ws, "tallybook", key, **signal).signal_id == first.signal_id
    # The lookup carries the index's condition, so it is an index search, not a scan.
    from masthead.app.source_state import SOURCE_KEYED

    plan = ws.store.query(f"EXPLAIN QUERY PLAN SELECT id FROM signals WHERE project = ? AND source = ? AND {SOURCE_KEYED}",
                          ("tallybook", "feed:blog:x"))
    assert "signals_source_once" in str(plan)
    # Operator signals keep their free-form sources: the same one twice is fine.
    add_signal(ws, "tallybook", source="cli", **signal)  # type: ignore[arg-type]
    add_signal(ws, "tallybook", source="cli", **signal)  # type: ignore[arg-type]
    ws.close()

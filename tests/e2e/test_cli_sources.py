"""`masthead sources list|poll` through the real console script, against a loopback feed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.feed_server import FeedServer
from tests.support.harness import make_workspace

PROJECT = """\
name: tallybook
description: Invoicing software.
audience: Freelancers.
voice: {{description: Plain.}}
channels:
  x: {{gate: hard}}
sources:
  - {{name: blog, kind: feed, url: "{url}", backfill: 1}}
  - {{name: old, kind: feed, url: "{gone}"}}
"""


def masthead(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    beside = Path(sys.executable).parent / "masthead"
    script = str(beside) if beside.exists() else shutil.which("masthead")
    assert script
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTHEAD")} | {"PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([script, "--workspace", str(root), *args], env=env, capture_output=True, text=True,
                            encoding="utf-8", timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    yield server
    server.stop()


def test_sources_list_and_poll(server: FeedServer, tmp_path: Path) -> None:
    server.publish("post-1", "Post 1", "One.")
    server.publish("post-2", "Post 2", "Two.")
    root = tmp_path / "ws"
    make_workspace(root, "http://127.0.0.1:9/v1", PROJECT.format(url=server.url(), gone=server.url("/gone"))).close()

    listed = masthead(root, "sources", "list")
    assert listed.returncode == 0 and "never_polled" in listed.stdout and "blog" in listed.stdout

    polled = masthead(root, "sources", "poll", "blog", "--json")
    assert polled.returncode == 0, polled.stderr
    [result] = json.loads(polled.stdout)
    assert (result["state"], result["imported"], result["skipped"]) == ("ok", 1, 1)

    everything = masthead(root, "sources", "poll")
    assert everything.returncode == 0  # a gone feed is a state, not a failure of the command
    assert "tallybook/blog: not_modified, 0 new signal(s)" in everything.stdout
    assert "tallybook/old: gone" in everything.stdout and "410 Gone" in everything.stdout

    states = {s["name"]: s for s in json.loads(masthead(root, "sources", "list", "--json").stdout)}
    assert (states["blog"]["state"], states["blog"]["imported"]) == ("not_modified", 1)
    assert states["old"]["state"] == "gone"


def test_poll_of_an_unknown_source_exits_non_zero_with_the_fix(server: FeedServer, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    make_workspace(root, "http://127.0.0.1:9/v1", PROJECT.format(url=server.url(), gone=server.url("/gone"))).close()
    result = masthead(root, "sources", "poll", "blgo")
    assert result.returncode != 0 and result.stdout == ""
    assert "no project has a source named 'blgo'" in result.stderr and "use one of: blog, old" in result.stderr


def test_a_feed_in_an_error_state_makes_poll_exit_non_zero(server: FeedServer, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    project = PROJECT.format(url=server.url("/html"), gone=server.url("/gone"))
    make_workspace(root, "http://127.0.0.1:9/v1", project).close()
    result = masthead(root, "sources", "poll", "blog")
    assert result.returncode == 1 and "tallybook/blog: error" in result.stdout and "not a feed" in result.stdout


def test_an_analytics_folder_through_the_cli(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    project = PROJECT.split("sources:")[0] + "sources:\n  - {name: stats, kind: analytics, path: analytics/, format: csv}\n"
    make_workspace(root, "http://127.0.0.1:9/v1", project.replace("{{", "{").replace("}}", "}")).close()
    (root / "analytics").mkdir()
    (root / "analytics" / "signups.csv").write_text("date,metric,value\n2026-11-30,signups,3\n", "utf-8")
    result = masthead(root, "sources", "poll")
    assert result.returncode == 0 and "tallybook/stats: ok, 0 new signal(s), imported signups.csv" in result.stdout
    (root / "analytics" / "bad.csv").write_text("date,metric,value\n2026-12-01,signups,three\n", "utf-8")
    failed = masthead(root, "sources", "poll", "stats")
    assert failed.returncode == 1 and "bad.csv, line 2, column value: 'three' is not a number" in failed.stdout
    listed = masthead(root, "sources", "list")
    assert "stats" in listed.stdout and "error" in listed.stdout and "analytics/ (csv)" in listed.stdout


def test_calendar_blackouts_and_a_github_source_through_the_cli(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    start = (datetime.now(UTC) + timedelta(days=2)).date()
    root = tmp_path / "ws"
    root.mkdir()
    (root / "plan.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:freeze@t\r\n"
        f"DTSTART;VALUE=DATE:{start:%Y%m%d}\r\nDTEND;VALUE=DATE:{start + timedelta(days=2):%Y%m%d}\r\n"
        "SUMMARY:Release freeze\r\nCATEGORIES:BLACKOUT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "utf-8")
    project = PROJECT.format(url="", gone="").split("sources:")[0] + (
        'sources:\n  - {name: plan, kind: calendar, url: "plan.ics"}\n'
        "  - {name: gh, kind: github_releases, secret_env: GH_HOOK_SECRET}\n")
    make_workspace(root, "http://127.0.0.1:9/v1", project).close()

    polled = masthead(root, "sources", "poll")
    assert polled.returncode == 0, polled.stderr
    assert "tallybook/plan: ok, 0 new signal(s)" in polled.stdout
    assert "tallybook/gh: pushed" in polled.stdout and "POST /hooks/github" in polled.stdout

    listed = masthead(root, "sources", "list")
    assert listed.returncode == 0
    assert f"blackout {start.isoformat()}T00:00:00+00:00 .. " in listed.stdout and "Release freeze" in listed.stdout
    assert "no_delivery_yet" in listed.stdout and "pushed" in listed.stdout
    [plan, gh] = json.loads(masthead(root, "sources", "list", "--json").stdout)
    assert plan["blackouts"][0]["summary"] == "Release freeze" and gh["kind"] == "github_releases"
